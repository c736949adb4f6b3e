/**
 * `EvrmoreZMQClient`: the node's ZMQ notifications as typed, decoded
 * notifications, through handlers or async iteration.
 *
 * @module
 */

import { ConnectionError, EvrmoreError, TimeoutError } from "../errors.ts";
import { type Network, parseNetwork } from "../network.ts";
import {
  type EvrmoreZMQClientOptions,
  type EvrmoreZMQStartOptions,
  ZMQ_TOPICS,
  type ZMQEventMap,
  type ZMQEventName,
  type ZMQHandler,
  type ZMQNotification,
  type ZMQTopic,
} from "./types.ts";
import { buildNotification, errorMessage, parseFrames } from "./_message.ts";
import { SequenceTracker } from "./_sequence.ts";
import { BoundedQueue } from "./_queue.ts";
import { checkOptions } from "../_options.ts";

const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 28332;
const DEFAULT_BUFFER_SIZE = 1024;
const DEFAULT_START_TIMEOUT = 10_000;
const MAX_RECEIVE_FAILURES = 10;
const MAX_POLL_INTERVAL = 20;
const MAX_BATCH = 256;

const EVENT_NAMES: ReadonlySet<string> = new Set<ZMQEventName>([
  ...ZMQ_TOPICS,
  "notification",
  "gap",
  "restart",
  "connect",
  "disconnect",
  "overflow",
  "error",
]);

/** The parts of zeromq's `Subscriber` this client uses. */
interface SubscriberSocket {
  readonly closed: boolean;
  readonly readable: boolean;
  readonly events: AsyncIterable<{ type: string; address?: string }>;
  connect(address: string): void;
  subscribe(...prefixes: string[]): void;
  receive(): Promise<Uint8Array[]>;
  close(): void;
}

type AnyHandler = (event: unknown) => void | Promise<void>;

interface ConnectWaiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Subscribes to an Evrmore node's ZMQ publisher (`-zmqpubhashblock`,
 * `-zmqpubrawtx`, ...) and delivers each message as a typed
 * {@linkcode ZMQNotification}: `rawtx` and `rawblock` bodies decoded exactly
 * like `decoderawtransaction` and `getblock <hash> 2`, `rawmessage` bodies
 * parsed, hash bodies as hex.
 *
 * Two ways to consume, usable together:
 * - handlers: `on(topic, handler)` (sync or async; a handler that throws or
 *   rejects is reported as an `"error"` event and never stops the stream);
 * - `for await (const n of client)`: each iterator is independent and gets
 *   every notification from its creation on. It buffers up to `bufferSize`
 *   notifications; when full it drops the oldest and reports an `"overflow"`
 *   event. Iterators end (after their buffer is read) when the client stops.
 *
 * Events besides the topics: `"notification"` (every notification), `"gap"`
 * (a topic's sequence skipped: notifications were lost), `"restart"` (a
 * topic's sequence went back: the node restarted; not a gap), `"connect"` /
 * `"disconnect"` (publisher connection made / lost; zeromq reconnects on its
 * own), `"overflow"` and `"error"`. A malformed message (wrong frame count,
 * unknown topic, sequence frame not 4 bytes) is dropped with a `DecodeError`
 * `"error"` event; a body that cannot be decoded is delivered without its
 * decoded field, with `error` set, and reported as an `"error"` event. With no
 * `"error"` handler, errors are written with `console.error`.
 *
 * zeromq is a native addon loaded by `start()`: importing this module needs no
 * permission, starting the client needs `--allow-ffi`. A client is started
 * once; `stop()` (or `close()`, or `await using`) releases it for good (it
 * emits no `"disconnect"` for that). zeromq reconnects to a restarted node on
 * its own; the client keeps its handlers and iterators across reconnects.
 *
 * Messages are read with non-blocking receives on a short adaptive timer
 * (at most 20 ms apart when idle, back to back under load), because zeromq's
 * own wakeups are unreliable under Deno's N-API layer.
 *
 * @example Print new blocks and transactions
 * ```ts
 * import { EvrmoreZMQClient } from "@evrmore/rpc";
 *
 * async function follow(): Promise<void> {
 *   await using zmq = new EvrmoreZMQClient({ network: "regtest" });
 *   zmq.on("rawblock", (n) => console.log("block", n.block?.height, n.block?.hash));
 *   zmq.on("gap", (gap) => console.warn(`lost ${gap.missed} ${gap.topic}`));
 *   await zmq.start();
 *   for await (const n of zmq) {
 *     if (n.topic === "rawtx") console.log("tx", n.transaction?.txid);
 *   }
 * }
 * ```
 */
export class EvrmoreZMQClient
  implements AsyncIterable<ZMQNotification>, AsyncDisposable {
  #address: string;
  #topics: readonly ZMQTopic[];
  #decode: boolean;
  #network: Network;
  #bufferSize: number;

  #handlers = new Map<string, Set<AnyHandler>>();
  #queues = new Set<BoundedQueue<ZMQNotification>>();
  #sequences = new SequenceTracker<ZMQTopic>();
  #socket: SubscriberSocket | undefined;
  #loops: Promise<void>[] = [];
  #opening: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #closed = false;
  #connected = false;
  #connectWaiters = new Set<ConnectWaiter>();
  #wake: (() => void) | undefined;

  /**
   * Creates a client; nothing happens on the network until `start()`.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * const zmq = new EvrmoreZMQClient({
   *   host: "127.0.0.1",
   *   port: 28332,
   *   topics: ["hashblock", "rawtx"],
   *   network: "main",
   * });
   * console.log(zmq.address); // "tcp://127.0.0.1:28332"
   * ```
   *
   * @param options Publisher address, topics, decoding, network, buffer size.
   * @throws {TypeError} On an unknown topic, an unknown network, or options
   * of the wrong type.
   * @throws {RangeError} On a port or buffer size out of range.
   */
  constructor(options: EvrmoreZMQClientOptions = {}) {
    checkOptions("EvrmoreZMQClient", options, ZMQ_CLIENT_OPTION_KEYS);
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        "Cannot create ZMQ client: options must be an object",
      );
    }
    this.#address = resolveAddress(options);
    this.#topics = resolveTopics(options.topics);
    if (options.decode !== undefined && typeof options.decode !== "boolean") {
      throw new TypeError(
        "Cannot create ZMQ client: decode must be a boolean",
      );
    }
    this.#decode = options.decode ?? true;
    this.#network = parseNetwork(options.network ?? "main");
    const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError(
        `Cannot create ZMQ client: bufferSize ${bufferSize} must be a positive integer`,
      );
    }
    this.#bufferSize = bufferSize;
  }

  /**
   * The publisher endpoint, for example `tcp://127.0.0.1:28332`.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * console.log(new EvrmoreZMQClient({ port: 28333 }).address); // "tcp://127.0.0.1:28333"
   * ```
   */
  get address(): string {
    return this.#address;
  }

  /**
   * The subscribed topics.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * console.log(new EvrmoreZMQClient().topics.length); // 5
   * ```
   */
  get topics(): readonly ZMQTopic[] {
    return this.#topics;
  }

  /**
   * The network used to decode raw bodies.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * console.log(new EvrmoreZMQClient({ network: "regtest" }).network); // "regtest"
   * ```
   */
  get network(): Network {
    return this.#network;
  }

  /**
   * Whether the socket is connected to the publisher right now.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * console.log(new EvrmoreZMQClient().connected); // false
   * ```
   */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Whether the client was stopped (it cannot be started again).
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * const zmq = new EvrmoreZMQClient();
   * await zmq.close();
   * console.log(zmq.closed); // true
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Loads zeromq, connects, subscribes, and (by default) resolves once
   * connected to the publisher. Calling it again while started only waits
   * for the connection. If the wait fails (timeout, abort) the socket is
   * released and `start()` may be called again.
   *
   * @example Start, giving up after 5 seconds
   * ```ts
   * import { EvrmoreZMQClient, TimeoutError } from "@evrmore/rpc";
   *
   * async function connect(): Promise<EvrmoreZMQClient | undefined> {
   *   const zmq = new EvrmoreZMQClient({ address: "tcp://127.0.0.1:28332" });
   *   try {
   *     await zmq.start({ timeout: 5000 });
   *     return zmq;
   *   } catch (error) {
   *     if (error instanceof TimeoutError) console.error("no node");
   *     await zmq.close();
   *     return undefined;
   *   }
   * }
   * ```
   *
   * @param options Timeout, abort signal, whether to wait for the connection.
   * @throws {TimeoutError} When not connected within `timeout` ms.
   * @throws {ConnectionError} When the address is refused by zeromq, or the
   * client was stopped.
   * @throws {EvrmoreError} When zeromq cannot be loaded (no `--allow-ffi`).
   */
  async start(options: EvrmoreZMQStartOptions = {}): Promise<void> {
    const timeout = options.timeout ?? DEFAULT_START_TIMEOUT;
    if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
      throw new RangeError(
        `Cannot start ZMQ client: timeout ${timeout} must be a number >= 0`,
      );
    }
    options.signal?.throwIfAborted();
    if (this.#closed) {
      throw new ConnectionError(
        `Cannot start ZMQ client for ${this.#address}: the client was stopped`,
      );
    }
    if (this.#socket === undefined) {
      this.#opening ??= this.#open().finally(() => {
        this.#opening = undefined;
      });
      await this.#opening;
    }
    if (options.waitForConnection === false || this.#connected) return;
    try {
      await this.#waitConnected(timeout, options.signal);
    } catch (error) {
      if (
        !this.#closed && !this.#connected && this.#connectWaiters.size === 0
      ) {
        await this.#release();
      }
      throw error;
    }
  }

  /**
   * Stops the client for good: closes the socket, waits for its loops to
   * end, ends every async iterator (after its buffered notifications) and
   * removes every handler. Idempotent.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * const zmq = new EvrmoreZMQClient();
   * await zmq.stop();
   * await zmq.stop(); // no-op
   * ```
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  /**
   * Same as {@linkcode EvrmoreZMQClient.prototype.stop}.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * const zmq = new EvrmoreZMQClient();
   * await zmq.close();
   * ```
   */
  close(): Promise<void> {
    return this.stop();
  }

  /**
   * Same as {@linkcode EvrmoreZMQClient.prototype.stop}, for `await using`.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * {
   *   await using zmq = new EvrmoreZMQClient();
   *   console.log(zmq.closed); // false
   * } // stopped here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Adds a handler for a topic or an event (see {@linkcode ZMQEventMap});
   * returns a function that removes it. Handlers run in the order added, as
   * each notification arrives; async handlers are not awaited (no
   * backpressure). A handler that throws or rejects is reported as an
   * `"error"` event. A handler for a topic the client does not subscribe to
   * never runs.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * const zmq = new EvrmoreZMQClient({ network: "regtest" });
   * const unsubscribe = zmq.on("rawtx", (n) => {
   *   console.log(n.sequence, n.transaction?.txid);
   * });
   * zmq.on("error", (error) => console.error(error.message));
   * unsubscribe();
   * ```
   *
   * @param event A topic, or `"notification"`, `"gap"`, `"restart"`,
   * `"connect"`, `"disconnect"`, `"overflow"`, `"error"`.
   * @param handler Called with the event's value.
   * @returns A function that removes the handler.
   * @throws {TypeError} On an unknown event name or a non-function handler.
   */
  on<K extends ZMQEventName>(
    event: K,
    handler: ZMQHandler<ZMQEventMap[K]>,
  ): () => void {
    checkEventName(event);
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot listen to "${event}": the handler is not a function`,
      );
    }
    let set = this.#handlers.get(event);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    // A handler added twice runs once per addition: wrap it.
    const entry: AnyHandler = (value) => handler(value as ZMQEventMap[K]);
    (entry as { original?: unknown }).original = handler;
    set.add(entry);
    return () => {
      this.#handlers.get(event)?.delete(entry);
    };
  }

  /**
   * Removes a handler added with `on()` (one addition of it).
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient, type ZMQGapEvent } from "@evrmore/rpc";
   *
   * const zmq = new EvrmoreZMQClient();
   * const onGap = (gap: ZMQGapEvent) => console.warn(gap);
   * zmq.on("gap", onGap);
   * console.log(zmq.off("gap", onGap)); // true
   * ```
   *
   * @param event The topic or event name.
   * @param handler The handler given to `on()`.
   * @returns Whether a handler was removed.
   * @throws {TypeError} On an unknown event name.
   */
  off<K extends ZMQEventName>(
    event: K,
    handler: ZMQHandler<ZMQEventMap[K]>,
  ): boolean {
    checkEventName(event);
    const set = this.#handlers.get(event);
    if (set === undefined) return false;
    for (const entry of set) {
      if ((entry as { original?: unknown }).original === handler) {
        set.delete(entry);
        return true;
      }
    }
    return false;
  }

  /**
   * A new, independent iterator over the notifications that arrive from now
   * on. It buffers up to `bufferSize` of them (dropping the oldest, with an
   * `"overflow"` event, when full) and ends once the client stops and its
   * buffer is read. Breaking out of `for await` detaches it.
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * async function blocks(zmq: EvrmoreZMQClient): Promise<void> {
   *   for await (const n of zmq) {
   *     if (n.topic === "hashblock") console.log("new block", n.hex);
   *   }
   * }
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ZMQNotification> {
    const queue: BoundedQueue<ZMQNotification> = new BoundedQueue(
      this.#bufferSize,
      (dropped) =>
        this.#emit("overflow", {
          topic: dropped.topic,
          sequence: dropped.sequence,
          bufferSize: this.#bufferSize,
        }),
      () => this.#queues.delete(queue),
    );
    if (this.#closed) queue.end();
    else this.#queues.add(queue);
    return queue;
  }

  async #open(): Promise<void> {
    let zmq: typeof import("zeromq");
    try {
      zmq = await import("zeromq");
    } catch (cause) {
      throw new EvrmoreError(
        `Cannot start ZMQ client: cannot load zeromq (it needs --allow-ffi): ${
          errorMessage(cause)
        }`,
        { cause },
      );
    }
    if (this.#closed) {
      throw new ConnectionError(
        `Cannot start ZMQ client for ${this.#address}: the client was stopped`,
      );
    }
    const socket = new zmq.Subscriber({
      linger: 0,
      receiveTimeout: 0,
    }) as unknown as SubscriberSocket;
    this.#sequences.clear();
    // Watch events before connecting, so the first "connect" is not missed.
    this.#loops.push(this.#watchEvents(socket));
    try {
      socket.connect(this.#address);
    } catch (cause) {
      socket.close();
      await Promise.allSettled(this.#loops.splice(0));
      throw new ConnectionError(
        `Cannot connect to ${this.#address}: ${errorMessage(cause)}`,
        { cause },
      );
    }
    socket.subscribe(...this.#topics);
    this.#socket = socket;
    this.#loops.push(this.#receive(socket));
  }

  #waitConnected(timeout: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#connectWaiters.delete(waiter);
      };
      const waiter: ConnectWaiter = {
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const onAbort = () => waiter.reject(signal?.reason);
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      this.#connectWaiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      // Beyond setTimeout's 2^31 - 1 ms limit, wait for ever.
      if (timeout <= 2_147_483_647) {
        timer = setTimeout(
          () =>
            waiter.reject(
              new TimeoutError(
                `Cannot connect to ${this.#address}: no connection within ${timeout} ms`,
              ),
            ),
          timeout,
        );
      }
    });
  }

  async #watchEvents(socket: SubscriberSocket): Promise<void> {
    try {
      for await (const event of socket.events) {
        if (event.type === "connect") {
          this.#connected = true;
          for (const waiter of [...this.#connectWaiters]) waiter.resolve();
          this.#emit("connect", { address: event.address ?? this.#address });
        } else if (event.type === "disconnect") {
          this.#connected = false;
          this.#emit("disconnect", {
            address: event.address ?? this.#address,
          });
        }
      }
    } catch (cause) {
      if (!socket.closed) {
        this.#reportError(
          new ConnectionError(
            `Cannot watch the ZMQ connection to ${this.#address}: ${
              errorMessage(cause)
            }`,
            { cause },
          ),
        );
      }
    }
  }

  /*
   * Reads with non-blocking receives on a short adaptive timer instead of
   * zeromq's own poller: under Deno's N-API event loop, zeromq's
   * edge-triggered wakeups get lost after a reconnect (a pending receive()
   * then never resolves although messages are queued). Polling `readable`
   * (a zmq_getsockopt(ZMQ_EVENTS) call) is cheap and always sees them.
   * Latency when idle is at most MAX_POLL_INTERVAL ms.
   */
  async #receive(socket: SubscriberSocket): Promise<void> {
    let idlePolls = 0;
    let failures = 0;
    while (!socket.closed) {
      let batch = 0;
      while (batch < MAX_BATCH && !socket.closed && socket.readable) {
        let frames: Uint8Array[];
        try {
          frames = await socket.receive();
          failures = 0;
        } catch (cause) {
          if (
            socket.closed || (cause as { code?: unknown }).code === "EAGAIN"
          ) {
            break;
          }
          this.#reportError(
            new ConnectionError(
              `Cannot receive from ${this.#address}: ${errorMessage(cause)}`,
              { cause },
            ),
          );
          if (++failures >= MAX_RECEIVE_FAILURES) return;
          break;
        }
        batch++;
        try {
          this.#dispatch(frames);
        } catch (error) {
          // Never expected: dispatch catches what it calls. Keep the stream.
          this.#reportError(error);
        }
      }
      if (socket.closed) break;
      if (batch > 0) idlePolls = 0;
      const delay = batch === MAX_BATCH
        ? 0
        : Math.min(MAX_POLL_INTERVAL, 2 ** Math.min(idlePolls++, 5));
      await this.#sleep(delay);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #dispatch(frames: Uint8Array[]): void {
    const receivedAt = Date.now();
    let parsed;
    try {
      parsed = parseFrames(frames);
    } catch (error) {
      this.#reportError(error);
      return;
    }
    const { topic, sequence } = parsed;
    const check = this.#sequences.check(topic, sequence);
    if (check.kind === "gap") {
      this.#emit("gap", {
        topic,
        expected: check.expected,
        received: sequence,
        missed: check.missed,
      });
    } else if (check.kind === "restart") {
      this.#emit("restart", {
        topic,
        previous: check.previous,
        received: sequence,
      });
      if (check.missed > 0) {
        this.#emit("gap", {
          topic,
          expected: 0,
          received: sequence,
          missed: check.missed,
        });
      }
    }
    const notification = buildNotification(parsed, {
      decode: this.#decode,
      network: this.#network,
      receivedAt,
    });
    if (notification.error !== undefined) this.#reportError(notification.error);
    this.#emit(topic, notification);
    this.#emit("notification", notification);
    for (const queue of this.#queues) queue.push(notification);
  }

  #emit<K extends ZMQEventName>(event: K, value: ZMQEventMap[K]): void {
    const set = this.#handlers.get(event);
    if (set === undefined || set.size === 0) return;
    for (const handler of [...set]) {
      try {
        const result: unknown = handler(value);
        if (
          result !== null && typeof result === "object" &&
          typeof (result as PromiseLike<unknown>).then === "function"
        ) {
          (result as PromiseLike<unknown>).then(
            undefined,
            (cause) => this.#handlerFailed(event, cause),
          );
        }
      } catch (cause) {
        this.#handlerFailed(event, cause);
      }
    }
  }

  #handlerFailed(event: ZMQEventName, cause: unknown): void {
    if (event === "error") {
      console.error(`EvrmoreZMQClient: an "error" handler failed:`, cause);
      return;
    }
    this.#reportError(
      new EvrmoreError(
        `Cannot run "${event}" handler: ${errorMessage(cause)}`,
        { cause },
      ),
    );
  }

  #reportError(error: unknown): void {
    const value = error instanceof Error
      ? error
      : new EvrmoreError(`Cannot handle ZMQ message: ${String(error)}`, {
        cause: error,
      });
    const set = this.#handlers.get("error");
    if (set === undefined || set.size === 0) {
      console.error("EvrmoreZMQClient:", value);
      return;
    }
    this.#emit("error", value);
  }

  async #release(): Promise<void> {
    await this.#opening?.catch(() => {});
    const socket = this.#socket;
    this.#socket = undefined;
    this.#connected = false;
    socket?.close();
    this.#wake?.();
    await Promise.allSettled(this.#loops.splice(0));
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    for (const waiter of [...this.#connectWaiters]) {
      waiter.reject(
        new ConnectionError(
          `Cannot connect to ${this.#address}: the client was stopped`,
        ),
      );
    }
    await this.#release();
    for (const queue of this.#queues) queue.end();
    this.#queues.clear();
    this.#handlers.clear();
  }
}

function checkEventName(event: unknown): asserts event is ZMQEventName {
  if (typeof event !== "string" || !EVENT_NAMES.has(event)) {
    throw new TypeError(
      `Cannot listen to ${JSON.stringify(event)}: expected one of ${
        [...EVENT_NAMES].join(", ")
      }`,
    );
  }
}

function resolveAddress(options: EvrmoreZMQClientOptions): string {
  const { address, host, port } = options;
  if (address !== undefined) {
    if (host !== undefined || port !== undefined) {
      throw new TypeError(
        "Cannot create ZMQ client: give either address or host/port, not both",
      );
    }
    if (
      typeof address !== "string" || !/^[a-z][a-z0-9+.-]*:\/\/.+/i.test(address)
    ) {
      throw new TypeError(
        `Cannot create ZMQ client: address ${
          JSON.stringify(address)
        } is not an endpoint like "tcp://127.0.0.1:28332"`,
      );
    }
    return address;
  }
  if (host !== undefined && (typeof host !== "string" || host === "")) {
    throw new TypeError(
      "Cannot create ZMQ client: host must be a non-empty string",
    );
  }
  const portNumber = port ?? DEFAULT_PORT;
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    throw new RangeError(
      `Cannot create ZMQ client: port ${portNumber} is not from 1 to 65535`,
    );
  }
  const hostName = host ?? DEFAULT_HOST;
  const bracketed = hostName.includes(":") && !hostName.startsWith("[")
    ? `[${hostName}]`
    : hostName;
  return `tcp://${bracketed}:${portNumber}`;
}

function resolveTopics(
  topics: readonly ZMQTopic[] | undefined,
): readonly ZMQTopic[] {
  if (topics === undefined) return ZMQ_TOPICS;
  if (!Array.isArray(topics) || topics.length === 0) {
    throw new TypeError(
      "Cannot create ZMQ client: topics must be a non-empty array",
    );
  }
  const result: ZMQTopic[] = [];
  for (const topic of topics) {
    if (!(ZMQ_TOPICS as readonly unknown[]).includes(topic)) {
      throw new TypeError(
        `Cannot subscribe to ${JSON.stringify(topic)}: expected one of ${
          ZMQ_TOPICS.join(", ")
        }`,
      );
    }
    if (!result.includes(topic)) result.push(topic);
  }
  return Object.freeze(result);
}

/** The options the constructor reads (unknown ones throw). */
export const ZMQ_CLIENT_OPTION_KEYS: readonly string[] = [
  "address",
  "host",
  "port",
  "topics",
  "decode",
  "network",
  "bufferSize",
];
