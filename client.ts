/**
 * Browser-safe entry of `@evrmore/rpc`: the WebSocket client and its message
 * types, with no Deno-only API and no RPC, ZMQ or server code in its import
 * graph.
 *
 * @example
 * ```ts ignore
 * import { EvrmoreWebSocketClient } from "@evrmore/rpc/client";
 *
 * const client = new EvrmoreWebSocketClient({ uri: "ws://localhost:8765" });
 * await client.connect();
 * await client.subscribe("blocks");
 * for await (const message of client) {
 *   if (message.type === "block") console.log(message.data.hash, message.data.height);
 * }
 * ```
 *
 * @module
 */

export {
  ConnectionError,
  type DecodeError,
  type DecodeErrorOptions,
  EvrmoreError,
  type EvrmoreErrorOptions,
  RpcError,
  type RpcErrorOptions,
  TimeoutError,
} from "./lib/errors.ts";
export { EvrmoreWebSocketClient } from "./lib/websocket/_client.ts";
export {
  type EvrmoreWebSocketClientOptions,
  type WebSocketClientState,
  WebSocketRequestError,
  type WebSocketRequestErrorOptions,
  type WebSocketRequestOptions,
  type WebSocketSubscribeOptions,
  type WebSocketUnsubscribeOptions,
} from "./lib/websocket/_client_options.ts";
export type {
  AssetEventData,
  AssetEventType,
  AssetMessage,
  BlockData,
  BlockMessage,
  BlockPointer,
  CommandRequest,
  CustomServerMessage,
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
  WebSocketClientMessage,
  WebSocketErrorCode,
  WebSocketFeature,
  WebSocketFilter,
  WebSocketMessageId,
  WebSocketServerMessage,
  WebSocketTopic,
  WelcomeData,
  WelcomeMessage,
} from "./lib/websocket/types.ts";
export { WEBSOCKET_TOPICS } from "./lib/websocket/types.ts";
