/**
 * The in-process transport (`isolation: "none"`): a zeromq `Subscriber` in
 * this process, read with non-blocking receives on a short adaptive timer.
 *
 * @module
 */

import { ConnectionError, EvrmoreError } from "../errors.ts";
import { errorMessage } from "./_message.ts";
import type { Transport, TransportSink } from "./_transport.ts";

const MAX_RECEIVE_FAILURES = 10;
const MAX_POLL_INTERVAL = 20;
const MAX_BATCH = 256;

/** The parts of zeromq's `Subscriber` used here. */
interface SubscriberSocket {
  readonly closed: boolean;
  readonly readable: boolean;
  readonly events: AsyncIterable<{ type: string; address?: string }>;
  connect(address: string): void;
  subscribe(...prefixes: string[]): void;
  receive(): Promise<Uint8Array[]>;
  close(): void;
}

/**
 * Reads with non-blocking receives on a short adaptive timer instead of
 * zeromq's own poller: under Deno's N-API event loop, zeromq's edge-triggered
 * wakeups get lost after a reconnect (a pending receive() then never resolves
 * although messages are queued). Polling `readable` (a
 * zmq_getsockopt(ZMQ_EVENTS) call) is cheap and always sees them. Latency
 * when idle is at most MAX_POLL_INTERVAL ms.
 */
export class InProcessTransport implements Transport {
  #address: string;
  #topics: readonly string[];
  #sink: TransportSink;
  #socket: SubscriberSocket | undefined;
  #loops: Promise<void>[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(
    address: string,
    topics: readonly string[],
    sink: TransportSink,
  ) {
    this.#address = address;
    this.#topics = topics;
    this.#sink = sink;
  }

  get pid(): number | undefined {
    return undefined;
  }

  async open(): Promise<void> {
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

  async close(): Promise<void> {
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close();
    this.#wake?.();
    await Promise.allSettled(this.#loops.splice(0));
  }

  async #watchEvents(socket: SubscriberSocket): Promise<void> {
    try {
      for await (const event of socket.events) {
        if (this.#closed) break;
        if (event.type === "connect") {
          this.#sink.connected(event.address ?? this.#address);
        } else if (event.type === "disconnect") {
          this.#sink.disconnected(event.address ?? this.#address);
        }
      }
    } catch (cause) {
      if (!socket.closed && !this.#closed) {
        this.#sink.error(
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
          this.#sink.error(
            new ConnectionError(
              `Cannot receive from ${this.#address}: ${errorMessage(cause)}`,
              { cause },
            ),
          );
          if (++failures >= MAX_RECEIVE_FAILURES) return;
          break;
        }
        batch++;
        if (!this.#closed) this.#sink.frames(frames);
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
}
