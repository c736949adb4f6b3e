/**
 * The events `EvrmoreWebSocketServer` pushes, on their way from the feed
 * (or a gateway's stream) to the hub: each gets its cursor, is logged for
 * `since`, is handed to `onEvent` with its de-duplication id, and is sent,
 * serialized once.
 *
 * Internal.
 *
 * @module
 */

import { eventId, type EventLog } from "./_event_log.ts";
import type { Hub } from "./_hub.ts";
import type {
  WebSocketBroadcastMatch,
  WebSocketFeedEvent,
} from "./_server_options.ts";
import { serialize } from "./_wire.ts";

/** Cursors, the log and `onEvent` between the feed and the hub. */
export class EventStream {
  #log: EventLog;
  #hub: Hub;
  #onEvent: ((event: WebSocketFeedEvent) => void) | undefined;
  #report: (error: unknown) => void;
  /** Asset event ids of the transaction being announced (repeats counted). */
  #assetIds = new Map<string, number>();
  #assetTx = "";

  constructor(
    parts: { log: EventLog; hub: Hub },
    onEvent: ((event: WebSocketFeedEvent) => void) | undefined,
    report: (error: unknown) => void,
  ) {
    this.#log = parts.log;
    this.#hub = parts.hub;
    this.#onEvent = onEvent;
    this.#report = report;
  }

  /** An event of the server's own feed: numbered here. */
  own(
    topic: WebSocketFeedEvent["topic"],
    message: object,
    match: WebSocketBroadcastMatch | undefined,
  ): void {
    const seq = this.#log.nextSeq();
    const cursor = this.#log.cursor(seq);
    const sent = { ...message, cursor } as unknown as WebSocketFeedEvent[
      "message"
    ];
    const onEvent = this.#onEvent;
    if (onEvent !== undefined) {
      const event: WebSocketFeedEvent = {
        topic,
        id: eventId(message, this.#assetRepeat(message)),
        message: sent,
        cursor,
      };
      if (match !== undefined) event.match = match;
      try {
        onEvent(event);
      } catch (cause) {
        this.#report(cause);
      }
    }
    this.#send(seq, topic, sent, match);
  }

  /**
   * An event numbered elsewhere (a stream's decimal sequence); those at or
   * below the last one are ignored.
   *
   * @throws {TypeError} Without a decimal cursor.
   */
  external(event: WebSocketFeedEvent): void {
    const cursor = event.cursor;
    if (typeof cursor !== "string" || !/^[0-9]{1,16}$/.test(cursor)) {
      throw new TypeError("Cannot publish: cursor must be a decimal string");
    }
    const seq = Number(cursor);
    if (seq < this.#log.nextSeq()) return;
    this.#send(seq, event.topic, { ...event.message, cursor }, event.match);
  }

  /** Logs an event with its cursor and sends it to the topic's subscribers. */
  #send(
    seq: number,
    topic: string,
    message: object,
    match: WebSocketBroadcastMatch | undefined,
  ): void {
    const text = serialize(message);
    this.#log.add({ seq, topic, text, match });
    this.#hub.broadcastText(topic, text, match);
  }

  /** How many identical asset events of the same transaction came before this one. */
  #assetRepeat(message: object): number {
    const m = message as { type?: unknown; data?: { txid?: unknown } };
    if (m.type !== "asset") return 0;
    const txid = String(m.data?.txid);
    if (txid !== this.#assetTx) {
      this.#assetTx = txid;
      this.#assetIds.clear();
    }
    const key = eventId(message);
    const seen = this.#assetIds.get(key) ?? 0;
    this.#assetIds.set(key, seen + 1);
    return seen;
  }
}
