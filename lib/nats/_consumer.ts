/**
 * The gateway side: the chain feed read back from the JetStream stream, in
 * stream order, live or from a cursor, resuming by itself across NATS
 * server restarts without losing or doubling an event.
 *
 * @module
 */

import {
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  jetstreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { ConnectionError } from "../errors.ts";
import type { Network } from "../network.ts";
import {
  type LinkInternals,
  linkInternals,
  type NatsLink,
  pauseUntilReconnect,
} from "./_connection.ts";
import { FeedCursorError, NatsFeedError } from "./_errors.ts";
import { errorText } from "./_publisher.ts";
import { checkStreamName, DEFAULT_STREAM } from "./_stream.ts";
import {
  parseEventSubject,
  subjectPrefix,
  subjectsForTopics,
} from "./_subjects.ts";
import { FEED_TOPICS, type FeedEvent, type FeedTopic } from "./_types.ts";
import { decodeJson, FeedPayloadSchema } from "./_wire.ts";

/** Options of {@linkcode NatsFeedSource.open}. */
export interface NatsFeedOptions {
  /** The chain's network: subjects are `evrmore.<network>.*`. */
  network: Network;
  /** Stream name (default `EVRMORE`). */
  stream?: string;
  /**
   * Start after this cursor (a stream sequence as a decimal string, as
   * found in `FeedEvent.cursor`); absent: live, from the next event stored.
   */
  since?: string;
  /**
   * Without `since`: start this many stored messages before the end
   * instead of live (a gateway warming its window of recent events).
   */
  tail?: number;
  /** Only these topics (default all four). */
  topics?: readonly FeedTopic[];
  /** Called with stored messages that do not parse (skipped) and with failures to (re)subscribe (retried). */
  onError?: (error: Error) => void;
  /** Ends the iteration, like {@linkcode NatsFeedSource.close}. */
  signal?: AbortSignal;
}

/** The largest cursor accepted. */
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * Parses a cursor: a stream sequence as a decimal string.
 *
 * @throws {RangeError} When it is not one.
 */
export function parseCursor(cursor: string): number {
  if (typeof cursor !== "string" || !/^(0|[1-9][0-9]{0,15})$/.test(cursor)) {
    throw new RangeError(
      `Cannot use cursor ${
        JSON.stringify(cursor)
      }: expected a stream sequence (decimal digits)`,
    );
  }
  const seq = Number(cursor);
  if (seq > MAX_SEQ) {
    throw new RangeError(`Cannot use cursor ${cursor}: too large`);
  }
  return seq;
}

/**
 * An async-iterable source of feed events read from JetStream, each with
 * `cursor` set to its stream sequence. Iterate it once.
 *
 * @example Follow blocks from a cursor
 * ```ts
 * import { connectNats, FeedCursorError, NatsFeedSource } from "./mod.ts";
 *
 * async function follow(since: string): Promise<void> {
 *   await using link = await connectNats("nats://127.0.0.1:4222");
 *   try {
 *     await using feed = await NatsFeedSource.open(link, {
 *       network: "regtest",
 *       since,
 *       topics: ["blocks"],
 *     });
 *     for await (const event of feed) console.log(event.cursor, event.message.type);
 *   } catch (error) {
 *     if (error instanceof FeedCursorError) console.log(error.code); // "cursor_too_old"
 *   }
 * }
 * ```
 */
export class NatsFeedSource implements AsyncIterable<FeedEvent> {
  #link: LinkInternals;
  #js: JetStreamClient;
  #stream: string;
  #network: Network;
  #filter: string | undefined;
  #topics: ReadonlySet<FeedTopic>;
  #next: number;
  #onError: (error: Error) => void;
  #abort = new AbortController();
  #messages: ConsumerMessages | undefined;
  #iterated = false;
  #closing: Promise<void> | undefined;
  #gen: AsyncGenerator<FeedEvent, void, undefined> | undefined;
  #signal: AbortSignal | undefined;
  #onSignal = () => void this.close();

  private constructor(
    link: NatsLink,
    stream: string,
    next: number,
    topics: readonly FeedTopic[],
    options: NatsFeedOptions,
  ) {
    this.#link = linkInternals(link);
    this.#js = jetstream(this.#link.nc);
    this.#stream = stream;
    this.#network = options.network;
    this.#next = next;
    this.#topics = new Set(topics);
    const subjects = subjectsForTopics(options.network, topics);
    // One subject filters on the server (works on nats-server 2.9); several
    // (e.g. block + reorg) need 2.10's filter_subjects, so filter here.
    this.#filter = subjects.length === 1 ? subjects[0] : undefined;
    this.#onError = options.onError ?? (() => {});
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onSignal, { once: true });
  }

  /**
   * Checks the cursor against the stream and returns the source (nothing
   * is read until it is iterated).
   *
   * @example
   * ```ts
   * import { connectNats, NatsFeedSource } from "./mod.ts";
   *
   * async function live(): Promise<void> {
   *   const link = await connectNats("nats://127.0.0.1:4222");
   *   const feed = await NatsFeedSource.open(link, { network: "main" });
   *   for await (const event of feed) {
   *     console.log(event.topic, event.id, event.cursor);
   *   }
   * }
   * ```
   *
   * @param link A connection from {@linkcode connectNats}.
   * @param options Network, stream, cursor, topics, error hook, signal.
   * @throws {RangeError} On a malformed cursor.
   * @throws {TypeError} On a bad network, stream name or topic.
   * @throws {FeedCursorError} `cursor_too_old` when events after the cursor
   *   were dropped by retention, `unknown_cursor` when it is past the end.
   * @throws {ConnectionError} When the stream cannot be read.
   */
  static async open(
    link: NatsLink,
    options: NatsFeedOptions,
  ): Promise<NatsFeedSource> {
    subjectPrefix(options.network);
    const stream = checkStreamName(options.stream ?? DEFAULT_STREAM);
    const topics = options.topics ?? FEED_TOPICS;
    if (!Array.isArray(topics) || topics.length === 0) {
      throw new TypeError("Cannot open feed: topics must be a non-empty array");
    }
    subjectsForTopics(options.network, topics);
    const since = options.since === undefined
      ? undefined
      : parseCursor(options.since);
    const { nc } = linkInternals(link);
    let first: number;
    let last: number;
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(stream);
      first = info.state.first_seq;
      last = info.state.last_seq;
    } catch (cause) {
      throw new ConnectionError(
        `Cannot open feed on stream ${stream}: ${errorText(cause)}`,
        { cause },
      );
    }
    let next = last + 1;
    const tail = options.tail;
    if (since === undefined && tail !== undefined) {
      if (!Number.isInteger(tail) || tail < 0) {
        throw new RangeError("Cannot open feed: tail must be an integer >= 0");
      }
      next = Math.max(first, last - tail + 1, 1);
    }
    if (since !== undefined) {
      const detail = {
        cursor: String(since),
        firstCursor: String(first),
        lastCursor: String(last),
      };
      if (since > last) {
        throw new FeedCursorError(
          `Cannot resume from cursor ${since}: the stream ends at ${last}`,
          { code: "unknown_cursor", ...detail },
        );
      }
      if (first > since + 1) {
        throw new FeedCursorError(
          `Cannot resume from cursor ${since}: events before ${first} have expired`,
          { code: "cursor_too_old", ...detail },
        );
      }
      next = since + 1;
    }
    return new NatsFeedSource(link, stream, next, topics, options);
  }

  /** Cursor of the last event delivered (or the start point, before any). */
  get cursor(): string {
    return String(this.#next - 1);
  }

  /**
   * The events, in stream order, each once.
   *
   * @throws {TypeError} When iterated a second time.
   */
  [Symbol.asyncIterator](): AsyncIterator<FeedEvent> {
    if (this.#iterated) {
      throw new TypeError("Cannot iterate feed: it is iterated already");
    }
    this.#iterated = true;
    this.#gen = this.#run();
    return this.#gen;
  }

  /** Ends the iteration. Does not close the link. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      this.#signal?.removeEventListener("abort", this.#onSignal);
      // close() stops the subscription and timers at once, but its promise
      // only settles once the iteration reaches the end: never await it.
      this.#messages?.close().catch(() => {});
      // Queued behind a pending next(), if any; runs the finally blocks.
      await this.#gen?.return(undefined).catch(() => {});
    })();
    return this.#closing;
  }

  /** Same as {@linkcode NatsFeedSource.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async *#run(): AsyncGenerator<FeedEvent, void, undefined> {
    const signal = this.#abort.signal;
    let backoffMs = 50;
    try {
      while (!signal.aborted) {
        let messages: ConsumerMessages;
        try {
          const consumer = await this.#js.consumers.get(this.#stream, {
            deliver_policy: DeliverPolicy.StartSequence,
            opt_start_seq: this.#next,
            ...(this.#filter === undefined
              ? {}
              : { filter_subjects: this.#filter }),
          });
          messages = await consumer.consume({ max_messages: 256 });
        } catch (cause) {
          if (signal.aborted || this.#link.nc.isClosed()) break;
          this.#report(
            new NatsFeedError(
              `Cannot read stream ${this.#stream}: ${
                errorText(cause)
              } (will retry)`,
              { code: "consume_failed", cause },
            ),
          );
          await this.#pause(backoffMs);
          backoffMs = Math.min(backoffMs * 2, 2_000);
          continue;
        }
        this.#messages = messages;
        if (signal.aborted) {
          messages.close().catch(() => {});
          break;
        }
        backoffMs = 50;
        const statusLoop = (async () => {
          for await (const _ of messages.status()) { /* drained */ }
        })().catch(() => {});
        try {
          for await (const msg of messages) {
            if (msg.seq < this.#next) continue; // already delivered
            this.#next = msg.seq + 1;
            const event = this.#toEvent(msg);
            if (event) yield event;
            if (signal.aborted) break;
          }
        } catch (cause) {
          if (!signal.aborted) {
            this.#report(
              new NatsFeedError(
                `Cannot read stream ${this.#stream}: ${
                  errorText(cause)
                } (will retry)`,
                { code: "consume_failed", cause },
              ),
            );
          }
        } finally {
          messages.close().catch(() => {}); // see close()
          void statusLoop; // status() does not end on close: never await it
          this.#messages = undefined;
        }
        if (this.#link.nc.isClosed()) break; // closed for good: the end
        if (!signal.aborted) await this.#pause(backoffMs);
      }
    } finally {
      this.#signal?.removeEventListener("abort", this.#onSignal);
    }
  }

  #toEvent(msg: JsMsg): FeedEvent | undefined {
    const info = parseEventSubject(this.#network, msg.subject);
    if (!info || !this.#topics.has(info.topic)) return undefined;
    const parsed = FeedPayloadSchema.safeParse(decodeJson(msg.data));
    if (!parsed.success) {
      this.#report(
        new NatsFeedError(
          `Cannot read event at cursor ${msg.seq} on ${msg.subject}: not a feed payload`,
          { code: "invalid_message", cause: parsed.error },
        ),
      );
      return undefined;
    }
    const id = msg.headers?.get("Nats-Msg-Id") || `seq:${msg.seq}`;
    const event: FeedEvent = {
      topic: info.topic,
      id,
      message: parsed.data.message,
      cursor: String(msg.seq),
    };
    const match = parsed.data.match;
    if (match !== undefined) {
      const out: { asset?: string; addresses?: readonly string[] } = {};
      if (match.asset !== undefined) out.asset = match.asset;
      if (match.addresses !== undefined) out.addresses = match.addresses;
      event.match = out;
    } else if (info.asset !== undefined) {
      event.match = { asset: info.asset };
    }
    return event;
  }

  #report(error: Error): void {
    try {
      this.#onError(error);
    } catch {
      // a throwing hook must not stop the feed
    }
  }

  async #pause(ms: number): Promise<void> {
    await pauseUntilReconnect(this.#link, ms, this.#abort.signal);
  }
}
