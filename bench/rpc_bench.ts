/**
 * EvrmoreRPCClient throughput against the fixture node, each group beside a
 * raw `fetch` baseline measured in the same run.
 *
 * Run: `deno bench -A bench/rpc_bench.ts`
 *
 * Read the "x faster/slower" summary of each group: it is the ratio of the
 * client to the raw baseline (`baseline: true`). One iteration of the
 * `concurrency N` groups issues N calls at once, so calls/sec = N × iter/s;
 * one iteration of `batch of 1000` is one HTTP request carrying 1,000 calls.
 * Iteration counts are fixed (`n`, `warmup`), so a run is bounded.
 *
 * Fairness: the raw baseline does the client's work and no more or less of
 * what is observable on the wire or in the answer: the same headers
 * (`Content-Type`, `Accept`, `Authorization`), the same body shape
 * (`{"jsonrpc":"1.0","id","method","params"}`), reads the body as text and
 * `JSON.parse`s it, and checks the reply is a JSON-RPC object with
 * `result`/`error` (each element, for the batch), throwing on an `error`.
 * It has no timeout, no abort signal, no concurrency cap, no retries and no
 * validation: those are the client's features, and what they cost is what
 * the ratio shows. The `validate: false` lines separate the validation cost
 * (zod) from the transport path; the `raw fetch + AbortSignal` lines (not a
 * target) show the floor of a cancellable call: in Deno a `signal` on a
 * `Request` costs a dependent `AbortSignal` per request, and the client needs
 * one per call for its timeout, `close()` and the caller's signal.
 *
 * Before timing, both sides are warmed on every path (bounded: ~25,000
 * calls). With a short warm-up, identical rows measured one after the other
 * got ~25% faster as the shared fetch/server code settled, which favoured
 * whichever line came later in a group (i.e. the client, never the
 * baseline).
 *
 * The fixture server runs in a separate process (`_rpc_server_process.ts`,
 * started with `Deno.Command`, stopped by closing its stdin) when the bench
 * may run subprocesses (`-A` or `--allow-run`), as a real node does. In the
 * same process the server's request handling (parse, look-up, id rewrite,
 * `Response`) runs on the bench's own thread and takes about half of every
 * iteration, which would dilute the client's overhead in the ratio; on a
 * 2-core machine it would also compete with the client for the CPU. In its
 * own process the server uses the other core and the ratios show the client
 * side only (and a real node is another process too). Without run
 * permission, or with
 * `RPC_BENCH_SERVER=inprocess`, the server starts in-process and the bench
 * says so on stderr. On the 2-core development machine both modes gave
 * ratios within noise of each other after the client's per-call path was
 * trimmed; the subprocess mode had the larger run-to-run spread.
 *
 * Under load: before the groups, a second fixture server emulating the
 * node's work queue (16 requests in flight, HTTP 500 "Work queue depth
 * exceeded" beyond) measures successful calls/s at concurrency 100 and 1
 * against a raw `fetch` loop, and counts the requests of 100 identical
 * concurrent calls (single-flight); see `_rpc_load.ts`. Targets: c100 ≥ 3x
 * with zero failed calls, c1 ≥ 0.95x, single-flight 1 request.
 * `RPC_BENCH_LOAD=0` skips it. `rpc_node_bench.ts` runs the same against a
 * real node.
 *
 * @module
 */

import { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import { startFixtureRpcServer } from "../tests/_rpc_fixture_server.ts";
import { measureLoad, printLoad } from "./_rpc_load.ts";

interface Endpoint {
  url: string;
  user: string;
  password: string;
  close(): void;
}

function wantProcess(): boolean {
  let mode: string | undefined;
  try {
    mode = Deno.env.get("RPC_BENCH_SERVER");
  } catch {
    // no env permission
  }
  if (mode === "inprocess") return false;
  return Deno.permissions.querySync({ name: "run" }).state === "granted";
}

async function startServer(workQueue?: number): Promise<Endpoint> {
  if (!wantProcess()) {
    console.error("rpc_bench: fixture server in-process");
    const server = await startFixtureRpcServer(
      workQueue === undefined ? {} : { workQueue },
    );
    return {
      url: server.url,
      user: server.user,
      password: server.password,
      close: () => void server.close(),
    };
  }
  const script = new URL("./_rpc_server_process.ts", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${new URL("../deno.json", import.meta.url).pathname}`,
      "--allow-net=127.0.0.1",
      "--allow-read",
      script.pathname,
      ...(workQueue === undefined ? [] : ["--work-queue", String(workQueue)]),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("Cannot start the fixture server process");
    line += value;
  }
  await reader.cancel();
  const info = JSON.parse(line) as Omit<Endpoint, "close">;
  console.error("rpc_bench: fixture server in its own process");
  const stdin = child.stdin.getWriter();
  return {
    ...info,
    close: () => {
      void stdin.close().catch(() => {});
      try {
        child.kill();
      } catch {
        // already gone
      }
    },
  };
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

if (env("RPC_BENCH_LOAD") !== "0") {
  const node = await startServer(16);
  try {
    printLoad(
      "Under load: fixture node with a work queue of 16 (successful calls/s)",
      await measureLoad(node),
    );
  } finally {
    node.close();
  }
}

const server = await startServer();
const headers = {
  "Content-Type": "application/json",
  "Accept": "application/json",
  "Authorization": `Basic ${btoa(`${server.user}:${server.password}`)}`,
};
const options = {
  url: server.url,
  user: server.user,
  password: server.password,
  env: false,
};
// The `cap N` lines measure the transport: single-flight off, or N
// identical concurrent calls would share one request. The `default cap 8`
// lines run with every default (batching and single-flight on).
const transport = { ...options, singleFlight: false };
const clients = {
  c1: new EvrmoreRPCClient({ ...transport, maxConcurrency: 1 }),
  c10: new EvrmoreRPCClient({ ...transport, maxConcurrency: 10 }),
  c100: new EvrmoreRPCClient({ ...transport, maxConcurrency: 100 }),
  byDefault: new EvrmoreRPCClient(options),
  unvalidated: new EvrmoreRPCClient({
    ...transport,
    maxConcurrency: 1,
    validate: false,
  }),
};
globalThis.addEventListener("unload", () => {
  for (const client of Object.values(clients)) client.close();
  server.close();
});

/** Throws like the client on a reply that is not JSON-RPC or is an error. */
function resultOf(reply: unknown): unknown {
  if (
    typeof reply !== "object" || reply === null || Array.isArray(reply) ||
    !("result" in reply || "error" in reply)
  ) {
    throw new Error("Cannot call: not a JSON-RPC reply");
  }
  const { result, error } = reply as { result?: unknown; error?: unknown };
  if (error !== null && error !== undefined) {
    throw new Error(`Cannot call: ${JSON.stringify(error)}`);
  }
  return result;
}

let nextId = 1;
async function rawCall(
  method: string,
  params: unknown[] = [],
  signal?: AbortSignal,
): Promise<unknown> {
  const init: RequestInit = {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "1.0", id: nextId++, method, params }),
  };
  if (signal !== undefined) init.signal = signal;
  const response = await fetch(server.url, init);
  return resultOf(JSON.parse(await response.text()));
}

function times<T>(n: number, fn: () => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, fn));
}

/** Iterations (after warm-up) per bench, by calls per iteration. */
function iterations(callsPerIteration: number): { n: number; warmup: number } {
  const n = Math.max(300, Math.round(10_000 / callsPerIteration));
  return { n, warmup: Math.max(50, Math.round(n / 10)) };
}

const batch = Array.from({ length: 1000 }, () => ({
  method: "getblockcount",
  params: [] as unknown[],
}));

async function rawBatch(): Promise<void> {
  const response = await fetch(server.url, {
    method: "POST",
    headers,
    body: JSON.stringify(
      batch.map((c) => ({
        jsonrpc: "1.0",
        id: nextId++,
        method: c.method,
        params: c.params,
      })),
    ),
  });
  const replies = JSON.parse(await response.text());
  if (!Array.isArray(replies) || replies.length !== batch.length) {
    throw new Error("Cannot send batch: not a batch reply");
  }
  for (const reply of replies) resultOf(reply);
}

// Warm both sides (server JIT included) on every path before timing, so the
// first line of a group (the baseline) does not pay for it. Bounded.
const blockHash = await rawCall("getblockhash", [162]) as string;
for (let round = 0; round < 20; round++) {
  await times(50, () => rawCall("getblockcount"));
  await times(50, () => clients.c100.getblockcount());
  await rawBatch();
  await clients.c1.batch(batch);
  await rawCall("getblock", [blockHash, 2]);
  await clients.c1.getblock(blockHash, 2);
}
// Then one call at a time (the first group's pattern), long enough for the
// shared fetch/server path to settle (see the module doc).
for (let i = 0; i < 10_000; i++) {
  await rawCall("getblockcount");
  await clients.c1.getblockcount();
}

for (const n of [1, 10, 100]) {
  const group = `concurrency ${n}`;
  const client = n === 1 ? clients.c1 : n === 10 ? clients.c10 : clients.c100;
  Deno.bench({
    name: `raw fetch getblockcount x${n}`,
    group,
    baseline: true,
    ...iterations(n),
    fn: async () => {
      await times(n, () => rawCall("getblockcount"));
    },
  });
  Deno.bench({
    name: `client.getblockcount() x${n} (cap ${n})`,
    group,
    ...iterations(n),
    fn: async () => {
      await times(n, () => client.getblockcount());
    },
  });
  if (n !== 10) {
    // Not a target: the floor a cancellable call pays in Deno (a signal on a
    // Request costs a dependent AbortSignal), which the client needs for its
    // timeout, close() and the caller's signal.
    Deno.bench({
      name: `raw fetch + AbortSignal getblockcount x${n}`,
      group,
      ...iterations(n),
      fn: async () => {
        await times(
          n,
          () => rawCall("getblockcount", [], new AbortController().signal),
        );
      },
    });
  }
  if (n === 1) {
    Deno.bench({
      name: "client.getblockcount() x1 (validate: false)",
      group,
      ...iterations(n),
      fn: async () => {
        await clients.unvalidated.getblockcount();
      },
    });
  } else {
    Deno.bench({
      name:
        `client.getblockcount() x${n} (defaults: cap 8, batching, single-flight)`,
      group,
      ...iterations(n),
      fn: async () => {
        await times(n, () => clients.byDefault.getblockcount());
      },
    });
  }
}

Deno.bench({
  name: "raw fetch batch of 1000",
  group: "batch of 1000",
  baseline: true,
  ...iterations(100),
  fn: rawBatch,
});
Deno.bench({
  name: "client.batch() of 1000",
  group: "batch of 1000",
  ...iterations(100),
  fn: async () => {
    for (const outcome of await clients.c1.batch(batch)) {
      if (outcome.error !== undefined) throw outcome.error;
    }
  },
});
Deno.bench({
  name: "client.batch() of 1000 (validate: false)",
  group: "batch of 1000",
  ...iterations(100),
  fn: async () => {
    for (const outcome of await clients.unvalidated.batch(batch)) {
      if (outcome.error !== undefined) throw outcome.error;
    }
  },
});

// Cost of validating a large answer (getblock verbosity 2 of the issue block).
Deno.bench({
  name: "raw fetch getblock 2",
  group: "getblock verbosity 2",
  baseline: true,
  ...iterations(1),
  fn: async () => {
    await rawCall("getblock", [blockHash, 2]);
  },
});
Deno.bench({
  name: "client.getblock(hash, 2) validated",
  group: "getblock verbosity 2",
  ...iterations(1),
  fn: async () => {
    await clients.c1.getblock(blockHash, 2);
  },
});
Deno.bench({
  name: "client.getblock(hash, 2) validate: false",
  group: "getblock verbosity 2",
  ...iterations(1),
  fn: async () => {
    await clients.unvalidated.getblock(blockHash, 2);
  },
});
