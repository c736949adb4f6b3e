/**
 * The honest clients of `bench/hostile_bench.ts`, in their own process:
 * WebSocket clients subscribed to `blocks` and `transactions` that record,
 * for every event, latency = receive time − the time the event was due
 * (`data.t`, same clock: `performance.timeOrigin + performance.now()`),
 * per scenario (`data.s`), in a histogram of 0.1 ms buckets (bounded memory
 * whatever the run's length).
 *
 * They connect as if through a reverse proxy on 127.0.0.1, each naming its
 * own address in `X-Forwarded-For` (10.x.y.z), so the server's per-address
 * cap applies to them as to clients spread over the internet.
 *
 * Driven by JSON lines on stdin (see `_hostile_child.ts`):
 * `{"op":"open","url":...,"clients":n}`, `{"op":"report","scenario":s}`
 * (received, p50/p99/max, clients closed by the server) and
 * `{"op":"close"}`; exits when stdin closes.
 *
 * Run: `deno run --allow-net=127.0.0.1 bench/_hostile_receivers_process.ts`.
 *
 * @module
 */

import { type LineMessage, now, serveLines } from "./_hostile_child.ts";

const BUCKET_MS = 0.1;
const BUCKETS = 600_000; // 60 s; beyond it, the last bucket
const CONNECT_TIMEOUT_MS = 30_000;
/** Connections opened at once: under the guard's 16 pending handshakes per address. */
const CONNECT_SLICE = 8;

/** Latencies of one scenario. */
export class LatencyHistogram {
  #buckets = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  /** Records one latency in ms. */
  add(ms: number): void {
    const bucket = Math.min(
      BUCKETS - 1,
      Math.max(0, Math.floor(ms / BUCKET_MS)),
    );
    this.#buckets[bucket]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The latency under which a fraction `q` of the samples fall (bucket top). */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#buckets[i]!;
      if (seen >= rank) return Math.min(this.max, (i + 1) * BUCKET_MS);
    }
    return this.max;
  }
}

/** Reads the number after `"key":` in a message text (no JSON.parse per message). */
function field(text: string, key: string): number {
  const at = text.indexOf(key);
  return at < 0
    ? NaN
    : parseFloat(text.slice(at + key.length, at + key.length + 24));
}

if (import.meta.main) {
  const histograms = new Map<number, LatencyHistogram>();
  const sockets: WebSocket[] = [];
  let closedByServer = 0;
  let closing = false;

  const connect = (url: string, index: number): Promise<WebSocket> => {
    const { promise, resolve, reject } = Promise.withResolvers<WebSocket>();
    const headers = {
      "x-forwarded-for": `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${
        index & 255
      }`,
    };
    const ws = new WebSocket(url, { headers });
    let answers = 2;
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error("Cannot open a receiver: timed out"));
    }, CONNECT_TIMEOUT_MS);
    ws.addEventListener("open", () => {
      for (const topic of ["blocks", "transactions"]) {
        ws.send(JSON.stringify({ action: "subscribe", topic }));
      }
    }, { once: true });
    ws.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error("Cannot open a receiver: connection failed"));
    }, { once: true });
    ws.addEventListener("close", () => {
      if (!closing) closedByServer++;
    }, { once: true });
    ws.addEventListener("message", (event) => {
      const text = event.data as string;
      if (text.startsWith('{"type":"welcome"')) return; // the server's hello
      if (answers > 0) {
        if (!text.includes('"subscription"')) {
          clearTimeout(timer);
          reject(new Error(`Cannot subscribe: ${text.slice(0, 200)}`));
          return;
        }
        if (--answers === 0) {
          clearTimeout(timer);
          resolve(ws);
        }
        return;
      }
      const received = now();
      const scenario = field(text, '"s":');
      let histogram = histograms.get(scenario);
      if (histogram === undefined) {
        histograms.set(scenario, histogram = new LatencyHistogram());
      }
      histogram.add(received - field(text, '"t":'));
    });
    return promise;
  };

  const close = async () => {
    closing = true;
    await Promise.all(
      sockets.splice(0).map((ws) => {
        if (ws.readyState === WebSocket.CLOSED) return;
        const { promise, resolve } = Promise.withResolvers<void>();
        const timer = setTimeout(resolve, 2000);
        ws.addEventListener("close", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
        ws.close();
        return promise;
      }),
    );
  };

  await serveLines({ op: "ready" }, async (message): Promise<LineMessage> => {
    switch (message.op) {
      case "open": {
        const clients = message.clients as number;
        for (let i = 0; i < clients; i += CONNECT_SLICE) {
          const slice = Math.min(CONNECT_SLICE, clients - i);
          sockets.push(
            ...await Promise.all(
              Array.from(
                { length: slice },
                (_, k) => connect(message.url as string, i + k + 1),
              ),
            ),
          );
        }
        return { op: "opened", clients: sockets.length };
      }
      case "report": {
        const h = histograms.get(message.scenario as number) ??
          new LatencyHistogram();
        return {
          op: "report",
          received: h.count,
          p50: h.quantile(0.5),
          p99: h.quantile(0.99),
          max: h.max,
          open: sockets.filter((ws) => ws.readyState === WebSocket.OPEN)
            .length,
          closedByServer,
        };
      }
      case "close":
        await close();
        return { op: "closed" };
      default:
        throw new Error(`unknown op ${message.op}`);
    }
  });
  await close();
  Deno.exit(0);
}
