/**
 * An in-process JSON-RPC server that answers like the fixtures' Evrmore node:
 * the captured bodies (ids rewritten byte-exactly, so big numbers such as
 * `expire_time` keep their digits), the node's HTTP statuses, its 401, 404,
 * 405 and batch behaviour. Binds 127.0.0.1 on a free port.
 *
 * ```ts ignore
 * await using server = await startFixtureRpcServer();
 * const client = new EvrmoreRPCClient({ url: server.url, user: server.user, password: server.password });
 * ```
 *
 * Tests can hook every request (`server.intercept`) to hold, fail or garble
 * answers, and read counters (`requests`, `inFlight`, `maxInFlight`, `calls`).
 *
 * @module
 */

import {
  EvrmoreRPCClient,
  type EvrmoreRPCClientOptions,
} from "../lib/rpc/mod.ts";

/** Directory of the regtest fixtures (next to the checkout, else the shared copy). */
export const FIXTURES_DIR: string = (() => {
  const near = new URL("../../shared/fixtures/evrmore-regtest", import.meta.url)
    .pathname;
  try {
    Deno.statSync(near);
    return near;
  } catch {
    return "/work/shared/fixtures/evrmore-regtest";
  }
})();

/** One JSON-RPC call as the server saw it. */
export interface FixtureCall {
  method: string;
  params: unknown[];
  /** Path of the HTTP request (`/`, `/wallet/<name>`). */
  path: string;
}

/** An HTTP answer: status, body text and optional headers. */
export interface FixtureAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** Context given to {@linkcode FixtureRpcServer.intercept}. */
export interface FixtureRequestInfo {
  /** The raw request. */
  request: Request;
  /** The request body text. */
  body: string;
  /** 1-based number of this HTTP request. */
  index: number;
  /** Resolves when the server closes (to release held requests). */
  closed: Promise<void>;
}

/** Options of {@linkcode startFixtureRpcServer}. */
export interface FixtureRpcServerOptions {
  /** Accepted user (default `"evr"`). */
  user?: string;
  /** Accepted password (default `"evrpass"`). */
  password?: string;
  /** Fixture directory (default the shared regtest fixtures). */
  fixturesDir?: string;
  /** Serve https with this PEM certificate and key. */
  tls?: { cert: string; key: string };
  /**
   * Emulate the node's work queue (`-rpcworkqueue`, 16 by default on the
   * node): a request arriving while this many are being answered gets HTTP
   * 500 "Work queue depth exceeded", as the node answers. Off by default.
   */
  workQueue?: number;
}

/** A running fixture server. */
export interface FixtureRpcServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/` (`https:` with the `tls` option). */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Accepted user. */
  readonly user: string;
  /** Accepted password. */
  readonly password: string;
  /** HTTP requests received so far. */
  readonly requests: number;
  /** Requests being answered right now. */
  readonly inFlight: number;
  /** Highest `inFlight` seen. */
  readonly maxInFlight: number;
  /** Requests refused with "Work queue depth exceeded" (option `workQueue`). */
  readonly refused: number;
  /** Every JSON-RPC call received (batch elements included), in order. */
  readonly calls: FixtureCall[];
  /**
   * Hook run before the normal answer: return an answer to replace it, or
   * undefined to continue. May await (to hold the request).
   */
  intercept:
    | ((
      info: FixtureRequestInfo,
    ) => Promise<FixtureAnswer | undefined> | FixtureAnswer | undefined)
    | undefined;
  /** Called each time a request arrives (after counters are updated). */
  onRequest: ((info: FixtureRequestInfo) => void) | undefined;
  /** Replaces the answer to a method (and exact params, when given) with a body text. */
  setAnswer(
    method: string,
    params: unknown[] | undefined,
    answer: FixtureAnswer,
  ): void;
  /** Looks up the captured body (id not rewritten) for a call, if any. */
  lookup(method: string, params: unknown[]): FixtureAnswer | undefined;
  /** Stops the server (releases held requests first). Idempotent. */
  close(): Promise<void>;
}

interface Table {
  exact: Map<string, FixtureAnswer>;
  byMethod: Map<string, FixtureAnswer>;
  errors: Map<string, FixtureAnswer>;
}

const tableCache = new Map<string, Promise<Table>>();

function key(method: string, params: readonly unknown[]): string {
  return `${method} ${JSON.stringify(params)}`;
}

async function readAnswer(path: string, status = 200): Promise<FixtureAnswer> {
  return { status, body: (await Deno.readTextFile(path)).replace(/\n$/, "") };
}

async function buildTable(dir: string): Promise<Table> {
  const exact = new Map<string, FixtureAnswer>();
  const byMethod = new Map<string, FixtureAnswer>();
  const errors = new Map<string, FixtureAnswer>();
  const put = (method: string, params: unknown[], answer: FixtureAnswer) => {
    if (!exact.has(key(method, params))) exact.set(key(method, params), answer);
  };

  // rpc/: numbered calls from the index, then every file as a method default.
  const index = await Deno.readTextFile(
    `${dir}/rpc/_index_of_numbered_calls.txt`,
  );
  const seen = new Map<string, number>();
  for (const line of index.split("\n")) {
    const m = /^(\w+): (.*)$/.exec(line.trim());
    if (m === null) continue;
    const method = m[1] ?? "";
    const n = (seen.get(method) ?? 0) + 1;
    seen.set(method, n);
    const file = `${dir}/rpc/${n === 1 ? method : `${method}_${n}`}.json`;
    try {
      put(method, JSON.parse(m[2] ?? "[]"), await readAnswer(file));
    } catch {
      // not captured
    }
  }
  for await (const entry of Deno.readDir(`${dir}/rpc`)) {
    const m = /^([a-z]+)\.json$/.exec(entry.name);
    if (m?.[1] !== undefined) {
      byMethod.set(m[1], await readAnswer(`${dir}/rpc/${entry.name}`));
    }
  }
  put(
    "getrawmempool",
    [],
    await readAnswer(`${dir}/rpc/getrawmempool_false.json`),
  );
  put(
    "getrawmempool",
    [false],
    await readAnswer(`${dir}/rpc/getrawmempool_false.json`),
  );
  put(
    "getmempoolinfo",
    [],
    await readAnswer(`${dir}/rpc/getmempoolinfo_nonempty.json`),
  );

  // blocks/
  for await (const entry of Deno.readDir(`${dir}/blocks`)) {
    const m =
      /^(\d+)_.*_([0-9a-f]{64})\.(getblock[012]|getblockheader_true|getblockheader_false|hex)(?:\.json)?$/
        .exec(entry.name);
    if (m === null) continue;
    const height = Number(m[1]);
    const hash = m[2] ?? "";
    const kind = m[3];
    const path = `${dir}/blocks/${entry.name}`;
    switch (kind) {
      case "getblock0": {
        const answer = await readAnswer(path);
        put("getblock", [hash, 0], answer);
        put("getblock", [hash, false], answer);
        break;
      }
      case "getblock1": {
        const answer = await readAnswer(path);
        put("getblock", [hash], answer);
        put("getblock", [hash, 1], answer);
        put("getblock", [hash, true], answer);
        break;
      }
      case "getblock2":
        put("getblock", [hash, 2], await readAnswer(path));
        break;
      case "getblockheader_true": {
        const answer = await readAnswer(path);
        put("getblockheader", [hash], answer);
        put("getblockheader", [hash, true], answer);
        break;
      }
      case "getblockheader_false":
        put("getblockheader", [hash, false], await readAnswer(path));
        break;
      case "hex":
        put("getblockhash", [height], {
          status: 200,
          body: `{"result":"${hash}","error":null,"id":1}`,
        });
        break;
    }
  }

  // txs/: confirmed answers first, mempool variants as fallback.
  const names: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/txs`)) names.push(entry.name);
  names.sort((a, b) =>
    Number(a.includes("_mempool.")) - Number(b.includes("_mempool."))
  );
  for (const name of names) {
    const m =
      /_([0-9a-f]{64})\.(getrawtransaction0|getrawtransaction1|getrawtransaction1_mempool|decoderawtransaction|hex)(?:\.json)?$/
        .exec(name);
    if (m === null) continue;
    const txid = m[1] ?? "";
    const path = `${dir}/txs/${name}`;
    switch (m[2]) {
      case "getrawtransaction0": {
        const answer = await readAnswer(path);
        put("getrawtransaction", [txid], answer);
        put("getrawtransaction", [txid, 0], answer);
        put("getrawtransaction", [txid, false], answer);
        break;
      }
      case "getrawtransaction1":
      case "getrawtransaction1_mempool": {
        const answer = await readAnswer(path);
        put("getrawtransaction", [txid, 1], answer);
        put("getrawtransaction", [txid, true], answer);
        break;
      }
      case "decoderawtransaction": {
        const hex = (await Deno.readTextFile(
          path.replace(/\.decoderawtransaction\.json$/, ".hex"),
        ))
          .trim();
        put("decoderawtransaction", [hex], await readAnswer(path));
        break;
      }
    }
  }

  // errors/
  for await (const entry of Deno.readDir(`${dir}/errors`)) {
    const m = /^(.*)\.body$/.exec(entry.name);
    if (m?.[1] === undefined) continue;
    const status = Number(
      (await Deno.readTextFile(`${dir}/errors/${m[1]}.status`)).trim(),
    );
    errors.set(m[1], await readAnswer(`${dir}/errors/${entry.name}`, status));
  }
  return { exact, byMethod, errors };
}

/** Loads (once per directory) the fixture answer table. */
function loadTable(dir: string): Promise<Table> {
  let table = tableCache.get(dir);
  if (table === undefined) {
    table = buildTable(dir);
    tableCache.set(dir, table);
  }
  return table;
}

/** Rewrites the trailing `"id":...` of a captured body to the request's id, byte-exactly. */
export function withId(body: string, id: unknown): string {
  const json = JSON.stringify(id ?? null);
  return body.replace(/"id":(?:-?\d+|"[^"]*"|null)\}\s*$/, `"id":${json}}`);
}

function errorBody(code: number, message: string, id: unknown): string {
  return JSON.stringify({
    result: null,
    error: { code, message },
    id: id ?? null,
  });
}

const HASH = /^[0-9a-f]{64}$/;

/** Parameter names of the methods the fixture answers by name (`-named`). */
const NAMED_PARAMS: Record<string, string[]> = {
  getblockhash: ["height"],
  getblock: ["blockhash", "verbosity"],
  getblockheader: ["blockhash", "verbose"],
  getrawtransaction: ["txid", "verbose"],
};

/** Starts a fixture server on 127.0.0.1, port 0. */
export async function startFixtureRpcServer(
  options: FixtureRpcServerOptions = {},
): Promise<FixtureRpcServer> {
  const dir = options.fixturesDir ?? FIXTURES_DIR;
  const table = await loadTable(dir);
  const user = options.user ?? "evr";
  const password = options.password ?? "evrpass";
  const expectedAuth = `Basic ${btoa(`${user}:${password}`)}`;
  const overrides = new Map<string, FixtureAnswer>();
  const calls: FixtureCall[] = [];
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let refused = 0;
  const workQueue = options.workQueue ?? Infinity;
  let releaseClosed!: () => void;
  const closed = new Promise<void>((resolve) => (releaseClosed = resolve));

  const lookup = (
    method: string,
    params: unknown[],
  ): FixtureAnswer | undefined =>
    overrides.get(key(method, params)) ?? overrides.get(method) ??
      table.exact.get(key(method, params)) ??
      (params.length === 0 ? table.byMethod.get(method) : undefined);

  const err = (name: string): FixtureAnswer => {
    const answer = table.errors.get(name);
    if (answer === undefined) throw new Error(`missing fixture errors/${name}`);
    return answer;
  };

  /** Answers one call object: [status, body]. */
  const answerCall = (call: unknown, path: string): FixtureAnswer => {
    if (typeof call !== "object" || call === null || Array.isArray(call)) {
      return {
        status: 400,
        body: errorBody(-32600, "Invalid Request object", null),
      };
    }
    const request = call as Record<string, unknown>;
    const id = request.id;
    if (!("method" in request)) {
      return { status: 400, body: errorBody(-32600, "Missing method", id) };
    }
    if (typeof request.method !== "string") {
      return {
        status: 400,
        body: errorBody(-32600, "Method must be a string", id),
      };
    }
    const method = request.method;
    let params: unknown = request.params === undefined ? [] : request.params;
    if (
      typeof params === "object" && params !== null && !Array.isArray(params)
    ) {
      // Named parameters, for the few methods whose names the fixture knows.
      const named = params as Record<string, unknown>;
      const names = NAMED_PARAMS[method] ?? [];
      const unknown = Object.keys(named).find((name) => !names.includes(name));
      if (unknown !== undefined) {
        return {
          status: 500,
          body: errorBody(-8, `Unknown named parameter ${unknown}`, id),
        };
      }
      const positional = names.map((name) => named[name]);
      while (positional.length > 0 && positional.at(-1) === undefined) {
        positional.pop();
      }
      params = positional;
    }
    if (!Array.isArray(params)) {
      return {
        status: 400,
        body: errorBody(-32600, "GetParams must be an array or object", id),
      };
    }
    calls.push({ method, params, path });
    const found = lookup(method, params);
    if (found !== undefined) {
      return { ...found, body: withId(found.body, id) };
    }
    let error: FixtureAnswer | undefined;
    switch (method) {
      case "getblock":
      case "getblockheader":
        if (params.length === 0) break;
        if (typeof params[0] !== "string") {
          error = {
            status: 500,
            body: errorBody(-1, "JSON value is not a string as expected", id),
          };
        } else {
          error = err(
            method === "getblock"
              ? "err_block_not_found"
              : "err_blockheader_not_found",
          );
        }
        break;
      case "getblockhash":
        if (typeof params[0] !== "number" || !Number.isInteger(params[0])) {
          error = err("err_bad_params_type");
        } else error = err("err_height_out_of_range");
        break;
      case "getrawtransaction":
        error = typeof params[0] === "string" && HASH.test(params[0])
          ? err("err_tx_not_found")
          : err("err_tx_bad_hex");
        break;
      case "decoderawtransaction":
        error = err("err_decoderawtx_bad");
        break;
      case "getassetdata":
        error = err("ok_getassetdata_unknown");
        break;
    }
    if (
      error === undefined && !table.byMethod.has(method) && !isKnown(method)
    ) {
      error = err("err_unknown_method");
    }
    if (error !== undefined) return { ...error, body: withId(error.body, id) };
    return {
      status: 500,
      body: errorBody(
        -1,
        `fixture server: no captured answer for ${key(method, params)}`,
        id,
      ),
    };
  };

  const known = new Set<string>();
  try {
    for (
      const line of (await Deno.readTextFile(`${dir}/help/_commands.txt`))
        .split("\n")
    ) {
      if (/^[a-z]\w*$/.test(line.trim())) known.add(line.trim());
    }
  } catch {
    // no help dir
  }
  const isKnown = (method: string) => known.has(method);

  const json = (answer: FixtureAnswer): Response =>
    new Response(answer.body, {
      status: answer.status,
      headers: answer.headers ?? { "Content-Type": "application/json" },
    });

  const handle = async (request: Request): Promise<Response> => {
    requests++;
    if (inFlight >= workQueue) {
      refused++;
      return new Response("Work queue depth exceeded", {
        status: 500,
        headers: { "Content-Type": "text/html; charset=ISO-8859-1" },
      });
    }
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const body = request.method === "POST" ? await request.text() : "";
      const info: FixtureRequestInfo = {
        request,
        body,
        index: requests,
        closed,
      };
      server.onRequest?.(info);
      const intercepted = await server.intercept?.(info);
      if (intercepted !== undefined) return json(intercepted);
      if (request.headers.get("authorization") !== expectedAuth) {
        return new Response(null, {
          status: 401,
          headers: {
            "WWW-Authenticate": 'Basic realm="jsonrpc"',
            "Content-Type": "text/html; charset=ISO-8859-1",
          },
        });
      }
      if (request.method !== "POST") {
        return new Response("JSONRPC server handles only POST requests", {
          status: 405,
          headers: { "Content-Type": "text/html; charset=ISO-8859-1" },
        });
      }
      const path = new URL(request.url).pathname;
      if (path !== "/" && !path.startsWith("/wallet/")) {
        return new Response(null, {
          status: 404,
          headers: { "Content-Type": "text/html; charset=ISO-8859-1" },
        });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return json(err("err_parse_error"));
      }
      if (Array.isArray(parsed)) {
        const parts = parsed.map((call) => answerCall(call, path).body);
        return json({ status: 200, body: `[${parts.join(",")}]` });
      }
      if (typeof parsed !== "object" || parsed === null) {
        return json(err("err_top_level_not_object"));
      }
      return json(answerCall(parsed, path));
    } finally {
      inFlight--;
    }
  };

  const { promise: listening, resolve: onListen } = Promise.withResolvers<
    number
  >();
  const httpServer = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => onListen(port),
    ...(options.tls === undefined ? {} : options.tls),
  }, handle);
  const port = await listening;
  let closing: Promise<void> | undefined;

  const server: FixtureRpcServer = {
    url: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}/`,
    port,
    user,
    password,
    get requests() {
      return requests;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get refused() {
      return refused;
    },
    calls,
    intercept: undefined,
    onRequest: undefined,
    setAnswer(method, params, answer) {
      overrides.set(
        params === undefined ? method : key(method, params),
        answer,
      );
    },
    lookup,
    close() {
      closing ??= (async () => {
        releaseClosed();
        await httpServer.shutdown();
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}

/** A client of `server` (its URL and credentials; no environment), with `options` on top. */
export function clientFor(
  server: FixtureRpcServer,
  options: EvrmoreRPCClientOptions = {},
): EvrmoreRPCClient {
  return new EvrmoreRPCClient({
    url: server.url,
    user: server.user,
    password: server.password,
    env: false,
    ...options,
  });
}
