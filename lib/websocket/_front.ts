/**
 * Where `EvrmoreWebSocketServer` listens: `Deno.serve` behind the
 * {@linkcode GuardedListener} (the default: handshake deadline, pending
 * caps, frame-size guard, survives running out of file descriptors), or
 * `Deno.serve` alone (`guard: false`). Either way a failing accept loop
 * never ends the process.
 *
 * Internal: part of the http side.
 *
 * @module
 */

import { readFdLimit } from "./_fd_limit.ts";
import {
  GuardedListener,
  type ListenerRejection,
  PEER_HEADER,
} from "./_listener.ts";
import type { ServerConfig } from "./_server_config.ts";

/** Descriptors kept for everything but clients (runtime, node sockets, logs). */
const HEADROOM = 256;
/** Descriptors one guarded client holds: its socket, and both ends of the hop to `Deno.serve`. */
const GUARDED_FDS_PER_CLIENT = 3;

/** What the front needs of its server. */
export interface FrontHost {
  /** Answers one request; `peer` is the TCP peer's address. */
  handle(
    request: Request,
    peer: string | undefined,
  ): Response | Promise<Response>;
  /** A connection the guard closed, and why (for metrics). */
  rejected(reason: ListenerRejection): void;
  /** Reports an error (rate-limited by the server). */
  report(kind: string, error: unknown): void;
}

/** A started listener; `shutdown()` stops it. */
export class ServerFront {
  #inner: Deno.HttpServer<Deno.NetAddr>;
  #guard: GuardedListener | undefined;
  #secret: string | undefined;
  /** The most clients the open-file limit leaves room for. */
  readonly maxClients: number;
  /** Set when the open-file limit lowered `maxClients`. */
  readonly warning: string | undefined;

  /**
   * Starts listening on the configured address.
   *
   * @throws When the address cannot be bound.
   */
  constructor(
    config: ServerConfig,
    tls: { cert: string; key: string } | undefined,
    host: FrontHost,
  ) {
    const perClient = config.guard ? GUARDED_FDS_PER_CLIENT : 1;
    const soft = readFdLimit()?.soft ?? Infinity;
    const room = Math.max(1, Math.floor((soft - HEADROOM) / perClient));
    this.maxClients = Math.min(config.maxClients, room);
    this.warning = room < config.maxClients
      ? `The open-file limit (${soft}) leaves room for ${room} clients, not ${config.maxClients}: ` +
        `maxClients is ${room}. Raise it with \`ulimit -n\` or LimitNOFILE= (systemd).`
      : undefined;
    const onError = (error: unknown) => {
      host.report("http", error);
      return new Response("Internal server error\n", { status: 500 });
    };
    if (!config.guard) {
      this.#inner = Deno.serve({
        hostname: config.host,
        port: config.port,
        reusePort: config.reusePort,
        ...tls,
        onListen: () => {},
        onError,
      }, (request, info) => host.handle(request, info.remoteAddr.hostname));
      this.#watch(host);
      return;
    }
    const secret = this.#secret = crypto.randomUUID();
    this.#inner = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      onError,
    }, (request) => host.handle(request, this.#peer(request)));
    this.#watch(host);
    try {
      this.#guard = new GuardedListener({
        hostname: config.host,
        port: config.port,
        reusePort: config.reusePort,
        upstream: { hostname: "127.0.0.1", port: this.#inner.addr.port },
        peerSecret: secret,
        ...(tls === undefined ? {} : { tls }),
        handshakeTimeoutMs: config.handshakeTimeout,
        maxPending: config.maxPendingHandshakes,
        maxMessageBytes: config.maxMessageSize,
        maxDescriptors: soft === Infinity
          ? 1 << 30
          : Math.max(16, soft - HEADROOM),
        exempt: (peer) => config.trustProxy.has(peer),
        onReject: (reason) => host.rejected(reason),
        onAcceptError: (error) => host.report("accept", error),
      });
    } catch (error) {
      this.#inner.shutdown().catch(() => {});
      throw error;
    }
  }

  /** The address clients connect to. */
  get addr(): Deno.NetAddr {
    return this.#guard?.addr ?? this.#inner.addr;
  }

  /** Stops listening and closes every connection. */
  async shutdown(): Promise<void> {
    await this.#guard?.close();
    await this.#inner.shutdown();
  }

  /**
   * The client's TCP address as the guard wrote it, or `undefined` for a
   * request that did not come through the guard (a direct connection to
   * the inner loopback port).
   */
  #peer(request: Request): string | undefined {
    const value = request.headers.get(PEER_HEADER);
    const prefix = `${this.#secret} `;
    if (value === null || !value.startsWith(prefix)) return undefined;
    return value.slice(prefix.length);
  }

  /** `Deno.serve` rejects `finished` when its accept loop fails: report it, never crash. */
  #watch(host: FrontHost): void {
    this.#inner.finished.catch((error) => host.report("accept", error));
  }
}
