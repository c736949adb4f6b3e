/**
 * The WebSocket wire protocol's schemas: one zod schema per message, the
 * single source of truth, checked against the public interfaces of
 * `types.ts` at compile time.
 *
 * Internal and pure.
 *
 * @module
 */

import { z } from "zod";
import type {
  AssetEventData,
  AssetEventType,
  AssetMessage,
  BlockData,
  BlockMessage,
  BlockPointer,
  CommandRequest,
  ErrorData,
  ErrorMessage,
  MempoolData,
  MempoolMessage,
  PingRequest,
  PongData,
  PongMessage,
  ReorgData,
  ReorgMessage,
  ResultMessage,
  SubscribeRequest,
  SubscriptionData,
  SubscriptionMessage,
  TransactionData,
  TransactionMessage,
  UnsubscribeRequest,
  WebSocketFilter,
  WebSocketMessageId,
  WebSocketServerMessage,
  WelcomeData,
  WelcomeMessage,
} from "./types.ts";

// ---------------------------------------------------------------------------
// Schemas

/** Request ids: a string (at most 128 characters) or a finite number. */
export const MessageIdSchema = z.union([
  z.string().max(128),
  z.number().finite(),
]);

const id = MessageIdSchema.exactOptional();

/** `data` of a block message. */
export const BlockDataSchema = z.object({
  hash: z.string(),
  height: z.number(),
  time: z.number(),
  tx_count: z.number(),
  size: z.number(),
});

/** `{"type":"block","data":{...}}`. */
export const BlockMessageSchema = z.object({
  type: z.literal("block"),
  data: BlockDataSchema,
});

/** A block by hash and height (the tips of a reorg message). */
export const BlockPointerSchema = z.object({
  hash: z.string(),
  height: z.number(),
});

/** `data` of a reorg message. */
export const ReorgDataSchema = z.object({
  fork_height: z.number(),
  fork_hash: z.string(),
  old_tip: BlockPointerSchema,
  new_tip: BlockPointerSchema,
});

/** `{"type":"reorg","data":{...}}`, on the `blocks` topic before the new branch. */
export const ReorgMessageSchema = z.object({
  type: z.literal("reorg"),
  data: ReorgDataSchema,
});

/** `data` of a transaction message. */
export const TransactionDataSchema = z.object({
  txid: z.string(),
  size: z.number(),
  vsize: z.number(),
  version: z.number(),
  locktime: z.number(),
  vin_count: z.number(),
  vout_count: z.number(),
});

/** `{"type":"transaction","data":{...}}`. */
export const TransactionMessageSchema = z.object({
  type: z.literal("transaction"),
  data: TransactionDataSchema,
});

/** Values of an asset message's `data.type`. */
export const AssetEventTypeSchema = z.enum([
  "issue",
  "owner",
  "reissue",
  "transfer",
]);

/** `data` of an asset message. */
export const AssetDataSchema = z.object({
  txid: z.string(),
  asset: z.string(),
  amount: z.number(),
  type: AssetEventTypeSchema,
});

/** `{"type":"asset","data":{...}}`. */
export const AssetMessageSchema = z.object({
  type: z.literal("asset"),
  data: AssetDataSchema,
});

/** `data` of a mempool message. */
export const MempoolDataSchema = z.object({
  size: z.number(),
  bytes: z.number(),
  usage: z.number(),
});

/** `{"type":"mempool","data":{...}}`. */
export const MempoolMessageSchema = z.object({
  type: z.literal("mempool"),
  data: MempoolDataSchema,
});

/**
 * An asset name as the node allows it, roughly: `A-Z 0-9 . _`, an optional
 * `#` (qualifier) or `$` (restricted) prefix, `/` sub-assets, `#` unique
 * tags, `~` message channels, an optional `!` (owner token) suffix; at most
 * 32 characters.
 */
export const AssetNameSchema = z.string().min(1).max(32).regex(
  /^[#$]?[A-Z0-9._]+(?:[/#~][A-Za-z0-9._@$%&*()[\]{}?:-]+)*!?$/,
);

/** A base58 address: 26 to 35 characters of the base58 alphabet. */
export const AddressSchema = z.string().regex(
  /^[1-9A-HJ-NP-Za-km-z]{26,35}$/,
);

/**
 * A subscription filter: `{"asset":NAME}` (the `assets` topic) or
 * `{"address":ADDRESS}` (`assets` and `transactions`).
 */
export const FilterSchema = z.union([
  z.strictObject({ asset: AssetNameSchema }),
  z.strictObject({ address: AddressSchema }),
]);

/** `data` of a subscription message. */
export const SubscriptionDataSchema = z.object({
  status: z.literal("success"),
  topic: z.string(),
  action: z.enum(["subscribe", "unsubscribe"]),
  filter: FilterSchema.exactOptional(),
});

/**
 * `{"type":"subscription","data":{"status":"success","topic":...,"action":...},...}`,
 * with `status`, `topic`, `action` (and `filter`) repeated at the top level.
 */
export const SubscriptionMessageSchema = z.object({
  type: z.literal("subscription"),
  data: SubscriptionDataSchema,
  status: z.literal("success"),
  topic: z.string(),
  action: z.enum(["subscribe", "unsubscribe"]).exactOptional(),
  filter: FilterSchema.exactOptional(),
  id,
});

/** `{"type":"result","command":...,"data":...}`. */
export const ResultMessageSchema = z.object({
  type: z.literal("result"),
  command: z.string(),
  data: z.unknown(),
  id,
});

/** `data` of an error message. */
export const ErrorDataSchema = z.object({
  code: z.union([z.number(), z.string()]).exactOptional(),
  message: z.string(),
  command: z.string().exactOptional(),
});

/**
 * `{"type":"error","data":{"code":...,"message":...},...}`, with `code`,
 * `message` (and `command`) repeated at the top level.
 */
export const ErrorMessageSchema = z.object({
  type: z.literal("error"),
  data: ErrorDataSchema,
  message: z.string(),
  code: z.union([z.number(), z.string()]).exactOptional(),
  command: z.string().exactOptional(),
  id,
});

/** `data` of a pong message. */
export const PongDataSchema = z.object({
  time: z.number().exactOptional(),
});

/** `{"type":"pong","data":{"time":...}}`. */
export const PongMessageSchema = z.object({
  type: z.literal("pong"),
  data: PongDataSchema,
  id,
});

/** `data` of a welcome message. */
export const WelcomeDataSchema = z.object({
  protocol: z.number().int(),
  server: z.string(),
  version: z.string(),
  features: z.array(z.string()),
});

/** `{"type":"welcome","data":{"protocol":1,"server":...,"version":...,"features":[...]}}`. */
export const WelcomeMessageSchema = z.object({
  type: z.literal("welcome"),
  data: WelcomeDataSchema,
});

/** Every server message, discriminated by `type`. */
export const ServerMessageSchema = z.discriminatedUnion("type", [
  BlockMessageSchema,
  ReorgMessageSchema,
  TransactionMessageSchema,
  AssetMessageSchema,
  MempoolMessageSchema,
  SubscriptionMessageSchema,
  ResultMessageSchema,
  ErrorMessageSchema,
  PongMessageSchema,
  WelcomeMessageSchema,
]);

/**
 * A `since` cursor: a block height (an integer >= 0) or a block hash (64
 * hex digits) on `blocks`, or on any topic the `cursor` of an event.
 */
export const BlockCursorSchema = z.union([
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  z.string().regex(/^[0-9a-fA-F]{64}$/),
  z.string().regex(/^(?:[0-9a-z]{1,16}:)?[0-9]{1,16}$/),
]);

/**
 * `{"action":"subscribe","topic":...}`, with an optional `since` cursor or
 * `filter`.
 */
export const SubscribeRequestSchema = z.object({
  action: z.literal("subscribe"),
  topic: z.string(),
  since: BlockCursorSchema.exactOptional(),
  filter: FilterSchema.exactOptional(),
  id,
});

/** `{"action":"unsubscribe","topic":...}`, with an optional `filter`. */
export const UnsubscribeRequestSchema = z.object({
  action: z.literal("unsubscribe"),
  topic: z.string(),
  filter: FilterSchema.exactOptional(),
  id,
});

/** `{"action":"ping"}`. */
export const PingRequestSchema = z.object({
  action: z.literal("ping"),
  id,
});

/** `{"command":...,"params":[...]}`. */
export const CommandRequestSchema = z.object({
  command: z.string(),
  params: z.array(z.unknown()).exactOptional(),
  id,
});

// Compile-time proof that the schemas and the public interfaces agree.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;
type Check<T extends true> = T;
export type _SchemaChecks = [
  Check<Equal<z.infer<typeof BlockDataSchema>, BlockData>>,
  Check<Equal<z.infer<typeof BlockMessageSchema>, BlockMessage>>,
  Check<Equal<z.infer<typeof BlockPointerSchema>, BlockPointer>>,
  Check<Equal<z.infer<typeof ReorgDataSchema>, ReorgData>>,
  Check<Equal<z.infer<typeof ReorgMessageSchema>, ReorgMessage>>,
  Check<Equal<z.infer<typeof TransactionDataSchema>, TransactionData>>,
  Check<Equal<z.infer<typeof TransactionMessageSchema>, TransactionMessage>>,
  Check<Equal<z.infer<typeof AssetDataSchema>, AssetEventData>>,
  Check<Equal<z.infer<typeof AssetMessageSchema>, AssetMessage>>,
  Check<Equal<z.infer<typeof AssetEventTypeSchema>, AssetEventType>>,
  Check<Equal<z.infer<typeof MempoolDataSchema>, MempoolData>>,
  Check<Equal<z.infer<typeof MempoolMessageSchema>, MempoolMessage>>,
  Check<Equal<z.infer<typeof SubscriptionDataSchema>, SubscriptionData>>,
  Check<Equal<z.infer<typeof SubscriptionMessageSchema>, SubscriptionMessage>>,
  Check<Equal<z.infer<typeof ResultMessageSchema>, ResultMessage>>,
  Check<Equal<z.infer<typeof ErrorDataSchema>, ErrorData>>,
  Check<Equal<z.infer<typeof ErrorMessageSchema>, ErrorMessage>>,
  Check<Equal<z.infer<typeof PongDataSchema>, PongData>>,
  Check<Equal<z.infer<typeof PongMessageSchema>, PongMessage>>,
  Check<Equal<z.infer<typeof WelcomeDataSchema>, WelcomeData>>,
  Check<Equal<z.infer<typeof WelcomeMessageSchema>, WelcomeMessage>>,
  Check<Equal<z.infer<typeof ServerMessageSchema>, WebSocketServerMessage>>,
  Check<Equal<z.infer<typeof SubscribeRequestSchema>, SubscribeRequest>>,
  Check<Equal<z.infer<typeof UnsubscribeRequestSchema>, UnsubscribeRequest>>,
  Check<Equal<z.infer<typeof PingRequestSchema>, PingRequest>>,
  Check<Equal<z.infer<typeof CommandRequestSchema>, CommandRequest>>,
  Check<Equal<z.infer<typeof MessageIdSchema>, WebSocketMessageId>>,
  Check<Equal<z.infer<typeof FilterSchema>, WebSocketFilter>>,
];
