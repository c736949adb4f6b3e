/**
 * `EvrmoreWebSocketServer`: pushes the node's ZMQ events to WebSocket
 * clients and proxies read-only commands.
 *
 * @module
 */

import {
  AuthError,
  ConnectionError,
  EvrmoreError,
  RpcError,
  TimeoutError,
} from "../errors.ts";
import type { DecodedTransaction } from "../encoding/types.ts";
import type {
  ZMQGapEvent,
  ZMQNotification,
  ZMQRestartEvent,
  ZMQTopic,
} from "../zmq/types.ts";
import type { Network } from "../network.ts";
import { BlockContinuity } from "./_continuity.ts";
import { allowedCommandSet, isDenied } from "./_commands.ts";
import {
  type MetricFamily,
  METRICS_CONTENT_TYPE,
  renderMetrics,
} from "./_metrics.ts";
import {
  digest,
  messageId,
  normalizeOrigins,
  offeredProtocols,
  originAllowed,
  presentedTokens,
  RateLimiter,
  selectProtocol,
  tokenMatches,
} from "./_security.ts";
import {
  DASHBOARD_PATHS,
  dashboardHeaders,
  dashboardNonce,
  dashboardPage,
} from "./_dashboard.ts";
import {
  ALL_TOPIC,
  assetOutputs,
  blockData,
  blockDataFromRpc,
  errorMessage,
  errorText,
  mempoolData,
  outputAddresses,
  parseClientMessage,
  pongMessage,
  sanitizeNodeMessage,
  secondsOption,
  subscriptionMessage,
  tokenProblem,
  TOPICS,
  transactionData,
  welcomeMessage,
} from "./_protocol.ts";
import type {
  AssetMessage,
  BlockData,
  BlockMessage,
  ErrorMessage,
  MempoolData,
  MempoolMessage,
  ResultMessage,
  TransactionMessage,
  WebSocketErrorCode,
  WebSocketFilter,
  WebSocketMessageId,
} from "./types.ts";
import { checkOptions } from "../_options.ts";

/**
 * What a broadcast event is about, for the clients that subscribed with a
 * filter: an `asset` event's asset name, the addresses its output (or a
 * transaction's outputs) pays. Without it, only the unfiltered subscribers
 * of the topic receive the message.
 *
 * @example
 * ```ts
 * import type { WebSocketBroadcastMatch } from "@evrmore/rpc";
 *
 * const match: WebSocketBroadcastMatch = {
 *   asset: "MYASSET",
 *   addresses: ["EXhPvjB4bG8VhFuYrUXk4uMBiJ8X7Cr5dW"],
 * };
 * console.log(match.asset); // "MYASSET"
 * ```
 */
export interface WebSocketBroadcastMatch {
  /** The asset name (matched exactly against `{"asset":...}` filters). */
  asset?: string;
  /** The addresses paid (matched against `{"address":...}` filters). */
  addresses?: readonly string[];
}

/**
 * Options the server passes to {@linkcode WebSocketServerRpc.call}.
 *
 * @example
 * ```ts
 * import type { WebSocketServerCallOptions } from "@evrmore/rpc";
 *
 * const options: WebSocketServerCallOptions = { signal: new AbortController().signal };
 * console.log(options.signal?.aborted); // false
 * ```
 */
export interface WebSocketServerCallOptions {
  /** Aborted when the server stops. */
  signal?: AbortSignal;
}

/**
 * What the server needs of an RPC client. `EvrmoreRPCClient` fits; so does
 * any object with these two methods (a fake in tests, a caching proxy).
 *
 * @example A fake RPC client
 * ```ts
 * import type { WebSocketServerRpc } from "@evrmore/rpc";
 *
 * const rpc: WebSocketServerRpc = {
 *   call: (method) => Promise.resolve(method === "getblockcount" ? 170 : null),
 *   getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
 * };
 * console.log(await rpc.call("getblockcount")); // 170
 * ```
 */
export interface WebSocketServerRpc {
  /** Calls a node method with positional parameters; resolves with its result. */
  call(
    method: string,
    params?: unknown[],
    options?: WebSocketServerCallOptions,
  ): Promise<unknown>;
  /** The node's `getmempoolinfo`. */
  getmempoolinfo(
    options?: WebSocketServerCallOptions,
  ): Promise<{ size: number; bytes: number; usage: number }>;
}

/**
 * The ZMQ client events the server listens to, and what their handlers receive.
 *
 * @example
 * ```ts
 * import type { WebSocketServerZmqEvents } from "@evrmore/rpc";
 *
 * const events: Array<keyof WebSocketServerZmqEvents> = ["rawtx", "rawblock", "hashblock"];
 * console.log(events.length); // 3
 * ```
 */
export interface WebSocketServerZmqEvents {
  /** A `hashblock` notification. */
  hashblock: ZMQNotification;
  /** A `rawblock` notification (decoded: `block` set). */
  rawblock: ZMQNotification;
  /** A `rawtx` notification (decoded: `transaction` set). */
  rawtx: ZMQNotification;
  /** Notifications were lost (on a block topic: the server catches up from RPC). */
  gap: ZMQGapEvent;
  /** The publisher restarted (on a block topic: the server catches up from RPC). */
  restart: ZMQRestartEvent;
  /** Connected to the node's publisher. */
  connect: unknown;
  /** The connection to the publisher was lost. */
  disconnect: unknown;
  /** Something went wrong in the ZMQ client. */
  error: unknown;
}

/**
 * What the server needs of a ZMQ client. `EvrmoreZMQClient` fits; so does
 * any emitter of {@linkcode WebSocketServerZmqEvents} with a `start()`.
 *
 * @example A fake ZMQ client that never publishes
 * ```ts
 * import type { WebSocketServerZmq } from "@evrmore/rpc";
 *
 * const zmq: WebSocketServerZmq = {
 *   on: () => () => {},
 *   start: () => Promise.resolve(),
 * };
 * await zmq.start();
 * ```
 */
export interface WebSocketServerZmq {
  /** Adds a handler for a topic or event; returns a function that removes it. */
  on<E extends keyof WebSocketServerZmqEvents>(
    event: E,
    handler: (event: WebSocketServerZmqEvents[E]) => void | Promise<void>,
  ): () => void;
  /** Connects and subscribes; must tolerate being called when already started. */
  start(): Promise<void>;
}

/** The options the constructor reads (unknown ones throw). */
export const SERVER_OPTION_KEYS: readonly string[] = [
  "rpcClient",
  "zmqClient",
  "host",
  "port",
  "pingInterval",
  "pingTimeout",
  "path",
  "allowedCommands",
  "maxMessageSize",
  "maxBufferedAmount",
  "maxPendingCommands",
  "maxFiltersPerClient",
  "maxClients",
  "mempoolInterval",
  "seenTransactions",
  "hashBlockDelay",
  "startZmq",
  "maxBackfillBlocks",
  "maxReplayBlocks",
  "authToken",
  "authenticate",
  "allowedOrigins",
  "maxMessagesPerSecond",
  "messageBurst",
  "maxClientsPerIp",
  "metrics",
  "dashboard",
  "onError",
];

/**
 * Options of {@linkcode EvrmoreWebSocketServer}.
 *
 * @example
 * ```ts
 * import type { EvrmoreWebSocketServerOptions } from "@evrmore/rpc";
 *
 * const options: EvrmoreWebSocketServerOptions = {
 *   rpcClient: {
 *     call: () => Promise.resolve(null),
 *     getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
 *   },
 *   zmqClient: { on: () => () => {}, start: () => Promise.resolve() },
 *   host: "0.0.0.0",
 *   port: 8765,
 *   pingInterval: 30,
 *   pingTimeout: 10,
 *   allowedCommands: ["getblockcount", "getblock"],
 *   dashboard: true,
 *   authToken: "change-me-to-a-long-random-token",
 *   allowedOrigins: ["https://example.com"],
 *   maxMessagesPerSecond: 50,
 * };
 * console.log(options.port); // 8765
 * ```
 */
export interface EvrmoreWebSocketServerOptions<
  R extends WebSocketServerRpc = WebSocketServerRpc,
> {
  /** The RPC client: commands, `getmempoolinfo`, and `getblock` for `hashblock`-only setups. */
  rpcClient: R;
  /** The ZMQ client: the source of block and transaction events. */
  zmqClient: WebSocketServerZmq;
  /** Interface to listen on (default `"localhost"`; `"0.0.0.0"` for all). */
  host?: string;
  /** Port to listen on (default 8765; 0 picks a free port, read it back from `port`). */
  port?: number;
  /**
   * Seconds of silence after which a client is pinged (default 20). Deno
   * sends the protocol pings itself: the server sets
   * `Deno.upgradeWebSocket`'s `idleTimeout` to `pingInterval + pingTimeout`
   * (rounded up), so a client is pinged after half that time of silence
   * and closed (1001) when the other half passes without any frame from
   * it. `0` or `null` turns pings and this timeout off.
   */
  pingInterval?: number | null;
  /** Seconds to wait for the pong (default 20); `0` or `null` turns the timeout off. */
  pingTimeout?: number | null;
  /**
   * The WebSocket path (default `"/"`); `GET /health` answers JSON next to
   * it, and plain `GET /` and `GET /dashboard` the dashboard (see
   * `dashboard`).
   */
  path?: string;
  /**
   * Node commands clients may run (default: the read-only chain, block,
   * transaction, mempool, asset and address-index queries). Wallet, mining,
   * network-control and `stop` commands stay refused whatever this says.
   */
  allowedCommands?: Iterable<string>;
  /** Longest accepted client message, in characters (default 65536); longer ones close the connection (1009). */
  maxMessageSize?: number;
  /**
   * Bytes a client may have waiting to be sent before it is closed as too
   * slow (1013), so that it never holds the others up (default 4 MiB).
   * Broadcasts read the send buffers each time a sixteenth of this has been
   * broadcast, so a client may pass it by that much (plus one message)
   * before it is closed.
   */
  maxBufferedAmount?: number;
  /** Commands a client may have running at once (default 16). */
  maxPendingCommands?: number;
  /**
   * Subscription filters a client may hold, all topics together; more are
   * refused with `too_many_filters` (default 16).
   */
  maxFiltersPerClient?: number;
  /** Most clients connected at once; more get HTTP 503 (default 10000). */
  maxClients?: number;
  /** Least time between two `getmempoolinfo` calls, in ms (default 1000). */
  mempoolInterval?: number;
  /** How many transaction ids to remember so each is announced once (default 100000). */
  seenTransactions?: number;
  /**
   * How long to wait, in ms, for the `rawblock` of a `hashblock` before
   * asking the node with `getblock` (default 1000).
   */
  hashBlockDelay?: number;
  /** Call `zmqClient.start()` in `start()` (default `true`). */
  startZmq?: boolean;
  /**
   * Most blocks fetched from RPC to fill one hole in the announced chain
   * (blocks ZMQ missed, or a reorg's new branch) before the block that
   * revealed it (default 100); beyond it the older ones are skipped and an
   * error is reported through `onError`.
   */
  maxBackfillBlocks?: number;
  /**
   * Most blocks replayed to a client subscribing to `blocks` with `since`
   * (default 1000); an older cursor gets the error `cursor_too_old`.
   */
  maxReplayBlocks?: number;
  /**
   * A shared secret clients must present to connect (default: none, anyone
   * may connect). Accepted as `Authorization: Bearer <token>`, as the
   * WebSocket subprotocol `evrmore.token.<token>` (what browsers can send;
   * the server answers with the subprotocol `evrmore` when offered, so the
   * token is not echoed), or as `?token=<token>` (may end up in logs).
   * Compared in constant time. A request without it gets HTTP 401
   * `{"type":"error","code":"unauthorized",...}` before the upgrade. It
   * protects `GET /metrics` too; `GET /health` stays open. 1 to 1024
   * characters from ``A-Z a-z 0-9 !#$%&'*+-.^_`|~`` (a subprotocol's
   * characters).
   */
  authToken?: string;
  /**
   * Decides whether a WebSocket (or `/metrics`) request may proceed, for
   * schemes of your own (cookies, JWTs); runs after the `authToken` check,
   * and both must pass. `false` (or a throw) answers HTTP 401.
   */
  authenticate?: (request: Request) => boolean | Promise<boolean>;
  /**
   * Origins whose browser pages may connect, exactly as browsers send them
   * (`"https://example.com"`, `"http://localhost:3000"`); `"*"` allows any.
   * A request with an `Origin` header not in the list gets HTTP 403
   * `{"type":"error","code":"origin_not_allowed",...}`; requests without
   * one (non-browser clients) pass. Default: every origin (the design
   * document's behaviour).
   */
  allowedOrigins?: Iterable<string>;
  /**
   * Messages a client may send per second, on average (default 100; `0` or
   * `null`: no limit). Beyond it each message is answered
   * `{"type":"error","code":"rate_limited",...}` (with its id) and not
   * handled; a client that goes on after about `10 ×` this many refusals is
   * closed with 1008.
   */
  maxMessagesPerSecond?: number | null;
  /** Messages a client may send at once after a quiet time (default `2 × maxMessagesPerSecond`, at least 1). */
  messageBurst?: number;
  /**
   * Most clients connected at once from one IP address; more get HTTP 429
   * `{"type":"error","code":"too_many_connections",...}` (default: no cap;
   * behind a reverse proxy every client has the proxy's address).
   */
  maxClientsPerIp?: number;
  /**
   * Serve `GET /metrics` in the Prometheus text format (default `true`);
   * it requires the `authToken` (and `authenticate`) when set.
   */
  metrics?: boolean;
  /**
   * Serve the live dashboard, a self-contained HTML page (inline script and
   * style under a strict Content-Security-Policy, no external resources)
   * that connects back to the WebSocket path and shows blocks,
   * transactions, asset events and the mempool as they arrive (default
   * `true`). It answers plain `GET /` and `GET /dashboard`; WebSocket
   * upgrades on `/` are unaffected. With `false`, a plain request to the
   * WebSocket path gets 426 and `/dashboard` 404.
   */
  dashboard?: boolean;
  /** Receives errors that reach no client (default: `console.error`). */
  onError?: (error: Error) => void;
}

/**
 * Counters of {@linkcode EvrmoreWebSocketServer.stats}.
 *
 * @example
 * ```ts
 * import type { WebSocketServerStats } from "@evrmore/rpc";
 *
 * const stats: WebSocketServerStats = { clients: 2, slowClientsClosed: 0, broadcasts: 10, transactions: 8, blocks: 2 };
 * console.log(stats.clients); // 2
 * ```
 */
export interface WebSocketServerStats {
  /** Clients connected now. */
  clients: number;
  /** Clients closed because their send buffer overflowed. */
  slowClientsClosed: number;
  /** Messages broadcast (each counted once, whatever the number of subscribers). */
  broadcasts: number;
  /** Transactions announced. */
  transactions: number;
  /** Blocks announced. */
  blocks: number;
}

/**
 * The body of `GET /health`.
 *
 * @example
 * ```ts
 * import type { WebSocketServerHealth } from "@evrmore/rpc";
 *
 * const health: WebSocketServerHealth = await fetch("http://localhost:8765/health")
 *   .then((response) => response.json())
 *   .catch(() => ({ status: "ok", clients: 0, uptime: 0, last_block: null, zmq: "unknown" }));
 * console.log(health.status);
 * ```
 */
export interface WebSocketServerHealth {
  /** `"ok"`, or `"stopping"` during `stop()`. */
  status: "ok" | "stopping";
  /** Clients connected now. */
  clients: number;
  /** Seconds since `start()`. */
  uptime: number;
  /** The last block announced, if any. */
  last_block: BlockData | null;
  /** Whether the ZMQ client reported a connection (`"unknown"` until it reports). */
  zmq: "connected" | "disconnected" | "unknown";
}

interface ClientState {
  pending: number;
  /** The client's message allowance, when messages are rate limited. */
  limiter?: RateLimiter;
  /** The client's IP address, when connections per IP are capped. */
  ip?: string;
}

const DEFAULTS = {
  host: "localhost",
  port: 8765,
  pingInterval: 20,
  pingTimeout: 20,
  path: "/",
  maxMessageSize: 65536,
  maxBufferedAmount: 4 * 1024 * 1024,
  maxPendingCommands: 16,
  maxFiltersPerClient: 16,
  maxClients: 10000,
  mempoolInterval: 1000,
  seenTransactions: 100000,
  hashBlockDelay: 1000,
  maxBackfillBlocks: 100,
  maxReplayBlocks: 1000,
  maxMessagesPerSecond: 100,
} as const;

/** Filtered subscribers of a topic: asset name / address → sockets. */
interface FilterIndex {
  asset: Map<string, Set<WebSocket>>;
  address: Map<string, Set<WebSocket>>;
}

/** One filter of a client's. */
interface IndexedFilter {
  key: string;
  topic: string;
  kind: "asset" | "address";
  value: string;
}

function indexedFilter(topic: string, filter: WebSocketFilter): IndexedFilter {
  const kind = "asset" in filter ? "asset" : "address";
  const value = "asset" in filter ? filter.asset : filter.address;
  return { key: `${topic}\n${kind}\n${value}`, topic, kind, value };
}

const SEEN_BLOCKS = 1000;
/** Returned by `broadcast()`: it never waits, so one settled promise serves. */
const RESOLVED: Promise<void> = Promise.resolve();
const CLOSE_WAIT_MS = 1000;

/**
 * A WebSocket server that pushes the node's blocks, transactions, asset
 * operations and mempool changes to the clients subscribed to them, and runs
 * read-only node commands for them.
 *
 * Events come from the ZMQ client: transactions and asset operations from
 * `rawtx` (decoded locally, no RPC call per transaction; each transaction is
 * announced once, whether first seen in the mempool or in a block), blocks
 * from `rawblock` (or `hashblock` plus one `getblock` call when no
 * `rawblock` follows), mempool figures from `getmempoolinfo` at most once
 * per `mempoolInterval` after activity, only when they changed.
 *
 * No block is lost: blocks ZMQ missed (gaps, publisher restarts) and a
 * reorg's new branch are fetched from RPC and announced in height order,
 * each once (`maxBackfillBlocks`); clients may subscribe to `blocks` with a
 * `since` cursor to get the blocks after it first (`maxReplayBlocks`).
 *
 * Override `handleBlock`, `handleTransaction`, `handleClientMessage` and
 * `broadcast` to extend it (see the custom server example in the docs).
 * `stop()` closes the clients (1001) and removes the server's ZMQ handlers;
 * it neither stops the ZMQ client nor closes the RPC client.
 *
 * @example Serve events from a node
 * ```ts ignore
 * import {
 *   EvrmoreRPCClient,
 *   EvrmoreWebSocketServer,
 *   EvrmoreZMQClient,
 * } from "@evrmore/rpc";
 *
 * const rpcClient = new EvrmoreRPCClient();
 * const zmqClient = new EvrmoreZMQClient();
 * await using server = new EvrmoreWebSocketServer({ rpcClient, zmqClient, port: 8765 });
 * await server.start();
 * console.log(`WebSocket server started on ws://${server.host}:${server.port}`);
 * ```
 *
 * @example With stand-ins for the node's clients
 * ```ts
 * import { EvrmoreWebSocketServer } from "@evrmore/rpc";
 *
 * const server = new EvrmoreWebSocketServer({
 *   rpcClient: {
 *     call: () => Promise.resolve(null),
 *     getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
 *   },
 *   zmqClient: { on: () => () => {}, start: () => Promise.resolve() },
 *   host: "127.0.0.1",
 *   port: 0,
 * });
 * await server.start();
 * console.log(server.port > 0); // true
 * await server.stop();
 * ```
 */
export class EvrmoreWebSocketServer<
  R extends WebSocketServerRpc = WebSocketServerRpc,
> implements AsyncDisposable {
  /** The RPC client given to the constructor. */
  readonly rpcClient: R;
  /** The ZMQ client given to the constructor. */
  readonly zmqClient: WebSocketServerZmq;
  /**
   * Unfiltered subscribers of each standard topic (`blocks`,
   * `transactions`, `assets`, `mempool`); clients subscribed with filters
   * only are kept apart.
   */
  readonly subscriptions: Map<string, Set<WebSocket>>;

  #host: string;
  #port: number;
  #path: string;
  #idleTimeout: number;
  #allowed: ReadonlySet<string>;
  #maxMessageSize: number;
  #maxBufferedAmount: number;
  #maxPendingCommands: number;
  #maxFilters: number;
  /** Filtered subscribers: topic → asset name / address → sockets. */
  #filterIndex = new Map<string, FilterIndex>();
  /** Each filtered client's filters, by key (see `indexedFilter`). */
  #clientFilters = new Map<WebSocket, Map<string, IndexedFilter>>();
  #maxClients: number;
  #mempoolInterval: number;
  #seenLimit: number;
  #hashBlockDelay: number;
  #startZmq: boolean;
  #continuity: BlockContinuity;
  #authToken: Uint8Array | undefined;
  #authenticate: ((request: Request) => boolean | Promise<boolean>) | undefined;
  #allowedOrigins: ReadonlySet<string> | undefined;
  #messageRate: number;
  #messageBurst: number;
  #maxClientsPerIp: number;
  #metricsEnabled: boolean;
  #clientsPerIp = new Map<string, number>();
  #counters = {
    connections: 0,
    received: 0,
    sent: 0,
    bytesSent: 0,
    rateLimited: 0,
    rateLimitClosed: 0,
    authFailures: 0,
    broadcasts: new Map<string, number>(),
    errors: new Map<string, number>(),
    commands: new Map<string, number>(),
    rejected: new Map<string, number>(),
    zmq: new Map<string, number>(),
  };
  #lastText = "";
  #lastBytes = 0;
  #dashboard: boolean;
  #onError: (error: Error) => void;

  #http: Deno.HttpServer<Deno.NetAddr> | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #abort = new AbortController();
  #unsubscribers: Array<() => void> = [];
  #clients = new Map<WebSocket, ClientState>();
  #tasks = new Set<Promise<unknown>>();
  #seenTxs = new Map<string, true>();
  #seenBlocks = new Map<string, true>();
  #pendingHashBlocks = new Map<string, ReturnType<typeof setTimeout>>();
  #mempoolTimer: ReturnType<typeof setTimeout> | undefined;
  #mempoolRunning = false;
  #mempoolDirty = false;
  #lastMempoolRun = 0;
  #lastMempool: MempoolData | undefined;
  #lastBlock: BlockData | null = null;
  #zmqState: "connected" | "disconnected" | "unknown" = "unknown";
  #startedAt = 0;
  #stats = { slowClientsClosed: 0, broadcasts: 0, transactions: 0, blocks: 0 };
  /** Bytes broadcast since the send buffers were last read (see `broadcast`). */
  #uncheckedBytes = 0;

  /**
   * Creates a server; nothing happens until {@linkcode start}.
   *
   * @param options The node's clients, where to listen, and limits.
   */
  constructor(options: EvrmoreWebSocketServerOptions<R>) {
    checkOptions("EvrmoreWebSocketServer", options, SERVER_OPTION_KEYS);
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot create server: options must be an object");
    }
    const { rpcClient, zmqClient } = options;
    if (
      typeof rpcClient?.call !== "function" ||
      typeof rpcClient.getmempoolinfo !== "function"
    ) {
      throw new TypeError(
        "Cannot create server: rpcClient must have call() and getmempoolinfo()",
      );
    }
    if (
      typeof zmqClient?.on !== "function" ||
      typeof zmqClient.start !== "function"
    ) {
      throw new TypeError(
        "Cannot create server: zmqClient must have on() and start()",
      );
    }
    this.rpcClient = rpcClient;
    this.zmqClient = zmqClient;
    this.#host = options.host ?? DEFAULTS.host;
    if (typeof this.#host !== "string" || this.#host === "") {
      throw new TypeError(
        "Cannot create server: host must be a non-empty string",
      );
    }
    this.#port = integer("port", options.port, DEFAULTS.port, 0, 65535);
    this.#path = options.path ?? DEFAULTS.path;
    if (typeof this.#path !== "string" || !this.#path.startsWith("/")) {
      throw new TypeError('Cannot create server: path must start with "/"');
    }
    const interval = secondsOption(
      "server.pingInterval",
      options.pingInterval,
      DEFAULTS.pingInterval,
    );
    const timeout = secondsOption(
      "server.pingTimeout",
      options.pingTimeout,
      DEFAULTS.pingTimeout,
    );
    this.#idleTimeout = interval > 0 && timeout > 0
      ? Math.ceil(interval + timeout)
      : 0;
    this.#allowed = allowedCommandSet(options.allowedCommands);
    this.#maxMessageSize = integer(
      "maxMessageSize",
      options.maxMessageSize,
      DEFAULTS.maxMessageSize,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.#maxBufferedAmount = integer(
      "maxBufferedAmount",
      options.maxBufferedAmount,
      DEFAULTS.maxBufferedAmount,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    this.#maxFilters = integer(
      "maxFiltersPerClient",
      options.maxFiltersPerClient,
      DEFAULTS.maxFiltersPerClient,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    this.#maxPendingCommands = integer(
      "maxPendingCommands",
      options.maxPendingCommands,
      DEFAULTS.maxPendingCommands,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.#maxClients = integer(
      "maxClients",
      options.maxClients,
      DEFAULTS.maxClients,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.#mempoolInterval = integer(
      "mempoolInterval",
      options.mempoolInterval,
      DEFAULTS.mempoolInterval,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    this.#seenLimit = integer(
      "seenTransactions",
      options.seenTransactions,
      DEFAULTS.seenTransactions,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.#hashBlockDelay = integer(
      "hashBlockDelay",
      options.hashBlockDelay,
      DEFAULTS.hashBlockDelay,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    this.#startZmq = options.startZmq ?? true;
    this.#continuity = this.#newContinuity(
      integer(
        "maxBackfillBlocks",
        options.maxBackfillBlocks,
        DEFAULTS.maxBackfillBlocks,
        1,
        Number.MAX_SAFE_INTEGER,
      ),
      integer(
        "maxReplayBlocks",
        options.maxReplayBlocks,
        DEFAULTS.maxReplayBlocks,
        0,
        Number.MAX_SAFE_INTEGER,
      ),
    );
    if (options.authToken !== undefined) {
      const problem = tokenProblem(options.authToken);
      if (problem !== undefined) {
        throw new TypeError(`Cannot create server: authToken ${problem}`);
      }
      this.#authToken = digest(options.authToken);
    }
    if (
      options.authenticate !== undefined &&
      typeof options.authenticate !== "function"
    ) {
      throw new TypeError(
        "Cannot create server: authenticate must be a function",
      );
    }
    this.#authenticate = options.authenticate;
    this.#allowedOrigins = options.allowedOrigins === undefined
      ? undefined
      : normalizeOrigins(options.allowedOrigins);
    const rate = options.maxMessagesPerSecond === undefined
      ? DEFAULTS.maxMessagesPerSecond
      : options.maxMessagesPerSecond ?? 0;
    if (typeof rate !== "number" || !Number.isFinite(rate) || rate < 0) {
      throw new RangeError(
        "Cannot create server: maxMessagesPerSecond must be a number >= 0 or null",
      );
    }
    this.#messageRate = rate;
    this.#messageBurst = integer(
      "messageBurst",
      options.messageBurst,
      Math.max(1, Math.ceil(2 * rate)),
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.#maxClientsPerIp = integer(
      "maxClientsPerIp",
      options.maxClientsPerIp,
      0,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.#metricsEnabled = options.metrics ?? true;
    this.#dashboard = options.dashboard ?? true;
    this.#onError = options.onError ??
      ((error) => console.error(`EvrmoreWebSocketServer: ${error.message}`));
    this.subscriptions = new Map(
      TOPICS.map((topic) => [topic, new Set<WebSocket>()]),
    );
  }

  /** The host the server listens on, as configured. */
  get host(): string {
    return this.#host;
  }

  /** The port the server listens on (the bound port once started, useful with port 0). */
  get port(): number {
    return this.#http?.addr.port ?? this.#port;
  }

  /** Whether the server is listening. */
  get listening(): boolean {
    return this.#http !== undefined && this.#stopping === undefined;
  }

  /** Counters: clients, slow clients closed, broadcasts, transactions and blocks announced. */
  get stats(): WebSocketServerStats {
    return { clients: this.#clients.size, ...this.#stats };
  }

  /**
   * Starts listening and, unless `startZmq` is false, starts the ZMQ client
   * (its handlers are added first, so no notification is missed). Resolves
   * once listening; calling it again while started does nothing.
   *
   * @throws {ConnectionError} When the address cannot be bound.
   */
  start(): Promise<void> {
    if (this.#stopping !== undefined) {
      return this.#stopping.then(() => this.start());
    }
    this.#starting ??= this.#start().catch((error) => {
      this.#starting = undefined;
      throw error;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#abort = new AbortController();
    this.#listenZmq();
    try {
      this.#http = Deno.serve({
        hostname: this.#host,
        port: this.#port,
        onListen: () => {},
      }, (request, info) => this.#handleRequest(request, info));
    } catch (cause) {
      this.#unlistenZmq();
      throw new ConnectionError(
        `Cannot listen on ${this.#host}:${this.#port}: ${errorText(cause)}`,
        { cause },
      );
    }
    this.#startedAt = Date.now();
    if (this.#startZmq) {
      try {
        await this.zmqClient.start();
      } catch (cause) {
        await this.#shutdown();
        throw cause instanceof EvrmoreError ? cause : new ConnectionError(
          `Cannot start the ZMQ client: ${errorText(cause)}`,
          { cause },
        );
      }
    }
  }

  /**
   * Closes every client (1001), stops listening, removes the ZMQ handlers,
   * and waits for running work. The RPC and ZMQ clients stay open: they
   * belong to the caller. Safe to call more than once.
   */
  stop(): Promise<void> {
    if (this.#http === undefined) return this.#stopping ?? Promise.resolve();
    this.#stopping ??= (async () => {
      try {
        await this.#starting?.catch(() => {});
        await this.#shutdown();
      } finally {
        this.#starting = undefined;
        this.#stopping = undefined;
      }
    })();
    return this.#stopping;
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #shutdown(): Promise<void> {
    const http = this.#http;
    if (http === undefined) return;
    this.#unlistenZmq();
    this.#abort.abort(new ConnectionError("Cannot finish: the server stopped"));
    clearTimeout(this.#mempoolTimer);
    this.#mempoolTimer = undefined;
    for (const timer of this.#pendingHashBlocks.values()) clearTimeout(timer);
    this.#pendingHashBlocks.clear();

    const closed: Promise<void>[] = [];
    for (const socket of this.#clients.keys()) {
      if (socket.readyState === WebSocket.CLOSED) continue;
      closed.push(
        new Promise((resolve) =>
          socket.addEventListener("close", () => resolve(), { once: true })
        ),
      );
      try {
        socket.close(1001, "Server shutting down");
      } catch {
        // Already closing.
      }
    }
    if (closed.length > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(closed),
        new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    await http.shutdown();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    this.#http = undefined;
    this.#clients.clear();
    this.#clientsPerIp.clear();
    for (const set of this.subscriptions.values()) set.clear();
    this.#filterIndex.clear();
    this.#clientFilters.clear();
    this.#lastMempool = undefined;
    this.#mempoolDirty = false;
  }

  // -------------------------------------------------------------------------
  // HTTP

  #handleRequest(
    request: Request,
    info?: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Response | Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health" && this.#path !== "/health") {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return methodNotAllowed();
      }
      return Response.json(this.health());
    }
    if (
      url.pathname === "/metrics" && this.#path !== "/metrics" &&
      this.#metricsEnabled
    ) {
      return this.#metricsResponse(request, url);
    }
    if (
      this.#dashboard && DASHBOARD_PATHS.has(url.pathname) &&
      (request.method === "GET" || request.method === "HEAD") &&
      request.headers.get("upgrade")?.toLowerCase() !== "websocket"
    ) {
      return this.#dashboardResponse(request);
    }
    if (url.pathname !== this.#path) {
      return new Response("Not found\n", { status: 404 });
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response(
        `This is an Evrmore WebSocket endpoint: connect with a WebSocket client to ws://${
          request.headers.get("host") ?? "host"
        }${this.#path}\n`,
        {
          status: 426,
          headers: {
            upgrade: "websocket",
            connection: "Upgrade",
            "content-type": "text/plain; charset=utf-8",
          },
        },
      );
    }
    if (this.#stopping !== undefined || this.#abort.signal.aborted) {
      return new Response("Server shutting down\n", { status: 503 });
    }
    if (!originAllowed(request.headers.get("origin"), this.#allowedOrigins)) {
      return this.#reject(
        403,
        "origin_not_allowed",
        "Cannot connect: origin not allowed",
      );
    }
    const authorized = this.#authorize(request, url);
    if (authorized instanceof Promise) {
      return authorized.then((ok) =>
        ok
          ? this.#stopping !== undefined || this.#abort.signal.aborted
            ? new Response("Server shutting down\n", { status: 503 })
            : this.#upgrade(request, info)
          : this.#unauthorized()
      );
    }
    return authorized ? this.#upgrade(request, info) : this.#unauthorized();
  }

  #upgrade(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr> | undefined,
  ): Response {
    if (this.#clients.size >= this.#maxClients) {
      this.#count(this.#counters.rejected, "too_many_clients");
      return new Response("Too many clients\n", { status: 503 });
    }
    let ip: string | undefined;
    if (this.#maxClientsPerIp > 0) {
      ip = info?.remoteAddr.hostname ?? "unknown";
      if ((this.#clientsPerIp.get(ip) ?? 0) >= this.#maxClientsPerIp) {
        return this.#reject(
          429,
          "too_many_connections",
          `Cannot connect: ${this.#maxClientsPerIp} connections already open from this address`,
        );
      }
    }
    const protocol = selectProtocol(offeredProtocols(request));
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(request, {
        idleTimeout: this.#idleTimeout,
        ...(protocol === undefined ? {} : { protocol }),
      });
    } catch (cause) {
      return new Response(`Bad WebSocket request: ${errorText(cause)}\n`, {
        status: 400,
      });
    }
    this.#counters.connections++;
    this.#addClient(upgraded.socket, ip);
    return upgraded.response;
  }

  /** Whether a request passes `authToken` and `authenticate` (sync when it can). */
  #authorize(request: Request, url: URL): boolean | Promise<boolean> {
    if (
      this.#authToken !== undefined &&
      !tokenMatches(presentedTokens(request, url), this.#authToken)
    ) {
      return false;
    }
    const authenticate = this.#authenticate;
    if (authenticate === undefined) return true;
    try {
      const result = authenticate(request);
      if (result instanceof Promise) {
        return result.then((ok) => ok === true, (cause) => {
          this.#report(cause);
          return false;
        });
      }
      return result === true;
    } catch (cause) {
      this.#report(cause);
      return false;
    }
  }

  #unauthorized(): Response {
    this.#counters.authFailures++;
    return this.#reject(
      401,
      "unauthorized",
      "Cannot connect: missing or wrong token",
      { "www-authenticate": 'Bearer realm="evrmore"' },
    );
  }

  /** An HTTP error answer with a protocol-shaped JSON body, counted by code. */
  #reject(
    status: number,
    code: WebSocketErrorCode,
    message: string,
    headers: Record<string, string> = {},
  ): Response {
    if (code !== "unauthorized") this.#count(this.#counters.rejected, code);
    return Response.json(errorMessage(code, message), { status, headers });
  }

  #metricsResponse(request: Request, url: URL): Response | Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return methodNotAllowed();
    }
    const answer = (ok: boolean): Response =>
      ok
        ? new Response(request.method === "HEAD" ? null : this.metrics(), {
          headers: { "content-type": METRICS_CONTENT_TYPE },
        })
        : this.#unauthorized();
    const authorized = this.#authorize(request, url);
    return authorized instanceof Promise
      ? authorized.then(answer)
      : answer(authorized);
  }

  #dashboardResponse(request: Request): Response {
    const nonce = dashboardNonce();
    return new Response(
      request.method === "HEAD"
        ? null
        : dashboardPage({ path: this.#path, nonce }),
      { headers: dashboardHeaders(nonce) },
    );
  }

  /**
   * The body of `GET /health`: status, clients, uptime and the last block.
   *
   * @returns The current health figures.
   */
  health(): WebSocketServerHealth {
    return {
      status: this.#stopping === undefined ? "ok" : "stopping",
      clients: this.#clients.size,
      uptime: this.#startedAt === 0
        ? 0
        : Math.floor((Date.now() - this.#startedAt) / 1000),
      last_block: this.#lastBlock,
      zmq: this.#zmqState,
    };
  }

  /**
   * The body of `GET /metrics`: the server's figures in the Prometheus text
   * exposition format (version 0.0.4), metric names prefixed `evrmore_ws_`.
   * Useful to serve them elsewhere when `metrics` is `false`.
   *
   * @example
   * ```ts
   * import { EvrmoreWebSocketServer } from "@evrmore/rpc";
   *
   * const server = new EvrmoreWebSocketServer({
   *   rpcClient: {
   *     call: () => Promise.resolve(null),
   *     getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
   *   },
   *   zmqClient: { on: () => () => {}, start: () => Promise.resolve() },
   * });
   * console.log(server.metrics().includes("evrmore_ws_clients 0")); // true
   * ```
   *
   * @returns The exposition text, one sample per line.
   */
  metrics(): string {
    const c = this.#counters;
    const labelled = (
      label: string,
      map: ReadonlyMap<string, number>,
      keys: readonly string[] = [],
    ) => {
      const all = new Map<string, number>(keys.map((key) => [key, 0]));
      for (const [key, value] of map) all.set(key, value);
      return [...all].map(([key, value]) => ({
        labels: { [label]: key },
        value,
      }));
    };
    const one = (value: number) => [{ value }];
    const block = this.#lastBlock;
    const families: MetricFamily[] = [
      {
        name: "evrmore_ws_uptime_seconds",
        help: "Seconds since the server started.",
        type: "gauge",
        samples: one(
          this.#startedAt === 0 ? 0 : (Date.now() - this.#startedAt) / 1000,
        ),
      },
      {
        name: "evrmore_ws_clients",
        help: "WebSocket clients connected now.",
        type: "gauge",
        samples: one(this.#clients.size),
      },
      {
        name: "evrmore_ws_connections_total",
        help: "WebSocket connections accepted.",
        type: "counter",
        samples: one(c.connections),
      },
      {
        name: "evrmore_ws_rejected_connections_total",
        help: "WebSocket requests refused before the upgrade, by reason.",
        type: "counter",
        samples: labelled("reason", c.rejected),
      },
      {
        name: "evrmore_ws_auth_failures_total",
        help: "Requests refused for a missing or wrong token (HTTP 401).",
        type: "counter",
        samples: one(c.authFailures),
      },
      {
        name: "evrmore_ws_subscriptions",
        help: "Clients subscribed to each topic now (without a filter).",
        type: "gauge",
        samples: [...this.subscriptions].map(([topic, set]) => ({
          labels: { topic },
          value: set.size,
        })),
      },
      {
        name: "evrmore_ws_broadcasts_total",
        help:
          "Messages broadcast to the subscribers of each topic (each once).",
        type: "counter",
        samples: labelled("topic", c.broadcasts, TOPICS),
      },
      {
        name: "evrmore_ws_messages_sent_total",
        help: "Messages sent to clients.",
        type: "counter",
        samples: one(c.sent),
      },
      {
        name: "evrmore_ws_bytes_sent_total",
        help: "Bytes (UTF-8) of the messages sent to clients.",
        type: "counter",
        samples: one(c.bytesSent),
      },
      {
        name: "evrmore_ws_client_messages_total",
        help: "Messages received from clients.",
        type: "counter",
        samples: one(c.received),
      },
      {
        name: "evrmore_ws_errors_total",
        help: "Error messages answered to clients, by code.",
        type: "counter",
        samples: labelled("code", c.errors),
      },
      {
        name: "evrmore_ws_commands_total",
        help:
          "Commands run for clients, by result (ok, error, not_allowed, too_many_requests).",
        type: "counter",
        samples: labelled("result", c.commands, ["ok", "error"]),
      },
      {
        name: "evrmore_ws_slow_clients_closed_total",
        help: "Clients closed (1013) because their send buffer overflowed.",
        type: "counter",
        samples: one(this.#stats.slowClientsClosed),
      },
      {
        name: "evrmore_ws_rate_limited_total",
        help: "Client messages refused as over the rate limit.",
        type: "counter",
        samples: one(c.rateLimited),
      },
      {
        name: "evrmore_ws_rate_limit_closed_total",
        help: "Clients closed (1008) for going on over the rate limit.",
        type: "counter",
        samples: one(c.rateLimitClosed),
      },
      {
        name: "evrmore_ws_zmq_notifications_total",
        help: "ZMQ notifications received, by topic.",
        type: "counter",
        samples: labelled("topic", c.zmq, ["hashblock", "rawblock", "rawtx"]),
      },
      {
        name: "evrmore_ws_zmq_connected",
        help: "1 when the ZMQ client reported a connection, else 0.",
        type: "gauge",
        samples: one(this.#zmqState === "connected" ? 1 : 0),
      },
      {
        name: "evrmore_ws_blocks_total",
        help: "Blocks announced.",
        type: "counter",
        samples: one(this.#stats.blocks),
      },
      {
        name: "evrmore_ws_transactions_total",
        help: "Transactions announced.",
        type: "counter",
        samples: one(this.#stats.transactions),
      },
      {
        name: "evrmore_ws_last_block_height",
        help:
          "Height of the last block announced (no sample before the first).",
        type: "gauge",
        samples: block === null ? [] : one(block.height),
      },
      {
        name: "evrmore_ws_last_block_time_seconds",
        help: "Header time of the last block announced, in Unix seconds.",
        type: "gauge",
        samples: block === null ? [] : one(block.time),
      },
    ];
    return renderMetrics(families);
  }

  #addClient(socket: WebSocket, ip?: string): void {
    const state: ClientState = { pending: 0 };
    if (this.#messageRate > 0) {
      state.limiter = new RateLimiter(
        this.#messageRate,
        this.#messageBurst,
        Date.now(),
      );
    }
    if (ip !== undefined) {
      state.ip = ip;
      this.#clientsPerIp.set(ip, (this.#clientsPerIp.get(ip) ?? 0) + 1);
    }
    this.#clients.set(socket, state);
    socket.addEventListener("message", (event) => {
      const data: unknown = event.data;
      this.#counters.received++;
      if (
        state.limiter !== undefined &&
        !this.#allowMessage(socket, state.limiter, data)
      ) return;
      if (typeof data !== "string") {
        this.#send(
          socket,
          errorMessage(
            "invalid_message",
            "Cannot handle message: binary messages are not supported",
          ),
        );
        return;
      }
      if (data.length > this.#maxMessageSize) {
        this.#send(
          socket,
          errorMessage(
            "message_too_large",
            `Cannot handle message: longer than ${this.#maxMessageSize} characters`,
          ),
        );
        try {
          socket.close(1009, "Message too large");
        } catch {
          // Already closing.
        }
        return;
      }
      this.#track(this.handleClientMessage(socket, data));
    });
    // Announce the server and its extensions first (see docs/protocol.md).
    socket.addEventListener(
      "open",
      () => this.#send(socket, welcomeMessage()),
      {
        once: true,
      },
    );
    const remove = () => this.#removeClient(socket);
    socket.addEventListener("close", remove);
    socket.addEventListener("error", remove);
  }

  /** Takes one message from a client's allowance; answers or closes when over. */
  #allowMessage(
    socket: WebSocket,
    limiter: RateLimiter,
    data: unknown,
  ): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    const verdict = limiter.take(Date.now());
    if (verdict === "ok") return true;
    if (verdict === "abusive") {
      this.#counters.rateLimitClosed++;
      try {
        socket.close(1008, "Rate limit exceeded");
      } catch {
        // Already closing.
      }
      return false;
    }
    this.#counters.rateLimited++;
    const id = typeof data === "string" && data.length <= 4096
      ? messageId(data)
      : undefined;
    this.#send(
      socket,
      errorMessage(
        "rate_limited",
        `Cannot handle message: more than ${this.#messageRate} messages per second`,
        { id },
      ),
    );
    return false;
  }

  #removeClient(socket: WebSocket): void {
    const state = this.#clients.get(socket);
    this.#clients.delete(socket);
    if (state?.ip !== undefined) {
      const open = (this.#clientsPerIp.get(state.ip) ?? 1) - 1;
      if (open > 0) this.#clientsPerIp.set(state.ip, open);
      else this.#clientsPerIp.delete(state.ip);
    }
    let mempoolEmpty = false;
    for (const [topic, set] of this.subscriptions) {
      if (set.delete(socket) && topic === "mempool" && set.size === 0) {
        mempoolEmpty = true;
      }
    }
    if (mempoolEmpty) this.#lastMempool = undefined;
    this.#removeFilters(socket);
  }

  // -------------------------------------------------------------------------
  // Filters

  /**
   * Adds a filter of a client's.
   *
   * @returns `false` when the client holds `maxFiltersPerClient` already.
   */
  #addFilter(
    socket: WebSocket,
    topic: string,
    filter: WebSocketFilter,
  ): boolean {
    const indexed = indexedFilter(topic, filter);
    let mine = this.#clientFilters.get(socket);
    if (mine?.has(indexed.key)) return true;
    if ((mine?.size ?? 0) >= this.#maxFilters) return false;
    if (mine === undefined) {
      mine = new Map();
      this.#clientFilters.set(socket, mine);
    }
    mine.set(indexed.key, indexed);
    let index = this.#filterIndex.get(topic);
    if (index === undefined) {
      index = { asset: new Map(), address: new Map() };
      this.#filterIndex.set(topic, index);
    }
    const byValue = index[indexed.kind];
    let sockets = byValue.get(indexed.value);
    if (sockets === undefined) {
      sockets = new Set();
      byValue.set(indexed.value, sockets);
    }
    sockets.add(socket);
    return true;
  }

  /**
   * Removes a client's filters: one, those of a topic, or all of them.
   */
  #removeFilters(
    socket: WebSocket,
    topic?: string,
    filter?: WebSocketFilter,
  ): void {
    const mine = this.#clientFilters.get(socket);
    if (mine === undefined) return;
    const drop = (indexed: IndexedFilter) => {
      mine.delete(indexed.key);
      const byValue = this.#filterIndex.get(indexed.topic)?.[indexed.kind];
      const sockets = byValue?.get(indexed.value);
      if (sockets === undefined) return;
      sockets.delete(socket);
      if (sockets.size === 0) byValue?.delete(indexed.value);
    };
    if (topic !== undefined && filter !== undefined) {
      const one = mine.get(indexedFilter(topic, filter).key);
      if (one !== undefined) drop(one);
    } else {
      for (const indexed of [...mine.values()]) {
        if (topic === undefined || indexed.topic === topic) drop(indexed);
      }
    }
    if (mine.size === 0) this.#clientFilters.delete(socket);
  }

  /** Whether some client filters a topic by address. */
  #hasAddressFilters(topic: string): boolean {
    return (this.#filterIndex.get(topic)?.address.size ?? 0) > 0;
  }

  /**
   * The filtered subscribers an event matches, less the unfiltered ones
   * (they receive it anyway), or `undefined` for none.
   */
  #matching(
    topic: string,
    match: WebSocketBroadcastMatch,
    unfiltered: Set<WebSocket> | undefined,
  ): Set<WebSocket> | undefined {
    const index = this.#filterIndex.get(topic);
    if (index === undefined) return undefined;
    let out: Set<WebSocket> | undefined;
    const add = (sockets: Set<WebSocket> | undefined) => {
      if (sockets === undefined) return;
      for (const socket of sockets) {
        if (unfiltered?.has(socket)) continue;
        (out ??= new Set()).add(socket);
      }
    };
    if (match.asset !== undefined && index.asset.size > 0) {
      add(index.asset.get(match.asset));
    }
    if (match.addresses !== undefined && index.address.size > 0) {
      for (const address of match.addresses) {
        add(index.address.get(address));
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------
  // Sending

  /**
   * Sends a message (or preserialized text) to one socket without waiting:
   * a socket whose unsent data exceeds `maxBufferedAmount` is closed (1013).
   *
   * @returns Whether the message was queued for sending.
   */
  #send(socket: WebSocket, message: object | string): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (socket.bufferedAmount > this.#maxBufferedAmount) {
      this.#closeSlow(socket);
      return false;
    }
    try {
      const text = typeof message === "string" ? message : serialize(message);
      socket.send(text);
      this.#countSent(text, message);
      return true;
    } catch (cause) {
      this.#report(cause);
      return false;
    }
  }

  /** Counts a message sent: messages, bytes (UTF-8), and errors by code. */
  #countSent(text: string, message: object | string): void {
    this.#counters.sent++;
    if (text !== this.#lastText) {
      this.#lastText = text;
      this.#lastBytes = utf8Length(text);
    }
    this.#counters.bytesSent += this.#lastBytes;
    if (
      typeof message === "object" && (message as ErrorMessage).type === "error"
    ) {
      this.#count(this.#counters.errors, (message as ErrorMessage).code);
    }
  }

  #count(map: Map<string, number>, key: unknown): void {
    const label = String(key ?? "none");
    map.set(label, (map.get(label) ?? 0) + 1);
  }

  #closeSlow(socket: WebSocket): void {
    this.#stats.slowClientsClosed++;
    this.#removeClient(socket);
    try {
      socket.close(1013, "Too slow: send buffer full");
    } catch {
      // Already closing.
    }
  }

  /**
   * Sends a message to every subscriber of a topic. The message is
   * serialized once; sends never wait for a client, and a client whose send
   * buffer is over `maxBufferedAmount` is closed instead (1013).
   *
   * Override it to add topics (see the custom server example); unknown
   * topics are ignored.
   *
   * Clients subscribed with a filter receive the same text when `match`
   * matches one of their filters (once, however many match); without
   * `match`, only the unfiltered subscribers receive it.
   *
   * @param topic The topic (`blocks`, `transactions`, `assets`, `mempool`).
   * @param message The JSON message.
   * @param match What the event is about, for filtered subscribers.
   */
  broadcast(
    topic: string,
    message: object,
    match?: WebSocketBroadcastMatch,
  ): Promise<void> {
    const subscribers = this.subscriptions.get(topic);
    const filtered = match === undefined
      ? undefined
      : this.#matching(topic, match, subscribers);
    if (
      (subscribers === undefined || subscribers.size === 0) &&
      filtered === undefined
    ) {
      return RESOLVED;
    }
    const text = serialize(message);
    this.#stats.broadcasts++;
    this.#count(this.#counters.broadcasts, topic);
    // #send() inlined, with the counters added once per broadcast: this loop
    // is the fan-out (bench/websocket_bench.ts). The set itself, not a copy:
    // deleting the entry being visited (a closed or slow client) is safe
    // while iterating a Set.
    //
    // Reading a send buffer (`bufferedAmount`) is a call into Deno per
    // client, as costly as a tenth of the send. A buffer grows only by what
    // is sent, so the buffers are read when the bytes broadcast since the
    // last reading pass a sixteenth of `maxBufferedAmount`: a slow client is
    // closed at most that much (plus one message) past the limit, and
    // messages that large are checked every time.
    const bytes = utf8Length(text);
    const limit = this.#maxBufferedAmount;
    this.#uncheckedBytes += bytes;
    const check = this.#uncheckedBytes > limit / 16;
    if (check) this.#uncheckedBytes = 0;
    let sent = subscribers === undefined
      ? 0
      : this.#fanOut(subscribers, text, check, limit, false);
    if (filtered !== undefined) {
      sent += this.#fanOut(filtered, text, check, limit, true);
    }
    if (sent > 0) {
      this.#counters.sent += sent;
      this.#counters.bytesSent += bytes * sent;
    }
    return RESOLVED;
  }

  /**
   * Sends a broadcast's text to a set of sockets (dropping the closed ones
   * from it, and from the filters when `filtered`); returns how many were
   * sent.
   */
  #fanOut(
    subscribers: Set<WebSocket>,
    text: string,
    check: boolean,
    limit: number,
    filtered: boolean,
  ): number {
    let sent = 0;
    for (const socket of subscribers) {
      const state = socket.readyState;
      if (state !== WebSocket.OPEN) {
        if (state !== WebSocket.CONNECTING) {
          subscribers.delete(socket);
          if (filtered) this.#removeFilters(socket);
        }
        continue;
      }
      if (check && socket.bufferedAmount > limit) {
        this.#closeSlow(socket);
        continue;
      }
      try {
        socket.send(text);
        sent++;
      } catch (cause) {
        this.#report(cause);
      }
    }
    return sent;
  }

  // -------------------------------------------------------------------------
  // Client messages

  /**
   * Handles one text message from a client: subscribe, unsubscribe, ping or
   * command. Anything invalid is answered with an `error` message; the
   * connection stays open.
   *
   * Override it to handle more messages, and call `super` for the rest.
   *
   * @param socket The client's socket.
   * @param message The text received.
   * @returns Whether the message was handled (answered); always `true` here.
   */
  async handleClientMessage(
    socket: WebSocket,
    message: string,
  ): Promise<boolean> {
    const parsed = parseClientMessage(message);
    switch (parsed.kind) {
      case "error":
        this.#send(socket, parsed.error);
        return true;
      case "ping": {
        this.#send(socket, pongMessage(parsed.id));
        return true;
      }
      case "subscribe":
      case "unsubscribe": {
        if (parsed.topic === ALL_TOPIC) {
          // Every standard topic (each event still comes once); one answer.
          for (const topic of TOPICS) {
            const set = this.subscriptions.get(topic);
            if (parsed.kind === "unsubscribe") {
              set?.delete(socket);
              this.#removeFilters(socket, topic);
            } else if (
              this.#clients.has(socket) || socket.readyState === WebSocket.OPEN
            ) set?.add(socket);
          }
          if (
            parsed.kind === "unsubscribe" &&
            this.subscriptions.get("mempool")?.size === 0
          ) this.#lastMempool = undefined;
          this.#send(
            socket,
            subscriptionMessage(parsed.kind, ALL_TOPIC, { id: parsed.id }),
          );
          return true;
        }
        const set = this.subscriptions.get(parsed.topic);
        if (set === undefined) {
          // A subclass emptied the map: treat as unknown topic.
          this.#send(
            socket,
            errorMessage(
              "unknown_topic",
              `Cannot ${parsed.kind}: unknown topic`,
              {
                id: parsed.id,
              },
            ),
          );
          return true;
        }
        if (parsed.filter !== undefined) {
          if (parsed.kind === "unsubscribe") {
            this.#removeFilters(socket, parsed.topic, parsed.filter);
          } else if (
            (this.#clients.has(socket) ||
              socket.readyState === WebSocket.OPEN) &&
            !this.#addFilter(socket, parsed.topic, parsed.filter)
          ) {
            this.#send(
              socket,
              errorMessage(
                "too_many_filters",
                `Cannot subscribe: at most ${this.#maxFilters} filters per client`,
                { id: parsed.id },
              ),
            );
            return true;
          }
          this.#send(
            socket,
            subscriptionMessage(parsed.kind, parsed.topic, {
              id: parsed.id,
              filter: parsed.filter,
            }),
          );
          return true;
        }
        if (parsed.kind === "subscribe" && parsed.since !== undefined) {
          // Until the replay: the blocks announced meanwhile are in it.
          set.delete(socket);
          await this.#subscribeSince(socket, set, parsed.since, parsed.id);
          return true;
        }
        if (parsed.kind === "subscribe") {
          if (
            this.#clients.has(socket) || socket.readyState === WebSocket.OPEN
          ) {
            set.add(socket);
          }
        } else {
          set.delete(socket);
          this.#removeFilters(socket, parsed.topic);
          if (parsed.topic === "mempool" && set.size === 0) {
            this.#lastMempool = undefined;
          }
        }
        this.#send(
          socket,
          subscriptionMessage(parsed.kind, parsed.topic, { id: parsed.id }),
        );
        return true;
      }
      case "command":
        await this.#runCommand(
          socket,
          parsed.command,
          parsed.params,
          parsed.id,
        );
        return true;
    }
  }

  async #runCommand(
    socket: WebSocket,
    command: string,
    params: unknown[],
    id: WebSocketMessageId | undefined,
  ): Promise<void> {
    if (isDenied(command) || !this.#allowed.has(command)) {
      this.#count(this.#counters.commands, "not_allowed");
      this.#send(
        socket,
        errorMessage(
          "command_not_allowed",
          `Cannot run ${command}: not an allowed command`,
          { id, command },
        ),
      );
      return;
    }
    const state = this.#clients.get(socket) ?? { pending: 0 };
    if (state.pending >= this.#maxPendingCommands) {
      this.#count(this.#counters.commands, "too_many_requests");
      this.#send(
        socket,
        errorMessage(
          "too_many_requests",
          `Cannot run ${command}: ${this.#maxPendingCommands} commands already running`,
          { id, command },
        ),
      );
      return;
    }
    state.pending++;
    let answer: ResultMessage | ErrorMessage;
    try {
      const data = await this.rpcClient.call(command, params, {
        signal: this.#abort.signal,
      });
      answer = withId({ type: "result", command, data }, id);
    } catch (cause) {
      if (this.#abort.signal.aborted) return;
      answer = this.#commandError(command, cause, id);
    } finally {
      state.pending--;
    }
    let text: string;
    try {
      text = serialize(answer);
      this.#count(
        this.#counters.commands,
        answer.type === "result" ? "ok" : "error",
      );
      if (answer.type === "error") {
        this.#count(this.#counters.errors, answer.code);
      }
    } catch (cause) {
      this.#report(cause);
      this.#count(this.#counters.commands, "error");
      this.#count(this.#counters.errors, "internal_error");
      text = serialize(
        errorMessage(
          "internal_error",
          `Cannot run ${command}: unserializable result`,
          {
            id,
            command,
          },
        ),
      );
    }
    this.#send(socket, text);
  }

  #commandError(
    command: string,
    cause: unknown,
    id: WebSocketMessageId | undefined,
  ): ErrorMessage {
    if (cause instanceof RpcError) {
      return errorMessage(
        cause.code,
        sanitizeNodeMessage(cause.message, command),
        {
          id,
          command,
        },
      );
    }
    if (cause instanceof TimeoutError) {
      return errorMessage(
        "timeout",
        `Cannot run ${command}: the node did not answer in time`,
        {
          id,
          command,
        },
      );
    }
    if (cause instanceof AuthError || cause instanceof ConnectionError) {
      return errorMessage(
        "node_unavailable",
        `Cannot run ${command}: node unavailable`,
        {
          id,
          command,
        },
      );
    }
    if (cause instanceof TypeError || cause instanceof RangeError) {
      return errorMessage(
        "invalid_params",
        sanitizeNodeMessage(cause.message, command),
        { id, command },
      );
    }
    this.#report(cause);
    return errorMessage(
      "internal_error",
      `Cannot run ${command}: internal error`,
      {
        id,
        command,
      },
    );
  }

  // -------------------------------------------------------------------------
  // ZMQ pipeline

  #listenZmq(): void {
    const zmq = this.zmqClient;
    const add = (remove: unknown) => {
      if (typeof remove === "function") {
        this.#unsubscribers.push(remove as () => void);
      }
    };
    const zmqCount = this.#counters.zmq;
    add(zmq.on("rawtx", (n) => {
      this.#count(zmqCount, "rawtx");
      this.#onRawTx(n);
    }));
    add(zmq.on("rawblock", (n) => {
      this.#count(zmqCount, "rawblock");
      this.#onRawBlock(n);
    }));
    add(zmq.on("hashblock", (n) => {
      this.#count(zmqCount, "hashblock");
      this.#onHashBlock(n);
    }));
    add(zmq.on("gap", (gap) => {
      this.#scheduleMempool();
      if (isBlockTopic(gap?.topic)) this.#scheduleSync();
    }));
    add(zmq.on("restart", (restart) => {
      if (isBlockTopic(restart?.topic)) this.#scheduleSync();
    }));
    add(zmq.on("connect", () => {
      this.#zmqState = "connected";
      this.#scheduleSync();
    }));
    add(zmq.on("disconnect", () => {
      this.#zmqState = "disconnected";
    }));
    add(zmq.on("error", (error) => this.#report(error)));
  }

  #unlistenZmq(): void {
    for (const remove of this.#unsubscribers.splice(0)) {
      try {
        remove();
      } catch (cause) {
        this.#report(cause);
      }
    }
  }

  #onRawTx(notification: ZMQNotification): void {
    const tx = notification.transaction;
    if (tx === undefined) return; // Undecodable: the ZMQ client reports it.
    if (!this.#markTx(tx.txid)) return;
    this.#track(this.handleTransaction(notification));
    this.#scheduleMempool();
  }

  #onRawBlock(notification: ZMQNotification): void {
    const block = notification.block;
    if (block === undefined) return; // Undecodable: hashblock covers it.
    const pending = this.#pendingHashBlocks.get(block.hash);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.#pendingHashBlocks.delete(block.hash);
    }
    if (!this.#markBlock(block.hash)) return;
    this.#queueBlock(notification);
    this.#scheduleMempool();
  }

  #onHashBlock(notification: ZMQNotification): void {
    const hash = notification.hex;
    if (this.#seenBlocks.has(hash) || this.#pendingHashBlocks.has(hash)) return;
    if (this.#abort.signal.aborted) return;
    const timer = setTimeout(() => {
      this.#pendingHashBlocks.delete(hash);
      if (!this.#markBlock(hash)) return;
      this.#queueBlock(notification);
      this.#scheduleMempool();
    }, this.#hashBlockDelay);
    this.#pendingHashBlocks.set(hash, timer);
  }

  #markTx(txid: string): boolean {
    if (this.#seenTxs.has(txid)) {
      this.#seenTxs.delete(txid);
      this.#seenTxs.set(txid, true);
      return false;
    }
    this.#seenTxs.set(txid, true);
    if (this.#seenTxs.size > this.#seenLimit) {
      const oldest = this.#seenTxs.keys().next().value;
      if (oldest !== undefined) this.#seenTxs.delete(oldest);
    }
    return true;
  }

  #markBlock(hash: string): boolean {
    if (this.#seenBlocks.has(hash)) return false;
    this.#seenBlocks.set(hash, true);
    if (this.#seenBlocks.size > SEEN_BLOCKS) {
      const oldest = this.#seenBlocks.keys().next().value;
      if (oldest !== undefined) this.#seenBlocks.delete(oldest);
    }
    return true;
  }

  // -------------------------------------------------------------------------
  // Block continuity: one block job at a time, holes filled from RPC

  #newContinuity(maxBackfill: number, maxReplay: number): BlockContinuity {
    return new BlockContinuity({
      call: (method, params) =>
        this.rpcClient.call(method, params, { signal: this.#abort.signal }),
      network: () => {
        const network = (this.zmqClient as { network?: unknown }).network;
        return network === "main" || network === "test" ||
            network === "regtest"
          ? network satisfies Network
          : undefined;
      },
      announce: async (notification) => {
        const hash = notification.block?.hash ?? notification.hex;
        const pending = this.#pendingHashBlocks.get(hash);
        if (pending !== undefined) {
          clearTimeout(pending);
          this.#pendingHashBlocks.delete(hash);
        }
        this.#markBlock(hash);
        await this.handleBlock(notification);
        // handleBlock() set #lastBlock, unless an override skipped super.
        if (this.#lastBlock?.hash === hash) return this.#lastBlock;
        return notification.block === undefined
          ? undefined
          : blockData(notification.block);
      },
      reorg: (message) => this.broadcast("blocks", message),
      report: (cause) => this.#report(cause),
      aborted: () => this.#abort.signal.aborted,
    }, {
      maxBackfill,
      maxReplay,
      window: Math.max(SEEN_BLOCKS, Math.min(maxReplay, 100000)),
    });
  }

  #queueBlock(notification: ZMQNotification): void {
    this.#track(
      this.#continuity.enqueue(() => this.#continuity.connect(notification)),
    );
  }

  #scheduleSync(): void {
    if (this.#abort.signal.aborted || this.#http === undefined) return;
    this.#track(this.#continuity.scheduleSync());
  }

  /**
   * Subscribes a client to `blocks` from a cursor: in the block queue (so
   * no block goes out between the replay and the live stream), answers
   * success, replays the blocks after the cursor, then adds the client.
   */
  async #subscribeSince(
    socket: WebSocket,
    set: Set<WebSocket>,
    since: number | string,
    id: WebSocketMessageId | undefined,
  ): Promise<void> {
    await this.#continuity.enqueue(async () => {
      let plan;
      try {
        plan = await this.#continuity.replay(since);
      } catch (cause) {
        if (this.#abort.signal.aborted) return;
        let code: WebSocketErrorCode = "internal_error";
        if (cause instanceof TimeoutError) code = "timeout";
        else if (
          cause instanceof AuthError || cause instanceof ConnectionError
        ) code = "node_unavailable";
        else this.#report(cause);
        this.#send(
          socket,
          errorMessage(
            code,
            code === "internal_error"
              ? "Cannot subscribe to blocks: cannot replay the blocks"
              : "Cannot subscribe to blocks: node unavailable",
            { id },
          ),
        );
        return;
      }
      if ("error" in plan) {
        this.#send(socket, errorMessage(plan.error, plan.message, { id }));
        return;
      }
      if (socket.readyState !== WebSocket.OPEN) return;
      this.#send(socket, subscriptionMessage("subscribe", "blocks", { id }));
      if (plan.reorg !== undefined) this.#send(socket, plan.reorg);
      for (const data of plan.blocks) {
        const message: BlockMessage = { type: "block", data };
        this.#send(socket, message);
      }
      set.add(socket);
    });
  }

  /**
   * Announces a new block: called once per block, with its `rawblock`
   * notification (`notification.block` decoded) or, when no `rawblock`
   * came within `hashBlockDelay`, its `hashblock` notification
   * (`notification.hex` is the hash; one `getblock` call fetches the rest).
   *
   * Transactions of the block not announced yet (missed in the mempool) go
   * through {@linkcode handleTransaction} first, then the `block` message is
   * broadcast.
   *
   * Calls are serialized, in chain order: blocks ZMQ missed (gaps,
   * publisher restarts, a reorg's new branch) are fetched from RPC and come
   * here first, as `rawblock` notifications with `sequence` -1 (a `reorg`
   * message precedes a new branch). The server tracks the announced chain
   * itself, so an override need not call `super` for continuity.
   *
   * @param notification The block's notification.
   */
  async handleBlock(notification: ZMQNotification): Promise<void> {
    let data: BlockData | undefined;
    const block = notification.block;
    if (block !== undefined) {
      for (const tx of block.tx) {
        if (!this.#markTx(tx.txid)) continue;
        await this.handleTransaction(txNotification(tx, notification));
      }
      data = blockData(block);
    } else {
      const result = await this.rpcClient.call(
        "getblock",
        [notification.hex, 1],
        { signal: this.#abort.signal },
      );
      data = blockDataFromRpc(result);
      if (data === undefined) {
        throw new EvrmoreError(
          `Cannot announce block ${notification.hex}: unexpected getblock answer`,
        );
      }
    }
    this.#lastBlock = data;
    this.#stats.blocks++;
    const message: BlockMessage = { type: "block", data };
    await this.broadcast("blocks", message);
  }

  /**
   * Announces a transaction seen for the first time: one `transaction`
   * message, then one `asset` message per asset output. `notification.transaction`
   * is the decoded transaction (for transactions first seen in a block, the
   * notification is built from the block's).
   *
   * @param notification The transaction's `rawtx` notification.
   */
  handleTransaction(notification: ZMQNotification): Promise<void> {
    const tx = notification.transaction;
    if (tx === undefined) return Promise.resolve();
    this.#stats.transactions++;
    const message: TransactionMessage = {
      type: "transaction",
      data: transactionData(tx),
    };
    // Filtered subscribers are matched only when there are some.
    const pending = [
      this.#hasAddressFilters("transactions")
        ? this.broadcast("transactions", message, {
          addresses: outputAddresses(tx),
        })
        : this.broadcast("transactions", message),
    ];
    const index = this.#filterIndex.get("assets");
    const filtered = index !== undefined &&
      (index.asset.size > 0 || index.address.size > 0);
    for (const { data, addresses } of assetOutputs(tx)) {
      const asset: AssetMessage = { type: "asset", data };
      pending.push(
        filtered
          ? this.broadcast("assets", asset, { asset: data.asset, addresses })
          : this.broadcast("assets", asset),
      );
    }
    return Promise.all(pending).then(() => {});
  }

  #scheduleMempool(): void {
    if (this.#abort.signal.aborted || this.#http === undefined) return;
    if ((this.subscriptions.get("mempool")?.size ?? 0) === 0) {
      this.#lastMempool = undefined;
      return;
    }
    this.#mempoolDirty = true;
    if (this.#mempoolTimer !== undefined || this.#mempoolRunning) return;
    const wait = Math.max(
      0,
      this.#lastMempoolRun + this.#mempoolInterval - Date.now(),
    );
    this.#mempoolTimer = setTimeout(() => {
      this.#mempoolTimer = undefined;
      this.#track(this.#refreshMempool());
    }, wait);
  }

  async #refreshMempool(): Promise<void> {
    this.#mempoolDirty = false;
    this.#mempoolRunning = true;
    this.#lastMempoolRun = Date.now();
    try {
      const info = await this.rpcClient.getmempoolinfo({
        signal: this.#abort.signal,
      });
      if (this.#abort.signal.aborted) return;
      const data = mempoolData(info);
      if (data === undefined) {
        throw new EvrmoreError(
          "Cannot announce mempool: unexpected getmempoolinfo answer",
        );
      }
      const last = this.#lastMempool;
      if (
        last !== undefined && last.size === data.size &&
        last.bytes === data.bytes && last.usage === data.usage
      ) return;
      this.#lastMempool = data;
      const message: MempoolMessage = { type: "mempool", data };
      await this.broadcast("mempool", message);
    } catch (cause) {
      if (!this.#abort.signal.aborted) this.#report(cause);
    } finally {
      this.#mempoolRunning = false;
      if (this.#mempoolDirty) this.#scheduleMempool();
    }
  }

  // -------------------------------------------------------------------------
  // Helpers

  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch((cause) => {
      if (!this.#abort.signal.aborted) this.#report(cause);
    }).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  #report(cause: unknown): void {
    const error = cause instanceof Error
      ? cause
      : new EvrmoreError(`Cannot handle event: ${String(cause)}`, { cause });
    try {
      this.#onError(error);
    } catch {
      // A failing error handler must not break the server.
    }
  }
}

/** HTTP 405 for a `GET`/`HEAD`-only endpoint. */
function methodNotAllowed(): Response {
  return new Response("Method not allowed\n", {
    status: 405,
    headers: { allow: "GET, HEAD" },
  });
}

function isBlockTopic(topic: unknown): boolean {
  return topic === "hashblock" || topic === "rawblock";
}

function withId<T extends object>(
  message: T,
  id: WebSocketMessageId | undefined,
): T & { id?: WebSocketMessageId } {
  return id === undefined ? message : { ...message, id };
}

function txNotification(
  tx: DecodedTransaction,
  block: ZMQNotification,
): ZMQNotification {
  const hex = tx.hex ?? "";
  return {
    topic: "rawtx" satisfies ZMQTopic,
    body: hexToBytes(hex),
    hex,
    sequence: block.sequence,
    receivedAt: block.receivedAt,
    transaction: tx,
  };
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return bytes;
}

function bigintReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== "bigint") return value;
  const raw = (JSON as { rawJSON?: (text: string) => unknown }).rawJSON;
  return raw === undefined ? value.toString() : raw(value.toString());
}

function serialize(message: object): string {
  // V8's replacer-free fast path first: a replacer is a JS call per value.
  // Only a bigint (or a cycle, which fails again) reaches the slow path.
  try {
    return JSON.stringify(message);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(message, bigintReplacer);
  }
}

/** The UTF-8 length of a string, without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // 4 bytes for 2 units.
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < min ||
    value > max
  ) {
    throw new RangeError(
      `Cannot create server: ${name} must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}
