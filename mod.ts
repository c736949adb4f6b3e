/**
 * `@evrmore/rpc`: reach an Evrmore node from Deno and push its chain events
 * to web clients the moment they happen.
 *
 * Four parts, each usable alone:
 *
 * - {@linkcode EvrmoreRPCClient}: JSON-RPC over `fetch` to evrmored, with
 *   configuration from options, environment, `evrmore.conf` and `.cookie`;
 *   every node command typed; batches, timeouts and typed errors.
 * - {@linkcode EvrmoreZMQClient}: subscriber to the node's ZMQ topics,
 *   decoding raw transactions and blocks (asset scripts included) locally.
 * - {@linkcode EvrmoreWebSocketServer}: pushes `blocks`, `transactions`,
 *   `assets` and `mempool` events and answers read-only `{"command": ...}`
 *   requests.
 * - {@linkcode EvrmoreWebSocketClient}: a WHATWG WebSocket client for that
 *   server (also the browser-safe entry `@evrmore/rpc/client`).
 *
 * Plus the pure decoding layer ({@linkcode decodeTransaction},
 * {@linkcode decodeBlock}) that turns the node's raw bytes into the exact JSON
 * the node prints. The embedded devnet, an in-process stand-in for the node,
 * is the separate entry `@evrmore/rpc/devnet`.
 *
 * @example Push chain events from a local node
 * ```ts ignore
 * import {
 *   EvrmoreRPCClient,
 *   EvrmoreWebSocketServer,
 *   EvrmoreZMQClient,
 * } from "@evrmore/rpc";
 *
 * const rpcClient = new EvrmoreRPCClient();
 * const zmqClient = new EvrmoreZMQClient();
 * await using server = new EvrmoreWebSocketServer({ rpcClient, zmqClient });
 * await server.start();
 * console.log(`WebSocket server started on ws://${server.host}:${server.port}`);
 * ```
 *
 * @module
 */

// Errors
export {
  AuthError,
  ConnectionError,
  DecodeError,
  type DecodeErrorOptions,
  EvrmoreError,
  type EvrmoreErrorOptions,
  QueueFullError,
  type QueueFullErrorOptions,
  RpcError,
  type RpcErrorOptions,
  TimeoutError,
  type TimeoutErrorOptions,
} from "./lib/errors.ts";

// Networks
export {
  type Network,
  type NetworkParams,
  NETWORKS,
  parseNetwork,
} from "./lib/network.ts";

// EvrmoreRPCClient
export {
  type AssetData,
  type AssetListEntry,
  type BlockchainInfo,
  type BlockHeaderInfo,
  type BlockInfo,
  type BlockInfoVerbose,
  EvrmoreRPCClient,
  type EvrmoreRPCClientOptions,
  EvrmoreRPCMethods,
  type MempoolEntry,
  type MempoolInfo,
  type NetworkInfo,
  type NetworkInfoNetwork,
  type RawTransactionInfo,
  type RawTransactionInputInfo,
  type RawTransactionOutputInfo,
  READ_ONLY_METHODS,
  type RpcBatchCall,
  type RpcBatchResult,
  type RpcCallOptions,
  type RpcConfigSources,
  type RpcParams,
  type RpcPriority,
  type RpcResolvedConfig,
  type RpcSettingOrigin,
  type RpcSettingSource,
  RpcValidationError,
  type RpcValidationErrorOptions,
} from "./lib/rpc/mod.ts";

// Decoding and encoding
export {
  addressScript,
  type AddressType,
  type AssetDestination,
  type AssetIssueOperation,
  type AssetOperation,
  type AssetOwnerOperation,
  type AssetReissueOperation,
  assetScript,
  type AssetTransferOperation,
  base58CheckDecode,
  base58CheckEncode,
  base58Decode,
  base58Encode,
  blockHash,
  type BlockNetworkOptions,
  ByteReader,
  type ByteReaderOptions,
  bytesToHex,
  bytesToReversedHex,
  ByteWriter,
  decodeAddress,
  decodeBlock,
  decodeBlockHeader,
  type DecodeBlockOptions,
  type DecodedAddress,
  type DecodedBlockHeader,
  decodeScript,
  type DecodeScriptOptions,
  decodeTransaction,
  type DecodeTransactionOptions,
  difficultyFromBits,
  encodeAddress,
  type EncodeAddressOptions,
  type GlobalRestrictionOptions,
  globalRestrictionScript,
  hash160,
  heightPush,
  hexToBytes,
  MAX_COMPACT_SIZE,
  merkleRoot,
  type NullAssetTagOptions,
  nullAssetTagScript,
  p2pkhScript,
  p2shScript,
  parseBlock,
  parseTransaction,
  pushData,
  type RawBlock,
  type RawBlockHeader,
  type RawInput,
  type RawOutput,
  type RawTransaction,
  reversedHexToBytes,
  serializeBlock,
  serializeBlockHeader,
  serializeTransaction,
  sha256,
  sha256d,
  txid,
  UNINITIALISED_EXPIRE_TIME,
  verifierScript,
  witnessCommitment,
  witnessCommitmentScript,
  wtxid,
} from "./lib/encoding/mod.ts";

// EvrmoreZMQClient
export {
  EvrmoreZMQClient,
  type EvrmoreZMQClientOptions,
  type EvrmoreZMQStartOptions,
  runZMQSubscriber,
  ZMQ_TOPICS,
  type ZMQAssetMessage,
  type ZMQClientStats,
  type ZMQConnectionEvent,
  type ZMQEventMap,
  type ZMQEventName,
  type ZMQGapEvent,
  type ZMQHandler,
  type ZMQNotification,
  type ZMQOverflowEvent,
  type ZMQRespawnEvent,
  type ZMQRestartEvent,
  type ZMQResyncEvent,
  type ZMQTopic,
} from "./lib/zmq/mod.ts";

// EvrmoreWebSocketServer and EvrmoreWebSocketClient
export {
  type AssetEventData,
  type AssetEventType,
  type AssetMessage,
  type BlockData,
  type BlockMessage,
  type BlockPointer,
  type CommandRequest,
  type CustomServerMessage,
  DEFAULT_ALLOWED_COMMANDS,
  DENIED_COMMANDS,
  type ErrorData,
  type ErrorMessage,
  EvrmoreWebSocketClient,
  type EvrmoreWebSocketClientOptions,
  EvrmoreWebSocketServer,
  type EvrmoreWebSocketServerOptions,
  type MempoolData,
  type MempoolMessage,
  type PingRequest,
  type PongData,
  type PongMessage,
  type ReorgData,
  type ReorgMessage,
  type ResultMessage,
  type SubscribeRequest,
  type SubscriptionData,
  type SubscriptionMessage,
  type TransactionData,
  type TransactionMessage,
  type UnsubscribeRequest,
  WEBSOCKET_TOPICS,
  type WebSocketBroadcastMatch,
  type WebSocketClientMessage,
  type WebSocketClientState,
  type WebSocketErrorCode,
  type WebSocketFeature,
  type WebSocketFeedEvent,
  type WebSocketFilter,
  type WebSocketMessageId,
  WebSocketRequestError,
  type WebSocketRequestErrorOptions,
  type WebSocketRequestOptions,
  type WebSocketServerCallOptions,
  type WebSocketServerHealth,
  type WebSocketServerMessage,
  type WebSocketServerRpc,
  type WebSocketServerStats,
  type WebSocketServerZmq,
  type WebSocketServerZmqEvents,
  type WebSocketSubscribeOptions,
  type WebSocketTopic,
  type WebSocketUnsubscribeOptions,
  type WelcomeData,
  type WelcomeMessage,
} from "./lib/websocket/mod.ts";

export type {
  DecodedBlock,
  DecodedTransaction,
  ScriptAsset,
  ScriptPubKey,
  TransactionInput,
  TransactionOutput,
} from "./lib/encoding/types.ts";
