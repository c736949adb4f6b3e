/**
 * `EvrmoreWebSocketClient`: connects to an `EvrmoreWebSocketServer`.
 *
 * Uses only Web APIs (`WebSocket`, timers), so it runs in browsers too.
 *
 * @module
 */

import {
  ConnectionError,
  EvrmoreError,
  RpcError,
  TimeoutError,
} from "../errors.ts";
import {
  errorText,
  normalizeTopic,
  parseServerMessage,
  secondsOption,
  subscriptionMessage,
  TOKEN_PROTOCOL_PREFIX,
  tokenProblem,
  WEBSOCKET_PROTOCOL,
} from "./_protocol.ts";
import { FilterSchema } from "./_schemas.ts";
import type {
  AssetEventData,
  AssetMessage,
  BlockData,
  BlockMessage,
  BlockPointer,
  ErrorMessage,
  MempoolData,
  MempoolMessage,
  ReorgData,
  ReorgMessage,
  TransactionData,
  TransactionMessage,
  WebSocketFilter,
  WebSocketMessageId,
  WebSocketServerMessage,
  WelcomeData,
} from "./types.ts";
import { checkOptions } from "../_options.ts";
import {
  CLIENT_OPTION_KEYS,
  type EvrmoreWebSocketClientOptions,
  type WebSocketClientState,
  WebSocketRequestError,
  type WebSocketRequestOptions,
  type WebSocketSubscribeOptions,
  type WebSocketUnsubscribeOptions,
} from "./_client_options.ts";

interface Pending {
  kind: "subscribe" | "unsubscribe" | "command";
  key: string;
  resolve: (message: WebSocketServerMessage) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  cleanup: () => void;
}

interface Waiter<T> {
  resolve: (message: T) => void;
  reject: (error: Error) => void;
}

const OPEN = 1;
const CLOSED = 3;

/**
 * A client of `EvrmoreWebSocketServer`: subscribes to topics, receives their
 * messages (typed per `type`), and runs read-only node commands.
 *
 * **Servers.** An `EvrmoreWebSocketServer` sends a `welcome` message first,
 * listing the extensions it speaks (`acks`, `ping`, ...); a server that
 * speaks only the design document (the Python evrmore-rpc 1.2.1 server)
 * sends none, never answers `subscribe`, and has no application ping. The
 * client sends its requests at once and decides on the first message of
 * the connection (or after `welcomeTimeout` ms without one): with a
 * `welcome` listing `acks`, `subscribe()`/`unsubscribe()` resolve on the
 * server's answer; otherwise they resolve once sent (learning acks if an
 * answer arrives anyway). See {@linkcode serverInfo}.
 *
 * **Liveness.** When the server announced `ping`, the client sends
 * `{"action":"ping"}` every `pingInterval` seconds and treats the
 * connection as dropped when nothing comes back within `pingTimeout`;
 * otherwise it sends none and relies on the WebSocket itself (the
 * server's protocol pings, and close events). A dropped connection is
 * reopened with jittered exponential backoff and the topics are subscribed
 * again, until `disconnect()`.
 *
 * Messages of types this version does not know (a custom server's) are
 * delivered unchanged; name them in the type parameter to type them.
 *
 * **Hooks.** `handleBlock`, `handleReorg`, `handleTransaction`,
 * `handleAsset` and `handleMempool` are called by {@linkcode listen}, once
 * per message, never behind your back: a loop of your own over
 * `receive()` or `for await` may call them itself (as the design document's
 * custom client does) and each message is still handled once.
 *
 * @example Print new blocks and transactions
 * ```ts ignore
 * import { EvrmoreWebSocketClient } from "@evrmore/rpc/client";
 *
 * await using client = new EvrmoreWebSocketClient({ uri: "ws://localhost:8765" });
 * await client.connect();
 * await client.subscribe("blocks");
 * await client.subscribe("transactions");
 * for await (const message of client) {
 *   if (message.type === "block") {
 *     console.log(`New block: ${message.data.hash} (height: ${message.data.height})`);
 *   } else if (message.type === "transaction") {
 *     console.log(`New transaction: ${message.data.txid}`);
 *   }
 * }
 * ```
 *
 * @example Run a command
 * ```ts ignore
 * import { EvrmoreWebSocketClient } from "@evrmore/rpc/client";
 *
 * await using client = new EvrmoreWebSocketClient();
 * await client.connect();
 * const height = await client.command<number>("getblockcount");
 * console.log(height);
 * ```
 *
 * @example Create a client without connecting
 * ```ts
 * import { EvrmoreWebSocketClient } from "@evrmore/rpc";
 *
 * const client = new EvrmoreWebSocketClient({ uri: "ws://127.0.0.1:8765", pingInterval: 30 });
 * console.log(client.uri, client.state); // "ws://127.0.0.1:8765" "idle"
 * ```
 *
 * @typeParam Custom Message types of a custom server, to type them.
 */
export class EvrmoreWebSocketClient<
  Custom extends { type: string } = never,
> implements AsyncDisposable, AsyncIterable<WebSocketServerMessage | Custom> {
  /** The server's URI. */
  readonly uri: string;

  #pingInterval: number;
  #pingTimeout: number;
  #reconnect: boolean;
  #reconnectDelay: number;
  #maxReconnectDelay: number;
  #maxReconnectAttempts: number;
  #requestTimeout: number;
  #maxQueueSize: number;
  #onError: (error: Error) => void;
  #protocols: string[] | undefined;

  #state: WebSocketClientState = "idle";
  #socket: WebSocket | undefined;
  #connecting: Promise<void> | undefined;
  #topics = new Set<string>();
  /** Filtered subscriptions, by `filterKey`. */
  #filters = new Map<string, { topic: string; filter: WebSocketFilter }>();
  #lastBlock: BlockPointer | undefined;
  #cursor: number | string | undefined;
  /** The `cursor` of the last event received on each topic. */
  #cursors = new Map<string, string>();
  #queue: Array<WebSocketServerMessage | Custom> = [];
  #waiters: Array<Waiter<WebSocketServerMessage | Custom>> = [];
  #pending = new Map<WebSocketMessageId, Pending>();
  #nextId = 1;
  #dropped = 0;
  #closedError: ConnectionError | undefined;
  #attempts = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setTimeout> | undefined;
  #lastMessageAt = 0;
  #reconnects = 0;
  #userClosed = false;
  #welcomeTimeout: number;
  /** What the server of this connection speaks; `undefined` until known. */
  #features: Set<string> | undefined;
  #serverInfo: WelcomeData | undefined;
  #welcomeTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates a client; nothing happens until {@linkcode connect}.
   *
   * @param options The server's URI, heartbeat, reconnection and limits.
   */
  constructor(options: EvrmoreWebSocketClientOptions = {}) {
    checkOptions("EvrmoreWebSocketClient", options, CLIENT_OPTION_KEYS);
    const uri = options.uri ?? "ws://localhost:8765";
    let parsed: URL;
    try {
      parsed = new URL(uri);
    } catch (cause) {
      throw new TypeError(`Cannot create client: invalid uri ${uri}`, {
        cause,
      });
    }
    if (
      parsed.protocol !== "ws:" && parsed.protocol !== "wss:" &&
      parsed.protocol !== "http:" && parsed.protocol !== "https:"
    ) {
      throw new TypeError(
        `Cannot create client: uri must start with ws:// or wss://, got ${uri}`,
      );
    }
    this.uri = uri;
    this.#pingInterval = secondsOption(
      "client.pingInterval",
      options.pingInterval,
      20,
    );
    this.#pingTimeout = secondsOption(
      "client.pingTimeout",
      options.pingTimeout,
      20,
    );
    this.#reconnect = options.reconnect ?? true;
    this.#reconnectDelay = positive(
      "reconnectDelay",
      options.reconnectDelay,
      500,
    );
    this.#maxReconnectDelay = positive(
      "maxReconnectDelay",
      options.maxReconnectDelay,
      30000,
    );
    this.#maxReconnectAttempts = positive(
      "maxReconnectAttempts",
      options.maxReconnectAttempts,
      Infinity,
    );
    this.#requestTimeout = positive(
      "requestTimeout",
      options.requestTimeout,
      30000,
    );
    this.#maxQueueSize = positive("maxQueueSize", options.maxQueueSize, 1000);
    this.#welcomeTimeout = positive(
      "welcomeTimeout",
      options.welcomeTimeout,
      1000,
    );
    this.#onError = options.onError ?? (() => {});
    const token = options.token;
    if (token !== undefined) {
      if (tokenProblem(token) !== undefined) {
        throw new TypeError(
          "Cannot create client: token must be 1 to 1024 characters from letters, digits and !#$%&'*+-.^_`|~",
        );
      }
      this.#protocols = [
        WEBSOCKET_PROTOCOL,
        `${TOKEN_PROTOCOL_PREFIX}${token}`,
      ];
    }
  }

  /** Where the connection stands. */
  get state(): WebSocketClientState {
    return this.#state;
  }

  /** Whether the connection is open now. */
  get connected(): boolean {
    return this.#state === "open";
  }

  /** The topics subscribed to (subscribed again after a reconnection). */
  get topics(): string[] {
    return [...this.#topics];
  }

  /** The filtered subscriptions (subscribed again after a reconnection). */
  get filters(): Array<{ topic: string; filter: WebSocketFilter }> {
    return [...this.#filters.values()].map(({ topic, filter }) => ({
      topic,
      filter: { ...filter },
    }));
  }

  /**
   * The last block received (hash and height), the cursor the client
   * resumes `blocks` from after a reconnection.
   */
  get lastBlock(): BlockPointer | undefined {
    return this.#lastBlock === undefined ? undefined : { ...this.#lastBlock };
  }

  /** Messages dropped because the receive queue was full. */
  get droppedMessages(): number {
    return this.#dropped;
  }

  /**
   * What the server announced in its `welcome` message (protocol, software,
   * version, features), or `undefined` before it came and for servers that
   * speak only the design document.
   */
  get serverInfo(): WelcomeData | undefined {
    const info = this.#serverInfo;
    return info === undefined
      ? undefined
      : { ...info, features: [...info.features] };
  }

  /** How many times the connection was reopened after a drop. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /**
   * Opens the connection (and subscribes again to the topics of an earlier
   * connection). Resolves once open; does nothing when already open.
   *
   * @throws {ConnectionError} When the server cannot be reached.
   */
  connect(): Promise<void> {
    if (this.#state === "open") return Promise.resolve();
    if (this.#connecting !== undefined) return this.#connecting;
    // While reconnecting, try at once instead of waiting for the backoff.
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#state = "connecting";
    this.#closedError = undefined;
    this.#userClosed = false;
    this.#connecting = this.#open().then(
      (socket) => {
        this.#connecting = undefined;
        if (this.#userClosed) {
          socket.close(1000, "Client disconnected");
          throw new ConnectionError(
            `Cannot connect to ${this.uri}: disconnect() was called`,
          );
        }
        this.#attach(socket);
      },
      (error) => {
        this.#connecting = undefined;
        this.#state = "closed";
        this.#closedError = error;
        for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
        throw error;
      },
    );
    return this.#connecting;
  }

  /**
   * Closes the connection for good: pending requests reject, `receive()`
   * rejects and iterators end. Safe to call more than once.
   */
  async disconnect(): Promise<void> {
    const socket = this.#socket;
    this.#state = "closed";
    this.#userClosed = true;
    this.#socket = undefined;
    this.#connecting = undefined;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#welcomeTimer);
    this.#reconnectTimer = undefined;
    this.#pingTimer = undefined;
    this.#welcomeTimer = undefined;
    const error = new ConnectionError(
      "Cannot receive: the client disconnected",
    );
    this.#closedError = error;
    this.#queue = [];
    this.#failPending("the client disconnected");
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    if (socket !== undefined && socket.readyState !== CLOSED) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        socket.addEventListener("close", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
        try {
          socket.close(1000, "Client disconnected");
        } catch {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  }

  /** Same as {@linkcode disconnect}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  /**
   * Subscribes to a topic (`blocks`, `transactions`, `assets`, `mempool`, or
   * a custom server's); resolves on the server's answer. The topic is
   * subscribed again after each reconnection; `blocks` with `since` set to
   * the last block received, so no block is lost while disconnected.
   *
   * @example Resume from a block height
   * ```ts ignore
   * import { EvrmoreWebSocketClient } from "@evrmore/rpc/client";
   *
   * await using client = new EvrmoreWebSocketClient({ uri: "ws://localhost:8765" });
   * await client.connect();
   * await client.subscribe("blocks", { since: 1200 }); // blocks 1201.. first, then live ones
   * ```
   *
   * @example Only one asset's events, and the payments to one address
   * ```ts ignore
   * import { EvrmoreWebSocketClient } from "@evrmore/rpc/client";
   *
   * await using client = new EvrmoreWebSocketClient({ uri: "ws://localhost:8765" });
   * await client.connect();
   * await client.subscribe("assets", { filter: { asset: "MYASSET" } });
   * await client.subscribe("transactions", {
   *   filter: { address: "EXhPvjB4bG8VhFuYrUXk4uMBiJ8X7Cr5dW" },
   * });
   * ```
   *
   * @param topic The topic.
   * @param options Signal, timeout, for `blocks` a `since` cursor, for
   * `assets` and `transactions` a `filter`.
   * @throws {WebSocketRequestError} When the server refuses the topic, the
   * cursor (`unknown_cursor`, `cursor_too_old`) or the filter
   * (`invalid_message`, `too_many_filters`).
   * @throws {ConnectionError} When not connected.
   */
  async subscribe(
    topic: string,
    options?: WebSocketSubscribeOptions,
  ): Promise<void> {
    checkTopic(topic);
    const since = options?.since;
    if (
      since !== undefined && typeof since !== "number" &&
      typeof since !== "string"
    ) {
      throw new TypeError(
        "Cannot subscribe: since must be an event's cursor, a block height or a block hash",
      );
    }
    const filter = options?.filter;
    if (filter !== undefined) {
      checkFilter(filter);
      const key = filterKey(topic, filter);
      this.#filters.set(key, { topic, filter: { ...filter } });
      try {
        await this.#request(
          "subscribe",
          topic,
          { action: "subscribe", topic, filter },
          options,
        );
      } catch (error) {
        if (error instanceof WebSocketRequestError) this.#filters.delete(key);
        throw error;
      }
      return;
    }
    this.#topics.add(topic);
    try {
      await this.#request(
        "subscribe",
        topic,
        since === undefined
          ? { action: "subscribe", topic }
          : { action: "subscribe", topic, since },
        options,
      );
      if (since !== undefined && isBlocks(topic)) this.#cursor = since;
      if (typeof since === "string" && !isBlockHash(since)) {
        this.#cursors.set(topicName(topic), since);
      }
    } catch (error) {
      if (error instanceof WebSocketRequestError) this.#topics.delete(topic);
      throw error;
    }
  }

  /**
   * Unsubscribes from a topic (and all its filters), or with `filter` from
   * that filter only; resolves on the server's answer.
   *
   * @param topic The topic.
   * @param options Signal, timeout, and the filter to remove.
   */
  async unsubscribe(
    topic: string,
    options?: WebSocketUnsubscribeOptions,
  ): Promise<void> {
    checkTopic(topic);
    const filter = options?.filter;
    if (filter !== undefined) {
      checkFilter(filter);
      this.#filters.delete(filterKey(topic, filter));
      await this.#request(
        "unsubscribe",
        topic,
        { action: "unsubscribe", topic, filter },
        options,
      );
      return;
    }
    this.#topics.delete(topic);
    for (const [key, entry] of this.#filters) {
      if (sameTopic(entry.topic, topic)) this.#filters.delete(key);
    }
    if (isBlocks(topic)) this.#cursor = undefined;
    this.#cursors.delete(topicName(topic));
    await this.#request(
      "unsubscribe",
      topic,
      { action: "unsubscribe", topic },
      options,
    );
  }

  /**
   * Runs a node command through the server (read-only commands only).
   *
   * @param name The command, for example `getblockcount`.
   * @param params Its positional parameters.
   * @param options Signal and timeout.
   * @returns The node's result.
   * @throws {RpcError} The node's error, with the node's code.
   * @throws {WebSocketRequestError} When the server refuses the command.
   * @throws {ConnectionError} When the server cannot reach the node, or the connection is lost.
   */
  async command<T = unknown>(
    name: string,
    params: unknown[] = [],
    options?: WebSocketRequestOptions,
  ): Promise<T> {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        "Cannot run command: name must be a non-empty string",
      );
    }
    if (!Array.isArray(params)) {
      throw new TypeError(`Cannot run ${name}: params must be an array`);
    }
    const answer = await this.#request(
      "command",
      name,
      { command: name, params },
      options,
    );
    return (answer as { data: T }).data;
  }

  /**
   * The next message of the subscribed topics (answers to this client's own
   * requests are not included).
   *
   * @param options Stops waiting when the signal aborts.
   * @returns The message.
   * @throws {ConnectionError} When the client is disconnected or the connection is lost for good.
   */
  receive(
    options?: { signal?: AbortSignal },
  ): Promise<WebSocketServerMessage | Custom> {
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closedError !== undefined) {
      return Promise.reject(this.#closedError);
    }
    if (this.#state === "idle") {
      return Promise.reject(
        new ConnectionError(
          "Cannot receive: not connected (call connect() first)",
        ),
      );
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter<WebSocketServerMessage | Custom> = {
        resolve: (message) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(message);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Iterates over received messages; ends after `disconnect()`, throws
   * {@linkcode ConnectionError} when the connection is lost for good.
   *
   * @returns An async iterator of messages.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<
    WebSocketServerMessage | Custom,
    void,
    undefined
  > {
    while (true) {
      let message: WebSocketServerMessage | Custom;
      try {
        message = await this.receive();
      } catch (error) {
        if (this.#userClosed) return;
        throw error;
      }
      yield message;
    }
  }

  /**
   * Reads messages until `disconnect()` (or the signal aborts) and hands
   * each to its hook (`handleBlock`, `handleReorg`, `handleTransaction`,
   * `handleAsset`, `handleMempool`), one at a time, awaiting it. What a hook
   * throws goes to `onError` and the loop goes on.
   *
   * This is the only place the client calls the hooks: a loop of your own
   * that calls them (the design document's `process_messages`) handles each
   * message once too. Do not run both on one client: they share the
   * messages.
   *
   * @example Count blocks in a subclass
   * ```ts ignore
   * import { type BlockData, EvrmoreWebSocketClient } from "@evrmore/rpc/client";
   *
   * class Counter extends EvrmoreWebSocketClient {
   *   blocks = 0;
   *   override handleBlock(block: BlockData): void {
   *     this.blocks++;
   *     console.log(`New block ${block.height}`);
   *   }
   * }
   * await using client = new Counter({ uri: "ws://localhost:8765" });
   * await client.connect();
   * await client.subscribe("blocks");
   * await client.listen({ signal: AbortSignal.timeout(60_000) });
   * console.log(`${client.blocks} blocks in a minute`);
   * ```
   *
   * @param options Stops listening (and resolves) when the signal aborts.
   * @throws {ConnectionError} When not connected, or the connection is lost for good.
   */
  async listen(options?: { signal?: AbortSignal }): Promise<void> {
    const signal = options?.signal;
    const aborted = (): boolean => signal?.aborted === true;
    while (!aborted()) {
      let message: WebSocketServerMessage | Custom;
      try {
        message = signal === undefined
          ? await this.receive()
          : await this.receive({ signal });
      } catch (error) {
        if (this.#userClosed || aborted()) return;
        throw error;
      }
      await this.#dispatch(message);
    }
  }

  /**
   * Called by {@linkcode listen} for each `block` message; does nothing by
   * default. Override it to react to blocks.
   *
   * @param _data The block.
   * @param _message The whole message.
   */
  handleBlock(_data: BlockData, _message: BlockMessage): void | Promise<void> {}

  /**
   * Called by {@linkcode listen} for each `reorg` message (the blocks above
   * `fork_height` left the active chain; the new branch's blocks follow);
   * does nothing by default.
   *
   * @example Forget the blocks a reorg replaced
   * ```ts
   * import { EvrmoreWebSocketClient, type ReorgData } from "@evrmore/rpc";
   *
   * class Indexer extends EvrmoreWebSocketClient {
   *   blocks = new Map<number, string>();
   *   override handleReorg(data: ReorgData): void {
   *     for (const height of [...this.blocks.keys()]) {
   *       if (height > data.fork_height) this.blocks.delete(height);
   *     }
   *   }
   * }
   * console.log(new Indexer().blocks.size); // 0
   * ```
   *
   * @param _data Fork point and both tips.
   * @param _message The whole message.
   */
  handleReorg(_data: ReorgData, _message: ReorgMessage): void | Promise<void> {}

  /**
   * Called by {@linkcode listen} for each `transaction` message; does
   * nothing by default.
   *
   * @param _data The transaction.
   * @param _message The whole message.
   */
  handleTransaction(
    _data: TransactionData,
    _message: TransactionMessage,
  ): void | Promise<void> {}

  /**
   * Called by {@linkcode listen} for each `asset` message; does nothing by
   * default.
   *
   * @param _data The asset output.
   * @param _message The whole message.
   */
  handleAsset(
    _data: AssetEventData,
    _message: AssetMessage,
  ): void | Promise<void> {}

  /**
   * Called by {@linkcode listen} for each `mempool` message; does nothing
   * by default.
   *
   * @param _data The mempool figures.
   * @param _message The whole message.
   */
  handleMempool(
    _data: MempoolData,
    _message: MempoolMessage,
  ): void | Promise<void> {}

  // -------------------------------------------------------------------------
  // Connection

  #open(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      let socket: WebSocket;
      try {
        socket = this.#protocols === undefined
          ? new WebSocket(this.uri)
          : new WebSocket(this.uri, this.#protocols);
      } catch (cause) {
        reject(
          new ConnectionError(
            `Cannot connect to ${this.uri}: ${errorText(cause)}`,
            { cause },
          ),
        );
        return;
      }
      const onOpen = () => {
        socket.removeEventListener("close", onClose);
        resolve(socket);
      };
      const onClose = (event: CloseEvent) => {
        socket.removeEventListener("open", onOpen);
        reject(
          new ConnectionError(
            `Cannot connect to ${this.uri}: connection failed${
              event.code !== 1006 && event.code !== 0 ? ` (${event.code})` : ""
            }`,
          ),
        );
      };
      socket.addEventListener("open", onOpen, { once: true });
      socket.addEventListener("close", onClose, { once: true });
    });
  }

  #attach(socket: WebSocket): void {
    this.#socket = socket;
    this.#state = "open";
    this.#attempts = 0;
    this.#lastMessageAt = Date.now();
    this.#features = undefined;
    this.#serverInfo = undefined;
    clearTimeout(this.#welcomeTimer);
    this.#welcomeTimer = setTimeout(() => {
      this.#welcomeTimer = undefined;
      if (socket === this.#socket) this.#settleFeatures(undefined);
    }, this.#welcomeTimeout);
    socket.addEventListener("message", (event) => {
      if (socket !== this.#socket) return;
      this.#lastMessageAt = Date.now();
      if (typeof event.data !== "string") {
        this.#report(
          new EvrmoreError(
            "Cannot handle message: binary messages are not expected",
          ),
        );
        return;
      }
      this.#onMessage(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.#socket) return;
      this.#dropped_(
        `connection closed (${event.code}${
          event.reason ? ` ${event.reason}` : ""
        })`,
      );
    });
    this.#startHeartbeat();
    for (const topic of this.#topics) this.#resubscribe(topic);
    for (const [key, { topic, filter }] of this.#filters) {
      // A filtered subscription resumes from the topic's cursor only when the
      // topic is not also followed whole (whose events include its own).
      this.#refilter(key, topic, filter, !this.#topics.has(topic));
    }
  }

  /** Subscribes a filter again after a reconnection (see `#resubscribe`). */
  #refilter(
    key: string,
    topic: string,
    filter: WebSocketFilter,
    fromCursor: boolean,
  ): void {
    const since = fromCursor ? this.#cursors.get(topicName(topic)) : undefined;
    const payload = since === undefined
      ? { action: "subscribe", topic, filter }
      : { action: "subscribe", topic, filter, since };
    this.#request("subscribe", topic, payload).catch((error) => {
      if (
        since !== undefined && error instanceof WebSocketRequestError &&
        (error.code === "unknown_cursor" || error.code === "cursor_too_old")
      ) {
        this.#report(error);
        this.#refilter(key, topic, filter, false);
        return;
      }
      if (error instanceof WebSocketRequestError) this.#filters.delete(key);
      this.#report(error);
    });
  }

  /**
   * Subscribes again after a reconnection, from the `cursor` of the last
   * event received on the topic (any topic, on a server that sends
   * cursors), else for `blocks` from the last block had.
   */
  #resubscribe(
    topic: string,
    from: "event" | "block" | "none" = "event",
  ): void {
    const event = from === "event"
      ? this.#cursors.get(topicName(topic))
      : undefined;
    const since = event ??
      (from !== "none" && isBlocks(topic) ? this.#cursor : undefined);
    const payload = since === undefined
      ? { action: "subscribe", topic }
      : { action: "subscribe", topic, since };
    this.#request("subscribe", topic, payload).catch((error) => {
      if (
        since !== undefined && error instanceof WebSocketRequestError &&
        (error.code === "unknown_cursor" || error.code === "cursor_too_old" ||
          error.code === "invalid_message")
      ) {
        if (event !== undefined) {
          // Not this server's event stream (it restarted, or another one):
          // blocks can still resume from the last block had.
          this.#cursors.delete(topicName(topic));
          this.#resubscribe(topic, isBlocks(topic) ? "block" : "none");
          if (!isBlocks(topic) || this.#cursor === undefined) {
            this.#report(error);
          }
          return;
        }
        // Events were lost: say so, and go on live.
        this.#report(error);
        if (isBlocks(topic)) this.#cursor = undefined;
        this.#resubscribe(topic, "none");
        return;
      }
      if (error instanceof WebSocketRequestError) {
        this.#topics.delete(topic);
      }
      this.#report(error);
    });
  }

  /** The connection dropped (not through `disconnect()`). */
  #dropped_(reason: string): void {
    const socket = this.#socket;
    this.#socket = undefined;
    clearTimeout(this.#pingTimer);
    this.#pingTimer = undefined;
    clearTimeout(this.#welcomeTimer);
    this.#welcomeTimer = undefined;
    this.#failPending(reason);
    if (socket !== undefined && socket.readyState !== CLOSED) {
      try {
        socket.close(4000, "Heartbeat timeout");
      } catch {
        // Already closing.
      }
    }
    if (this.#state === "closed") return;
    if (this.#reconnect && this.#attempts < this.#maxReconnectAttempts) {
      this.#state = "reconnecting";
      this.#scheduleReconnect();
    } else {
      this.#giveUp(reason);
    }
  }

  #giveUp(reason: string): void {
    this.#state = "closed";
    const error = new ConnectionError(`Cannot receive: ${reason}`);
    this.#closedError = error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  #scheduleReconnect(): void {
    const base = Math.min(
      this.#maxReconnectDelay,
      this.#reconnectDelay * 2 ** Math.min(this.#attempts, 30),
    );
    const delay = base / 2 + Math.random() * (base / 2);
    this.#attempts++;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state !== "reconnecting") return;
      this.#open().then(
        (socket) => {
          if (this.#state !== "reconnecting") {
            socket.close(1000, "Client disconnected");
            return;
          }
          this.#reconnects++;
          this.#attach(socket);
        },
        (error: ConnectionError) => {
          if (this.#state !== "reconnecting") return;
          if (this.#attempts < this.#maxReconnectAttempts) {
            this.#scheduleReconnect();
          } else {
            this.#giveUp(
              error.message.replace(
                /^Cannot connect to /,
                "cannot reconnect to ",
              ),
            );
          }
        },
      );
    }, delay);
  }

  #startHeartbeat(): void {
    clearTimeout(this.#pingTimer);
    if (this.#pingInterval <= 0) return;
    this.#pingTimer = setTimeout(() => this.#ping(), this.#pingInterval * 1000);
  }

  #ping(): void {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) return;
    if (this.#features === undefined) {
      // Not known yet (a welcomeTimeout longer than pingInterval): later.
      this.#startHeartbeat();
      return;
    }
    // A server that did not announce pings would never answer one: rely on
    // the WebSocket itself (its protocol pings, its close event).
    if (!this.#features.has("ping")) return;
    const sentAt = Date.now();
    try {
      socket.send('{"action":"ping"}');
    } catch (cause) {
      this.#report(cause);
    }
    if (this.#pingTimeout <= 0) {
      this.#startHeartbeat();
      return;
    }
    this.#pingTimer = setTimeout(() => {
      if (socket !== this.#socket) return;
      if (this.#lastMessageAt >= sentAt) {
        this.#startHeartbeat();
      } else {
        this.#dropped_(`no answer to ping within ${this.#pingTimeout} s`);
      }
    }, this.#pingTimeout * 1000);
  }

  // -------------------------------------------------------------------------
  // Messages

  #onMessage(text: string): void {
    const parsed = parseServerMessage(text);
    if (parsed.kind === "invalid") {
      this.#report(new EvrmoreError(`Cannot handle message: ${parsed.reason}`));
      return;
    }
    if (parsed.kind === "unknown") {
      this.#enqueue(parsed.message as Custom);
      return;
    }
    const message = parsed.message;
    if (message.type === "welcome") {
      // Normally the first message; a late one (after welcomeTimeout) still
      // counts from now on.
      if (this.#serverInfo === undefined) {
        this.#settleFeatures(message.data, this.#features?.has("acks"));
      }
      return;
    }
    // The first message of a server that sends no welcome (an answer to a
    // subscription tells that it answers them).
    if (this.#features === undefined) {
      this.#settleFeatures(undefined, message.type === "subscription");
    }
    switch (message.type) {
      case "pong":
        return;
      case "subscription":
        // A server that answers subscriptions without announcing it.
        this.#features?.add("acks");
        if (this.#settle(message)) return;
        break;
      case "result":
      case "error":
        if (this.#settle(message)) return;
        break;
      case "block":
        this.#lastBlock = {
          hash: message.data.hash,
          height: message.data.height,
        };
        this.#cursor = message.data.hash;
        break;
    }
    const cursor = (message as { cursor?: unknown }).cursor;
    if (typeof cursor === "string") {
      const topic = EVENT_TOPICS[message.type];
      if (topic !== undefined) this.#cursors.set(topic, cursor);
    }
    this.#enqueue(message);
  }

  /**
   * The server's features are known: from its welcome, or (`undefined`)
   * none beyond the design document. Requests waiting for an answer such a
   * server never sends resolve now.
   */
  #settleFeatures(welcome: WelcomeData | undefined, acks = false): void {
    clearTimeout(this.#welcomeTimer);
    this.#welcomeTimer = undefined;
    this.#serverInfo = welcome === undefined
      ? undefined
      : { ...welcome, features: [...welcome.features] };
    this.#features = new Set(welcome?.features);
    if (acks) this.#features.add("acks");
    if (this.#features.has("acks")) return;
    for (const pending of [...this.#pending.values()]) {
      if (pending.kind === "command") continue;
      pending.cleanup();
      pending.resolve(subscriptionMessage(pending.kind, pending.key));
    }
  }

  /** Calls one hook, reporting what it throws or rejects with. */
  async #dispatch(message: WebSocketServerMessage | Custom): Promise<void> {
    const m = message as WebSocketServerMessage;
    try {
      switch (m.type) {
        case "block":
          await this.handleBlock(m.data, m);
          break;
        case "reorg":
          await this.handleReorg(m.data, m);
          break;
        case "transaction":
          await this.handleTransaction(m.data, m);
          break;
        case "asset":
          await this.handleAsset(m.data, m);
          break;
        case "mempool":
          await this.handleMempool(m.data, m);
          break;
      }
    } catch (error) {
      this.#report(error);
    }
  }

  #enqueue(message: WebSocketServerMessage | Custom): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(message);
      return;
    }
    this.#queue.push(message);
    if (this.#queue.length > this.#maxQueueSize) {
      this.#queue.shift();
      this.#dropped++;
    }
  }

  /** Matches an answer to a pending request; returns whether it did. */
  #settle(message: WebSocketServerMessage): boolean {
    let id: WebSocketMessageId | undefined = "id" in message
      ? message.id
      : undefined;
    if (id === undefined || !this.#pending.has(id)) {
      id = this.#matchWithoutId(message);
      if (id === undefined) return false;
    }
    const pending = this.#pending.get(id);
    if (pending === undefined) return false;
    pending.cleanup();
    if (message.type === "error") {
      pending.reject(requestError(pending, message));
    } else {
      pending.resolve(message);
    }
    return true;
  }

  /** Answers of servers that do not echo ids: the oldest request they can answer. */
  #matchWithoutId(
    message: WebSocketServerMessage,
  ): WebSocketMessageId | undefined {
    for (const [id, pending] of this.#pending) {
      if (message.type === "subscription") {
        const action = message.action ?? "subscribe";
        if (
          pending.kind === action &&
          sameTopic(pending.key, message.topic)
        ) return id;
      } else if (message.type === "result" || message.type === "error") {
        if (
          pending.kind === "command" && "command" in message &&
          message.command === pending.key
        ) return id;
      }
    }
    return undefined;
  }

  #request(
    kind: Pending["kind"],
    key: string,
    payload: Record<string, unknown>,
    options?: WebSocketRequestOptions,
  ): Promise<WebSocketServerMessage> {
    const what = kind === "command" ? `run ${key}` : `${kind} to ${key}`;
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) {
      return Promise.reject(
        new ConnectionError(`Cannot ${what}: not connected`),
      );
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeout = options?.timeout ?? this.#requestTimeout;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        pending.cleanup();
        reject(signal?.reason);
      };
      const pending: Pending = {
        kind,
        key,
        resolve,
        reject,
        timer: Number.isFinite(timeout)
          ? setTimeout(() => {
            pending.cleanup();
            reject(
              new TimeoutError(
                `Cannot ${what}: no answer within ${timeout} ms`,
              ),
            );
          }, timeout)
          : undefined,
        cleanup: () => {
          clearTimeout(pending.timer);
          signal?.removeEventListener("abort", onAbort);
          this.#pending.delete(id);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, pending);
      try {
        socket.send(JSON.stringify({ ...payload, id }));
      } catch (cause) {
        pending.cleanup();
        reject(
          new ConnectionError(`Cannot ${what}: ${errorText(cause)}`, { cause }),
        );
        return;
      }
      if (
        kind !== "command" && this.#features !== undefined &&
        !this.#features.has("acks")
      ) {
        // This server never answers: sent is done.
        pending.cleanup();
        resolve(subscriptionMessage(kind, key));
      }
    });
  }

  #failPending(reason: string): void {
    for (const pending of [...this.#pending.values()]) {
      pending.cleanup();
      const what = pending.kind === "command"
        ? `run ${pending.key}`
        : `${pending.kind} to ${pending.key}`;
      pending.reject(new ConnectionError(`Cannot ${what}: ${reason}`));
    }
  }

  #report(cause: unknown): void {
    const error = cause instanceof Error
      ? cause
      : new EvrmoreError(String(cause), { cause });
    try {
      this.#onError(error);
    } catch {
      // A failing error handler must not break the client.
    }
  }
}

function requestError(pending: Pending, message: ErrorMessage): Error {
  const code = message.code;
  if (pending.kind === "command" && typeof code === "number") {
    return new RpcError(`Cannot call ${pending.key}: ${message.message}`, {
      code,
      method: pending.key,
    });
  }
  if (code === "timeout") return new TimeoutError(message.message);
  if (code === "node_unavailable") return new ConnectionError(message.message);
  return new WebSocketRequestError(message.message, {
    code: code === undefined ? "error" : String(code),
    ...(pending.kind === "command" ? { command: pending.key } : {}),
  });
}

function sameTopic(a: string, b: string): boolean {
  return a === b || (normalizeTopic(a) ?? a) === (normalizeTopic(b) ?? b);
}

function isBlocks(topic: string): boolean {
  return normalizeTopic(topic) === "blocks";
}

function checkFilter(filter: unknown): void {
  if (!FilterSchema.safeParse(filter).success) {
    throw new TypeError(
      'Cannot subscribe: filter must be {asset: "NAME"} or {address: "ADDRESS"}',
    );
  }
}

/** One key per filtered subscription (topic aliases share it). */
function filterKey(topic: string, filter: WebSocketFilter): string {
  const canonical = normalizeTopic(topic) ?? topic;
  return "asset" in filter
    ? `${canonical}\nasset\n${filter.asset}`
    : `${canonical}\naddress\n${filter.address}`;
}

function checkTopic(topic: string): void {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError("Cannot subscribe: topic must be a non-empty string");
  }
}

function positive(
  name: string,
  value: number | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new RangeError(`Cannot create client: ${name} must be a number > 0`);
  }
  return value;
}

/** The topic each kind of event comes on, for its cursor. */
const EVENT_TOPICS: Readonly<Record<string, string | undefined>> = {
  block: "blocks",
  reorg: "blocks",
  transaction: "transactions",
  asset: "assets",
  mempool: "mempool",
};

function isBlockHash(text: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(text);
}

/** The standard name of a topic (`block` → `blocks`), as cursors are kept. */
function topicName(topic: string): string {
  return normalizeTopic(topic) ?? topic;
}
