/**
 * One NATS connection, wrapped so that no npm type leaks into our API.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ConnectionError } from "../errors.ts";

/** A change of the connection's state. */
export interface NatsStatusEvent {
  /** `disconnect`, `reconnecting`, `reconnect`, `error`, `close`, ... */
  type: string;
  /** The server concerned, when known. */
  server?: string;
}

/** Options of {@linkcode connectNats}. */
export interface NatsConnectOptions {
  /** Connection name shown by the server (monitoring). */
  name?: string;
  /** Reconnect attempts before giving up; `-1` (default) never gives up. */
  maxReconnectAttempts?: number;
  /** Wait between reconnect attempts to one server, ms (default 250). */
  reconnectWaitMs?: number;
  /** Connect timeout, ms (default 5,000). */
  timeoutMs?: number;
  /** User and password, or a token, when the server requires them. */
  user?: string;
  /** Password of `user`. */
  pass?: string;
  /** Auth token. */
  token?: string;
  /** Called on every change of the connection's state. */
  onStatus?: (event: NatsStatusEvent) => void;
}

/** What the other modules of lib/nats reach through a {@linkcode NatsLink}. */
export interface LinkInternals {
  nc: NatsConnection;
  /** Resolves on the next reconnect, on close, or on abort. */
  nextReconnect(signal?: AbortSignal): Promise<void>;
}

const internals = new WeakMap<NatsLink, LinkInternals>();

/** The connection behind a link (internal to lib/nats). */
export function linkInternals(link: NatsLink): LinkInternals {
  const found = internals.get(link);
  if (!found) throw new TypeError("Cannot use link: not a NatsLink");
  return found;
}

/**
 * A connection to a NATS server (or cluster), reconnecting by itself.
 * Shared by publishers, feeds and command servers; create it with
 * {@linkcode connectNats}.
 *
 * @example
 * ```ts
 * import { connectNats } from "./mod.ts";
 *
 * async function run(): Promise<void> {
 *   await using link = await connectNats("nats://127.0.0.1:4222");
 *   console.log(link.server, link.closed);
 * }
 * ```
 */
export class NatsLink {
  #nc: NatsConnection;
  #waiters = new Set<() => void>();
  #statusLoop: Promise<void>;
  #closing: Promise<void> | undefined;
  #closed = false;

  private constructor(
    nc: NatsConnection,
    onStatus?: (event: NatsStatusEvent) => void,
  ) {
    this.#nc = nc;
    internals.set(this, {
      nc,
      nextReconnect: (signal) => this.#nextReconnect(signal),
    });
    this.#statusLoop = (async () => {
      for await (const status of nc.status()) {
        if (status.type === "reconnect") this.#wake();
        try {
          const event: NatsStatusEvent = { type: status.type };
          const server = (status as { server?: unknown }).server;
          if (typeof server === "string") event.server = server;
          onStatus?.(event);
        } catch {
          // a throwing hook must not stop the loop
        }
      }
    })();
    nc.closed().then(() => {
      this.#closed = true;
      this.#wake();
    });
  }

  /**
   * Connects to NATS; same as {@linkcode connectNats}.
   *
   * @example
   * ```ts
   * import { NatsLink } from "./mod.ts";
   *
   * async function run(): Promise<void> {
   *   await using link = await NatsLink.connect("nats://127.0.0.1:4222");
   *   console.log(link.server);
   * }
   * ```
   *
   * @param servers One URL or several (`nats://host:port`).
   * @param options Name, reconnect policy, credentials, status hook.
   * @throws {ConnectionError} When no server can be reached.
   */
  static async connect(
    servers: string | readonly string[],
    options: NatsConnectOptions = {},
  ): Promise<NatsLink> {
    const list = typeof servers === "string" ? [servers] : [...servers];
    if (list.length === 0 || list.some((s) => typeof s !== "string" || !s)) {
      throw new TypeError("Cannot connect to NATS: no server URL");
    }
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: list,
        maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
        reconnectTimeWait: options.reconnectWaitMs ?? 250,
        timeout: options.timeoutMs ?? 5_000,
        ...(options.name === undefined ? {} : { name: options.name }),
        ...(options.user === undefined ? {} : { user: options.user }),
        ...(options.pass === undefined ? {} : { pass: options.pass }),
        ...(options.token === undefined ? {} : { token: options.token }),
      });
    } catch (cause) {
      throw new ConnectionError(
        `Cannot connect to NATS at ${list.join(", ")}: ${
          cause instanceof Error ? cause.message : String(cause)
        }`,
        { cause },
      );
    }
    return new NatsLink(nc, options.onStatus);
  }

  /** The server currently connected to (`host:port`). */
  get server(): string {
    return this.#nc.getServer();
  }

  /** Whether the connection is closed for good. */
  get closed(): boolean {
    return this.#closed;
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #nextReconnect(signal?: AbortSignal): Promise<void> {
    if (this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Closes the connection (flushing what is pending). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#nc.close();
      } catch {
        // closing a broken connection is still closed
      }
      this.#closed = true;
      this.#wake();
      await this.#statusLoop;
    })();
    return this.#closing;
  }

  /** Same as {@linkcode NatsLink.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Connects to NATS. Reconnects forever by default after the first success.
 *
 * @example
 * ```ts
 * import { connectNats } from "./mod.ts";
 *
 * async function run(): Promise<void> {
 *   const link = await connectNats(["nats://127.0.0.1:4222"], { name: "gateway-1" });
 *   await link.close();
 * }
 * ```
 *
 * @param servers One URL or several (`nats://host:port`).
 * @param options Name, reconnect policy, credentials, status hook.
 * @throws {ConnectionError} When no server can be reached.
 */
export function connectNats(
  servers: string | readonly string[],
  options: NatsConnectOptions = {},
): Promise<NatsLink> {
  return NatsLink.connect(servers, options);
}

/**
 * Waits `ms`, or less: until the link reconnects or `signal` aborts (a
 * retry loop's pause).
 */
export async function pauseUntilReconnect(
  link: Pick<LinkInternals, "nextReconnect">,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      link.nextReconnect(stop.signal),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    stop.abort();
    signal.removeEventListener("abort", onAbort);
  }
}
