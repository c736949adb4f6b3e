/**
 * The browser-safe part of the WebSocket module: `EvrmoreWebSocketClient`
 * and the protocol's message types. Uses only Web APIs.
 *
 * @module
 */

export { EvrmoreWebSocketClient } from "./_client.ts";
export {
  type EvrmoreWebSocketClientOptions,
  type WebSocketClientState,
  WebSocketRequestError,
  type WebSocketRequestErrorOptions,
  type WebSocketRequestOptions,
  type WebSocketSubscribeOptions,
  type WebSocketUnsubscribeOptions,
} from "./_client_options.ts";
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
} from "./types.ts";
export { WEBSOCKET_TOPICS } from "./types.ts";
