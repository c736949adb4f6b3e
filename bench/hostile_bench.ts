/**
 * Hostile load (issue 8): honest clients' event latency with and without
 * floods, measured in the same run, as a ratio to the baseline.
 *
 * Run: `deno run -A bench/hostile_bench.ts [--clients N] [--seconds S]
 * [--rate R] [--only baseline,idle,...] [--getblock-clients C]
 * [--getblock-rate G] [--no-docs]` (defaults: 1,000 clients, 5 s per
 * scenario, 20 events/s, i.e. 20,000 messages/s; every scenario; attack (c)
 * with 50 clients × 20 commands/s). On the 2-core development machine
 * `--rate 200` (200,000 messages/s) saturates the server and the receivers
 * without any attack (baseline p50 ≈ 11 s), which makes the ratios
 * meaningless: pick a rate the baseline sustains.
 *
 * Three processes, as in `bench/websocket_bench.ts` (JSON lines over
 * pipes, see `_hostile_child.ts`):
 *
 * - the server (`_hostile_server_process.ts`): `EvrmoreWebSocketServer`
 *   with its defaults (guarded accept loop, handshake deadline, frame
 *   guard, per-address cap 50, send budgets, command gate) over stand-ins
 *   for the node, broadcasting synthetic `transaction`/`block` events at
 *   `R`/s, each stamped with the time it was due; it reports its RSS
 *   (`Deno.memoryUsage().rss`) and event-loop lag;
 * - the honest clients (`_hostile_receivers_process.ts`): N WebSocket
 *   clients subscribed to both topics, as if behind a trusted proxy on
 *   127.0.0.1 (`X-Forwarded-For: 10.x.y.z`, so the per-address cap applies
 *   to each of them); latency = receive time − due time;
 * - this one: the attackers (`_hostile_attacks.ts`), from 127.0.x.y
 *   source addresses (`node:net` `localAddress`), and the report.
 *
 * Scenarios, each S seconds of events after a 1 s ramp for the attackers to
 * connect: `baseline`; (a) `idle`: 500 silent connections + 200 half HTTP
 * requests; (b) `frames`: 20 clients announcing 60 MiB frames; (c)
 * `getblock`: 50 clients asking `getblock <hash> 2` (≈2 MB) 20 times a
 * second and never reading; (d) `commands`: 20 clients × 200 commands/s;
 * (e) `connections`: 2,000 connections opened and closed from one address;
 * `all`: (a)–(e) at once; `baseline again`, to see what the floods left
 * behind. Everything on 127.0.0.0/8; every scenario is bounded and its
 * sockets destroyed whatever happens; both children stop when the run ends
 * (stdin closed, then killed after 5 s).
 *
 * Prints a table and writes it into `docs/benchmarks.md` under
 * "Hostile load" (between markers; `--no-docs` to skip).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Child, spawnChild } from "./_hostile_child.ts";
import {
  addStats,
  Arena,
  type AttackStats,
  BIG_BLOCK_HASH,
  commandFlood,
  connectionFlood,
  hugeFrames,
  neverRead,
  slowloris,
} from "./_hostile_attacks.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "1000" },
    seconds: { type: "string", default: "5" },
    rate: { type: "string", default: "20" },
    only: { type: "string" },
    "getblock-clients": { type: "string", default: "50" },
    "getblock-rate": { type: "string", default: "20" },
    "no-docs": { type: "boolean", default: false },
  },
});

function positive(name: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new RangeError(`Cannot run: --${name} must be in (0, ${max}]`);
  }
  return value;
}

const CLIENTS = Math.round(positive("clients", flags.clients, 10_000));
const SECONDS = positive("seconds", flags.seconds, 120);
const RATE = positive("rate", flags.rate, 5_000);
const GETBLOCK_CLIENTS = Math.round(
  positive("getblock-clients", flags["getblock-clients"], 1000),
);
const GETBLOCK_RATE = positive("getblock-rate", flags["getblock-rate"], 1000);
const RAMP_MS = 1000;
/**
 * After the events stop: how long the honest clients may take to get them
 * all; what has not arrived by then counts as lost.
 */
const DRAIN_MS = 15_000;

type Attack = (arena: Arena, port: number) => Promise<AttackStats>;

// Source networks 127.0.<net>.x, one per attack and per scenario.
const attacks = (base: number): Record<string, Attack> => ({
  idle: (arena, port) =>
    slowloris(arena, port, { idle: 500, partial: 200, net: base + 1 }),
  frames: (arena, port) =>
    hugeFrames(arena, port, { clients: 20, megabytes: 60, net: base + 3 }),
  getblock: (arena, port) =>
    neverRead(arena, port, {
      clients: GETBLOCK_CLIENTS,
      perSecond: GETBLOCK_RATE,
      hash: BIG_BLOCK_HASH,
      net: base + 4,
    }),
  commands: (arena, port) =>
    commandFlood(arena, port, { clients: 20, perSecond: 200, net: base + 5 }),
  connections: (arena, port) =>
    connectionFlood(arena, port, { total: 2000, parallel: 50, net: base + 6 }),
});

interface Scenario {
  name: string;
  label: string;
  attacks: Attack[];
}

const SCENARIOS: Scenario[] = (() => {
  const one = attacks(0);
  const all = attacks(100);
  return [
    { name: "baseline", label: "baseline (honest only)", attacks: [] },
    {
      name: "idle",
      label: "(a) 500 idle + 200 half-HTTP",
      attacks: [one.idle!],
    },
    { name: "frames", label: "(b) 20 × 60 MiB frames", attacks: [one.frames!] },
    {
      name: "getblock",
      label:
        `(c) ${GETBLOCK_CLIENTS} × ${GETBLOCK_RATE}/s getblock 2 MB, never read`,
      attacks: [one.getblock!],
    },
    {
      name: "commands",
      label: "(d) 20 × 200 commands/s",
      attacks: [one.commands!],
    },
    {
      name: "connections",
      label: "(e) 2,000 connect/close, 1 address",
      attacks: [one.connections!],
    },
    { name: "all", label: "(a)–(e) at once", attacks: Object.values(all) },
    { name: "after", label: "baseline again", attacks: [] },
  ];
})();

interface Row {
  label: string;
  p50?: number;
  p99?: number;
  max?: number;
  expected?: number;
  received?: number;
  rssBefore?: number;
  rssPeak?: number;
  rssAfter?: number;
  lagMax?: number;
  slowClosed?: number;
  honestClosed?: number;
  attack?: AttackStats;
  error?: string;
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3)
      .join(" ");
  } catch {
    return "unknown";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runScenario(
  scenario: Scenario,
  index: number,
  server: Child,
  receivers: Child,
  port: number,
): Promise<Row> {
  const row: Row = { label: scenario.label };
  const controller = new AbortController();
  const arena = new Arena(controller.signal);
  // Bounded: the attacks end with the scenario, the whole thing in time.
  const deadline = setTimeout(
    () => controller.abort(),
    RAMP_MS + SECONDS * 1000 + 60_000,
  );
  const attacking = Promise.all(
    scenario.attacks.map((attack) =>
      attack(arena, port).catch((error): AttackStats => {
        console.error(`${scenario.name}: attack failed: ${error}`);
        return { connections: 0, cut: 0, bytesOut: 0, bytesIn: 0, messages: 0 };
      })
    ),
  );
  try {
    const before = await receivers.request(
      { op: "report", scenario: index },
      10_000,
    );
    if (scenario.attacks.length > 0) await sleep(RAMP_MS);
    const ran = await server.request(
      { op: "run", scenario: index, rate: RATE, seconds: SECONDS },
      SECONDS * 1000 + 60_000,
    );
    controller.abort();
    row.expected = (ran.events as number) * (before.open as number);
    row.rssBefore = ran.rssBefore as number;
    row.rssPeak = ran.rssPeak as number;
    row.lagMax = ran.lagMax as number;
    row.slowClosed = ran.slowClientsClosed as number;
    // Wait (bounded) for the honest clients to get every event.
    let report = await receivers.request(
      { op: "report", scenario: index },
      10_000,
    );
    const drainEnd = performance.now() + DRAIN_MS;
    while (
      (report.received as number) < row.expected &&
      performance.now() < drainEnd
    ) {
      await sleep(100);
      report = await receivers.request(
        { op: "report", scenario: index },
        10_000,
      );
    }
    row.received = report.received as number;
    row.p50 = report.p50 as number;
    row.p99 = report.p99 as number;
    row.max = report.max as number;
    row.honestClosed = (report.closedByServer as number) -
      (before.closedByServer as number);
  } catch (error) {
    row.error = error instanceof Error ? error.message : String(error);
  } finally {
    controller.abort();
    clearTimeout(deadline);
    arena.close();
    const stats = await Promise.race([
      attacking,
      sleep(10_000).then(() => undefined),
    ]);
    if (stats !== undefined) {
      row.attack = stats.reduce(addStats, {
        connections: 0,
        cut: 0,
        bytesOut: 0,
        bytesIn: 0,
        messages: 0,
      });
    }
    arena.close(); // and whatever connected after the first close
  }
  try {
    await sleep(1000); // let the server see the closes
    const rss = await server.request({ op: "rss" }, 10_000);
    row.rssAfter = rss.rss as number;
  } catch {
    // reported as missing
  }
  return row;
}

const ms = (value: number | undefined) =>
  value === undefined || Number.isNaN(value) ? "–" : value.toFixed(1);
const mib = (value: number | undefined) =>
  value === undefined ? "–" : (value / 2 ** 20).toFixed(0);

function table(rows: Row[]): string {
  const baseline = rows.find((row) => row.label.startsWith("baseline"))?.p99;
  const header = [
    "scenario",
    "p50 ms",
    "p99 ms",
    "max ms",
    "p99 ÷ baseline",
    "lost / expected",
    "server RSS MiB before → peak → after",
    "loop lag max ms",
    "attackers: conns (cut), msgs, MiB out",
  ];
  const lines = rows.map((row) => {
    if (row.error !== undefined && row.p99 === undefined) {
      return [row.label, `failed: ${row.error}`, "", "", "", "", "", "", ""];
    }
    const lost = row.expected === undefined || row.received === undefined
      ? "–"
      : `${Math.max(0, row.expected - row.received)} / ${row.expected}` +
        (row.honestClosed ? ` (${row.honestClosed} clients cut)` : "");
    const ratio = baseline !== undefined && row.p99 !== undefined
      ? `${(row.p99 / baseline).toFixed(2)}x`
      : "–";
    const a = row.attack;
    return [
      row.label,
      ms(row.p50),
      ms(row.p99),
      ms(row.max),
      ratio,
      lost,
      `${mib(row.rssBefore)} → ${mib(row.rssPeak)} → ${mib(row.rssAfter)}`,
      ms(row.lagMax),
      a === undefined || a.connections + a.cut === 0
        ? "–"
        : `${a.connections} (${a.cut}), ${a.messages}, ${
          (a.bytesOut / 2 ** 20).toFixed(0)
        }`,
    ];
  });
  const all = [header, ...lines];
  const widths = header.map((_, i) =>
    Math.max(3, ...all.map((line) => line[i]!.length))
  );
  const format = (line: string[]) =>
    `| ${line.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    format(header),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...lines.map(format),
  ].join("\n");
}

const BEGIN = "<!-- hostile_bench:begin -->";
const END = "<!-- hostile_bench:end -->";

function writeDocs(block: string): void {
  const path = new URL("../docs/benchmarks.md", import.meta.url);
  let text = Deno.readTextFileSync(path);
  const marked = `${BEGIN}\n\n${block}\n\n${END}`;
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin >= 0 && end > begin) {
    text = text.slice(0, begin) + marked + text.slice(end + END.length);
  } else {
    if (!text.includes("## Hostile load")) {
      text = text.trimEnd() + "\n\n## Hostile load\n";
    }
    text = text.trimEnd() + "\n\n" + marked + "\n";
  }
  Deno.writeTextFileSync(path, text);
  // Keep `deno fmt --check` clean (it wraps the prose line).
  new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", path.pathname],
    stdout: "null",
    stderr: "inherit",
  }).outputSync();
}

const only = flags.only?.split(",").map((s) => s.trim());
const chosen = SCENARIOS.filter((s) =>
  only === undefined || only.includes(s.name)
);
const config = new URL("../deno.json", import.meta.url).pathname;
const server = spawnChild(
  new URL("./_hostile_server_process.ts", import.meta.url),
  [
    `--config=${config}`,
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
  ],
);
const receivers = spawnChild(
  new URL("./_hostile_receivers_process.ts", import.meta.url),
  ["--no-config", "--allow-net=127.0.0.1"],
);
// Last resort: whatever hangs, the run ends and takes its children along.
const hardStop = setTimeout(async () => {
  console.error("hostile_bench: out of time, stopping");
  await Promise.all([server.stop(), receivers.stop()]);
  Deno.exit(2);
}, chosen.length * (SECONDS * 1000 + 90_000) + 120_000);

const loadBefore = loadAverage();
const started = new Date().toISOString();
const rows: Row[] = [];
let exitCode = 0;
try {
  const { port } = await server.ready as { op: string; port: number };
  await receivers.ready;
  console.error(
    `hostile_bench: server on 127.0.0.1:${port}; opening ${CLIENTS} honest clients`,
  );
  await receivers.request(
    { op: "open", url: `ws://127.0.0.1:${port}/`, clients: CLIENTS },
    120_000,
  );
  for (const [i, scenario] of chosen.entries()) {
    console.error(`hostile_bench: ${scenario.label}...`);
    const row = await runScenario(scenario, i, server, receivers, port);
    if (row.error !== undefined) {
      console.error(`hostile_bench: ${scenario.name}: ${row.error}`);
      exitCode = 1;
    }
    rows.push(row);
  }
  const metrics = await server.request({ op: "metrics" }, 10_000);
  console.error(
    "hostile_bench: server counters:\n  " +
      (metrics.lines as string[]).join("\n  "),
  );
  const errors = await server.request({ op: "rss" }, 10_000);
  const reported = errors.errors as Record<string, number>;
  if (Object.keys(reported).length > 0) {
    console.error("hostile_bench: server onError:", reported);
  }
} catch (error) {
  console.error(`hostile_bench: ${error}`);
  exitCode = 1;
} finally {
  await receivers.request({ op: "close" }, 30_000).catch(() => {});
  await Promise.all([server.stop(), receivers.stop()]);
  clearTimeout(hardStop);
}

const command = `deno run -A bench/hostile_bench.ts --clients ${CLIENTS} ` +
  `--seconds ${SECONDS} --rate ${RATE}` +
  (GETBLOCK_CLIENTS === 50 && GETBLOCK_RATE === 20
    ? ""
    : ` --getblock-clients ${GETBLOCK_CLIENTS} --getblock-rate ${GETBLOCK_RATE}`) +
  (flags.only === undefined ? "" : ` --only ${flags.only}`);
const block = [
  `\`${command}\` — ${started}, Deno ${Deno.version.deno}, ` +
  `${navigator.hardwareConcurrency} cores, load average ${loadBefore} before, ` +
  `${loadAverage()} after.`,
  "",
  table(rows),
].join("\n");
console.log(block);
if (!flags["no-docs"] && rows.length > 0) writeDocs(block);
Deno.exit(exitCode);
