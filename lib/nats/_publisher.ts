/**
 * The ingest side: publishes each feed event once to the JetStream stream,
 * in order, with `Nats-Msg-Id` = event id so that a restarted or doubled
 * ingest never stores an event twice; buffers (bounded) while NATS is away.
 *
 * @module
 */

import { InvalidArgumentError } from "@nats-io/transport-node";
import {
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
} from "@nats-io/jetstream";
import { ConnectionError } from "../errors.ts";
import type { Network } from "../network.ts";
import {
  type LinkInternals,
  linkInternals,
  type NatsLink,
  pauseUntilReconnect,
} from "./_connection.ts";
import { NatsFeedError } from "./_errors.ts";
import {
  checkStreamName,
  DEFAULT_STREAM,
  ensureStream,
  type StreamRetentionOptions,
  wantedStreamConfig,
} from "./_stream.ts";
import { subjectForEvent, subjectPrefix } from "./_subjects.ts";
import type { FeedEvent } from "./_types.ts";
import { decodeJson, encodeJson, FeedPayloadSchema } from "./_wire.ts";

/** Options of {@linkcode NatsFeedPublisher.create}. */
export interface NatsPublisherOptions extends StreamRetentionOptions {
  /** The chain's network: subjects are `evrmore.<network>.*`. */
  network: Network;
  /** Stream name (default `EVRMORE`). */
  stream?: string;
  /** Events kept while NATS cannot store them (default 10,000); past it, new events are dropped and reported. */
  maxBuffered?: number;
  /** How long one publish waits for JetStream's ack, ms (default 5,000). */
  publishTimeoutMs?: number;
  /** Publishes awaiting their ack at once, in order (default 64; 1 = one at a time). */
  maxInFlight?: number;
  /**
   * Called with each failure: retried publishes (`publish_failed`), dropped
   * events (`buffer_full`, `closed`, `too_large` past the server's
   * max_payload, `rejected` by JetStream).
   */
  onError?: (error: Error) => void;
}

/** Counters of a publisher. */
export interface NatsPublisherStats {
  /** Events waiting to be stored. */
  buffered: number;
  /** Events stored by this publisher. */
  published: number;
  /** Events JetStream already had (same id within the duplicate window). */
  duplicates: number;
  /** Events dropped (buffer full or publisher closed). */
  dropped: number;
  /** Failed publish attempts (each retried). */
  failures: number;
  /** Stream sequence of the last acknowledged event, as a cursor. */
  lastCursor: string | undefined;
}

interface Pending {
  id: string;
  subject: string;
  payload: Uint8Array;
}

/**
 * Publishes feed events to a JetStream stream.
 *
 * @example
 * ```ts
 * import { connectNats, NatsFeedPublisher } from "./mod.ts";
 *
 * async function ingest(): Promise<void> {
 *   await using link = await connectNats("nats://127.0.0.1:4222");
 *   await using publisher = await NatsFeedPublisher.create(link, { network: "regtest" });
 *   publisher.publish({
 *     topic: "blocks",
 *     id: "block:00ab",
 *     message: { type: "block", data: { hash: "00ab", height: 1 } },
 *   });
 *   await publisher.flush();
 * }
 * ```
 */
export class NatsFeedPublisher {
  #link: LinkInternals;
  #js: JetStreamClient;
  #jsm: JetStreamManager;
  #network: Network;
  #wanted: ReturnType<typeof wantedStreamConfig>;
  #queue: Pending[] = [];
  #head = 0;
  #maxBuffered: number;
  #timeoutMs: number;
  #window: number;
  #onError: (error: Error) => void;
  #stats = {
    published: 0,
    duplicates: 0,
    dropped: 0,
    failures: 0,
    lastCursor: undefined as string | undefined,
  };
  #wakeDrain: (() => void) | undefined;
  #flushWaiters: Array<() => void> = [];
  #abort = new AbortController();
  #loop: Promise<void>;
  #closing: Promise<void> | undefined;

  private constructor(
    link: NatsLink,
    jsm: JetStreamManager,
    wanted: ReturnType<typeof wantedStreamConfig>,
    options: NatsPublisherOptions,
  ) {
    this.#link = linkInternals(link);
    this.#jsm = jsm;
    this.#js = jetstream(this.#link.nc);
    this.#network = options.network;
    this.#wanted = wanted;
    this.#maxBuffered = options.maxBuffered ?? 10_000;
    this.#timeoutMs = options.publishTimeoutMs ?? 5_000;
    this.#window = options.maxInFlight ?? 64;
    this.#onError = options.onError ?? (() => {});
    this.#loop = this.#drain();
  }

  /**
   * Ensures the stream (creates it, or adds our subjects and applies the
   * retention options), then returns a publisher.
   *
   * @example
   * ```ts
   * import { connectNats, NatsFeedPublisher } from "./mod.ts";
   *
   * async function start(): Promise<NatsFeedPublisher> {
   *   const link = await connectNats("nats://127.0.0.1:4222");
   *   return await NatsFeedPublisher.create(link, {
   *     network: "main",
   *     stream: "EVRMORE",
   *     maxAgeMs: 24 * 3600_000,
   *     maxBytes: 1 << 30,
   *   });
   * }
   * ```
   *
   * @param link A connection from {@linkcode connectNats}.
   * @param options Network, stream, retention, buffer, error hook.
   * @throws {TypeError} On a bad network or stream name.
   * @throws {RangeError} On bad retention or buffer numbers.
   * @throws {ConnectionError} When JetStream cannot be reached.
   */
  static async create(
    link: NatsLink,
    options: NatsPublisherOptions,
  ): Promise<NatsFeedPublisher> {
    const name = checkStreamName(options.stream ?? DEFAULT_STREAM);
    const wanted = wantedStreamConfig(name, options.network, options);
    positiveInt(options.maxBuffered, "maxBuffered");
    positiveInt(options.publishTimeoutMs, "publishTimeoutMs");
    positiveInt(options.maxInFlight, "maxInFlight");
    const { nc } = linkInternals(link);
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc);
      await ensureStream(jsm, wanted);
    } catch (cause) {
      throw new ConnectionError(
        `Cannot set up stream ${name}: ${errorText(cause)}`,
        { cause },
      );
    }
    return new NatsFeedPublisher(link, jsm, wanted, options);
  }

  /** The stream name. */
  get stream(): string {
    return this.#wanted.name;
  }

  /**
   * The `data` of the last `block` message stored in the stream (where a
   * restarted ingest resumes), or `undefined` when there is none.
   *
   * @example
   * ```ts
   * import type { NatsFeedPublisher } from "./mod.ts";
   *
   * async function resumeHeight(publisher: NatsFeedPublisher) {
   *   const block = await publisher.lastBlock();
   *   return block === undefined ? undefined : block.height;
   * }
   * ```
   *
   * @throws {ConnectionError} When JetStream cannot be asked.
   */
  async lastBlock(): Promise<
    { hash: string; height: number; [key: string]: unknown } | undefined
  > {
    let stored;
    try {
      stored = await this.#jsm.streams.getMessage(this.#wanted.name, {
        last_by_subj: `${subjectPrefix(this.#network)}.block`,
      });
    } catch (cause) {
      if (
        cause instanceof JetStreamApiError &&
        cause.code === JetStreamApiCodes.NoMessageFound
      ) return undefined;
      throw new ConnectionError(
        `Cannot read the last block of stream ${this.#wanted.name}: ${
          errorText(cause)
        }`,
        { cause },
      );
    }
    if (stored === null) return undefined;
    const parsed = FeedPayloadSchema.safeParse(decodeJson(stored.data));
    const data = parsed.success
      ? parsed.data.message.data as Record<string, unknown> | null
      : undefined;
    if (
      typeof data?.hash !== "string" || !Number.isSafeInteger(data.height)
    ) return undefined;
    return data as { hash: string; height: number };
  }

  /** Counters: buffered, published, duplicates, dropped, failures, last cursor. */
  get stats(): NatsPublisherStats {
    return { buffered: this.#queue.length - this.#head, ...this.#stats };
  }

  /**
   * Queues one event; it is stored in order, once. Returns `false` (and
   * reports a {@linkcode NatsFeedError} to `onError`) when the event is
   * dropped: buffer full, or publisher closed.
   *
   * @throws {TypeError} On an event that cannot be published (no id,
   *   unknown topic, an assets event without `match.asset`, not JSON).
   */
  publish(event: FeedEvent): boolean {
    if (typeof event?.id !== "string" || event.id.length === 0) {
      throw new TypeError("Cannot publish event: it has no id");
    }
    const subject = subjectForEvent(this.#network, event);
    let payload: Uint8Array;
    try {
      payload = encodeJson(
        event.match === undefined
          ? { message: event.message }
          : { message: event.message, match: event.match },
      );
    } catch (cause) {
      throw new TypeError(
        `Cannot publish event ${event.id}: not JSON (${errorText(cause)})`,
        { cause },
      );
    }
    if (this.#abort.signal.aborted || this.#link.nc.isClosed()) {
      this.#drop(event.id, "closed", "the publisher is closed");
      return false;
    }
    const maxPayload = this.#link.nc.info?.max_payload;
    if (maxPayload !== undefined && payload.length > maxPayload) {
      this.#drop(
        event.id,
        "too_large",
        `${payload.length} bytes, over the server's max_payload ${maxPayload}`,
      );
      return false;
    }
    if (this.#queue.length - this.#head >= this.#maxBuffered) {
      this.#drop(
        event.id,
        "buffer_full",
        `${this.#maxBuffered} events wait already`,
      );
      return false;
    }
    this.#queue.push({ id: event.id, subject, payload });
    this.#wakeDrain?.();
    return true;
  }

  /**
   * Resolves once every event queued so far is stored (or dropped by
   * {@linkcode NatsFeedPublisher.close}).
   *
   * @throws {DOMException} `AbortError` when `signal` aborts first.
   */
  flush(options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length === this.#head) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#flushWaiters = this.#flushWaiters.filter((w) => w !== done);
        reject(signal!.reason);
      };
      this.#flushWaiters.push(done);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Stops publishing; events still buffered are dropped (and reported).
   * Does not close the link. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      this.#wakeDrain?.();
      await this.#loop;
    })();
    return this.#closing;
  }

  /** Same as {@linkcode NatsFeedPublisher.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #drop(id: string, code: string, why: string): void {
    this.#stats.dropped++;
    this.#report(
      new NatsFeedError(`Cannot publish event ${id}: ${why}`, { code }),
    );
  }

  #report(error: Error): void {
    try {
      this.#onError(error);
    } catch {
      // a throwing hook must not stop publishing
    }
  }

  #notifyFlushed(): void {
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const w of waiters) w();
  }

  async #drain(): Promise<void> {
    const signal = this.#abort.signal;
    let backoffMs = 50;
    while (!signal.aborted) {
      const item = this.#queue[this.#head];
      if (!item) {
        if (this.#head > 0) {
          this.#queue = [];
          this.#head = 0;
        }
        this.#notifyFlushed();
        await new Promise<void>((resolve) => {
          this.#wakeDrain = resolve;
        });
        this.#wakeDrain = undefined;
        continue;
      }
      try {
        // A window of publishes in flight, written in order on one
        // connection: JetStream stores a prefix of it, in order. Whatever
        // follows the first failure is retried from there, in order (the
        // ones already stored come back as duplicates).
        const end = Math.min(this.#queue.length, this.#head + this.#window);
        const window = this.#queue.slice(this.#head, end);
        const results = await Promise.allSettled(
          window.map((p) =>
            this.#js.publish(p.subject, p.payload, {
              msgID: p.id,
              timeout: this.#timeoutMs,
            })
          ),
        );
        let failure: unknown;
        let failed = false;
        for (const result of results) {
          if (result.status === "rejected") {
            failure = result.reason;
            failed = true;
            break;
          }
          const ack = result.value;
          if (ack.duplicate) this.#stats.duplicates++;
          else this.#stats.published++;
          this.#stats.lastCursor = String(ack.seq);
          this.#queue[this.#head] = undefined as unknown as Pending;
          this.#head++;
        }
        if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        if (failed) throw failure;
        backoffMs = 50;
      } catch (cause) {
        if (signal.aborted) break;
        const failed = this.#queue[this.#head] ?? item;
        if (this.#link.nc.isClosed()) {
          // The link is closed for good: nothing can be stored any more.
          this.#abort.abort();
          this.#report(
            new NatsFeedError(
              `Cannot publish event ${failed.id}: the NATS connection is closed`,
              { code: "closed", cause },
            ),
          );
          break;
        }
        if (permanent(cause)) {
          // JetStream refused this event itself: retrying cannot help.
          this.#queue[this.#head] = undefined as unknown as Pending;
          this.#head++;
          this.#stats.dropped++;
          this.#report(
            new NatsFeedError(
              `Cannot publish event ${failed.id} to ${failed.subject}: ${
                errorText(cause)
              } (dropped)`,
              { code: "rejected", cause },
            ),
          );
          continue;
        }
        this.#stats.failures++;
        this.#report(
          new NatsFeedError(
            `Cannot publish event ${failed.id} to ${failed.subject}: ${
              errorText(cause)
            } (will retry)`,
            { code: "publish_failed", cause },
          ),
        );
        // No stream (a server that lost its store): create it again.
        if (/no responders|stream not found/i.test(errorText(cause))) {
          await ensureStream(this.#jsm, this.#wanted).catch(() => {});
        }
        await this.#pause(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 2_000);
      }
    }
    // Closed (by close() or with the link): what is left is dropped.
    for (let i = this.#head; i < this.#queue.length; i++) {
      this.#drop(this.#queue[i]!.id, "closed", "the publisher is closed");
    }
    this.#queue = [];
    this.#head = 0;
    this.#notifyFlushed();
  }

  /** Waits `ms`, or less: until a reconnect or close. */
  async #pause(ms: number): Promise<void> {
    await pauseUntilReconnect(this.#link, ms, this.#abort.signal);
  }
}

/** Whether JetStream refused the message itself (not a transport failure). */
function permanent(cause: unknown): boolean {
  if (cause instanceof JetStreamApiError) {
    return cause.code !== JetStreamApiCodes.StreamNotFound;
  }
  return cause instanceof InvalidArgumentError;
}

function positiveInt(value: number | undefined, name: string): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot use ${name} ${value}: expected an integer ≥ 1`,
    );
  }
}

/** The message of any thrown value. */
export function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
