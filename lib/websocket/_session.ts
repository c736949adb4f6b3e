/**
 * Client sessions of `EvrmoreWebSocketServer`: one client's protocol from
 * its first message to its last (size and rate limits, parsing,
 * subscriptions, acks and ids, `since` replays, commands), and the registry
 * of the clients connected.
 *
 * Internal.
 *
 * @module
 */

import { AuthError, ConnectionError, TimeoutError } from "../errors.ts";
import type { ChainFeed } from "./_feed.ts";
import type { Hub } from "./_hub.ts";
import { EventLog } from "./_event_log.ts";
import {
  ALL_TOPIC,
  errorMessage,
  parseClientMessage,
  pongMessage,
  subscriptionMessage,
  TOPICS,
  welcomeMessage,
} from "./_protocol.ts";
import { messageId, RateLimiter } from "./_security.ts";
import type { ServerConfig } from "./_server_config.ts";
import type { ServerCounters } from "./_server_metrics.ts";
import type { WebSocketServerRpc } from "./_server_options.ts";
import { closeQuietly } from "./_wire.ts";
import { CommandRunner } from "./_command_runner.ts";
import type {
  BlockMessage,
  WebSocketErrorCode,
  WebSocketFilter,
  WebSocketMessageId,
} from "./types.ts";

/** A send buffer over this many bytes must empty within `drainTimeout`. */
const DRAIN_FLOOR = 64 * 1024;
/** How often send buffers are read for the drain deadline and the budget. */
const SWEEP_MS = 1000;

/** One connected client. */
interface ClientState {
  /** Since when its send buffer has stayed over `DRAIN_FLOOR` (ms), or -1. */
  fullSince: number;
  /** Its message allowance, when messages are rate limited. */
  limiter?: RateLimiter;
  /** Its IP address, when connections per IP are capped. */
  ip?: string;
}

/** What the sessions need of their server. */
export interface SessionHost {
  /** Handles one text message (the server's overridable `handleClientMessage`). */
  handleClientMessage(socket: WebSocket, message: string): Promise<boolean>;
  /** Runs a task the server waits for when it stops. */
  track(task: Promise<unknown>): void;
  /** Reports an error that reaches no client. */
  report(error: unknown): void;
}

/** The clients connected, and the protocol each speaks. */
export class Sessions {
  #hub: Hub;
  #feed: ChainFeed;
  #log: EventLog;
  #host: SessionHost;
  #config: ServerConfig;
  #counters: ServerCounters;
  #clients = new Map<WebSocket, ClientState>();
  #perIp = new Map<string, number>();
  #commands: CommandRunner;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  /** Unsent bytes of all clients at the last sweep, plus the replies sent since. */
  #unsent = 0;

  constructor(
    parts: {
      rpc: WebSocketServerRpc;
      hub: Hub;
      feed: ChainFeed;
      log: EventLog;
    },
    host: SessionHost,
    config: ServerConfig,
    counters: ServerCounters,
  ) {
    this.#hub = parts.hub;
    this.#feed = parts.feed;
    this.#log = parts.log;
    this.#host = host;
    this.#config = config;
    this.#counters = counters;
    this.#commands = new CommandRunner(
      { rpc: parts.rpc, hub: parts.hub, signal: () => parts.feed.signal },
      {
        report: (error) => host.report(error),
        reserve: (bytes) => {
          if (this.#unsent + bytes > config.maxUnsentBytes) return false;
          this.#unsent += bytes;
          return true;
        },
      },
      config,
      counters,
    );
  }

  /** Starts reading send buffers (drain deadline, unsent budget) every second. */
  start(): void {
    this.#sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
  }

  /** Stops the sweeps. */
  stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /**
   * Reads every client's send buffer: closes (1013) one whose buffer stayed
   * over 64 KiB for `drainTimeout`, then, while all buffers together pass
   * `maxUnsentBytes`, the ones with the largest.
   */
  sweep(now: number = Date.now()): void {
    const config = this.#config;
    let total = 0;
    const full: Array<[WebSocket, number]> = [];
    for (const [socket, state] of this.#clients) {
      const buffered = socket.bufferedAmount;
      if (buffered <= DRAIN_FLOOR) {
        state.fullSince = -1;
      } else if (state.fullSince < 0) {
        state.fullSince = now;
      } else if (now - state.fullSince >= config.drainTimeout) {
        this.#counters.count(this.#counters.closed, "drain_timeout");
        this.#drop(socket, "Too slow: send buffer did not drain");
        continue;
      }
      total += buffered;
      if (buffered > 0) full.push([socket, buffered]);
    }
    if (total > config.maxUnsentBytes) {
      full.sort((a, b) => b[1] - a[1]);
      for (const [socket, buffered] of full) {
        if (total <= config.maxUnsentBytes) break;
        this.#counters.count(this.#counters.closed, "unsent_budget");
        this.#drop(socket, "Too slow: server send budget exceeded");
        total -= buffered;
      }
    }
    this.#unsent = total;
  }

  /** Closes a client (1013) and forgets it at once. */
  #drop(socket: WebSocket, reason: string): void {
    this.#counters.slowClientsClosed++;
    this.remove(socket);
    closeQuietly(socket, 1013, reason);
  }

  /** Clients connected now. */
  get size(): number {
    return this.#clients.size;
  }

  /** The sockets of the clients connected now. */
  sockets(): IterableIterator<WebSocket> {
    return this.#clients.keys();
  }

  /** Whether a socket is a connected client's. */
  has(socket: WebSocket): boolean {
    return this.#clients.has(socket);
  }

  /** Connections open from one IP address. */
  openFrom(ip: string): number {
    return this.#perIp.get(ip) ?? 0;
  }

  /** Forgets every client (after they were closed). */
  clear(): void {
    this.#clients.clear();
    this.#perIp.clear();
  }

  /** Registers an upgraded socket and listens to its messages. */
  add(socket: WebSocket, ip?: string): void {
    const config = this.#config;
    const state: ClientState = { fullSince: -1 };
    if (config.messageRate > 0) {
      state.limiter = new RateLimiter(
        config.messageRate,
        config.messageBurst,
        Date.now(),
      );
    }
    if (ip !== undefined) {
      state.ip = ip;
      this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    }
    this.#clients.set(socket, state);
    socket.addEventListener("message", (event) => {
      const data: unknown = event.data;
      this.#counters.received++;
      if (
        state.limiter !== undefined &&
        !this.#allowMessage(socket, state.limiter, data)
      ) return;
      if (typeof data !== "string") {
        const size = data instanceof Blob
          ? data.size
          : (data as ArrayBuffer).byteLength;
        if (size > config.maxMessageSize) {
          this.#tooLarge(socket);
          return;
        }
        this.#hub.send(
          socket,
          errorMessage(
            "invalid_message",
            "Cannot handle message: binary messages are not supported",
          ),
        );
        return;
      }
      if (data.length > config.maxMessageSize) {
        this.#tooLarge(socket);
        return;
      }
      this.#host.track(this.#host.handleClientMessage(socket, data));
    });
    // Announce the server and its extensions first (see docs/protocol.md).
    socket.addEventListener(
      "open",
      () => this.#hub.send(socket, welcomeMessage()),
      { once: true },
    );
    const remove = () => this.remove(socket);
    socket.addEventListener("close", remove);
    socket.addEventListener("error", remove);
  }

  /** Answers `message_too_large` and closes the connection (1009). */
  #tooLarge(socket: WebSocket): void {
    this.#hub.send(
      socket,
      errorMessage(
        "message_too_large",
        `Cannot handle message: longer than ${this.#config.maxMessageSize} bytes`,
      ),
    );
    closeQuietly(socket, 1009, "Message too large");
  }

  /** Forgets a client: its session, its subscriptions and its commands. */
  remove(socket: WebSocket): void {
    const state = this.#clients.get(socket);
    this.#clients.delete(socket);
    this.#commands.leave(socket);
    if (state?.ip !== undefined) {
      const open = (this.#perIp.get(state.ip) ?? 1) - 1;
      if (open > 0) this.#perIp.set(state.ip, open);
      else this.#perIp.delete(state.ip);
    }
    this.#hub.remove(socket);
  }

  /** Takes one message from a client's allowance; answers or closes when over. */
  #allowMessage(
    socket: WebSocket,
    limiter: RateLimiter,
    data: unknown,
  ): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    const verdict = limiter.take(Date.now());
    if (verdict === "ok") return true;
    if (verdict === "abusive") {
      this.#counters.rateLimitClosed++;
      closeQuietly(socket, 1008, "Rate limit exceeded");
      return false;
    }
    this.#counters.rateLimited++;
    const id = typeof data === "string" && data.length <= 4096
      ? messageId(data)
      : undefined;
    this.#hub.send(
      socket,
      errorMessage(
        "rate_limited",
        `Cannot handle message: more than ${this.#config.messageRate} messages per second`,
        { id },
      ),
    );
    return false;
  }

  /** Whether a socket may still be subscribed (connected, or not yet registered but open). */
  #live(socket: WebSocket): boolean {
    return this.#clients.has(socket) || socket.readyState === WebSocket.OPEN;
  }

  /** The default `handleClientMessage`: subscribe, unsubscribe, ping, command. */
  async handle(socket: WebSocket, message: string): Promise<boolean> {
    const hub = this.#hub;
    const parsed = parseClientMessage(message);
    switch (parsed.kind) {
      case "error":
        hub.send(socket, parsed.error);
        return true;
      case "ping":
        hub.send(socket, pongMessage(parsed.id));
        return true;
      case "subscribe":
      case "unsubscribe": {
        if (parsed.topic === ALL_TOPIC) {
          // Every standard topic (each event still comes once); one answer.
          for (const topic of TOPICS) {
            if (parsed.kind === "unsubscribe") hub.unsubscribe(socket, topic);
            else if (this.#live(socket)) {
              hub.subscriptions.get(topic)?.add(socket);
            }
          }
          hub.send(
            socket,
            subscriptionMessage(parsed.kind, ALL_TOPIC, { id: parsed.id }),
          );
          return true;
        }
        const set = hub.subscriptions.get(parsed.topic);
        if (set === undefined) {
          // A subclass emptied the map: treat as unknown topic.
          hub.send(
            socket,
            errorMessage(
              "unknown_topic",
              `Cannot ${parsed.kind}: unknown topic`,
              { id: parsed.id },
            ),
          );
          return true;
        }
        if (
          parsed.kind === "subscribe" && parsed.since !== undefined &&
          EventLog.isCursor(parsed.since)
        ) {
          this.#subscribeFromCursor(
            socket,
            parsed.topic,
            String(parsed.since),
            parsed.filter,
            parsed.id,
          );
          return true;
        }
        if (parsed.filter !== undefined) {
          if (parsed.kind === "unsubscribe") {
            hub.removeFilters(socket, parsed.topic, parsed.filter);
          } else if (
            this.#live(socket) &&
            !hub.addFilter(socket, parsed.topic, parsed.filter)
          ) {
            hub.send(
              socket,
              errorMessage(
                "too_many_filters",
                `Cannot subscribe: at most ${hub.maxFilters} filters per client`,
                { id: parsed.id },
              ),
            );
            return true;
          }
          hub.send(
            socket,
            subscriptionMessage(parsed.kind, parsed.topic, {
              id: parsed.id,
              filter: parsed.filter,
            }),
          );
          return true;
        }
        if (parsed.kind === "subscribe" && parsed.since !== undefined) {
          // Until the replay: the blocks announced meanwhile are in it.
          set.delete(socket);
          await this.#subscribeSince(socket, set, parsed.since, parsed.id);
          return true;
        }
        if (parsed.kind === "subscribe") {
          if (this.#live(socket)) set.add(socket);
        } else {
          hub.unsubscribe(socket, parsed.topic);
        }
        hub.send(
          socket,
          subscriptionMessage(parsed.kind, parsed.topic, { id: parsed.id }),
        );
        return true;
      }
      case "command":
        await this.#commands.run(
          socket,
          parsed.command,
          parsed.params,
          parsed.id,
        );
        return true;
    }
  }

  /**
   * Subscribes a client from an event's cursor: answers success, sends the
   * logged events of the topic after it, and adds the client, all in one
   * step, so nothing is missed or sent twice.
   */
  #subscribeFromCursor(
    socket: WebSocket,
    topic: string,
    cursor: string,
    filter: WebSocketFilter | undefined,
    id: WebSocketMessageId | undefined,
  ): void {
    const hub = this.#hub;
    if (!this.#live(socket)) return;
    const replay = this.#log.replay(cursor, topic, filter);
    if ("error" in replay) {
      hub.send(socket, errorMessage(replay.error, replay.message, { id }));
      return;
    }
    if (filter !== undefined && !hub.addFilter(socket, topic, filter)) {
      hub.send(
        socket,
        errorMessage(
          "too_many_filters",
          `Cannot subscribe: at most ${hub.maxFilters} filters per client`,
          { id },
        ),
      );
      return;
    }
    hub.send(socket, subscriptionMessage("subscribe", topic, { id, filter }));
    for (const text of replay.texts) hub.send(socket, text);
    if (filter === undefined) hub.subscriptions.get(topic)?.add(socket);
  }

  /**
   * Subscribes a client to `blocks` from a cursor: in the block queue (so
   * no block goes out between the replay and the live stream), answers
   * success, replays the blocks after the cursor, then adds the client.
   */
  async #subscribeSince(
    socket: WebSocket,
    set: Set<WebSocket>,
    since: number | string,
    id: WebSocketMessageId | undefined,
  ): Promise<void> {
    const hub = this.#hub;
    const feed = this.#feed;
    await feed.enqueue(async () => {
      let plan;
      try {
        plan = await feed.replay(since);
      } catch (cause) {
        if (feed.signal.aborted) return;
        let code: WebSocketErrorCode = "internal_error";
        if (cause instanceof TimeoutError) code = "timeout";
        else if (
          cause instanceof AuthError || cause instanceof ConnectionError
        ) code = "node_unavailable";
        else this.#host.report(cause);
        hub.send(
          socket,
          errorMessage(
            code,
            code === "internal_error"
              ? "Cannot subscribe to blocks: cannot replay the blocks"
              : "Cannot subscribe to blocks: node unavailable",
            { id },
          ),
        );
        return;
      }
      if ("error" in plan) {
        hub.send(socket, errorMessage(plan.error, plan.message, { id }));
        return;
      }
      if (socket.readyState !== WebSocket.OPEN) return;
      hub.send(socket, subscriptionMessage("subscribe", "blocks", { id }));
      if (plan.reorg !== undefined) hub.send(socket, plan.reorg);
      for (const data of plan.blocks) {
        const message: BlockMessage = { type: "block", data };
        hub.send(socket, message);
      }
      set.add(socket);
    });
  }
}
