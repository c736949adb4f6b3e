/**
 * The in-process transport (`isolation: "none"`): an {@linkcode FfiSubscriber}
 * in this process. No polling either (each receive blocks on a Deno blocking
 * thread), but native code runs in this process: a crash there ends it.
 *
 * @module
 */

import { ConnectionError, EvrmoreError } from "../errors.ts";
import { errorMessage } from "./_message.ts";
import { type LibZmq, openLibZmq } from "./_libzmq.ts";
import { FfiSubscriber, FfiSubscriberError } from "./_ffi_subscriber.ts";
import type { Transport, TransportSink } from "./_transport.ts";

let library: LibZmq | undefined;

/** A transport whose socket lives in this process. */
export class InProcessTransport implements Transport {
  #address: string;
  #topics: readonly string[];
  #sink: TransportSink;
  #subscriber: FfiSubscriber | undefined;
  #running: Promise<void> | undefined;
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
    try {
      library ??= await openLibZmq();
    } catch (cause) {
      throw new EvrmoreError(
        `Cannot start ZMQ client: cannot load zeromq's libzmq (it needs --allow-ffi and --allow-read): ${
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
    try {
      this.#subscriber = FfiSubscriber.open(
        library,
        this.#address,
        this.#topics,
        {
          messages: (batch) => {
            for (const frames of batch) {
              if (this.#closed) return;
              this.#sink.frames(frames);
            }
          },
          connected: (address) => {
            if (!this.#closed) this.#sink.connected(address);
          },
          disconnected: (address) => {
            if (!this.#closed) this.#sink.disconnected(address);
          },
        },
      );
    } catch (cause) {
      throw cause instanceof FfiSubscriberError && cause.code === "connect"
        ? new ConnectionError(
          `Cannot connect to ${this.#address}: ${cause.message}`,
          { cause },
        )
        : new EvrmoreError(
          `Cannot start ZMQ client: ${errorMessage(cause)}`,
          { cause },
        );
    }
    this.#running = this.#subscriber.run().catch((cause) => {
      if (this.#closed) return;
      this.#sink.error(
        new ConnectionError(
          `Cannot receive from ${this.#address}: ${errorMessage(cause)}`,
          { cause },
        ),
      );
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#subscriber?.close();
    await this.#running;
  }
}
