/**
 * Load measurements of `EvrmoreRPCClient` against a node (the fixture server
 * with its emulated work queue, or a real node), each beside a raw `fetch`
 * baseline measured in the same run, interleaved round by round so drift
 * hits both sides alike. Used by `rpc_bench.ts` and `rpc_node_bench.ts`.
 *
 * Reported: successful calls per second and failed calls for
 * - concurrency 100 (`getblockcount`): raw `fetch` (100 requests at once,
 *   the node refuses those beyond its work queue) versus the client with
 *   its defaults except single-flight (cap 8, automatic batching), so the
 *   ratio shows batching alone; and the client with all defaults;
 * - concurrency 1: raw `fetch` versus the client (defaults);
 * - single-flight: HTTP requests made by 100 identical concurrent calls
 *   (counted by wrapping `globalThis.fetch`).
 *
 * @module
 */

import { EvrmoreRPCClient } from "../lib/rpc/mod.ts";

/** Where to send calls. */
export interface LoadTarget {
  url: string;
  user: string;
  password: string;
}

/** Iteration counts of {@linkcode measureLoad}. */
export interface LoadOptions {
  /** Rounds of 100 concurrent calls per side (default 100). */
  rounds?: number;
  /** Sequential calls per side at concurrency 1 (default 2000). */
  sequential?: number;
}

/** One side of a comparison. */
export interface LoadLine {
  name: string;
  ok: number;
  failed: number;
  ms: number;
  /** Successful calls per second. */
  rate: number;
}

/** The measurements and their ratios to the raw baseline. */
export interface LoadReport {
  c100: { raw: LoadLine; batching: LoadLine; defaults: LoadLine };
  c1: { raw: LoadLine; client: LoadLine };
  singleFlight: { calls: number; requests: number };
  ratios: { c100Batching: number; c100Defaults: number; c1: number };
}

class Tally {
  ok = 0;
  failed = 0;
  ms = 0;
  constructor(readonly name: string) {}
  line(): LoadLine {
    return {
      name: this.name,
      ok: this.ok,
      failed: this.failed,
      ms: Math.round(this.ms),
      rate: Math.round(this.ok / (this.ms / 1000)),
    };
  }
}

async function timed(
  tally: Tally,
  calls: number,
  run: () => Promise<unknown>,
  concurrent: boolean,
): Promise<void> {
  const started = performance.now();
  if (concurrent) {
    const outcomes = await Promise.allSettled(
      Array.from({ length: calls }, run),
    );
    for (const outcome of outcomes) {
      if (outcome.status === "fulfilled") tally.ok++;
      else tally.failed++;
    }
  } else {
    for (let i = 0; i < calls; i++) {
      try {
        await run();
        tally.ok++;
      } catch {
        tally.failed++;
      }
    }
  }
  tally.ms += performance.now() - started;
}

/** Measures the client against `target`; see the module doc. */
export async function measureLoad(
  target: LoadTarget,
  options: LoadOptions = {},
): Promise<LoadReport> {
  const rounds = options.rounds ?? 100;
  const sequential = options.sequential ?? 2000;
  const headers = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Authorization": `Basic ${btoa(`${target.user}:${target.password}`)}`,
  };
  let nextId = 1;
  // The raw baseline: one request per call, the body parsed, a JSON-RPC
  // error or a refused request counted as a failure.
  const raw = async (): Promise<unknown> => {
    const response = await fetch(target.url, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "1.0",
        id: nextId++,
        method: "getblockcount",
        params: [],
      }),
    });
    const text = await response.text();
    const reply = JSON.parse(text) as { result?: unknown; error?: unknown };
    if (reply.error !== null && reply.error !== undefined) {
      throw new Error(JSON.stringify(reply.error));
    }
    return reply.result;
  };
  const base = {
    url: target.url,
    user: target.user,
    password: target.password,
    env: false,
  };
  await using batching = new EvrmoreRPCClient({ ...base, singleFlight: false });
  await using defaults = new EvrmoreRPCClient(base);

  // Warm both sides.
  for (let i = 0; i < 5; i++) {
    await Promise.allSettled(Array.from({ length: 100 }, raw));
    await Promise.allSettled(
      Array.from({ length: 100 }, () => batching.getblockcount()),
    );
    await Promise.allSettled(
      Array.from({ length: 100 }, () => defaults.getblockcount()),
    );
  }
  for (let i = 0; i < 500; i++) {
    await raw();
    await defaults.getblockcount();
  }

  const c100 = {
    raw: new Tally("raw fetch x100"),
    batching: new Tally("client x100 (cap 8, batching, singleFlight off)"),
    defaults: new Tally("client x100 (defaults)"),
  };
  for (let round = 0; round < rounds; round++) {
    await timed(c100.raw, 100, raw, true);
    await timed(c100.batching, 100, () => batching.getblockcount(), true);
    await timed(c100.defaults, 100, () => defaults.getblockcount(), true);
  }
  const c1 = {
    raw: new Tally("raw fetch x1"),
    client: new Tally("client x1 (defaults)"),
  };
  const chunk = 100;
  for (let done = 0; done < sequential; done += chunk) {
    await timed(c1.raw, chunk, raw, false);
    await timed(c1.client, chunk, () => defaults.getblockcount(), false);
  }

  // Single-flight: count the HTTP requests of 100 identical concurrent calls.
  const realFetch = globalThis.fetch;
  let requests = 0;
  globalThis.fetch = (...args: Parameters<typeof fetch>) => {
    requests++;
    return realFetch(...args);
  };
  try {
    await using fresh = new EvrmoreRPCClient(base);
    await fresh.getblockcount(); // settings resolved, connection open
    requests = 0;
    const results = await Promise.all(
      Array.from({ length: 100 }, () => fresh.getblockcount()),
    );
    if (new Set(results).size !== 1) {
      throw new Error("single-flight callers saw different results");
    }
  } finally {
    globalThis.fetch = realFetch;
  }

  const report: LoadReport = {
    c100: {
      raw: c100.raw.line(),
      batching: c100.batching.line(),
      defaults: c100.defaults.line(),
    },
    c1: { raw: c1.raw.line(), client: c1.client.line() },
    singleFlight: { calls: 100, requests },
    ratios: { c100Batching: 0, c100Defaults: 0, c1: 0 },
  };
  const ratio = (a: LoadLine, b: LoadLine) =>
    Math.round((a.rate / Math.max(1, b.rate)) * 100) / 100;
  report.ratios = {
    c100Batching: ratio(report.c100.batching, report.c100.raw),
    c100Defaults: ratio(report.c100.defaults, report.c100.raw),
    c1: ratio(report.c1.client, report.c1.raw),
  };
  return report;
}

/** Prints a report as a small table. */
export function printLoad(title: string, report: LoadReport): void {
  const rows = [
    report.c100.raw,
    report.c100.batching,
    report.c100.defaults,
    report.c1.raw,
    report.c1.client,
  ];
  console.log(`\n${title}`);
  for (const row of rows) {
    console.log(
      `  ${row.name.padEnd(50)} ${String(row.rate).padStart(8)} ok calls/s  ${
        String(row.failed).padStart(6)
      } failed`,
    );
  }
  console.log(
    `  ratio c100 batching / raw: ${report.ratios.c100Batching}x` +
      `   c100 defaults / raw: ${report.ratios.c100Defaults}x` +
      `   c1 client / raw: ${report.ratios.c1}x`,
  );
  console.log(
    `  single-flight: ${report.singleFlight.calls} identical concurrent calls -> ${report.singleFlight.requests} HTTP request(s)`,
  );
}
