/**
 * The HTTP side of `EvrmoreWebSocketServer`: routes (`/health`,
 * `/metrics`, the dashboard, 426 for plain requests to the WebSocket path)
 * and the checks before an upgrade (origin, token, client caps).
 *
 * Internal.
 *
 * @module
 */

import {
  DASHBOARD_PATHS,
  dashboardHeaders,
  dashboardNonce,
  dashboardPage,
} from "./_dashboard.ts";
import { addressKey, clientAddress } from "./_client_address.ts";
import { METRICS_CONTENT_TYPE } from "./_metrics.ts";
import { errorMessage, errorText } from "./_protocol.ts";
import {
  offeredProtocols,
  originAllowed,
  presentedTokens,
  selectProtocol,
  tokenMatches,
} from "./_security.ts";
import type { ServerConfig } from "./_server_config.ts";
import type { ServerCounters } from "./_server_metrics.ts";
import type { WebSocketErrorCode } from "./types.ts";

/** What the routes need of their server. */
export interface HttpHost {
  /** Whether the server is stopping (new upgrades get 503). */
  stopping(): boolean;
  /** The body of `GET /health`. */
  health(): unknown;
  /** The body of `GET /metrics`. */
  metrics(): string;
  /** Clients connected now, and from one address. */
  clients(ip?: string): number;
  /** Takes an upgraded socket into a session (`ip`: its per-address key). */
  accept(socket: WebSocket, ip: string | undefined): void;
  /** Reports an error that reaches no client. */
  report(error: unknown): void;
  /** Reports an error of a kind that may repeat (logged once per interval). */
  reportOnce(kind: string, error: unknown): void;
}

/** HTTP 405 for a `GET`/`HEAD`-only endpoint. */
function methodNotAllowed(): Response {
  return new Response("Method not allowed\n", {
    status: 405,
    headers: { allow: "GET, HEAD" },
  });
}

function shuttingDown(): Response {
  return new Response("Server shutting down\n", { status: 503 });
}

/** Answers every HTTP request of the server. */
export class HttpRoutes {
  #host: HttpHost;
  #config: ServerConfig;
  #counters: ServerCounters;

  /** The most clients at once: `maxClients`, or fewer when the open-file limit says so. */
  maxClients: number;

  constructor(host: HttpHost, config: ServerConfig, counters: ServerCounters) {
    this.#host = host;
    this.#config = config;
    this.#counters = counters;
    this.maxClients = config.maxClients;
  }

  /**
   * Answers a request from `peer` (the TCP peer's address; `undefined`
   * for one that bypassed the guard).
   */
  handle(
    request: Request,
    peer: string | undefined,
  ): Response | Promise<Response> {
    const config = this.#config;
    if (peer === undefined) {
      return this.#reject(
        403,
        "forbidden",
        "Cannot connect: connect through the server's public address",
      );
    }
    let url: URL;
    try {
      url = new URL(request.url);
    } catch (cause) {
      this.#counters.count(this.#counters.rejected, "bad_request");
      this.#host.reportOnce(
        "bad_request",
        new TypeError(
          `Cannot route ${
            JSON.stringify(request.url.slice(0, 100))
          }: not a valid URL`,
          { cause },
        ),
      );
      return new Response("Bad request\n", { status: 400 });
    }
    if (url.pathname === "/health" && config.path !== "/health") {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return methodNotAllowed();
      }
      return Response.json(this.#host.health());
    }
    if (
      url.pathname === "/metrics" && config.path !== "/metrics" &&
      config.metrics
    ) {
      return this.#metricsResponse(request, url);
    }
    if (
      config.dashboard && DASHBOARD_PATHS.has(url.pathname) &&
      (request.method === "GET" || request.method === "HEAD") &&
      request.headers.get("upgrade")?.toLowerCase() !== "websocket"
    ) {
      return this.#dashboardResponse(request);
    }
    if (url.pathname !== config.path) {
      return new Response("Not found\n", { status: 404 });
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response(
        `This is an Evrmore WebSocket endpoint: connect with a WebSocket client to ws://${
          request.headers.get("host") ?? "host"
        }${config.path}\n`,
        {
          status: 426,
          headers: {
            upgrade: "websocket",
            connection: "Upgrade",
            "content-type": "text/plain; charset=utf-8",
          },
        },
      );
    }
    if (this.#host.stopping()) return shuttingDown();
    if (!originAllowed(request.headers.get("origin"), config.allowedOrigins)) {
      return this.#reject(
        403,
        "origin_not_allowed",
        "Cannot connect: origin not allowed",
      );
    }
    const authorized = this.#authorize(request, url);
    if (authorized instanceof Promise) {
      return authorized.then((ok) =>
        ok
          ? this.#host.stopping()
            ? shuttingDown()
            : this.#upgrade(request, peer)
          : this.#unauthorized()
      );
    }
    return authorized ? this.#upgrade(request, peer) : this.#unauthorized();
  }

  #upgrade(request: Request, peer: string): Response {
    const config = this.#config;
    if (this.#host.clients() >= this.maxClients) {
      this.#counters.count(this.#counters.rejected, "too_many_clients");
      return new Response("Too many clients\n", { status: 503 });
    }
    let ip: string | undefined;
    if (config.maxClientsPerIp > 0) {
      ip = addressKey(
        clientAddress(peer, request.headers, { trustProxy: config.trustProxy }),
      );
      if (this.#host.clients(ip) >= config.maxClientsPerIp) {
        return this.#reject(
          429,
          "too_many_connections",
          `Cannot connect: ${config.maxClientsPerIp} connections already open from this address`,
        );
      }
    }
    const protocol = selectProtocol(offeredProtocols(request));
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(request, {
        idleTimeout: config.idleTimeout,
        ...(protocol === undefined ? {} : { protocol }),
      });
    } catch (cause) {
      return new Response(`Bad WebSocket request: ${errorText(cause)}\n`, {
        status: 400,
      });
    }
    this.#counters.connections++;
    this.#host.accept(upgraded.socket, ip);
    return upgraded.response;
  }

  /** Whether a request passes `authToken` and `authenticate` (sync when it can). */
  #authorize(request: Request, url: URL): boolean | Promise<boolean> {
    const config = this.#config;
    if (
      config.authToken !== undefined &&
      !tokenMatches(presentedTokens(request, url), config.authToken)
    ) {
      return false;
    }
    const authenticate = config.authenticate;
    if (authenticate === undefined) return true;
    try {
      const result = authenticate(request);
      if (result instanceof Promise) {
        return result.then((ok) => ok === true, (cause) => {
          this.#host.report(cause);
          return false;
        });
      }
      return result === true;
    } catch (cause) {
      this.#host.report(cause);
      return false;
    }
  }

  #unauthorized(): Response {
    this.#counters.authFailures++;
    return this.#reject(
      401,
      "unauthorized",
      "Cannot connect: missing or wrong token",
      { "www-authenticate": 'Bearer realm="evrmore"' },
    );
  }

  /** An HTTP error answer with a protocol-shaped JSON body, counted by code. */
  #reject(
    status: number,
    code: WebSocketErrorCode,
    message: string,
    headers: Record<string, string> = {},
  ): Response {
    if (code !== "unauthorized") {
      this.#counters.count(this.#counters.rejected, code);
    }
    return Response.json(errorMessage(code, message), { status, headers });
  }

  #metricsResponse(request: Request, url: URL): Response | Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return methodNotAllowed();
    }
    const answer = (ok: boolean): Response =>
      ok
        ? new Response(
          request.method === "HEAD" ? null : this.#host.metrics(),
          {
            headers: { "content-type": METRICS_CONTENT_TYPE },
          },
        )
        : this.#unauthorized();
    const authorized = this.#authorize(request, url);
    return authorized instanceof Promise
      ? authorized.then(answer)
      : answer(authorized);
  }

  #dashboardResponse(request: Request): Response {
    const nonce = dashboardNonce();
    return new Response(
      request.method === "HEAD"
        ? null
        : dashboardPage({ path: this.#config.path, nonce }),
      {
        headers: dashboardHeaders(
          nonce,
          // Behind the guard the request reaches Deno.serve as plain HTTP.
          this.#config.certFile === undefined
            ? request.url
            : request.url.replace(/^http:/, "https:"),
        ),
      },
    );
  }
}
