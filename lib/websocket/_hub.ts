/**
 * The hub of `EvrmoreWebSocketServer`: who is subscribed to what (topics
 * and filters), and the fan-out that serializes each event once and sends
 * it to every subscriber without ever waiting for one.
 *
 * Internal.
 *
 * @module
 */

import type { WebSocketBroadcastMatch } from "./_server_options.ts";
import type { ServerCounters } from "./_server_metrics.ts";
import { closeQuietly, serialize, utf8Length } from "./_wire.ts";
import type { ErrorMessage, WebSocketFilter } from "./types.ts";

/** Filtered subscribers of a topic: asset name / address → sockets. */
interface FilterIndex {
  asset: Map<string, Set<WebSocket>>;
  address: Map<string, Set<WebSocket>>;
}

/** One filter of a client's. */
interface IndexedFilter {
  key: string;
  topic: string;
  kind: "asset" | "address";
  value: string;
}

function indexedFilter(topic: string, filter: WebSocketFilter): IndexedFilter {
  const kind = "asset" in filter ? "asset" : "address";
  const value = "asset" in filter ? filter.asset : filter.address;
  return { key: `${topic}\n${kind}\n${value}`, topic, kind, value };
}

/** The sockets one event goes to. */
interface Targets {
  topic: string;
  subscribers: Set<WebSocket> | undefined;
  filtered: Set<WebSocket> | undefined;
}

/** What the hub needs of its server. */
export interface HubHost {
  /** Drops a client the hub closed as too slow (its session and subscriptions). */
  drop(socket: WebSocket): void;
  /** The last unfiltered subscriber of a topic left. */
  emptied(topic: string): void;
  /** Reports an error that reaches no client. */
  report(error: unknown): void;
}

/** Limits of the {@linkcode Hub}. */
export interface HubLimits {
  /** Unsent bytes a client may have before it is closed as too slow (1013). */
  maxBufferedAmount: number;
  /** Filters a client may hold, all topics together. */
  maxFilters: number;
}

/** Subscriptions, filter indexes and fan-out. */
export class Hub {
  /** Unfiltered subscribers of each topic. */
  readonly subscriptions: Map<string, Set<WebSocket>>;
  #host: HubHost;
  #limits: HubLimits;
  #counters: ServerCounters;
  /** Filtered subscribers: topic → asset name / address → sockets. */
  #filterIndex = new Map<string, FilterIndex>();
  /** Each filtered client's filters, by key (see `indexedFilter`). */
  #clientFilters = new Map<WebSocket, Map<string, IndexedFilter>>();
  /** Bytes broadcast since the send buffers were last read (see `broadcast`). */
  #uncheckedBytes = 0;
  #lastText = "";
  #lastBytes = 0;

  constructor(
    topics: readonly string[],
    host: HubHost,
    limits: HubLimits,
    counters: ServerCounters,
  ) {
    this.subscriptions = new Map(
      topics.map((topic) => [topic, new Set<WebSocket>()]),
    );
    this.#host = host;
    this.#limits = limits;
    this.#counters = counters;
  }

  /** The most filters one client may hold. */
  get maxFilters(): number {
    return this.#limits.maxFilters;
  }

  /** Removes a client from every topic and filter. */
  remove(socket: WebSocket): void {
    for (const [topic, set] of this.subscriptions) {
      if (set.delete(socket) && set.size === 0) this.#host.emptied(topic);
    }
    this.removeFilters(socket);
  }

  /** Removes a client from one topic (and its filters on it). */
  unsubscribe(socket: WebSocket, topic: string): void {
    const set = this.subscriptions.get(topic);
    this.removeFilters(socket, topic);
    if (set?.delete(socket) && set.size === 0) this.#host.emptied(topic);
  }

  /** Forgets every subscription. */
  clear(): void {
    for (const set of this.subscriptions.values()) set.clear();
    this.#filterIndex.clear();
    this.#clientFilters.clear();
  }

  /**
   * Adds a filter of a client's.
   *
   * @returns `false` when the client holds `maxFilters` already.
   */
  addFilter(
    socket: WebSocket,
    topic: string,
    filter: WebSocketFilter,
  ): boolean {
    const indexed = indexedFilter(topic, filter);
    let mine = this.#clientFilters.get(socket);
    if (mine?.has(indexed.key)) return true;
    if ((mine?.size ?? 0) >= this.#limits.maxFilters) return false;
    if (mine === undefined) {
      mine = new Map();
      this.#clientFilters.set(socket, mine);
    }
    mine.set(indexed.key, indexed);
    let index = this.#filterIndex.get(topic);
    if (index === undefined) {
      index = { asset: new Map(), address: new Map() };
      this.#filterIndex.set(topic, index);
    }
    const byValue = index[indexed.kind];
    let sockets = byValue.get(indexed.value);
    if (sockets === undefined) {
      sockets = new Set();
      byValue.set(indexed.value, sockets);
    }
    sockets.add(socket);
    return true;
  }

  /** Removes a client's filters: one, those of a topic, or all of them. */
  removeFilters(
    socket: WebSocket,
    topic?: string,
    filter?: WebSocketFilter,
  ): void {
    const mine = this.#clientFilters.get(socket);
    if (mine === undefined) return;
    const drop = (indexed: IndexedFilter) => {
      mine.delete(indexed.key);
      const byValue = this.#filterIndex.get(indexed.topic)?.[indexed.kind];
      const sockets = byValue?.get(indexed.value);
      if (sockets === undefined) return;
      sockets.delete(socket);
      if (sockets.size === 0) byValue?.delete(indexed.value);
    };
    if (topic !== undefined && filter !== undefined) {
      const one = mine.get(indexedFilter(topic, filter).key);
      if (one !== undefined) drop(one);
    } else {
      for (const indexed of [...mine.values()]) {
        if (topic === undefined || indexed.topic === topic) drop(indexed);
      }
    }
    if (mine.size === 0) this.#clientFilters.delete(socket);
  }

  /** Whether some client filters a topic by address. */
  hasAddressFilters(topic: string): boolean {
    return (this.#filterIndex.get(topic)?.address.size ?? 0) > 0;
  }

  /** Whether some client filters a topic at all. */
  hasFilters(topic: string): boolean {
    const index = this.#filterIndex.get(topic);
    return index !== undefined &&
      (index.asset.size > 0 || index.address.size > 0);
  }

  /**
   * Sends a message (or preserialized text) to one socket without waiting:
   * a socket whose unsent data exceeds `maxBufferedAmount` is closed (1013).
   *
   * @returns Whether the message was queued for sending.
   */
  send(socket: WebSocket, message: object | string): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (socket.bufferedAmount > this.#limits.maxBufferedAmount) {
      this.closeSlow(socket);
      return false;
    }
    try {
      const text = typeof message === "string" ? message : serialize(message);
      socket.send(text);
      this.#countSent(text, message);
      return true;
    } catch (cause) {
      this.#host.report(cause);
      return false;
    }
  }

  /** Closes a client whose send buffer overflowed (1013). */
  closeSlow(socket: WebSocket): void {
    this.#counters.slowClientsClosed++;
    this.#host.drop(socket);
    closeQuietly(socket, 1013, "Too slow: send buffer full");
  }

  /**
   * Sends a message to every subscriber of a topic, serialized once (see
   * `EvrmoreWebSocketServer.broadcast`).
   */
  broadcast(
    topic: string,
    message: object,
    match?: WebSocketBroadcastMatch,
  ): void {
    const targets = this.#targets(topic, match);
    if (targets !== undefined) this.#fanOutText(serialize(message), targets);
  }

  /** Like `broadcast`, with the message serialized already. */
  broadcastText(
    topic: string,
    text: string,
    match?: WebSocketBroadcastMatch,
  ): void {
    const targets = this.#targets(topic, match);
    if (targets !== undefined) this.#fanOutText(text, targets);
  }

  /** Who gets an event of `topic`: its subscribers, and the filtered ones `match` matches. */
  #targets(
    topic: string,
    match: WebSocketBroadcastMatch | undefined,
  ): Targets | undefined {
    const subscribers = this.subscriptions.get(topic);
    const filtered = match === undefined
      ? undefined
      : this.#matching(topic, match, subscribers);
    if (
      (subscribers === undefined || subscribers.size === 0) &&
      filtered === undefined
    ) {
      return undefined;
    }
    return { topic, subscribers, filtered };
  }

  #fanOutText(text: string, targets: Targets): void {
    const { topic, subscribers, filtered } = targets;
    const counters = this.#counters;
    counters.broadcastsTotal++;
    counters.count(counters.broadcasts, topic);
    // The set itself, not a copy: deleting the entry being visited (a
    // closed or slow client) is safe while iterating a Set.
    //
    // Reading a send buffer (`bufferedAmount`) is a call into Deno per
    // client, as costly as a tenth of the send. A buffer grows only by what
    // is sent, so the buffers are read when the bytes broadcast since the
    // last reading pass a sixteenth of `maxBufferedAmount`: a slow client is
    // closed at most that much (plus one message) past the limit, and
    // messages that large are checked every time.
    const bytes = utf8Length(text);
    const limit = this.#limits.maxBufferedAmount;
    this.#uncheckedBytes += bytes;
    const check = this.#uncheckedBytes > limit / 16;
    if (check) this.#uncheckedBytes = 0;
    let sent = subscribers === undefined
      ? 0
      : this.#fanOut(subscribers, text, check, limit, false);
    if (filtered !== undefined) {
      sent += this.#fanOut(filtered, text, check, limit, true);
    }
    if (sent > 0) {
      counters.sent += sent;
      counters.bytesSent += bytes * sent;
    }
  }

  /**
   * Sends a broadcast's text to a set of sockets (dropping the closed ones
   * from it, and from the filters when `filtered`); returns how many were
   * sent.
   */
  #fanOut(
    subscribers: Set<WebSocket>,
    text: string,
    check: boolean,
    limit: number,
    filtered: boolean,
  ): number {
    let sent = 0;
    for (const socket of subscribers) {
      const state = socket.readyState;
      if (state !== WebSocket.OPEN) {
        if (state !== WebSocket.CONNECTING) {
          subscribers.delete(socket);
          if (filtered) this.removeFilters(socket);
        }
        continue;
      }
      if (check && socket.bufferedAmount > limit) {
        this.closeSlow(socket);
        continue;
      }
      try {
        socket.send(text);
        sent++;
      } catch (cause) {
        this.#host.report(cause);
      }
    }
    return sent;
  }

  /**
   * The filtered subscribers an event matches, less the unfiltered ones
   * (they receive it anyway), or `undefined` for none.
   */
  #matching(
    topic: string,
    match: WebSocketBroadcastMatch,
    unfiltered: Set<WebSocket> | undefined,
  ): Set<WebSocket> | undefined {
    const index = this.#filterIndex.get(topic);
    if (index === undefined) return undefined;
    let out: Set<WebSocket> | undefined;
    const add = (sockets: Set<WebSocket> | undefined) => {
      if (sockets === undefined) return;
      for (const socket of sockets) {
        if (unfiltered?.has(socket)) continue;
        (out ??= new Set()).add(socket);
      }
    };
    if (match.asset !== undefined && index.asset.size > 0) {
      add(index.asset.get(match.asset));
    }
    if (match.addresses !== undefined && index.address.size > 0) {
      for (const address of match.addresses) {
        add(index.address.get(address));
      }
    }
    return out;
  }

  /** Counts a message sent: messages, bytes (UTF-8), and errors by code. */
  #countSent(text: string, message: object | string): void {
    const counters = this.#counters;
    counters.sent++;
    if (text !== this.#lastText) {
      this.#lastText = text;
      this.#lastBytes = utf8Length(text);
    }
    counters.bytesSent += this.#lastBytes;
    if (
      typeof message === "object" && (message as ErrorMessage).type === "error"
    ) {
      counters.count(counters.errors, (message as ErrorMessage).code);
    }
  }
}
