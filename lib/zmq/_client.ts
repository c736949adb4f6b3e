/**
 * `EvrmoreZMQClient`: the node's ZMQ notifications as typed, decoded
 * notifications, through handlers or async iteration.
 *
 * @module
 */

import { ConnectionError, EvrmoreError, TimeoutError } from "../errors.ts";
import type { Network } from "../network.ts";
import {
  type EvrmoreZMQClientOptions,
  type EvrmoreZMQStartOptions,
  ZMQ_TOPICS,
  type ZMQClientStats,
  type ZMQEventMap,
  type ZMQEventName,
  type ZMQHandler,
  type ZMQNotification,
  type ZMQRespawnEvent,
  type ZMQResyncEvent,
  type ZMQTopic,
} from "./types.ts";
import { buildNotification, errorMessage, parseFrames } from "./_message.ts";
import { SequenceTracker } from "./_sequence.ts";
import { BoundedQueue } from "./_queue.ts";
import type { Transport, TransportSink } from "./_transport.ts";
import { InProcessTransport } from "./_inprocess.ts";
import { runsUnderDenoCli, SubprocessTransport } from "./_subprocess.ts";
import { resolveOptions } from "./_options.ts";
import { checkOptions } from "../_options.ts";

const DEFAULT_START_TIMEOUT = 10_000;
/** After a connection, the longest wait for a notification before "resync". */
const RESYNC_SETTLE_MS = 250;

const EVENT_NAMES: ReadonlySet<string> = new Set<ZMQEventName>([
  ...ZMQ_TOPICS,
  "notification",
  "gap",
  "restart",
  "connect",
  "disconnect",
  "overflow",
  "respawn",
  "resync",
  "error",
]);

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
 * own), `"respawn"` (the subscriber process died or hung and was replaced),
 * `"resync"` (notifications may be missing around now: at the first
 * connection, after a reconnect or respawn, after a gap; reconcile state
 * such as the mempool), `"overflow"` and `"error"`. {@linkcode stats} counts
 * them. A malformed message (wrong frame count,
 * unknown topic, sequence frame not 4 bytes) is dropped with a `DecodeError`
 * `"error"` event; a body that cannot be decoded is delivered without its
 * decoded field, with `error` set, and reported as an `"error"` event. With no
 * `"error"` handler, errors are written with `console.error`.
 *
 * By default the ZMQ socket lives in a subscriber process (`isolation:
 * "subprocess"`, needs `--allow-run`) that blocks in libzmq's receive and
 * forwards each message at once: no polling, and a crash, abort or hang in
 * native code cannot end this process. `isolation: "none"` keeps the socket
 * in this process, with the same blocking receive (needs `--allow-ffi` and
 * `--allow-read`). Importing this module needs no permission. A client is
 * started once; `stop()` (or `close()`, or `await using`) releases it for good (it
 * emits no `"disconnect"` for that). zeromq reconnects to a restarted node on
 * its own; the client keeps its handlers and iterators across reconnects.
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
  #isolation: "subprocess" | "none";
  #hangTimeout: number;
  #subscriberCommand: readonly string[] | undefined;

  #handlers = new Map<string, Set<AnyHandler>>();
  #queues = new Set<BoundedQueue<ZMQNotification>>();
  #sequences = new SequenceTracker<ZMQTopic>();
  #transport: Transport | undefined;
  #opening: Promise<void> | undefined;
  #pending: Transport | undefined;
  #stopping: Promise<void> | undefined;
  #closed = false;
  #connected = false;
  #connectWaiters = new Set<ConnectWaiter>();
  #everConnected = false;
  #respawned = false;
  #resync: ZMQResyncEvent["reason"] | undefined;
  #resyncTimer: ReturnType<typeof setTimeout> | undefined;
  #stats = {
    received: 0,
    gaps: 0,
    missed: 0,
    respawns: 0,
    resyncs: 0,
    connects: 0,
    disconnects: 0,
    errors: 0,
  };

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
    const resolved = resolveOptions(options);
    this.#address = resolved.address;
    this.#topics = resolved.topics;
    this.#decode = resolved.decode;
    this.#network = resolved.network;
    this.#bufferSize = resolved.bufferSize;
    this.#isolation = resolved.isolation;
    this.#hangTimeout = resolved.hangTimeout;
    this.#subscriberCommand = resolved.subscriberCommand;
  }

  /**
   * Counters for metrics, and where the socket lives (after `start()`, the
   * isolation actually used).
   *
   * @example
   * ```ts
   * import { EvrmoreZMQClient } from "@evrmore/rpc";
   *
   * const zmq = new EvrmoreZMQClient({ isolation: "none" });
   * console.log(zmq.stats.isolation, zmq.stats.gaps); // "none" 0
   * ```
   */
  get stats(): ZMQClientStats {
    return {
      isolation: this.#isolation,
      pid: this.#transport?.pid,
      ...this.#stats,
    };
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
   * @throws {EvrmoreError} When libzmq cannot be loaded (no `--allow-ffi`),
   * or the subscriber process cannot start.
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
    if (this.#transport === undefined) {
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
   * `"connect"`, `"disconnect"`, `"respawn"`, `"resync"`, `"overflow"`,
   * `"error"`.
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
    if (
      this.#isolation === "subprocess" &&
      this.#subscriberCommand === undefined && !runsUnderDenoCli()
    ) {
      this.#isolation = "none";
      this.#reportError(
        new EvrmoreError(
          "Cannot isolate the ZMQ subscriber: this program is not run by the deno CLI (deno compile?) and no subscriberCommand was given; zeromq runs in this process",
        ),
      );
    }
    let sink = this.#sink();
    let transport: Transport = this.#isolation === "subprocess"
      ? new SubprocessTransport({
        address: this.#address,
        topics: this.#topics,
        hangTimeout: this.#hangTimeout,
        command: this.#subscriberCommand,
      }, sink)
      : new InProcessTransport(this.#address, this.#topics, sink);
    this.#sequences.clear();
    sink.current = transport;
    this.#pending = transport;
    try {
      await transport.open();
    } catch (error) {
      if (this.#closed) {
        throw new ConnectionError(
          `Cannot start ZMQ client for ${this.#address}: the client was stopped`,
          { cause: error },
        );
      }
      // No --allow-run: keep working, in this process, and say so.
      if (
        !(isPermissionError(error) && this.#subscriberCommand === undefined)
      ) {
        throw error;
      }
      this.#isolation = "none";
      this.#reportError(
        new EvrmoreError(
          `Cannot isolate the ZMQ subscriber in a process (it needs --allow-run); zeromq runs in this process: ${
            errorMessage(error)
          }`,
          { cause: error },
        ),
      );
      sink = this.#sink();
      transport = new InProcessTransport(this.#address, this.#topics, sink);
      sink.current = transport;
      this.#pending = transport;
      await transport.open();
    } finally {
      this.#pending = undefined;
    }
    if (this.#closed) {
      await transport.close();
      throw new ConnectionError(
        `Cannot start ZMQ client for ${this.#address}: the client was stopped`,
      );
    }
    this.#transport = transport;
  }

  /** Where the transport reports; ignores a transport no longer current. */
  #sink(): TransportSink & { current: Transport | undefined } {
    const sink = {
      current: undefined as Transport | undefined,
      frames: (frames: Uint8Array[]) => {
        if (!live()) return;
        try {
          this.#dispatch(frames);
        } catch (error) {
          // Never expected: dispatch catches what it calls. Keep the stream.
          this.#reportError(error);
        }
      },
      connected: (address: string) => {
        if (live()) this.#onConnect(address);
      },
      disconnected: (address: string) => {
        if (!live()) return;
        this.#connected = false;
        this.#stats.disconnects++;
        if (this.#resyncTimer !== undefined) clearTimeout(this.#resyncTimer);
        this.#resyncTimer = undefined;
        this.#emit("disconnect", { address });
      },
      error: (error: Error) => {
        if (live()) this.#reportError(error);
      },
      respawned: (event: ZMQRespawnEvent) => {
        if (!live()) return;
        this.#stats.respawns++;
        this.#respawned = true;
        this.#emit("respawn", event);
        this.#reportError(new ConnectionError(event.message));
      },
    };
    const live = () =>
      !this.#closed &&
      (this.#transport === sink.current || this.#transport === undefined);
    return sink;
  }

  #onConnect(address: string): void {
    this.#connected = true;
    this.#stats.connects++;
    for (const waiter of [...this.#connectWaiters]) waiter.resolve();
    this.#resync = !this.#everConnected
      ? "start"
      : this.#respawned
      ? "respawn"
      : "reconnect";
    this.#everConnected = true;
    this.#respawned = false;
    if (this.#resyncTimer !== undefined) clearTimeout(this.#resyncTimer);
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined;
      this.#flushResync();
    }, RESYNC_SETTLE_MS);
    this.#emit("connect", { address });
  }

  /** Emits the "resync" waiting for the subscription to be in effect. */
  #flushResync(): void {
    const reason = this.#resync;
    if (reason === undefined) return;
    this.#resync = undefined;
    if (this.#resyncTimer !== undefined) clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    this.#stats.resyncs++;
    this.#emit("resync", { reason, topics: this.#topics });
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

  #dispatch(frames: Uint8Array[]): void {
    const receivedAt = Date.now();
    let parsed;
    try {
      parsed = parseFrames(frames);
    } catch (error) {
      this.#reportError(error);
      return;
    }
    // A notification shows the subscription is in effect.
    if (this.#resync !== undefined) this.#flushResync();
    const { topic, sequence } = parsed;
    const check = this.#sequences.check(topic, sequence);
    if (check.kind === "gap") {
      this.#gap(topic, check.expected, sequence, check.missed);
    } else if (check.kind === "restart") {
      this.#emit("restart", {
        topic,
        previous: check.previous,
        received: sequence,
      });
      if (check.missed > 0) this.#gap(topic, 0, sequence, check.missed);
    }
    const notification = buildNotification(parsed, {
      decode: this.#decode,
      network: this.#network,
      receivedAt,
    });
    if (notification.error !== undefined) this.#reportError(notification.error);
    this.#stats.received++;
    this.#emit(topic, notification);
    this.#emit("notification", notification);
    for (const queue of this.#queues) queue.push(notification);
  }

  #gap(
    topic: ZMQTopic,
    expected: number,
    received: number,
    missed: number,
  ): void {
    this.#stats.gaps++;
    this.#stats.missed += missed;
    this.#emit("gap", { topic, expected, received, missed });
    this.#stats.resyncs++;
    this.#emit("resync", { reason: "gap", topics: [topic] });
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
    this.#stats.errors++;
    const set = this.#handlers.get("error");
    if (set === undefined || set.size === 0) {
      console.error("EvrmoreZMQClient:", value);
      return;
    }
    this.#emit("error", value);
  }

  async #release(): Promise<void> {
    // Stopping while the socket is being set up: cut that short.
    if (this.#closed) this.#pending?.close();
    await this.#opening?.catch(() => {});
    const transport = this.#transport;
    this.#transport = undefined;
    this.#connected = false;
    if (this.#resyncTimer !== undefined) clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    await transport?.close();
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

/** Whether starting the subscriber process failed for want of permission. */
function isPermissionError(error: unknown): boolean {
  const cause = (error as { cause?: unknown })?.cause;
  return cause instanceof Deno.errors.NotCapable ||
    cause instanceof Deno.errors.PermissionDenied;
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

/** The options the constructor reads (unknown ones throw). */
export const ZMQ_CLIENT_OPTION_KEYS: readonly string[] = [
  "address",
  "host",
  "port",
  "topics",
  "decode",
  "network",
  "bufferSize",
  "isolation",
  "hangTimeout",
  "subscriberCommand",
];
