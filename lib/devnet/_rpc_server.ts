/**
 * The devnet's JSON-RPC HTTP front end, written after the node's
 * `httprpc.cpp`/`server.cpp` (Bitcoin Core 0.15 lineage): paths, basic
 * auth, status codes, batches and error bodies as the node sends them.
 *
 * @module
 */

import { stringify } from "./_json.ts";

/** A JSON-RPC error the node would return (`code`, `message`). */
export class RpcMethodError extends Error {
  /** The node's JSON-RPC error code. */
  readonly code: number;
  /**
   * Creates an error carried in a JSON-RPC reply.
   *
   * @param code The node's code (-5, -8, -32601, ...).
   * @param message The node's message text.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "RpcMethodError";
    this.code = code;
  }
}

/** One parsed call handed to the dispatcher. */
export interface RpcCall {
  /** Method name. */
  method: string;
  /** Positional (array) or named (object) parameters. */
  params: unknown[] | Record<string, unknown>;
  /** Wallet name from a `/wallet/<name>` path (`""` for `/wallet/`), else undefined. */
  wallet: string | undefined;
}

/** Runs one call; throws {@linkcode RpcMethodError} for node errors. */
export type RpcDispatcher = (call: RpcCall) => Promise<unknown>;

/** Options of {@linkcode DevnetRpcServer}. */
export interface DevnetRpcServerOptions {
  /** Accepted user name. */
  user: string;
  /** Accepted password. */
  password: string;
  /** Runs the calls. */
  dispatch: RpcDispatcher;
  /** Delay before answering 401 to wrong credentials (the node sleeps 250 ms). */
  authDelayMs?: number;
  /** Requests that may wait for a worker (`-rpcworkqueue`, default 16). */
  workQueue?: number;
  /** Requests handled at once (`-rpcthreads`, default 4). */
  threads?: number;
}

const TEXT_HTML = "text/html; charset=ISO-8859-1";
const WWW_AUTH = 'Basic realm="jsonrpc"';

function statusOf(code: number): number {
  if (code === -32600) return 400;
  if (code === -32601) return 404;
  return 500;
}

function reply(result: unknown, error: unknown, id: unknown): string {
  return stringify({ result, error, id: id === undefined ? null : id });
}

function errorObject(error: unknown): { code: number; message: string } {
  if (error instanceof RpcMethodError) {
    return { code: error.code, message: error.message };
  }
  // Anything unexpected becomes the node's generic misc error.
  return {
    code: -1,
    message: error instanceof Error ? error.message : String(error),
  };
}

function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  }
  return diff === 0;
}

/** The HTTP JSON-RPC server of the devnet. */
export class DevnetRpcServer {
  #options: DevnetRpcServerOptions;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #port = 0;
  #inFlight = 0;
  #pendingAuth = new Set<
    { timer: ReturnType<typeof setTimeout> | undefined; resolve: () => void }
  >();

  /**
   * Creates the server (not yet listening).
   *
   * @param options Credentials and dispatcher.
   */
  constructor(options: DevnetRpcServerOptions) {
    this.#options = options;
  }

  /** The bound port (0 before the first start). */
  get port(): number {
    return this.#port;
  }

  /** Whether the server is listening. */
  get listening(): boolean {
    return this.#server !== undefined;
  }

  /**
   * Starts listening on 127.0.0.1.
   *
   * @param port The port (0 picks a free one).
   * @returns The bound port.
   */
  start(port: number): Promise<number> {
    if (this.#server) return Promise.resolve(this.#port);
    const { promise, resolve } = Promise.withResolvers<number>();
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port,
      onListen: (addr) => {
        this.#port = addr.port;
        resolve(addr.port);
      },
    }, (request) => this.#handle(request));
    return promise;
  }

  /** Stops listening; open connections are closed. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const pending of this.#pendingAuth) {
      clearTimeout(pending.timer);
      pending.resolve();
    }
    this.#pendingAuth.clear();
    await server.shutdown();
  }

  #delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: undefined as ReturnType<typeof setTimeout> | undefined,
        resolve,
      };
      entry.timer = setTimeout(() => {
        this.#pendingAuth.delete(entry);
        resolve();
      }, ms);
      this.#pendingAuth.add(entry);
    });
  }

  async #handle(request: Request): Promise<Response> {
    const limit = (this.#options.workQueue ?? 16) +
      (this.#options.threads ?? 4);
    if (this.#inFlight >= limit) {
      await request.body?.cancel();
      return new Response("Work queue depth exceeded", {
        status: 500,
        headers: { "content-type": TEXT_HTML },
      });
    }
    this.#inFlight++;
    try {
      return await this.#handleRequest(request);
    } finally {
      this.#inFlight--;
    }
  }

  async #handleRequest(request: Request): Promise<Response> {
    const url = new URL(request.url);
    let wallet: string | undefined;
    if (url.pathname === "/") {
      wallet = undefined;
    } else if (url.pathname.startsWith("/wallet/")) {
      wallet = decodeURIComponent(url.pathname.slice("/wallet/".length));
    } else {
      await request.body?.cancel();
      return new Response(null, {
        status: 404,
        headers: { "content-type": TEXT_HTML },
      });
    }
    if (request.method !== "POST") {
      await request.body?.cancel();
      return new Response("JSONRPC server handles only POST requests", {
        status: 405,
        headers: { "content-type": TEXT_HTML },
      });
    }
    const auth = request.headers.get("authorization");
    if (auth === null) {
      await request.body?.cancel();
      return this.#unauthorized();
    }
    if (!this.#authorized(auth)) {
      await request.body?.cancel();
      await this.#delay(this.#options.authDelayMs ?? 250);
      return this.#unauthorized();
    }
    const text = await request.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.#json(
        reply(null, { code: -32700, message: "Parse error" }, null),
        500,
      );
    }
    if (Array.isArray(parsed)) {
      const replies: string[] = [];
      for (const element of parsed) {
        replies.push(await this.#execOne(element, wallet).then((r) => r.body));
      }
      return this.#json(`[${replies.join(",")}]`, 200);
    }
    if (parsed === null || typeof parsed !== "object") {
      return this.#json(
        reply(
          null,
          { code: -32700, message: "Top-level object parse error" },
          null,
        ),
        500,
      );
    }
    const { body, status } = await this.#execOne(parsed, wallet);
    return this.#json(body, status);
  }

  async #execOne(
    request: unknown,
    wallet: string | undefined,
  ): Promise<{ body: string; status: number }> {
    let id: unknown = null;
    try {
      if (
        request === null || typeof request !== "object" ||
        Array.isArray(request)
      ) {
        throw new RpcMethodError(-32600, "Invalid Request object");
      }
      const object = request as Record<string, unknown>;
      id = object.id ?? null;
      const method = object.method;
      if (method === undefined || method === null) {
        throw new RpcMethodError(-32600, "Missing method");
      }
      if (typeof method !== "string") {
        throw new RpcMethodError(-32600, "Method must be a string");
      }
      let params: unknown[] | Record<string, unknown>;
      const raw = object.params;
      if (raw === undefined || raw === null) params = [];
      else if (typeof raw === "object") {
        params = raw as unknown[] | Record<string, unknown>;
      } else {
        throw new RpcMethodError(
          -32600,
          "GetParams must be an array or object",
        );
      }
      const result = await this.#options.dispatch({ method, params, wallet });
      return { body: reply(result, null, id), status: 200 };
    } catch (error) {
      const object = errorObject(error);
      return { body: reply(null, object, id), status: statusOf(object.code) };
    }
  }

  #authorized(header: string): boolean {
    if (!header.startsWith("Basic ")) return false;
    let decoded: string;
    try {
      decoded = new TextDecoder().decode(
        Uint8Array.from(atob(header.slice(6).trim()), (c) => c.charCodeAt(0)),
      );
    } catch {
      return false;
    }
    return timingSafeEqual(
      decoded,
      `${this.#options.user}:${this.#options.password}`,
    );
  }

  #unauthorized(): Response {
    return new Response(null, {
      status: 401,
      headers: { "www-authenticate": WWW_AUTH, "content-type": TEXT_HTML },
    });
  }

  #json(body: string, status: number): Response {
    return new Response(`${body}\n`, {
      status,
      headers: { "content-type": "application/json" },
    });
  }
}
