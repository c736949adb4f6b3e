/**
 * The WebSocket wire protocol: one zod schema per message (the single source
 * of truth, checked against the public interfaces of `types.ts` at compile
 * time), and the pure functions that build and parse messages.
 *
 * No I/O here.
 *
 * @module
 */

import { z } from "zod";
import type { DecodedBlock, DecodedTransaction } from "../encoding/types.ts";
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
  WebSocketErrorCode,
  WebSocketFeature,
  WebSocketFilter,
  WebSocketMessageId,
  WebSocketServerMessage,
  WebSocketTopic,
  WelcomeData,
  WelcomeMessage,
} from "./types.ts";
import { WEBSOCKET_TOPICS } from "./types.ts";
import denoJson from "../../deno.json" with { type: "json" };

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

// ---------------------------------------------------------------------------
// Tokens (shared by the client and the server's access control)

/** The subprotocol the server echoes when a client offers it. */
export const WEBSOCKET_PROTOCOL = "evrmore";
/** Prefix of the subprotocol that carries a token: `evrmore.token.<token>`. */
export const TOKEN_PROTOCOL_PREFIX = "evrmore.token.";

/** RFC 7230 `token` characters: what a subprotocol (and so a browser token) may hold. */
const TOKEN_CHARS = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const MAX_TOKEN_LENGTH = 1024;

/**
 * Checks that a token can travel as a WebSocket subprotocol (what browsers
 * can send): 1 to 1024 characters from `A-Z a-z 0-9 !#$%&'*+-.^_`|~`.
 *
 * @returns The error text, or `undefined` when the token is valid.
 */
export function tokenProblem(token: unknown): string | undefined {
  if (typeof token !== "string") return "must be a string";
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    return `must be 1 to ${MAX_TOKEN_LENGTH} characters long`;
  }
  if (!TOKEN_CHARS.test(token)) {
    return "may only hold letters, digits and !#$%&'*+-.^_`|~ (it travels as a WebSocket subprotocol)";
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Topics

/** The standard topics, in documentation order. */
export const TOPICS: readonly WebSocketTopic[] = WEBSOCKET_TOPICS;

/** The topic that stands for every standard topic (the 1.2.1 server's). */
export const ALL_TOPIC = "all";

const TOPIC_ALIASES: Readonly<Record<string, WebSocketTopic>> = Object.freeze({
  blocks: "blocks",
  block: "blocks",
  transactions: "transactions",
  transaction: "transactions",
  assets: "assets",
  asset: "assets",
  mempool: "mempool",
  mempools: "mempool",
});

/**
 * The canonical topic for a name or its singular alias, `undefined` for an
 * unknown topic.
 */
export function normalizeTopic(topic: string): WebSocketTopic | undefined {
  return Object.hasOwn(TOPIC_ALIASES, topic) ? TOPIC_ALIASES[topic] : undefined;
}

// ---------------------------------------------------------------------------
// Building server messages

/** The block message data of a decoded block. */
export function blockData(block: DecodedBlock): BlockData {
  return {
    hash: block.hash,
    height: block.height,
    time: block.time,
    tx_count: block.tx.length,
    size: block.size,
  };
}

/**
 * The block message data of a `getblock <hash> 1` answer, or `undefined`
 * when the answer lacks a field.
 */
export function blockDataFromRpc(result: unknown): BlockData | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const r = result as Record<string, unknown>;
  const txCount = typeof r.nTx === "number"
    ? r.nTx
    : Array.isArray(r.tx)
    ? r.tx.length
    : undefined;
  const data = {
    hash: r.hash,
    height: r.height,
    time: r.time,
    tx_count: txCount,
    size: r.size,
  };
  const parsed = BlockDataSchema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

/** The transaction message data of a decoded transaction. */
export function transactionData(tx: DecodedTransaction): TransactionData {
  return {
    txid: tx.txid,
    size: tx.size,
    vsize: tx.vsize,
    version: tx.version,
    locktime: tx.locktime,
    vin_count: tx.vin.length,
    vout_count: tx.vout.length,
  };
}

/**
 * The asset event type of an output, from its `scriptPubKey` type and asset
 * name, or `undefined` for an output that carries no asset amount.
 */
export function assetEventType(
  scriptType: string,
  name: string,
): AssetEventType | undefined {
  switch (scriptType) {
    case "new_asset":
      return name.endsWith("!") ? "owner" : "issue";
    case "reissue_asset":
      return "reissue";
    case "transfer_asset":
      return "transfer";
    default:
      return undefined;
  }
}

/** One asset data per asset output of a decoded transaction, in output order. */
export function assetEvents(tx: DecodedTransaction): AssetEventData[] {
  return assetOutputs(tx).map((output) => output.data);
}

/** An asset event with the addresses its output pays (for filters). */
export interface AssetOutput {
  /** The asset message data. */
  data: AssetEventData;
  /** The output's `scriptPubKey.addresses` (empty when none). */
  addresses: readonly string[];
}

const NO_ADDRESSES: readonly string[] = Object.freeze([]);

/**
 * One asset event per asset output of a decoded transaction, in output
 * order, with the addresses each output pays.
 */
export function assetOutputs(tx: DecodedTransaction): AssetOutput[] {
  const events: AssetOutput[] = [];
  for (const output of tx.vout) {
    const script = output.scriptPubKey;
    const asset = script?.asset;
    if (asset === undefined || typeof asset.name !== "string") continue;
    const type = assetEventType(script.type, asset.name);
    if (type === undefined || typeof asset.amount !== "number") continue;
    events.push({
      data: {
        txid: tx.txid,
        asset: asset.name,
        amount: asset.amount,
        type,
      },
      addresses: Array.isArray(script.addresses)
        ? script.addresses
        : NO_ADDRESSES,
    });
  }
  return events;
}

/**
 * The addresses a decoded transaction's outputs pay (inputs are not
 * included: their addresses would need the spent outputs).
 */
export function outputAddresses(tx: DecodedTransaction): string[] {
  const out = new Set<string>();
  for (const output of tx.vout) {
    const addresses = output.scriptPubKey?.addresses;
    if (!Array.isArray(addresses)) continue;
    for (const address of addresses) out.add(address);
  }
  return [...out];
}

/**
 * The mempool message data of a `getmempoolinfo` answer, or `undefined` when
 * the answer lacks a field.
 */
export function mempoolData(info: unknown): MempoolData | undefined {
  if (typeof info !== "object" || info === null) return undefined;
  const r = info as Record<string, unknown>;
  const parsed = MempoolDataSchema.safeParse({
    size: r.size,
    bytes: r.bytes,
    usage: r.usage,
  });
  return parsed.success ? parsed.data : undefined;
}

/**
 * Builds an error message: the error in `data` (what every reader of the
 * design document's `{type, data}` model gets), repeated at the top level;
 * the id only when there is one.
 */
export function errorMessage(
  code: WebSocketErrorCode | number,
  message: string,
  extra: { id?: WebSocketMessageId | undefined; command?: string | undefined } =
    {},
): ErrorMessage {
  const data: ErrorData = { code, message };
  const out: ErrorMessage = { type: "error", data, message, code };
  if (extra.command !== undefined) {
    data.command = extra.command;
    out.command = extra.command;
  }
  if (extra.id !== undefined) out.id = extra.id;
  return out;
}

/**
 * Builds the answer to a subscribe or unsubscribe request: the answer in
 * `data`, repeated at the top level; the id only when there is one.
 */
export function subscriptionMessage(
  action: "subscribe" | "unsubscribe",
  topic: string,
  extra: {
    id?: WebSocketMessageId | undefined;
    filter?: WebSocketFilter | undefined;
  } = {},
): SubscriptionMessage {
  const data: SubscriptionData = { status: "success", topic, action };
  const out: SubscriptionMessage = {
    type: "subscription",
    data,
    status: "success",
    topic,
    action,
  };
  if (extra.filter !== undefined) {
    data.filter = extra.filter;
    out.filter = extra.filter;
  }
  if (extra.id !== undefined) out.id = extra.id;
  return out;
}

/**
 * Builds the answer to a ping: `{"type":"pong","data":{}}`, with the id
 * when there is one (`time`, the server's clock, only when given).
 */
export function pongMessage(
  id?: WebSocketMessageId,
  time?: number,
): PongMessage {
  const out: PongMessage = {
    type: "pong",
    data: time === undefined ? {} : { time },
  };
  if (id !== undefined) out.id = id;
  return out;
}

/** The protocol revision announced in `welcome` (raised when messages change). */
export const PROTOCOL_REVISION = 1;

/** This package's name and version, as announced in `welcome`. */
export const SERVER_NAME = "@evrmore/rpc";
/** The package version announced in `welcome`. */
export const SERVER_VERSION: string = denoJson.version;

/** The extensions `EvrmoreWebSocketServer` speaks, as announced in `welcome`. */
export const SERVER_FEATURES: readonly WebSocketFeature[] = Object.freeze([
  "acks",
  "ping",
  "commands",
  "since",
  "filters",
  "all",
  "ids",
  "cursors",
]);

/** Builds the `welcome` message a server sends first on every connection. */
export function welcomeMessage(
  features: readonly string[] = SERVER_FEATURES,
): WelcomeMessage {
  return {
    type: "welcome",
    data: {
      protocol: PROTOCOL_REVISION,
      server: SERVER_NAME,
      version: SERVER_VERSION,
      features: [...features],
    },
  };
}

// ---------------------------------------------------------------------------
// Parsing client messages (server side)

/** A client message that passed validation, with its canonical topic. */
export type ParsedClientMessage =
  | {
    kind: "subscribe";
    /** A standard topic, or `"all"` (every standard topic). */
    topic: WebSocketTopic | typeof ALL_TOPIC;
    /** `blocks` only: replay the blocks after this height or (lowercase) hash. */
    since?: number | string;
    /** `assets` and `transactions` only: deliver only the matching events. */
    filter?: WebSocketFilter;
    id?: WebSocketMessageId;
  }
  | {
    kind: "unsubscribe";
    /** A standard topic, or `"all"` (every standard topic). */
    topic: WebSocketTopic | typeof ALL_TOPIC;
    /** Remove only this filter (else the whole topic). */
    filter?: WebSocketFilter;
    id?: WebSocketMessageId;
  }
  | { kind: "ping"; id?: WebSocketMessageId }
  | {
    kind: "command";
    command: string;
    params: unknown[];
    id?: WebSocketMessageId;
  };

/** A client message that failed validation, with the error to answer. */
export interface ClientMessageFailure {
  /** Marks a failure. */
  kind: "error";
  /** The error message to send back. */
  error: ErrorMessage;
}

/** Longest accepted command name. */
const MAX_COMMAND_LENGTH = 64;
const COMMAND_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Parses and validates one client text message.
 *
 * Any well-formed id is kept so that error answers echo it too.
 */
export function parseClientMessage(
  text: string,
): ParsedClientMessage | ClientMessageFailure {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail("invalid_json", "Cannot parse message: invalid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(
      "invalid_message",
      "Cannot handle message: expected a JSON object",
    );
  }
  const object = value as Record<string, unknown>;
  let messageId: WebSocketMessageId | undefined;
  if (object.id !== undefined) {
    const parsedId = MessageIdSchema.safeParse(object.id);
    if (!parsedId.success) {
      return fail(
        "invalid_message",
        "Cannot handle message: id must be a string (at most 128 characters) or a number",
      );
    }
    messageId = parsedId.data;
  }
  const withId = <T extends object>(m: T): T & { id?: WebSocketMessageId } =>
    messageId === undefined ? m : { ...m, id: messageId };

  if ("action" in object) {
    const action = object.action;
    if (action === "ping") return withId({ kind: "ping" as const });
    if (action === "subscribe" || action === "unsubscribe") {
      const schema = action === "subscribe"
        ? SubscribeRequestSchema
        : UnsubscribeRequestSchema;
      const parsed = schema.safeParse(object);
      if (!parsed.success) {
        const bad = parsed.error.issues[0]?.path[0];
        return fail(
          "invalid_message",
          bad === "since"
            ? `Cannot ${action}: "since" must be an event's cursor, or on blocks a block height (an integer >= 0) or a block hash (64 hex digits)`
            : bad === "filter"
            ? `Cannot ${action}: "filter" must be {"asset":NAME} (A-Z 0-9 . _ and the node's prefixes and suffixes, at most 32 characters) or {"address":ADDRESS} (base58, 26 to 35 characters)`
            : `Cannot ${action}: "topic" must be a string`,
          messageId,
        );
      }
      if (parsed.data.topic === ALL_TOPIC) {
        if (parsed.data.filter !== undefined || "since" in parsed.data) {
          return fail(
            "invalid_message",
            `Cannot ${action}: the all topic takes no "filter" or "since" (subscribe to the topic itself)`,
            messageId,
          );
        }
        return withId({ kind: action, topic: ALL_TOPIC });
      }
      const topic = normalizeTopic(parsed.data.topic);
      if (topic === undefined) {
        return fail(
          "unknown_topic",
          `Cannot ${action}: unknown topic ${
            JSON.stringify(parsed.data.topic.slice(0, 64))
          } (topics: ${TOPICS.join(", ")}, ${ALL_TOPIC})`,
          messageId,
        );
      }
      const filter = parsed.data.filter;
      const since = "since" in parsed.data ? parsed.data.since : undefined;
      const isCursor = typeof since === "string" &&
        !/^[0-9a-fA-F]{64}$/.test(since);
      if (filter !== undefined) {
        if (topic !== "assets" && topic !== "transactions") {
          return fail(
            "invalid_message",
            `Cannot ${action}: "filter" is only supported on the assets and transactions topics`,
            messageId,
          );
        }
        if (topic === "transactions" && "asset" in filter) {
          return fail(
            "invalid_message",
            `Cannot ${action}: the transactions topic is filtered by address only`,
            messageId,
          );
        }
        if (since !== undefined) {
          if (!isCursor) {
            return fail(
              "invalid_message",
              `Cannot ${action}: with a "filter", "since" must be an event's cursor`,
              messageId,
            );
          }
          return withId({ kind: "subscribe" as const, topic, filter, since });
        }
        return withId({ kind: action, topic, filter });
      }
      if (since !== undefined) {
        if (topic !== "blocks" && !isCursor) {
          return fail(
            "invalid_message",
            `Cannot ${action}: on the ${topic} topic, "since" must be an event's cursor (block heights and hashes are for blocks)`,
            messageId,
          );
        }
        return withId({
          kind: "subscribe" as const,
          topic,
          since: typeof since === "string" && !isCursor
            ? since.toLowerCase()
            : since,
        });
      }
      return withId({ kind: action, topic });
    }
    const shown = typeof action === "string"
      ? JSON.stringify(action.slice(0, 64))
      : typeof action;
    return fail(
      "unknown_action",
      `Cannot handle action ${shown}: expected subscribe, unsubscribe or ping`,
      messageId,
    );
  }

  if ("command" in object) {
    const command = object.command;
    if (
      typeof command !== "string" || command.length > MAX_COMMAND_LENGTH ||
      !COMMAND_PATTERN.test(command)
    ) {
      return fail(
        "invalid_message",
        'Cannot run command: "command" must be a command name',
        messageId,
      );
    }
    const parsed = CommandRequestSchema.safeParse(object);
    if (!parsed.success) {
      return {
        kind: "error",
        error: errorMessage(
          "invalid_params",
          `Cannot run ${command}: "params" must be an array`,
          { id: messageId, command },
        ),
      };
    }
    return withId({
      kind: "command" as const,
      command,
      params: parsed.data.params ?? [],
    });
  }

  return fail(
    "invalid_message",
    'Cannot handle message: expected an "action" or a "command"',
    messageId,
  );
}

function fail(
  code: WebSocketErrorCode,
  message: string,
  messageId?: WebSocketMessageId,
): ClientMessageFailure {
  return {
    kind: "error",
    error: errorMessage(code, message, { id: messageId }),
  };
}

// ---------------------------------------------------------------------------
// Parsing server messages (client side)

/** Result of {@linkcode parseServerMessage}. */
export type ParsedServerMessage =
  | { kind: "known"; message: WebSocketServerMessage }
  | { kind: "unknown"; message: { type: string; [key: string]: unknown } }
  | { kind: "invalid"; reason: string };

const KNOWN_TYPES = new Set([
  "block",
  "reorg",
  "transaction",
  "asset",
  "mempool",
  "subscription",
  "result",
  "error",
  "pong",
  "welcome",
]);

/**
 * Parses one server text message. Known types are validated against their
 * schema and returned unchanged (extra fields kept); other types are
 * returned as they are.
 *
 * Answers of other servers are read in both shapes: a `subscription`,
 * `error` or `pong` without `data` (older servers, the design document's
 * custom server) gets its `data` from the top-level fields, and one with
 * only `data` gets the top-level fields from it, so readers see one shape.
 */
export function parseServerMessage(text: string): ParsedServerMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "invalid", reason: "invalid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { kind: "invalid", reason: "not a JSON object" };
  }
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== "string") {
    return { kind: "invalid", reason: 'no string "type"' };
  }
  if (!KNOWN_TYPES.has(type)) {
    return {
      kind: "unknown",
      message: value as { type: string; [key: string]: unknown },
    };
  }
  const message = bothShapes(type, value as Record<string, unknown>);
  const parsed = ServerMessageSchema.safeParse(message);
  if (!parsed.success) {
    return {
      kind: "invalid",
      reason: `malformed ${type} message: ${
        parsed.error.issues[0]?.path.join(".") ?? ""
      } ${parsed.error.issues[0]?.message ?? ""}`.trim(),
    };
  }
  return {
    kind: "known",
    message: message as unknown as WebSocketServerMessage,
  };
}

const ANSWER_FIELDS: Readonly<Record<string, readonly string[]>> = {
  subscription: ["status", "topic", "action", "filter"],
  error: ["code", "message", "command"],
  pong: [],
};

/** Fills `data` from the top-level fields of an answer, and back. */
function bothShapes(
  type: string,
  value: Record<string, unknown>,
): Record<string, unknown> {
  const fields = ANSWER_FIELDS[type];
  if (fields === undefined) return value;
  const given = value.data;
  const data: Record<string, unknown> =
    typeof given === "object" && given !== null && !Array.isArray(given)
      ? { ...given as Record<string, unknown> }
      : {};
  const out: Record<string, unknown> = { ...value };
  for (const field of fields) {
    if (data[field] === undefined && out[field] !== undefined) {
      data[field] = out[field];
    } else if (out[field] === undefined && data[field] !== undefined) {
      out[field] = data[field];
    }
  }
  if (type === "subscription" && data.action === undefined) {
    data.action = "subscribe";
  }
  out.data = data;
  return out;
}

// ---------------------------------------------------------------------------
// Error sanitizing

const URL_PATTERN = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]*/gi;

/**
 * The node's own text from an RPC error message: drops the client's
 * `Cannot call <method>: ` prefix and hides anything that looks like a URL
 * (which may carry credentials).
 */
export function sanitizeNodeMessage(message: string, method: string): string {
  let text = message;
  const prefix = `Cannot call ${method}: `;
  if (text.startsWith(prefix)) text = text.slice(prefix.length);
  text = text.replace(URL_PATTERN, "[url]");
  return text.length > 1000 ? `${text.slice(0, 1000)}...` : text;
}

/** The message of any thrown value. */
export function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Validates a seconds option of the server or client, named like
 * `"server.pingInterval"`: `undefined` gives the default, `null` gives 0
 * (off).
 *
 * @throws {RangeError} For anything but a finite number >= 0 or null.
 */
export function secondsOption(
  option: `${"server" | "client"}.${string}`,
  value: number | null | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (value === null) return 0;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    const dot = option.indexOf(".");
    throw new RangeError(
      `Cannot create ${option.slice(0, dot)}: ${
        option.slice(dot + 1)
      } must be a number of seconds >= 0 or null`,
    );
  }
  return value;
}
