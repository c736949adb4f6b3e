/**
 * Public types of `EvrmoreWebSocketServer`: its options, what it needs of
 * the node's clients, and the figures it reports.
 *
 * @module
 */

import type {
  ZMQGapEvent,
  ZMQNotification,
  ZMQRestartEvent,
} from "../zmq/types.ts";
import type { BlockData } from "./types.ts";

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
  /**
   * `"high"` for the server's own calls (blocks, backfill, mempool), so
   * that they never wait behind client commands in `EvrmoreRPCClient`'s
   * queue; client commands go `"normal"`.
   */
  priority?: "high" | "normal";
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
  /**
   * Notifications may have been missed (the subscriber connected,
   * reconnected or was restarted, or a gap): on `rawtx`, the server
   * reconciles the mempool with `getrawmempool` and announces what it
   * missed, each once.
   */
  resync: { reason: string; topics: readonly string[] };
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

/**
 * One event the server pushes: its topic, the message as clients receive
 * it (with its `cursor`), and what filtered subscriptions match it against.
 * `id` names the event the same way in every process that sees it (a
 * block's hash, a transaction's id, ...), for de-duplication downstream.
 *
 * @example
 * ```ts
 * import type { WebSocketFeedEvent } from "@evrmore/rpc";
 *
 * const event: WebSocketFeedEvent = {
 *   topic: "mempool",
 *   id: "mempool:3:780:2400",
 *   message: { type: "mempool", data: { size: 3, bytes: 780, usage: 2400 }, cursor: "7" },
 *   cursor: "7",
 * };
 * console.log(event.cursor); // "7"
 * ```
 */
export interface WebSocketFeedEvent {
  /** `blocks` (blocks and reorgs), `transactions`, `assets` or `mempool`. */
  topic: "blocks" | "transactions" | "assets" | "mempool";
  /** The event's de-duplication id. */
  id: string;
  /** The message as sent to clients. */
  message: { type: string; data: unknown; [key: string]: unknown };
  /** What filtered subscriptions match: the asset, the addresses paid. */
  match?: WebSocketBroadcastMatch;
  /** The event's cursor, for `since`. */
  cursor?: string;
}

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
   * Path of a PEM certificate (chain) file: with `keyFile`, the server
   * speaks TLS itself (`wss://` and `https://`, no proxy needed). Both
   * files are read by `start()`, which rejects with a `ConnectionError`
   * naming the file when one cannot be read. Give both or neither.
   */
  certFile?: string;
  /** Path of the PEM private key file of `certFile`. */
  keyFile?: string;
  /**
   * Set `SO_REUSEPORT`, so that several servers (gateways) share one port
   * and Linux spreads the connections among them (default `false`).
   */
  reusePort?: boolean;
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
   * Most clients connected at once from one IP address (IPv6: one /64);
   * more get HTTP 429 `{"type":"error","code":"too_many_connections",...}`
   * (default 50; `0`: no cap). Behind a reverse proxy, list it in
   * `trustProxy` so that each client counts under its own address.
   */
  maxClientsPerIp?: number;
  /**
   * Reverse proxies (IP addresses or CIDR ranges, e.g. `"10.0.0.0/8"`)
   * whose `X-Forwarded-For` header gives the client's address. Only a
   * connection from a listed proxy is believed; its header is walked from
   * the right, skipping listed proxies (default: none, the TCP peer is the
   * client).
   */
  trustProxy?: Iterable<string>;
  /**
   * Serve through the server's own accept loop (default `true`): a
   * connection must send its whole HTTP request within `handshakeTimeout`,
   * half-open and idle connections are capped and closed, running out of
   * file descriptors never stops the server, and the first client message
   * over `maxMessageSize` bytes closes the connection (1009) before it is
   * buffered. `false` serves with `Deno.serve` alone: a little faster, for
   * use behind a reverse proxy that enforces all that itself.
   */
  guard?: boolean;
  /**
   * Seconds a new connection has to send its whole HTTP request (the
   * WebSocket handshake) before it is closed (default 10; with `guard`).
   */
  handshakeTimeout?: number;
  /** Connections still sending their request, in total (default 1024; with `guard`). */
  maxPendingHandshakes?: number;
  /**
   * Bytes waiting to be sent to all clients together (default 128 MiB).
   * Past it, command replies are refused (`server_busy`) and the clients
   * with the largest backlogs are closed (1013) until it is met again.
   */
  maxUnsentBytes?: number;
  /**
   * Seconds a client's send buffer may stay over 64 KiB without emptying
   * before it is closed (1013), whatever its pings say (default 30).
   */
  drainTimeout?: number;
  /**
   * Largest command reply, in bytes of JSON (default 8 MiB); larger ones
   * are answered `{"type":"error","code":"reply_too_large",...}`.
   */
  maxReplySize?: number;
  /**
   * Node work the clients' commands may have running at once, all clients
   * together, in cost units: most commands cost 1, heavy reads more
   * (`getblock` verbosity 2 and `getrawmempool true` 4, `gettxoutsetinfo`
   * 8). Default 8. The server's own node calls (blocks, backfill,
   * mempool) do not count.
   */
  maxCommandsInFlight?: number;
  /**
   * Client commands waiting for node capacity, all clients together
   * (default 256); more, or one waiting over 10 s, get `server_busy`.
   * Identical read commands waiting or running at once go to the node
   * once.
   */
  maxQueuedCommands?: number;
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
  /**
   * Listen for clients (default `true`); `false` runs the chain feed only,
   * with `onEvent` (an ingest that publishes to NATS JetStream).
   */
  listen?: boolean;
  /**
   * Told about every event on a standard topic, in order, once it has its
   * cursor (e.g. to publish it to NATS JetStream).
   */
  onEvent?: (event: WebSocketFeedEvent) => void;
  /**
   * Recent events kept for clients resuming with `since` cursors (default
   * 10000; also at most 64 MiB of them). An older cursor gets
   * `cursor_too_old`.
   */
  maxLoggedEvents?: number;
  /**
   * Who numbers the events (default `"own"`: the server, cursors
   * `<epoch>:<n>` good for this run of it). `"external"`: events come
   * through {@linkcode EvrmoreWebSocketServer.publish} with the cursors of a
   * shared stream (NATS JetStream's sequence numbers), good on every
   * gateway reading that stream.
   */
  cursors?: "own" | "external";
  /**
   * The last block a previous run announced (an ingest resuming a shared
   * stream): on start the feed catches up from it, announcing the blocks
   * mined since (from RPC, at most `maxBackfillBlocks`) before new ones.
   * Default: none (the feed starts at the node's next block).
   */
  resumeAfter?: BlockData;
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

/** The options the server's constructor reads (unknown ones throw). */
export const SERVER_OPTION_KEYS: readonly string[] = [
  "rpcClient",
  "zmqClient",
  "host",
  "port",
  "certFile",
  "keyFile",
  "reusePort",
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
  "trustProxy",
  "guard",
  "handshakeTimeout",
  "maxPendingHandshakes",
  "maxUnsentBytes",
  "drainTimeout",
  "maxReplySize",
  "maxCommandsInFlight",
  "maxQueuedCommands",
  "metrics",
  "dashboard",
  "onError",
  "listen",
  "onEvent",
  "maxLoggedEvents",
  "cursors",
  "resumeAfter",
];
