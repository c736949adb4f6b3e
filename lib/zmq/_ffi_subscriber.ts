/**
 * A ZMQ SUB socket driven through libzmq's C API (see `_libzmq.ts`): each
 * receive blocks on one of Deno's blocking threads, so a message is handed on
 * as soon as libzmq has it, with no polling. Used by the subscriber process,
 * and in-process for `isolation: "none"`.
 *
 * @module
 */

import {
  cString,
  lastError,
  type LibZmq,
  ZMQ_DONTWAIT,
  ZMQ_EVENT_CONNECTED,
  ZMQ_EVENT_DISCONNECTED,
  ZMQ_LINGER,
  ZMQ_MSG_SIZE,
  ZMQ_PAIR,
  ZMQ_RCVHWM,
  ZMQ_SUB,
  ZMQ_SUBSCRIBE,
} from "./_libzmq.ts";

const MAX_BATCH = 256;
const RECEIVE_HWM = 100_000;
const MAX_FAILURES = 100;
let monitors = 0;

/** What an {@linkcode FfiSubscriber} reports. */
export interface FfiSubscriberEvents {
  /** Messages (each its frames) received together, oldest first. */
  messages(batch: Uint8Array[][]): void;
  /** Connected (reported once, before the first message of a connection). */
  connected(address: string): void;
  /** The connection was lost. */
  disconnected(address: string): void;
}

/** Why {@linkcode FfiSubscriber.open} failed. */
export class FfiSubscriberError extends Error {
  /** `"connect"` when libzmq refused the endpoint, `"setup"` otherwise. */
  readonly code: "connect" | "setup";

  constructor(code: "connect" | "setup", message: string) {
    super(message);
    this.name = "FfiSubscriberError";
    this.code = code;
  }
}

function setInt(
  lib: LibZmq,
  socket: Deno.PointerValue,
  option: number,
  value: number,
): void {
  lib.zmq_setsockopt(socket, option, new Int32Array([value]), 4n);
}

/** A SUB socket with a monitor, read on blocking threads. */
export class FfiSubscriber {
  #lib: LibZmq;
  #context: Deno.PointerValue;
  #socket: Deno.PointerValue;
  #pair: Deno.PointerValue;
  #address: string;
  #events: FfiSubscriberEvents;
  #connection: string | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #loops: Promise<void>[] = [];

  private constructor(
    lib: LibZmq,
    address: string,
    events: FfiSubscriberEvents,
  ) {
    this.#lib = lib;
    this.#address = address;
    this.#events = events;
    this.#context = lib.zmq_ctx_new();
    this.#socket = lib.zmq_socket(this.#context, ZMQ_SUB);
    this.#pair = lib.zmq_socket(this.#context, ZMQ_PAIR);
  }

  /**
   * Connects and subscribes.
   *
   * @throws {FfiSubscriberError} When libzmq refuses the endpoint or the
   * monitor.
   */
  static open(
    lib: LibZmq,
    address: string,
    topics: readonly string[],
    events: FfiSubscriberEvents,
  ): FfiSubscriber {
    const subscriber = new FfiSubscriber(lib, address, events);
    try {
      subscriber.#setUp(topics);
    } catch (error) {
      subscriber.#release();
      throw error;
    }
    return subscriber;
  }

  #setUp(topics: readonly string[]): void {
    const lib = this.#lib;
    setInt(lib, this.#socket, ZMQ_LINGER, 0);
    setInt(lib, this.#pair, ZMQ_LINGER, 0);
    setInt(lib, this.#socket, ZMQ_RCVHWM, RECEIVE_HWM);
    const monitor = cString(
      `inproc://evrmore-zmq-monitor-${Deno.pid}-${monitors++}`,
    );
    if (
      lib.zmq_socket_monitor(
          this.#socket,
          monitor,
          ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED,
        ) !== 0 ||
      lib.zmq_connect(this.#pair, monitor) !== 0
    ) {
      throw new FfiSubscriberError(
        "setup",
        `Cannot monitor the socket: ${lastError(lib)}`,
      );
    }
    if (lib.zmq_connect(this.#socket, cString(this.#address)) !== 0) {
      throw new FfiSubscriberError("connect", lastError(lib));
    }
    for (const topic of topics) {
      const prefix = new TextEncoder().encode(topic);
      lib.zmq_setsockopt(
        this.#socket,
        ZMQ_SUBSCRIBE,
        prefix,
        BigInt(prefix.length),
      );
    }
    this.#loops.push(this.#watchMonitor());
  }

  /**
   * Receives until closed. Rejects when a receive fails for another reason.
   */
  run(): Promise<void> {
    const loop = this.#receiveLoop();
    this.#loops.push(loop.catch(() => {}));
    return loop;
  }

  /** Unblocks the receives, closes the sockets. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      // Thread-safe: blocked receives return ETERM.
      this.#lib.zmq_ctx_shutdown(this.#context);
      await Promise.allSettled(this.#loops);
      await this.#release();
    })();
    return this.#closed;
  }

  async #release(): Promise<void> {
    this.#lib.zmq_close(this.#socket);
    this.#lib.zmq_close(this.#pair);
    await this.#lib.zmq_ctx_term_wait(this.#context);
  }

  #connected(address: string): void {
    if (this.#connection !== undefined || this.#closing) return;
    this.#connection = address;
    this.#events.connected(address);
  }

  async #receiveLoop(): Promise<void> {
    const msg = new Uint8Array(ZMQ_MSG_SIZE);
    let failures = 0;
    while (!this.#closing) {
      let frames: Uint8Array[] | undefined;
      try {
        frames = await this.#receive(msg, true);
        failures = 0;
      } catch (error) {
        // An interrupted receive (EINTR) is retried; a broken socket is not.
        if (++failures >= MAX_FAILURES) throw error;
        continue;
      }
      if (frames === undefined) return; // Shut down.
      // A message proves the connection: the monitor's event may come later.
      this.#connected(this.#address);
      const batch: Uint8Array[][] = [];
      while (frames !== undefined) {
        batch.push(frames);
        if (batch.length >= MAX_BATCH) break;
        frames = await this.#receive(msg, false);
      }
      this.#events.messages(batch);
    }
  }

  async #watchMonitor(): Promise<void> {
    const msg = new Uint8Array(ZMQ_MSG_SIZE);
    const text = new TextDecoder();
    while (!this.#closing) {
      const frames = await this.#receiveOn(this.#pair, msg, true);
      if (frames === undefined) return;
      const head = frames[0]!;
      if (frames.length < 2 || head.length < 2) continue;
      const event = new DataView(head.buffer, head.byteOffset).getUint16(
        0,
        true,
      );
      const address = text.decode(frames[1]);
      if (event === ZMQ_EVENT_CONNECTED) this.#connected(address);
      if (
        event === ZMQ_EVENT_DISCONNECTED && this.#connection !== undefined &&
        !this.#closing
      ) {
        this.#connection = undefined;
        this.#events.disconnected(address);
      }
    }
  }

  #receive(
    msg: Uint8Array<ArrayBuffer>,
    wait: boolean,
  ): Promise<Uint8Array[] | undefined> {
    return this.#receiveOn(this.#socket, msg, wait);
  }

  /**
   * One whole message; `wait` blocks on a Deno blocking thread. Undefined
   * when nothing is queued (`wait` false) or the context was shut down.
   */
  async #receiveOn(
    socket: Deno.PointerValue,
    msg: Uint8Array<ArrayBuffer>,
    wait: boolean,
  ): Promise<Uint8Array[] | undefined> {
    const lib = this.#lib;
    const frames: Uint8Array[] = [];
    for (;;) {
      lib.zmq_msg_init(msg);
      const first = frames.length === 0;
      const size = first && wait
        ? await lib.zmq_msg_recv_wait(msg, socket, 0)
        : lib.zmq_msg_recv(msg, socket, first ? ZMQ_DONTWAIT : 0);
      if (size < 0) {
        lib.zmq_msg_close(msg);
        // errno lives on the thread that received: judge by our own state.
        if (this.#closing || (first && !wait)) return undefined;
        throw new Error(`Cannot receive: ${first ? "failed" : lastError(lib)}`);
      }
      const frame = new Uint8Array(size);
      if (size > 0) {
        const data = lib.zmq_msg_data(msg);
        if (data !== null) Deno.UnsafePointerView.copyInto(data, frame);
      }
      const more = lib.zmq_msg_more(msg);
      lib.zmq_msg_close(msg);
      frames.push(frame);
      if (more === 0) return frames;
    }
  }
}
