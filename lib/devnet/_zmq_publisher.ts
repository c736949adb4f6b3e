/**
 * The devnet's ZMQ publisher: the node's three-frame messages (topic, body,
 * little-endian uint32 per-topic sequence), with switches to simulate lost
 * messages.
 *
 * `zeromq` is a native addon; it is imported lazily in {@linkcode start}.
 *
 * @module
 */

import type { ZMQTopic } from "../zmq/types.ts";

interface PublisherSocket {
  bind(address: string): Promise<void>;
  send(frames: Uint8Array[]): Promise<void>;
  close(): void;
  readonly lastEndpoint: string | null;
  linger: number;
}

const TOPICS: readonly ZMQTopic[] = [
  "hashblock",
  "hashtx",
  "rawblock",
  "rawtx",
  "rawmessage",
];

function newCounters(): Record<ZMQTopic, number> {
  return Object.fromEntries(TOPICS.map((t) => [t, 0])) as Record<
    ZMQTopic,
    number
  >;
}

/** A record of one published (or suppressed) message, for tests. */
export interface PublishedMessage {
  /** Topic. */
  topic: ZMQTopic;
  /** Body bytes. */
  body: Uint8Array;
  /** Sequence number the message carried (or would have carried). */
  sequence: number;
  /** False when the message was dropped or held back by a pause. */
  sent: boolean;
}

/** The ZMQ PUB socket of the devnet. */
export class ZmqPublisher {
  #socket: PublisherSocket | undefined;
  #port = 0;
  #counters = newCounters();
  #paused = false;
  #drop = 0;
  #chain: Promise<void> = Promise.resolve();
  #listeners = new Set<(message: PublishedMessage) => void>();

  /** Bound port (0 before start). */
  get port(): number {
    return this.#port;
  }

  /** `tcp://127.0.0.1:<port>`. */
  get address(): string {
    return `tcp://127.0.0.1:${this.#port}`;
  }

  /** Whether the socket is bound. */
  get running(): boolean {
    return this.#socket !== undefined;
  }

  /** Whether publishing is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** The next sequence number of each topic. */
  get counters(): Readonly<Record<ZMQTopic, number>> {
    return { ...this.#counters };
  }

  /**
   * Binds the socket on 127.0.0.1.
   *
   * @param port The port (0 picks a free one).
   * @returns The bound port.
   */
  async start(port: number): Promise<number> {
    if (this.#socket) return this.#port;
    const zmq = await import("zeromq");
    const socket = new zmq.Publisher({
      linger: 0,
    }) as unknown as PublisherSocket;
    const address = `tcp://127.0.0.1:${port === 0 ? "*" : port}`;
    // A port just released by a previous socket can take a moment to free up.
    for (let attempt = 0;; attempt++) {
      try {
        await socket.bind(address);
        break;
      } catch (error) {
        if (attempt >= 50) {
          socket.close();
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const endpoint = socket.lastEndpoint ?? address;
    this.#port = Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
    this.#socket = socket;
    return this.#port;
  }

  /** Closes the socket (waits for messages being written). */
  async stop(): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    await this.#chain;
    this.#socket = undefined;
    socket.close();
  }

  /**
   * Closes and rebinds the same port; counters restart at 0, as when the
   * node restarts.
   */
  async restart(): Promise<void> {
    const port = this.#port;
    await this.stop();
    this.#counters = newCounters();
    await this.start(port);
  }

  /** Holds back messages (not sent, sequence still advances) until {@linkcode resume}. */
  pause(): void {
    this.#paused = true;
  }

  /** Sends messages again. */
  resume(): void {
    this.#paused = false;
  }

  /** Drops the next `count` messages (sequence still advances). */
  drop(count: number): void {
    this.#drop += count;
  }

  /** Registers a listener called for every message (sent or not). */
  listen(listener: (message: PublishedMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Publishes one message; resolves when it has been handed to the socket.
   *
   * @param topic The topic.
   * @param body The body bytes.
   */
  publish(topic: ZMQTopic, body: Uint8Array): Promise<void> {
    const sequence = this.#counters[topic];
    this.#counters[topic] = (sequence + 1) >>> 0;
    let sent = !this.#paused && this.#socket !== undefined;
    if (sent && this.#drop > 0) {
      this.#drop--;
      sent = false;
    }
    for (const listener of this.#listeners) {
      listener({ topic, body, sequence, sent });
    }
    if (!sent) return this.#chain;
    const socket = this.#socket!;
    const seq = new Uint8Array(4);
    new DataView(seq.buffer).setUint32(0, sequence, true);
    // Fresh, exact-size copies: zeromq may keep the buffers until the send ends.
    const frames = [new TextEncoder().encode(topic), body.slice(), seq];
    this.#chain = this.#chain.then(() => socket.send(frames)).catch(() => {});
    return this.#chain;
  }
}
