/**
 * The browser-safe part of the WebSocket module: `EvrmoreWebSocketClient`
 * and the protocol's message types. Uses only Web APIs.
 *
 * @module
 */

export {
  EvrmoreWebSocketClient,
  type EvrmoreWebSocketClientOptions,
  type WebSocketClientState,
  WebSocketRequestError,
  type WebSocketRequestErrorOptions,
  type WebSocketRequestOptions,
  type WebSocketSubscribeOptions,
  type WebSocketUnsubscribeOptions,
} from "./_client.ts";
export type {
  AssetEventData,
  AssetEventType,
  AssetMessage,
  BlockData,
  BlockMessage,
  BlockPointer,
  CommandRequest,
  CustomServerMessage,
  ErrorMessage,
  MempoolData,
  MempoolMessage,
  PingRequest,
  PongMessage,
  ReorgData,
  ReorgMessage,
  ResultMessage,
  SubscribeRequest,
  SubscriptionMessage,
  TransactionData,
  TransactionMessage,
  UnsubscribeRequest,
  WebSocketClientMessage,
  WebSocketErrorCode,
  WebSocketFilter,
  WebSocketMessageId,
  WebSocketServerMessage,
  WebSocketTopic,
} from "./types.ts";
export { WEBSOCKET_TOPICS } from "./types.ts";
