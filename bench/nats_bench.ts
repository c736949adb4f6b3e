/**
 * One ingest + two gateways on NATS JetStream against one standalone
 * `EvrmoreWebSocketServer`, measured in the same run on this machine:
 *
 * 1. **Fan-out**: messages/s delivered to `--clients` WebSocket clients
 *    (half on each gateway, or all on the standalone server), subscribed
 *    to `transactions`. The events enter each setup the same way: decoded
 *    `rawtx` notifications handed to the feed by an emitter standing in for
 *    the ZMQ client (`_nats_bench_process.ts`), `--events` per round as
 *    fast as it can, `--rounds` rounds after one warm-up round; the time of
 *    a round runs from the emit command to the last client's last message.
 *    Each server runs in its own process (ingest, gateway 1, gateway 2;
 *    standalone), the clients in two receiver processes
 *    (`_ws_receivers_process.ts`), nats-server in its own.
 * 2. **Latency**: emission → client, p50/p99/max, at a fixed `--rate`
 *    (events/s) for `--seconds`, to `--latency-clients` clients per setup
 *    (`_nats_latency_process.ts`; each txid carries its emission time).
 * 3. **RPC calls per block at the node**: an embedded devnet behind a
 *    counting JSON-RPC proxy (and a nats-server of its own); standalone, ingest + 1 gateway, ingest + 2
 *    gateways (in this process), one client each subscribed to `blocks`,
 *    `transactions` and `mempool`; `--blocks` blocks mined, each with a payment.
 *
 * Run: `PATH=$PATH:/usr/sbin deno run -A bench/nats_bench.ts --clients 2000`
 * (needs `nats-server`; see `tests/_nats_server.ts`). Prints a Markdown
 * table; ratios are 2 gateways ÷ standalone.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { EvrmoreDevnet } from "../lib/devnet/mod.ts";
import { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import { EvrmoreZMQClient } from "../lib/zmq/mod.ts";
import { EvrmoreWebSocketServer } from "../lib/websocket/mod.ts";
import {
  type NatsSettings,
  type Running,
  startGateway,
  startIngest,
} from "../lib/server/_nats_roles.ts";
import { NatsTestServer } from "../tests/_nats_server.ts";
import type {
  ReceiverCommand,
  ReceiverEvent,
} from "./_ws_receivers_process.ts";

const args = parseArgs({
  options: {
    clients: { type: "string", default: "2000" },
    events: { type: "string", default: "200" },
    rounds: { type: "string", default: "5" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "3" },
    "latency-clients": { type: "string", default: "10" },
    blocks: { type: "string", default: "10" },
  },
});
const positive = (name: keyof typeof args.values): number => {
  const n = Number(args.values[name]);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot run: --${name} must be an integer ≥ 1`);
  }
  return n;
};
const CLIENTS = positive("clients");
const EVENTS = positive("events");
const ROUNDS = positive("rounds");
const RATE = positive("rate");
const SECONDS = positive("seconds");
const LATENCY_CLIENTS = positive("latency-clients");
const BLOCKS = positive("blocks");
const WAIT_MS = 120_000;

// ---------------------------------------------------------------------------
// Child processes speaking JSON lines.

interface Child {
  send(value: unknown): void;
  /** The next line matching `op` (fails after WAIT_MS). */
  next<T = Record<string, unknown>>(op: string): Promise<T>;
  stop(): Promise<void>;
}

function spawn(script: string, argv: string[], permissions: string[]): Child {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissions,
      new URL(script, import.meta.url).pathname,
      ...argv,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  const reading = (async () => {
    let buffer = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        lines.push(JSON.parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
        for (const wake of waiters.splice(0)) wake();
      }
    }
    for (const wake of waiters.splice(0)) wake();
  })();
  let exited = false;
  void child.status.then(() => exited = true);
  return {
    send: (value) =>
      void stdin.write(encoder.encode(JSON.stringify(value) + "\n")),
    async next<T>(op: string): Promise<T> {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const i = lines.findIndex((l) => l.op === op || l.op === "error");
        if (i >= 0) {
          const [line] = lines.splice(i, 1);
          if (line!.op === "error") {
            throw new Error(`${script}: ${JSON.stringify(line)}`);
          }
          return line as T;
        }
        if (exited && lines.length === 0) {
          throw new Error(`${script} exited, no ${op}`);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${script}: no ${op} in time`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 1000));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async stop() {
      await stdin.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          child.kill();
        } catch {
          // gone
        }
      }, 10_000);
      await child.status;
      clearTimeout(timer);
      await reading.catch(() => {});
    },
  };
}

const SERVER = ["--allow-all"];
const RECEIVER = ["--no-config", "--allow-net=127.0.0.1"];

async function server(role: string, url?: string) {
  const child = spawn(
    "./_nats_bench_process.ts",
    url === undefined ? [role] : [role, url],
    SERVER,
  );
  const { port } = await child.next<{ port: number }>("ready");
  return { child, url: `ws://127.0.0.1:${port}/` };
}

// ---------------------------------------------------------------------------
// 1. Fan-out

async function fanOut(
  emitter: Child,
  urls: [string, string],
  label: string,
): Promise<number> {
  const receivers = [0, 1].map(() =>
    spawn("./_ws_receivers_process.ts", [], RECEIVER)
  );
  const halves = [Math.ceil(CLIENTS / 2), Math.floor(CLIENTS / 2)];
  try {
    for (let i = 0; i < 2; i++) {
      if (halves[i] === 0) continue;
      receivers[i]!.send(
        {
          op: "open",
          group: label,
          url: urls[i]!,
          clients: halves[i]!,
          subscribe: ["transactions"],
          every: EVENTS,
        } satisfies ReceiverCommand,
      );
      await receivers[i]!.next("opened");
    }
    const rates: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const start = performance.now();
      emitter.send({ op: "emit", count: EVENTS, rate: 0 });
      const reached = receivers.filter((_, i) => halves[i]! > 0).map((r) =>
        r.next<Extract<ReceiverEvent, { op: "reached" }>>("reached")
      );
      await Promise.all([...reached, emitter.next("emitted")]);
      const seconds = (performance.now() - start) / 1000;
      if (round > 0) rates.push((CLIENTS * EVENTS) / seconds);
    }
    rates.sort((a, b) => a - b);
    return rates[Math.floor(rates.length / 2)]!;
  } finally {
    for (const r of receivers) await r.stop();
  }
}

// ---------------------------------------------------------------------------
// 2. Latency

interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

async function latency(
  emitter: Child,
  urls: string[],
): Promise<Percentiles> {
  const count = RATE * SECONDS;
  const receivers = urls.map((url) =>
    spawn(
      "./_nats_latency_process.ts",
      [url, String(LATENCY_CLIENTS), String(count)],
      RECEIVER,
    )
  );
  try {
    for (const r of receivers) await r.next("ready");
    emitter.send({ op: "emit", count, rate: RATE });
    const all: number[] = [];
    for (const r of receivers) {
      all.push(...(await r.next<{ latencies: number[] }>("done")).latencies);
    }
    await emitter.next("emitted");
    all.sort((a, b) => a - b);
    const at = (q: number) =>
      all[Math.min(all.length - 1, Math.floor(q * all.length))]! / 1000;
    return { p50: at(0.5), p99: at(0.99), max: all.at(-1)! / 1000 };
  } finally {
    for (const r of receivers) await r.stop();
  }
}

// ---------------------------------------------------------------------------
// 3. RPC calls per block

/** A JSON-RPC proxy in front of the devnet that counts calls. */
function countingProxy(target: string) {
  const counts = new Map<string, number>();
  let total = 0;
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const body = await request.text();
      try {
        const parsed = JSON.parse(body) as unknown;
        for (const call of Array.isArray(parsed) ? parsed : [parsed]) {
          const method = String((call as { method?: unknown }).method);
          counts.set(method, (counts.get(method) ?? 0) + 1);
          total++;
        }
      } catch {
        // forwarded as is
      }
      const answer = await fetch(target, {
        method: "POST",
        headers: request.headers,
        body,
      });
      return new Response(answer.body, {
        status: answer.status,
        headers: answer.headers,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${http.addr.port}/`,
    get total() {
      return total;
    },
    counts,
    reset() {
      counts.clear();
      total = 0;
    },
    shutdown: () => http.shutdown(),
  };
}

/** A client of `url` subscribed to blocks, transactions and mempool. */
async function blockWatcher(url: string) {
  const ws = new WebSocket(url);
  const hashes = new Set<string>();
  const waiters: Array<() => void> = [];
  let answers = 0;
  const { promise: ready, resolve } = Promise.withResolvers<void>();
  ws.onopen = () => {
    ws.send(JSON.stringify({ action: "subscribe", topic: "blocks" }));
    ws.send(JSON.stringify({ action: "subscribe", topic: "transactions" }));
    ws.send(JSON.stringify({ action: "subscribe", topic: "mempool" }));
  };
  ws.onmessage = (event) => {
    const m = JSON.parse(event.data as string) as {
      type: string;
      data: { hash?: string };
    };
    if (m.type === "subscription" && ++answers === 3) resolve();
    if (m.type === "block" && m.data.hash) hashes.add(m.data.hash);
    for (const wake of waiters.splice(0)) wake();
  };
  await ready;
  return {
    hashes,
    async until(hash: string, ms = 30_000): Promise<boolean> {
      const deadline = Date.now() + ms;
      while (!hashes.has(hash) && Date.now() < deadline) {
        await new Promise<void>((wake) => {
          const timer = setTimeout(wake, 500);
          waiters.push(() => {
            clearTimeout(timer);
            wake();
          });
        });
      }
      return hashes.has(hash);
    },
    close: () => ws.close(),
  };
}

async function rpcPerBlock(
  gateways: number,
): Promise<{ perBlock: number; methods: string; startup: number }> {
  // Its own nats-server: the stream takes the devnet network's subjects.
  await using nats = await NatsTestServer.start();
  const devnet = new EvrmoreDevnet();
  await devnet.start();
  const proxy = countingProxy(devnet.rpcUrl);
  const rpc = new EvrmoreRPCClient({
    url: proxy.url,
    user: devnet.rpcUser,
    password: devnet.rpcPassword,
  });
  const zmq = new EvrmoreZMQClient({
    address: devnet.zmqAddress,
    network: devnet.network,
  });
  const report = (e: Error) => console.error(`nats_bench rpc: ${e.message}`);
  const running: Running[] = [];
  const watchers: Array<Awaited<ReturnType<typeof blockWatcher>>> = [];
  try {
    if (gateways === 0) {
      const standalone = new EvrmoreWebSocketServer({
        rpcClient: rpc,
        zmqClient: zmq,
        host: "127.0.0.1",
        port: 0,
        pingInterval: null,
        onError: report,
      });
      await standalone.start();
      running.push({ close: () => standalone.stop() });
      watchers.push(await blockWatcher(`ws://127.0.0.1:${standalone.port}/`));
    } else {
      const settings: NatsSettings = {
        servers: [nats.url],
        network: devnet.network,
        stream: "EVRRPC",
      };
      running.push(
        await startIngest(settings, {
          rpcClient: rpc,
          zmqClient: zmq,
          listen: false,
          onError: report,
        }, report),
      );
      for (let i = 0; i < gateways; i++) {
        const gateway = await startGateway(settings, {
          host: "127.0.0.1",
          port: 0,
          pingInterval: null,
          onError: report,
        }, report);
        running.push(gateway);
        watchers.push(
          await blockWatcher(`ws://127.0.0.1:${gateway.server.port}/`),
        );
      }
    }
    // Until one block gets through (the ZMQ slow joiner), then count.
    let through = false;
    for (let i = 0; i < 20 && !through; i++) {
      const [hash] = await devnet.mine(1);
      through = (await Promise.all(watchers.map((w) => w.until(hash!, 2000))))
        .every(Boolean);
    }
    if (!through) throw new Error("no block got through");
    const startup = proxy.total;
    proxy.reset();
    let last = "";
    for (let i = 0; i < BLOCKS; i++) {
      await devnet.sendPayment(undefined, 1);
      [last] = await devnet.mine(1) as [string];
    }
    for (const w of watchers) {
      if (!await w.until(last)) throw new Error("blocks did not arrive");
    }
    const methods = [...proxy.counts].sort(([a], [b]) => a.localeCompare(b))
      .map(([m, n]) => `${m} ${(n / BLOCKS).toFixed(1)}`).join(", ");
    return { perBlock: proxy.total / BLOCKS, methods, startup };
  } finally {
    for (const w of watchers) w.close();
    for (const r of running.reverse()) await r.close().catch(report);
    await zmq.close();
    await rpc.close();
    await proxy.shutdown();
    await devnet.stop();
  }
}

// ---------------------------------------------------------------------------

await using nats = await NatsTestServer.start();
const standalone = await server("standalone");
const ingest = await server("ingest", nats.url);
const gateway1 = await server("gateway", nats.url);
const gateway2 = await server("gateway", nats.url);
const children = [standalone, ingest, gateway1, gateway2].map((s) => s.child);
try {
  console.error(`nats_bench: fan-out to ${CLIENTS} clients…`);
  const soloRate = await fanOut(
    standalone.child,
    [standalone.url, standalone.url],
    "solo",
  );
  const natsRate = await fanOut(
    ingest.child,
    [gateway1.url, gateway2.url],
    "nats",
  );
  console.error(`nats_bench: latency at ${RATE} events/s…`);
  const soloLatency = await latency(standalone.child, [standalone.url]);
  const natsLatency = await latency(ingest.child, [gateway1.url, gateway2.url]);
  console.error("nats_bench: RPC calls per block…");
  const rpc0 = await rpcPerBlock(0);
  const rpc1 = await rpcPerBlock(1);
  const rpc2 = await rpcPerBlock(2);

  const f = (n: number, d = 0) =>
    n.toLocaleString("en-US", {
      minimumFractionDigits: d,
      maximumFractionDigits: d,
    });
  console.log(
    `| measure | standalone | ingest + 2 gateways | ratio (2 gw ÷ standalone) |
| --- | ---: | ---: | ---: |
| delivered msgs/s, ${
      f(CLIENTS)
    } clients × ${EVENTS} events (median of ${ROUNDS}) | ${f(soloRate)} | ${
      f(natsRate)
    } | ${f(natsRate / soloRate, 2)} |
| latency p50, ms (${f(RATE)} events/s, ${LATENCY_CLIENTS} clients/server) | ${
      f(soloLatency.p50, 2)
    } | ${f(natsLatency.p50, 2)} | ${f(natsLatency.p50 / soloLatency.p50, 2)} |
| latency p99, ms | ${f(soloLatency.p99, 2)} | ${f(natsLatency.p99, 2)} | ${
      f(natsLatency.p99 / soloLatency.p99, 2)
    } |
| latency max, ms | ${f(soloLatency.max, 2)} | ${f(natsLatency.max, 2)} | ${
      f(natsLatency.max / soloLatency.max, 2)
    } |
| node RPC calls per block (${BLOCKS} blocks, 1 payment each) | ${
      f(rpc0.perBlock, 1)
    } | ${f(rpc2.perBlock, 1)} (1 gateway: ${f(rpc1.perBlock, 1)}) | ${
      rpc0.perBlock === 0 ? "–" : f(rpc2.perBlock / rpc0.perBlock, 2)
    } |

RPC calls per block by method: standalone: ${
      rpc0.methods || "none"
    }; ingest + 1 gateway: ${rpc1.methods || "none"}; ingest + 2 gateways: ${
      rpc2.methods || "none"
    }. Calls while starting (before the first block got through): ${rpc0.startup}, ${rpc1.startup}, ${rpc2.startup}.`,
  );
} finally {
  for (const child of children) await child.stop();
}
