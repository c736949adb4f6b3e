/**
 * `EvrmoreWebSocketServer`: pushes the node's ZMQ events to WebSocket
 * clients and proxies read-only commands.
 *
 * The server composes four parts, each with one job: the feed
 * (`_feed.ts`: node → ordered, de-duplicated events), the hub (`_hub.ts`:
 * subscriptions and fan-out), the sessions (`_session.ts`: one client's
 * protocol) and the routes (`_http.ts`: HTTP, checks before an upgrade).
 *
 * @module
 */

import { ConnectionError, EvrmoreError } from "../errors.ts";
import type { ZMQNotification } from "../zmq/types.ts";
import { ChainFeed } from "./_feed.ts";
import { HttpRoutes } from "./_http.ts";
import { ServerFront } from "./_front.ts";
import { Hub } from "./_hub.ts";
import { LogLimiter } from "./_log_limiter.ts";
import { EventLog } from "./_event_log.ts";
import { EventStream } from "./_event_stream.ts";
import { errorText, TOPICS } from "./_protocol.ts";
import { resolveServerConfig, type ServerConfig } from "./_server_config.ts";
import { ServerCounters, serverMetrics } from "./_server_metrics.ts";
import type {
  EvrmoreWebSocketServerOptions,
  WebSocketBroadcastMatch,
  WebSocketFeedEvent,
  WebSocketServerHealth,
  WebSocketServerRpc,
  WebSocketServerStats,
  WebSocketServerZmq,
} from "./_server_options.ts";
import { Sessions } from "./_session.ts";
import { SERVER_OPTION_KEYS } from "./_server_options.ts";
import { checkOptions } from "../_options.ts";
import { closeQuietly } from "./_wire.ts";

export type {
  EvrmoreWebSocketServerOptions,
  WebSocketBroadcastMatch,
  WebSocketFeedEvent,
  WebSocketServerCallOptions,
  WebSocketServerHealth,
  WebSocketServerRpc,
  WebSocketServerStats,
  WebSocketServerZmq,
  WebSocketServerZmqEvents,
} from "./_server_options.ts";

/** Returned by `broadcast()`: it never waits, so one settled promise serves. */
const RESOLVED: Promise<void> = Promise.resolve();
const CLOSE_WAIT_MS = 1000;
/** The topics whose events get cursors (a subclass's own topics do not). */
const LOGGED_TOPICS: ReadonlySet<string> = new Set(TOPICS);

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

  #config: ServerConfig;
  #counters = new ServerCounters();
  #hub: Hub;
  #feed: ChainFeed;
  #sessions: Sessions;
  #routes: HttpRoutes;
  #http: ServerFront | undefined;
  #logLimiter: LogLimiter;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #tasks = new Set<Promise<unknown>>();
  #startedAt = 0;
  #running = false;
  #log: EventLog;
  #events: EventStream;

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
    const config = this.#config = resolveServerConfig(options);
    const counters = this.#counters;
    const report = (cause: unknown) => this.#report(cause);
    this.#log = new EventLog(
      config.externalCursors ? undefined : Date.now().toString(36),
      {
        maxEvents: config.maxLoggedEvents,
      },
    );
    this.#logLimiter = new LogLimiter({
      write: (line) => this.#report(new EvrmoreError(line)),
    });
    const track = (task: Promise<unknown>) => this.#track(task);
    this.#hub = new Hub(
      TOPICS,
      {
        drop: (socket) => this.#sessions.remove(socket),
        emptied: (topic) => {
          if (topic === "mempool") this.#feed.mempoolEmptied();
        },
        report,
      },
      config,
      counters,
    );
    this.subscriptions = this.#hub.subscriptions;
    this.#events = new EventStream(
      { log: this.#log, hub: this.#hub },
      config.onEvent,
      report,
    );
    this.#feed = new ChainFeed({ rpc: rpcClient, zmq: zmqClient }, {
      handleBlock: (n) => this.handleBlock(n),
      handleTransaction: (n) => this.handleTransaction(n),
      broadcast: (topic, message, match) =>
        this.broadcast(topic, message, match),
      subscribers: (topic) => this.subscriptions.get(topic)?.size ?? 0,
      filters: (topic, kind) =>
        kind === "address"
          ? this.#hub.hasAddressFilters(topic)
          : this.#hub.hasFilters(topic),
      track,
      report,
    }, {
      mempoolInterval: config.mempoolInterval,
      seenLimit: config.seenLimit,
      hashBlockDelay: config.hashBlockDelay,
      maxBackfill: config.maxBackfill,
      maxReplay: config.maxReplay,
      resumeAfter: config.resumeAfter,
    }, counters);
    this.#sessions = new Sessions(
      { rpc: rpcClient, hub: this.#hub, feed: this.#feed, log: this.#log },
      {
        handleClientMessage: (socket, message) =>
          this.handleClientMessage(socket, message),
        track,
        report,
      },
      config,
      counters,
    );
    this.#routes = new HttpRoutes(
      {
        stopping: () =>
          this.#stopping !== undefined || this.#feed.signal.aborted,
        health: () => this.health(),
        metrics: () => this.metrics(),
        clients: (ip) =>
          ip === undefined ? this.#sessions.size : this.#sessions.openFrom(ip),
        accept: (socket, ip) => this.#sessions.add(socket, ip),
        report,
        reportOnce: (kind, error) => this.#reportOnce(kind, error),
      },
      config,
      counters,
    );
  }

  /** The host the server listens on, as configured. */
  get host(): string {
    return this.#config.host;
  }

  /** The port the server listens on (the bound port once started, useful with port 0). */
  get port(): number {
    return this.#http?.addr.port ?? this.#config.port;
  }

  /** Whether the server speaks TLS (`certFile` and `keyFile` given). */
  get secure(): boolean {
    return this.#config.certFile !== undefined;
  }

  /**
   * The WebSocket URL clients connect to, e.g. `wss://example.com:8765/`
   * (the bound port once started).
   */
  get url(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `${
      this.secure ? "wss" : "ws"
    }://${host}:${this.port}${this.#config.path}`;
  }

  /**
   * The most clients served at once: `maxClients`, or fewer once started
   * when the process's open-file limit leaves room for fewer (each guarded
   * client holds three file descriptors).
   */
  get maxClients(): number {
    return this.#routes.maxClients;
  }

  /** Whether the server is listening. */
  get listening(): boolean {
    return this.#running && this.#stopping === undefined;
  }

  /** Counters: clients, slow clients closed, broadcasts, transactions and blocks announced. */
  get stats(): WebSocketServerStats {
    const c = this.#counters;
    return {
      clients: this.#sessions.size,
      slowClientsClosed: c.slowClientsClosed,
      broadcasts: c.broadcastsTotal,
      transactions: c.transactions,
      blocks: c.blocks,
    };
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

  /** The PEM certificate and key, read from `certFile` and `keyFile`. */
  async #readTls(): Promise<{ cert: string; key: string } | undefined> {
    const { certFile, keyFile } = this.#config;
    if (certFile === undefined || keyFile === undefined) return undefined;
    const read = async (name: string, file: string) => {
      try {
        return await Deno.readTextFile(file);
      } catch (cause) {
        throw new ConnectionError(
          `Cannot read ${name} ${file}: ${errorText(cause)}`,
          { cause },
        );
      }
    };
    return {
      cert: await read("certFile", certFile),
      key: await read("keyFile", keyFile),
    };
  }

  async #start(): Promise<void> {
    const config = this.#config;
    const tls = await this.#readTls();
    this.#feed.start();
    this.#running = true;
    if (config.listen) {
      try {
        const front = this.#http = new ServerFront(config, tls, {
          handle: (request, peer) => this.#routes.handle(request, peer),
          rejected: (reason) =>
            this.#counters.count(this.#counters.rejected, reason),
          report: (kind, error) => this.#reportOnce(kind, error),
        });
        this.#routes.maxClients = front.maxClients;
      } catch (cause) {
        this.#running = false;
        this.#feed.stop(new ConnectionError("Cannot start: cannot listen"));
        throw new ConnectionError(
          `Cannot listen on ${config.host}:${config.port}: ${errorText(cause)}`,
          { cause },
        );
      }
    }
    this.#startedAt = Date.now();
    this.#sessions.start();
    if (config.startZmq) {
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
    if (!this.#running) return this.#stopping ?? Promise.resolve();
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
    if (!this.#running) return;
    this.#running = false;
    const http = this.#http;
    this.#feed.stop(new ConnectionError("Cannot finish: the server stopped"));
    this.#sessions.stop();
    const closed: Promise<void>[] = [];
    for (const socket of this.#sessions.sockets()) {
      if (socket.readyState === WebSocket.CLOSED) continue;
      closed.push(
        new Promise((resolve) =>
          socket.addEventListener("close", () => resolve(), { once: true })
        ),
      );
      closeQuietly(socket, 1001, "Server shutting down");
    }
    if (closed.length > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(closed),
        new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    await http?.shutdown();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    this.#http = undefined;
    this.#sessions.clear();
    this.#hub.clear();
    this.#feed.mempoolEmptied();
  }

  /**
   * The body of `GET /health`: status, clients, uptime and the last block.
   *
   * @returns The current health figures.
   */
  health(): WebSocketServerHealth {
    return {
      status: this.#stopping === undefined ? "ok" : "stopping",
      clients: this.#sessions.size,
      uptime: this.#startedAt === 0
        ? 0
        : Math.floor((Date.now() - this.#startedAt) / 1000),
      last_block: this.#feed.lastBlock,
      zmq: this.#feed.zmqState,
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
    return serverMetrics({
      counters: this.#counters,
      startedAt: this.#startedAt,
      clients: this.#sessions.size,
      subscriptions: this.subscriptions,
      lastBlock: this.#feed.lastBlock,
      zmqState: this.#feed.zmqState,
    });
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
    if (LOGGED_TOPICS.has(topic)) {
      this.#events.own(topic as WebSocketFeedEvent["topic"], message, match);
    } else {
      this.#hub.broadcast(topic, message, match);
    }
    return RESOLVED;
  }

  /**
   * Pushes an event that comes from elsewhere (a gateway's NATS JetStream
   * feed) to the subscribers of its topic, with its own `cursor` (a
   * sequence number that grows): it is logged for `since` like the
   * server's own events. Events at or below the last cursor are ignored.
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
   *   cursors: "external",
   *   port: 0,
   * });
   * server.publish({
   *   topic: "mempool",
   *   id: "mempool:1:250:900",
   *   message: { type: "mempool", data: { size: 1, bytes: 250, usage: 900 } },
   *   cursor: "41",
   * });
   * ```
   *
   * @param event The event, with a decimal `cursor`.
   * @throws {TypeError} Without a decimal cursor, or on a server that
   *   numbers its own events (`cursors` is not `"external"`).
   */
  publish(event: WebSocketFeedEvent): void {
    if (!this.#config.externalCursors) {
      throw new TypeError(
        'Cannot publish: the server numbers its own events (set cursors: "external")',
      );
    }
    this.#events.external(event);
  }

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
  handleClientMessage(
    socket: WebSocket,
    message: string,
  ): Promise<boolean> {
    return this.#sessions.handle(socket, message);
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
  handleBlock(notification: ZMQNotification): Promise<void> {
    return this.#feed.announceBlock(notification);
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
    return this.#feed.announceTransaction(notification);
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch((cause) => {
      if (!this.#feed.signal.aborted) this.#report(cause);
    }).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  /** Reports an error of a kind that may repeat: once per kind a minute. */
  #reportOnce(kind: string, cause: unknown): void {
    this.#logLimiter.error(
      kind,
      cause instanceof Error ? cause.message : String(cause),
    );
  }

  #report(cause: unknown): void {
    const error = cause instanceof Error
      ? cause
      : new EvrmoreError(`Cannot handle event: ${String(cause)}`, { cause });
    try {
      this.#config.onError(error);
    } catch {
      // A failing error handler must not break the server.
    }
  }
}
