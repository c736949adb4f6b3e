/**
 * What the `GuardedListener` front costs against `Deno.serve` reached
 * directly, measured in the same run: WebSocket handshake time, echo round
 * trips, and a fan-out of server messages to many clients. Clients run in
 * this process too, so both setups share one CPU the same way.
 *
 * Run: `deno run -A bench/listener_bench.ts [clients=200] [messages=300]`
 *
 * @module
 */

import { GuardedListener } from "../lib/websocket/_listener.ts";

const CLIENTS = Number(Deno.args[0] ?? 200);
const MESSAGES = Number(Deno.args[1] ?? 300);
const PAYLOAD = "x".repeat(1024);

interface Setup {
  port: number;
  sockets: Set<WebSocket>;
  close(): Promise<void>;
}

function handler(sockets: Set<WebSocket>) {
  return (req: Request): Response => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => sockets.add(socket);
    socket.onclose = () => sockets.delete(socket);
    socket.onmessage = (e) => socket.send(e.data);
    return response;
  };
}

async function direct(): Promise<Setup> {
  const sockets = new Set<WebSocket>();
  const ready = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: (a) => ready.resolve(a.port) },
    handler(sockets),
  );
  return { port: await ready.promise, sockets, close: () => server.shutdown() };
}

async function guarded(): Promise<Setup> {
  const sockets = new Set<WebSocket>();
  const dir = await Deno.makeTempDir();
  const path = `${dir}/inner.sock`;
  const ready = Promise.withResolvers<void>();
  const server = Deno.serve(
    { path, onListen: () => ready.resolve() },
    handler(sockets),
  );
  await ready.promise;
  const front = new GuardedListener({ port: 0, upstream: { path } });
  return {
    port: front.addr.port,
    sockets,
    async close() {
      await front.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function open(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("Cannot connect"));
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function measure(setup: Setup) {
  // Handshakes, one after another.
  const handshakes: number[] = [];
  const clients: WebSocket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const t = performance.now();
    clients.push(await open(setup.port));
    handshakes.push(performance.now() - t);
  }
  while (setup.sockets.size < CLIENTS) {
    await new Promise((r) => setTimeout(r, 5));
  }
  // Echo round trips on one client.
  const echo: number[] = [];
  const c0 = clients[0]!;
  for (let i = 0; i < 500; i++) {
    const t = performance.now();
    const got = new Promise((r) => (c0.onmessage = r));
    c0.send("ping");
    await got;
    echo.push(performance.now() - t);
  }
  c0.onmessage = null;
  // Fan-out: every message to every client.
  let remaining = CLIENTS * MESSAGES;
  const done = Promise.withResolvers<void>();
  for (const c of clients) {
    c.onmessage = () => {
      if (--remaining === 0) done.resolve();
    };
  }
  const t = performance.now();
  for (let m = 0; m < MESSAGES; m++) {
    for (const s of setup.sockets) s.send(PAYLOAD);
    if (m % 20 === 19) await new Promise((r) => setTimeout(r, 0));
  }
  await done.promise;
  const fanOutMs = performance.now() - t;
  for (const c of clients) c.close();
  while (setup.sockets.size > 0) await new Promise((r) => setTimeout(r, 5));
  return {
    handshakeP50: percentile(handshakes, 0.5),
    echoP50: percentile(echo, 0.5),
    echoP99: percentile(echo, 0.99),
    fanOutMs,
  };
}

const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
for (
  const [name, make] of [["direct", direct], ["guarded", guarded]] as const
) {
  const setup = await make();
  await measure(setup); // warm-up
  results[name] = await measure(setup);
  await setup.close();
}
const d = results.direct!, g = results.guarded!;
const row = (label: string, a: number, b: number) =>
  console.log(
    `${label.padEnd(22)} direct ${a.toFixed(2).padStart(9)}  guarded ${
      b.toFixed(2).padStart(9)
    }  ratio ${(b / a).toFixed(2)}x`,
  );
console.log(`clients ${CLIENTS}, fan-out ${MESSAGES} × 1 KiB messages`);
row("handshake p50 (ms)", d.handshakeP50, g.handshakeP50);
row("echo p50 (ms)", d.echoP50, g.echoP50);
row("echo p99 (ms)", d.echoP99, g.echoP99);
row("fan-out total (ms)", d.fanOutMs, g.fanOutMs);
