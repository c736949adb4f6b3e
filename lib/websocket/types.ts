/**
 * Types of the WebSocket protocol spoken between `EvrmoreWebSocketServer`
 * and its clients: the JSON messages in both directions.
 *
 * Field names on the wire are the design document's (`tx_count`,
 * `vin_count`, ...), so they stay snake_case here too.
 *
 * @module
 */

/**
 * A request or answer id: any client message may carry one, and its answer echoes it.
 *
 * @example
 * ```ts
 * import type { WebSocketMessageId } from "@evrmore/rpc";
 *
 * const ids: WebSocketMessageId[] = [1, "req-7"];
 * console.log(ids.length); // 2
 * ```
 */
export type WebSocketMessageId = string | number;

/**
 * A topic a client can subscribe to (the singular forms are accepted as aliases).
 *
 * @example
 * ```ts
 * import type { WebSocketTopic } from "@evrmore/rpc";
 *
 * const topic: WebSocketTopic = "blocks";
 * console.log(JSON.stringify({ action: "subscribe", topic }));
 * ```
 */
export type WebSocketTopic = "blocks" | "transactions" | "assets" | "mempool";

/**
 * The standard topics. The server also accepts the singular forms
 * (`block`, `transaction`, `asset`) and answers with the plural one.
 *
 * @example
 * ```ts
 * import { WEBSOCKET_TOPICS } from "@evrmore/rpc";
 *
 * console.log(WEBSOCKET_TOPICS); // ["blocks", "transactions", "assets", "mempool"]
 * ```
 */
export const WEBSOCKET_TOPICS: readonly WebSocketTopic[] = Object.freeze([
  "blocks",
  "transactions",
  "assets",
  "mempool",
]);

/**
 * What happened to an asset in an asset output:
 *
 * - `"issue"`: a new asset was created (`new_asset` script), including sub,
 *   unique, message-channel, qualifier and restricted assets;
 * - `"owner"`: the owner token (`NAME!`) created with a new asset;
 * - `"reissue"`: more units of an existing asset (`reissue_asset` script);
 * - `"transfer"`: units moved to an address (`transfer_asset` script),
 *   owner tokens and message-carrying transfers included.
 *
 * @example
 * ```ts
 * import type { AssetEventType } from "@evrmore/rpc";
 *
 * const types: AssetEventType[] = ["issue", "owner", "reissue", "transfer"];
 * console.log(types.includes("transfer")); // true
 * ```
 */
export type AssetEventType = "issue" | "owner" | "reissue" | "transfer";

/**
 * The `data` of a `block` message.
 *
 * @example
 * ```ts
 * import type { BlockData } from "@evrmore/rpc";
 *
 * const data: BlockData = { hash: "00000000000000000000000000000000000000000000000000000000000000ab", height: 1, time: 1231006505, tx_count: 1, size: 285 };
 * console.log(data.height); // 1
 * ```
 */
export interface BlockData {
  /** Block hash. */
  hash: string;
  /** Block height. */
  height: number;
  /** Block time (seconds since the epoch). */
  time: number;
  /** Number of transactions in the block. */
  tx_count: number;
  /** Serialized size in bytes. */
  size: number;
}

/**
 * A new block was connected.
 *
 * @example
 * ```ts
 * import type { BlockMessage } from "@evrmore/rpc";
 *
 * const message: BlockMessage = JSON.parse(
 *   '{"type":"block","data":{"hash":"00000000000000000000000000000000000000000000000000000000000000ab","height":1,"time":1231006505,"tx_count":1,"size":285}}',
 * );
 * console.log(message.data.hash.length); // 64
 * ```
 */
export interface BlockMessage {
  /** Message type. */
  type: "block";
  /** The block. */
  data: BlockData;
}

/**
 * A block by hash and height: the tips of a `reorg` message.
 *
 * @example
 * ```ts
 * import type { BlockPointer } from "@evrmore/rpc";
 *
 * const tip: BlockPointer = { hash: "00000000000000000000000000000000000000000000000000000000000000ab", height: 7 };
 * console.log(tip.height); // 7
 * ```
 */
export interface BlockPointer {
  /** Block hash. */
  hash: string;
  /** Block height. */
  height: number;
}

/**
 * The `data` of a `reorg` message.
 *
 * @example
 * ```ts
 * import type { ReorgData } from "@evrmore/rpc";
 *
 * const data: ReorgData = {
 *   fork_height: 5,
 *   fork_hash: "00000000000000000000000000000000000000000000000000000000000000a5",
 *   old_tip: { hash: "00000000000000000000000000000000000000000000000000000000000000a7", height: 7 },
 *   new_tip: { hash: "00000000000000000000000000000000000000000000000000000000000000b8", height: 8 },
 * };
 * console.log(data.fork_height); // 5
 * ```
 */
export interface ReorgData {
  /** Height of the last block both branches share. */
  fork_height: number;
  /** Hash of that block. */
  fork_hash: string;
  /** The tip announced before (now off the active chain). */
  old_tip: BlockPointer;
  /** The new branch's block whose arrival revealed the reorganization. */
  new_tip: BlockPointer;
}

/**
 * The chain was reorganized: the blocks announced above `fork_height` are
 * no longer in the active chain. Sent on the `blocks` topic just before the
 * new branch's `block` messages (from `fork_height + 1`, in height order).
 *
 * @example
 * ```ts
 * import type { ReorgMessage } from "@evrmore/rpc";
 *
 * const message: ReorgMessage = JSON.parse(
 *   '{"type":"reorg","data":{"fork_height":5,"fork_hash":"a5","old_tip":{"hash":"a7","height":7},"new_tip":{"hash":"b6","height":6}}}',
 * );
 * console.log(message.data.old_tip.height - message.data.fork_height); // 2 blocks replaced
 * ```
 */
export interface ReorgMessage {
  /** Message type. */
  type: "reorg";
  /** Where the branches fork, and both tips. */
  data: ReorgData;
}

/**
 * The `data` of a `transaction` message.
 *
 * @example
 * ```ts
 * import type { TransactionData } from "@evrmore/rpc";
 *
 * const data: TransactionData = {
 *   txid: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
 *   size: 285,
 *   vsize: 285,
 *   version: 1,
 *   locktime: 0,
 *   vin_count: 1,
 *   vout_count: 1,
 * };
 * console.log(data.vout_count); // 1
 * ```
 */
export interface TransactionData {
  /** Transaction id. */
  txid: string;
  /** Serialized size in bytes, witness included. */
  size: number;
  /** Virtual size in bytes. */
  vsize: number;
  /** Transaction version. */
  version: number;
  /** Lock time. */
  locktime: number;
  /** Number of inputs. */
  vin_count: number;
  /** Number of outputs. */
  vout_count: number;
}

/**
 * A transaction was seen for the first time (in the mempool or in a block).
 *
 * @example
 * ```ts
 * import type { TransactionMessage } from "@evrmore/rpc";
 *
 * const message: TransactionMessage = {
 *   type: "transaction",
 *   data: { txid: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", size: 285, vsize: 285, version: 1, locktime: 0, vin_count: 1, vout_count: 1 },
 * };
 * console.log(message.data.txid);
 * ```
 */
export interface TransactionMessage {
  /** Message type. */
  type: "transaction";
  /** The transaction. */
  data: TransactionData;
}

/**
 * The `data` of an `asset` message.
 *
 * @example
 * ```ts
 * import type { AssetEventData } from "@evrmore/rpc";
 *
 * const data: AssetEventData = { txid: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", asset: "ASSET_NAME", amount: 100, type: "transfer" };
 * console.log(data.asset); // "ASSET_NAME"
 * ```
 */
export interface AssetEventData {
  /** Transaction id of the transaction carrying the asset output. */
  txid: string;
  /** Asset name (`MYASSET`, `MYASSET/SUB`, `MYASSET!`, `#KYC`, `$RESTRICTED`, ...). */
  asset: string;
  /** Amount in whole units, as the node prints it. */
  amount: number;
  /** What happened to the asset. */
  type: AssetEventType;
}

/**
 * One asset output of a newly seen transaction.
 *
 * @example
 * ```ts
 * import type { AssetMessage } from "@evrmore/rpc";
 *
 * const message: AssetMessage = {
 *   type: "asset",
 *   data: { txid: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", asset: "ASSET_NAME", amount: 100, type: "transfer" },
 * };
 * console.log(message.data.type); // "transfer"
 * ```
 */
export interface AssetMessage {
  /** Message type. */
  type: "asset";
  /** The asset output. */
  data: AssetEventData;
}

/**
 * The `data` of a `mempool` message: the node's `getmempoolinfo` figures.
 *
 * @example
 * ```ts
 * import type { MempoolData } from "@evrmore/rpc";
 *
 * const data: MempoolData = { size: 100, bytes: 28500, usage: 112000 };
 * console.log(data.size); // 100
 * ```
 */
export interface MempoolData {
  /** Number of transactions in the mempool. */
  size: number;
  /** Sum of their virtual sizes in bytes. */
  bytes: number;
  /** Memory used by the mempool in bytes. */
  usage: number;
}

/**
 * The mempool changed.
 *
 * @example
 * ```ts
 * import type { MempoolMessage } from "@evrmore/rpc";
 *
 * const message: MempoolMessage = { type: "mempool", data: { size: 100, bytes: 28500, usage: 112000 } };
 * console.log(message.data.bytes); // 28500
 * ```
 */
export interface MempoolMessage {
  /** Message type. */
  type: "mempool";
  /** The mempool figures. */
  data: MempoolData;
}

/**
 * The `data` of a `subscription` message (the answer to `subscribe` and
 * `unsubscribe`).
 *
 * @example
 * ```ts
 * import type { SubscriptionData } from "@evrmore/rpc";
 *
 * const data: SubscriptionData = { status: "success", topic: "blocks", action: "subscribe" };
 * console.log(data.topic); // "blocks"
 * ```
 */
export interface SubscriptionData {
  /** Always `"success"` (a failure is an `error` message). */
  status: "success";
  /** The topic, in its canonical (plural) form, or `"all"`. */
  topic: string;
  /** The request answered. */
  action: "subscribe" | "unsubscribe";
  /** The request's filter, echoed when it had one. */
  filter?: WebSocketFilter;
}

/**
 * Answer to a `subscribe` or `unsubscribe` request. The answer is in
 * `data` (every server message has `type` and `data`); `status`, `topic`,
 * `action` and `filter` are repeated at the top level for older readers.
 *
 * @example
 * ```ts
 * import type { SubscriptionMessage } from "@evrmore/rpc";
 *
 * const answer: SubscriptionMessage = {
 *   type: "subscription",
 *   data: { status: "success", topic: "blocks", action: "subscribe" },
 *   status: "success",
 *   topic: "blocks",
 *   action: "subscribe",
 *   id: 1,
 * };
 * console.log(answer.data.topic); // "blocks"
 * ```
 */
export interface SubscriptionMessage {
  /** Message type. */
  type: "subscription";
  /** The answer. */
  data: SubscriptionData;
  /** Same as `data.status`. */
  status: "success";
  /** Same as `data.topic`. */
  topic: string;
  /** Same as `data.action`. */
  action?: "subscribe" | "unsubscribe";
  /** Same as `data.filter`. */
  filter?: WebSocketFilter;
  /** The request's id, when it had one. */
  id?: WebSocketMessageId;
}

/**
 * Answer to a command: the node's result.
 *
 * @example
 * ```ts
 * import type { ResultMessage } from "@evrmore/rpc";
 *
 * const answer: ResultMessage = { type: "result", command: "getblockcount", data: 170, id: 2 };
 * console.log(answer.data); // 170
 * ```
 */
export interface ResultMessage {
  /** Message type. */
  type: "result";
  /** The command that was run. */
  command: string;
  /** The node's result, unchanged. */
  data: unknown;
  /** The request's id, when it had one. */
  id?: WebSocketMessageId;
}

/**
 * Stable string codes of the errors the server reports itself (the node's
 * errors carry the node's numeric code instead).
 *
 * @example
 * ```ts
 * import type { WebSocketErrorCode } from "@evrmore/rpc";
 *
 * const code: WebSocketErrorCode = "unknown_topic";
 * console.log(code);
 * ```
 */
export type WebSocketErrorCode =
  | "invalid_json"
  | "invalid_message"
  | "unknown_action"
  | "unknown_topic"
  | "invalid_params"
  | "command_not_allowed"
  | "too_many_requests"
  | "message_too_large"
  | "node_unavailable"
  | "timeout"
  | "internal_error"
  | "unknown_cursor"
  | "cursor_too_old"
  | "rate_limited"
  | "unauthorized"
  | "origin_not_allowed"
  | "too_many_connections"
  | "too_many_filters"
  | "server_busy"
  | "reply_too_large"
  | "forbidden";

/**
 * The `data` of an `error` message.
 *
 * @example
 * ```ts
 * import type { ErrorData } from "@evrmore/rpc";
 *
 * const data: ErrorData = { code: "unknown_topic", message: "Cannot subscribe: unknown topic \"foo\"" };
 * console.log(data.code); // "unknown_topic"
 * ```
 */
export interface ErrorData {
  /** The node's numeric JSON-RPC code, or one of {@linkcode WebSocketErrorCode}. */
  code?: number | string;
  /** What went wrong. */
  message: string;
  /** The command that failed, for command errors. */
  command?: string;
}

/**
 * Something went wrong; the connection stays open unless said otherwise.
 * The error is in `data`; `code`, `message` and `command` are repeated at
 * the top level for older readers.
 *
 * @example
 * ```ts
 * import type { ErrorMessage } from "@evrmore/rpc";
 *
 * const nodeError: ErrorMessage = {
 *   type: "error",
 *   data: { code: -5, message: "Block not found", command: "getblock" },
 *   message: "Block not found",
 *   code: -5,
 *   command: "getblock",
 *   id: 3,
 * };
 * console.log(nodeError.data.code); // -5
 * ```
 */
export interface ErrorMessage {
  /** Message type. */
  type: "error";
  /** The error. */
  data: ErrorData;
  /** Same as `data.message`. */
  message: string;
  /** Same as `data.code`. */
  code?: number | string;
  /** Same as `data.command`. */
  command?: string;
  /** The request's id, when it had one. */
  id?: WebSocketMessageId;
}

/**
 * The `data` of a `pong` message: empty from `EvrmoreWebSocketServer`;
 * other servers may give their clock.
 *
 * @example
 * ```ts
 * import type { PongData } from "@evrmore/rpc";
 *
 * const data: PongData = { time: 1764288000000 };
 * console.log(data.time); // 1764288000000
 * ```
 */
export interface PongData {
  /** The server's time when it answered, in ms since the epoch (optional). */
  time?: number;
}

/**
 * Answer to `{"action":"ping"}`.
 *
 * @example
 * ```ts
 * import type { PongMessage } from "@evrmore/rpc";
 *
 * const pong: PongMessage = { type: "pong", data: {} };
 * console.log(pong.type); // "pong"
 * ```
 */
export interface PongMessage {
  /** Message type. */
  type: "pong";
  /** Empty, or the server's clock. */
  data: PongData;
  /** The request's id, when it had one. */
  id?: WebSocketMessageId;
}

/**
 * What a server announces: the protocol extensions it speaks beyond the
 * design document. Clients only rely on the ones listed.
 *
 * - `"acks"`: answers every `subscribe`/`unsubscribe` with a `subscription`
 *   message (or an `error`);
 * - `"ping"`: answers `{"action":"ping"}` with a `pong`;
 * - `"commands"`: answers commands with `result` or `error`;
 * - `"since"`: `blocks` subscriptions with a `since` cursor, and `reorg`;
 * - `"filters"`: filtered `assets`/`transactions` subscriptions;
 * - `"all"`: the `all` topic;
 * - `"ids"`: echoes a request's `id` in its answer.
 *
 * @example
 * ```ts
 * import type { WebSocketFeature } from "@evrmore/rpc";
 *
 * const features: WebSocketFeature[] = ["acks", "ping"];
 * console.log(features.includes("acks")); // true
 * ```
 */
export type WebSocketFeature =
  | "acks"
  | "ping"
  | "commands"
  | "since"
  | "filters"
  | "all"
  | "ids"
  | "cursors";

/**
 * The `data` of a `welcome` message.
 *
 * @example
 * ```ts
 * import type { WelcomeData } from "@evrmore/rpc";
 *
 * const data: WelcomeData = { protocol: 1, server: "@evrmore/rpc", version: "0.1.0", features: ["acks", "ping"] };
 * console.log(data.features.length); // 2
 * ```
 */
export interface WelcomeData {
  /** Protocol revision (an integer, 1 here); raised when messages change. */
  protocol: number;
  /** The server's software. */
  server: string;
  /** Its version. */
  version: string;
  /** The extensions it speaks (unknown names are ignored by clients). */
  features: string[];
}

/**
 * The first message of every connection to an `EvrmoreWebSocketServer`: it
 * announces the server and the extensions it speaks. Servers that speak
 * only the design document send none.
 *
 * @example
 * ```ts
 * import type { WelcomeMessage } from "@evrmore/rpc";
 *
 * const welcome: WelcomeMessage = JSON.parse(
 *   '{"type":"welcome","data":{"protocol":1,"server":"@evrmore/rpc","version":"0.1.0","features":["acks","ping"]}}',
 * );
 * console.log(welcome.data.features.includes("acks")); // true
 * ```
 */
export interface WelcomeMessage {
  /** Message type. */
  type: "welcome";
  /** The server and its extensions. */
  data: WelcomeData;
}

/**
 * Every message type the server sends, discriminated by `type`.
 *
 * @example
 * ```ts
 * import type { WebSocketServerMessage } from "@evrmore/rpc";
 *
 * function describe(message: WebSocketServerMessage): string {
 *   switch (message.type) {
 *     case "block":
 *       return `block ${message.data.height}`;
 *     case "transaction":
 *       return `tx ${message.data.txid}`;
 *     default:
 *       return message.type;
 *   }
 * }
 * console.log(describe({ type: "pong", data: {} })); // "pong"
 * ```
 */
export type WebSocketServerMessage =
  | BlockMessage
  | ReorgMessage
  | TransactionMessage
  | AssetMessage
  | MempoolMessage
  | SubscriptionMessage
  | ResultMessage
  | ErrorMessage
  | PongMessage
  | WelcomeMessage;

/**
 * A message of a type this version does not know (a custom server's, for example).
 *
 * @example
 * ```ts
 * import type { CustomServerMessage } from "@evrmore/rpc";
 *
 * const message: CustomServerMessage = { type: "large_block", data: { tx_count: 150 } };
 * console.log(message.type); // "large_block"
 * ```
 */
export interface CustomServerMessage {
  /** Message type. */
  type: string;
  /** Any other field. */
  [key: string]: unknown;
}

/**
 * A subscription filter (our extension of the protocol): `{asset}` delivers
 * only the `assets` events of that exact asset name (`NAME!` for its owner
 * token); `{address}` only the `transactions` with an output paying that
 * address, or the `assets` events whose output pays it. Inputs are not
 * matched (their addresses would need the spent outputs).
 *
 * @example
 * ```ts
 * import type { SubscribeRequest, WebSocketFilter } from "@evrmore/rpc";
 *
 * const filter: WebSocketFilter = { asset: "MYASSET" };
 * const request: SubscribeRequest = { action: "subscribe", topic: "assets", filter };
 * console.log(JSON.stringify(request));
 * // {"action":"subscribe","topic":"assets","filter":{"asset":"MYASSET"}}
 * ```
 */
export type WebSocketFilter = { asset: string } | { address: string };

/**
 * `{"action":"subscribe","topic":...}`. The topic `all` subscribes to every
 * standard topic at once (one answer; each event still comes once).
 *
 * @example
 * ```ts
 * import type { SubscribeRequest } from "@evrmore/rpc";
 *
 * const request: SubscribeRequest = { action: "subscribe", topic: "blocks", id: 1 };
 * const resume: SubscribeRequest = { action: "subscribe", topic: "blocks", since: 1234 };
 * console.log(JSON.stringify(request), JSON.stringify(resume));
 * ```
 */
export interface SubscribeRequest {
  /** The request. */
  action: "subscribe";
  /** Topic to subscribe to. */
  topic: string;
  /**
   * `blocks` only: a cursor, the height or hash of the last block the
   * client has. The server first replays the active chain's blocks after
   * it, then goes on live (errors `unknown_cursor`, `cursor_too_old`).
   */
  since?: number | string;
  /**
   * `assets` and `transactions` only: deliver only the matching events
   * (see {@linkcode WebSocketFilter}); echoed in the answer. A client may
   * hold several filters per topic (error `too_many_filters` past the
   * server's limit); an unfiltered subscription still receives everything.
   */
  filter?: WebSocketFilter;
  /** Echoed in the answer. */
  id?: WebSocketMessageId;
}

/**
 * `{"action":"unsubscribe","topic":...}`.
 *
 * @example
 * ```ts
 * import type { UnsubscribeRequest } from "@evrmore/rpc";
 *
 * const request: UnsubscribeRequest = { action: "unsubscribe", topic: "blocks" };
 * console.log(JSON.stringify(request));
 * ```
 */
export interface UnsubscribeRequest {
  /** The request. */
  action: "unsubscribe";
  /** Topic to unsubscribe from. */
  topic: string;
  /** Remove only this filter; without it, the whole topic (every filter too). */
  filter?: WebSocketFilter;
  /** Echoed in the answer. */
  id?: WebSocketMessageId;
}

/**
 * `{"action":"ping"}`, answered by `{"type":"pong","data":{...}}`.
 *
 * @example
 * ```ts
 * import type { PingRequest } from "@evrmore/rpc";
 *
 * const request: PingRequest = { action: "ping" };
 * console.log(JSON.stringify(request)); // {"action":"ping"}
 * ```
 */
export interface PingRequest {
  /** The request. */
  action: "ping";
  /** Echoed in the answer. */
  id?: WebSocketMessageId;
}

/**
 * `{"command":...,"params":[...]}`: run a read-only node command.
 *
 * @example
 * ```ts
 * import type { CommandRequest } from "@evrmore/rpc";
 *
 * const request: CommandRequest = { command: "getblockhash", params: [1], id: "h1" };
 * console.log(JSON.stringify(request));
 * ```
 */
export interface CommandRequest {
  /** The node command (`getblockcount`, `getblock`, ...). */
  command: string;
  /** Its positional parameters (default none). */
  params?: unknown[];
  /** Echoed in the answer. */
  id?: WebSocketMessageId;
}

/**
 * Every message a client may send.
 *
 * @example
 * ```ts
 * import type { WebSocketClientMessage } from "@evrmore/rpc";
 *
 * const messages: WebSocketClientMessage[] = [
 *   { action: "subscribe", topic: "blocks" },
 *   { action: "ping" },
 *   { command: "getblockcount" },
 * ];
 * console.log(messages.length); // 3
 * ```
 */
export type WebSocketClientMessage =
  | SubscribeRequest
  | UnsubscribeRequest
  | PingRequest
  | CommandRequest;
