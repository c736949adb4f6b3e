/**
 * WebSocket support: `EvrmoreWebSocketServer` pushes the node's blocks,
 * transactions, asset operations and mempool changes to WebSocket clients
 * and runs read-only node commands for them; `EvrmoreWebSocketClient`
 * (browser-safe, also in `./client.ts`) connects to it.
 *
 * @example A server and a client on one machine
 * ```ts
 * import { EvrmoreWebSocketClient, EvrmoreWebSocketServer } from "@evrmore/rpc";
 *
 * const server = new EvrmoreWebSocketServer({
 *   rpcClient: {
 *     call: () => Promise.resolve(170),
 *     getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
 *   },
 *   zmqClient: { on: () => () => {}, start: () => Promise.resolve() },
 *   host: "127.0.0.1",
 *   port: 0,
 * });
 * await server.start();
 * const client = new EvrmoreWebSocketClient({ uri: `ws://127.0.0.1:${server.port}` });
 * await client.connect();
 * await client.subscribe("blocks");
 * console.log(await client.command("getblockcount")); // 170
 * await client.disconnect();
 * await server.stop();
 * ```
 *
 * @module
 */

export {
  EvrmoreWebSocketServer,
  type EvrmoreWebSocketServerOptions,
  type WebSocketBroadcastMatch,
  type WebSocketFeedEvent,
  type WebSocketServerCallOptions,
  type WebSocketServerHealth,
  type WebSocketServerRpc,
  type WebSocketServerStats,
  type WebSocketServerZmq,
  type WebSocketServerZmqEvents,
} from "./_server.ts";
export { DEFAULT_ALLOWED_COMMANDS, DENIED_COMMANDS } from "./_commands.ts";
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
