/**
 * The recent events of every topic, each with a cursor, so that a client
 * can resume a subscription after the last event it saw: `since` on any
 * topic. Bounded by count and bytes; pure, no I/O.
 *
 * A cursor is the event's sequence number behind a prefix naming the log:
 * `<epoch>:<seq>` for a server's own log (a cursor from an earlier run of
 * the server is recognised as such), the bare JetStream stream sequence
 * for a gateway fed from NATS (the same on every gateway).
 *
 * Internal.
 *
 * @module
 */

import type { WebSocketBroadcastMatch } from "./_server_options.ts";
import type { WebSocketErrorCode, WebSocketFilter } from "./types.ts";

/** One logged event: its sequence number, topic and the text sent. */
export interface LoggedEvent {
  seq: number;
  topic: string;
  text: string;
  match: WebSocketBroadcastMatch | undefined;
}

/** Limits of an {@linkcode EventLog}. */
export interface EventLogLimits {
  /** Most events kept (default 10000). */
  maxEvents?: number;
  /** Most bytes of text kept, roughly (default 64 MiB). */
  maxBytes?: number;
}

/** What a `since` cursor resolves to: the events to replay, or an error. */
export type LogReplay =
  | { error: WebSocketErrorCode; message: string }
  | { texts: string[] };

const CURSOR = /^(?:([0-9a-z]{1,16}):)?([0-9]{1,16})$/;

/** Does an event match a filter? (`asset` exactly, `address` among those paid.) */
function matches(
  match: WebSocketBroadcastMatch | undefined,
  filter: WebSocketFilter,
): boolean {
  if (match === undefined) return false;
  if ("asset" in filter) return match.asset === filter.asset;
  return match.addresses?.includes(filter.address) ?? false;
}

/** Recent events with cursors. */
export class EventLog {
  #entries: (LoggedEvent | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  #maxEvents: number;
  #maxBytes: number;
  #epoch: string | undefined;
  /** The last sequence number logged (0 before any). */
  #last = 0;
  /** The highest sequence number dropped to stay within the limits. */
  #dropped = 0;

  /**
   * @param epoch The cursor prefix of a server's own log (e.g. its start
   *   time in base 36); `undefined` for sequence numbers given from outside
   *   (JetStream's), written bare.
   */
  constructor(epoch: string | undefined, limits: EventLogLimits = {}) {
    this.#epoch = epoch;
    this.#maxEvents = Math.max(1, limits.maxEvents ?? 10000);
    this.#maxBytes = Math.max(1, limits.maxBytes ?? 64 * 1024 * 1024);
  }

  /** Events kept now. */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** The sequence number the next event gets in a server's own log. */
  nextSeq(): number {
    return this.#last + 1;
  }

  /** The cursor of sequence number `seq`. */
  cursor(seq: number): string {
    return this.#epoch === undefined ? String(seq) : `${this.#epoch}:${seq}`;
  }

  /** Logs an event (sequence numbers must grow). */
  add(event: LoggedEvent): void {
    if (event.seq <= this.#last) return;
    this.#last = event.seq;
    this.#entries.push(event);
    this.#bytes += event.text.length;
    while (
      this.size > this.#maxEvents ||
      (this.#bytes > this.#maxBytes && this.size > 1)
    ) {
      const old = this.#entries[this.#head];
      this.#entries[this.#head++] = undefined;
      if (old !== undefined) {
        this.#bytes -= old.text.length;
        this.#dropped = old.seq;
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Whether a `since` value is a cursor of this log's form (else a block height or hash). */
  static isCursor(since: number | string): boolean {
    return typeof since === "string" && CURSOR.test(since);
  }

  /**
   * The events of `topic` after `cursor` (those matching `filter`, when
   * given), oldest first; or why the cursor cannot be resumed from.
   */
  replay(
    cursor: string,
    topic: string,
    filter?: WebSocketFilter,
  ): LogReplay {
    const found = CURSOR.exec(cursor);
    const where = `Cannot subscribe to ${topic}`;
    if (found === null) {
      return { error: "unknown_cursor", message: `${where}: bad cursor` };
    }
    const [, epoch, digits] = found;
    if (epoch !== this.#epoch) {
      return {
        error: "cursor_too_old",
        message: this.#epoch === undefined || epoch === undefined
          ? `${where}: cursor ${cursor} is not from this server's event stream`
          : `${where}: cursor ${cursor} is from an earlier run of the server`,
      };
    }
    const seq = Number(digits);
    if (seq > this.#last) {
      return {
        error: "unknown_cursor",
        message: `${where}: cursor ${cursor} is ahead of the last event`,
      };
    }
    if (seq < this.#dropped) {
      return {
        error: "cursor_too_old",
        message:
          `${where}: the events after cursor ${cursor} are no longer kept`,
      };
    }
    const texts: string[] = [];
    for (let i = this.#start(seq); i < this.#entries.length; i++) {
      const event = this.#entries[i];
      if (event === undefined || event.topic !== topic) continue;
      if (filter !== undefined && !matches(event.match, filter)) continue;
      texts.push(event.text);
    }
    return { texts };
  }

  /** The index of the first event after `seq` (binary search). */
  #start(seq: number): number {
    let low = this.#head;
    let high = this.#entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#entries[mid]!.seq <= seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/**
 * The id of an event, the same in every process that announces it: a
 * block's hash, a reorg's two tips, a transaction's id, an asset event's
 * transaction, asset, kind and amount, mempool figures. `repeat` counts
 * earlier identical asset events of the same transaction.
 */
export function eventId(message: object, repeat = 0): string {
  const m = message as { type?: unknown; data?: Record<string, unknown> };
  const d = m.data ?? {};
  const tip = (value: unknown) =>
    (value as { hash?: unknown } | undefined)?.hash;
  switch (m.type) {
    case "block":
      return `block:${d.hash}`;
    case "reorg":
      return `reorg:${tip(d.old_tip)}:${tip(d.new_tip)}`;
    case "transaction":
      return `tx:${d.txid}`;
    case "asset":
      return `asset:${d.txid}:${d.asset}:${d.type}:${d.amount}` +
        (repeat > 0 ? `:${repeat}` : "");
    case "mempool":
      return `mempool:${d.size}:${d.bytes}:${d.usage}`;
    default:
      return `${String(m.type)}:${fnv1a(JSON.stringify(message))}`;
  }
}

/** FNV-1a of a string's UTF-16 units, in hex: a short stable digest. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
