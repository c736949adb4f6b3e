/**
 * The server under test of `bench/hostile_bench.ts`, in its own process:
 * an `EvrmoreWebSocketServer` with its default guarded accept loop and
 * limits over stand-ins for the node, plus an event pump that broadcasts
 * synthetic `transaction` and `block` events at a fixed rate, each carrying
 * the time it was due (`data.t`, `performance.timeOrigin +
 * performance.now()`), its scenario (`data.s`) and its number (`data.n`).
 *
 * The stand-in RPC answers `getblock` with a ≈2 MB verbose block (built
 * once), `getblockcount` with 170, anything else `null`.
 *
 * Driven by JSON lines on stdin (see `_hostile_child.ts`): prints
 * `{"op":"ready","port":...}`, then answers `{"op":"run","scenario":s,
 * "rate":r,"seconds":n}` with the events sent, the event loop's worst lag
 * and the RSS (before, peak, after) and `{"op":"rss"}` with the RSS now.
 * Stops the server and exits when stdin closes.
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read --allow-write
 * --allow-env bench/_hostile_server_process.ts` (the guard's Unix socket
 * lives in a temporary directory).
 *
 * @module
 */

import { EvrmoreWebSocketServer } from "../lib/websocket/mod.ts";
import { type LineMessage, now, serveLines } from "./_hostile_child.ts";
import { BIG_BLOCK_HASH } from "./_hostile_attacks.ts";

/** A verbose block of about `bytes` bytes of JSON, deterministic. */
export function bigBlock(bytes: number): Record<string, unknown> {
  const tx: unknown[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const txid = (i.toString(16).padStart(8, "0")).repeat(8);
    const entry = {
      txid,
      hash: txid,
      version: 2,
      size: 225,
      vsize: 225,
      locktime: 0,
      vin: [{
        txid: txid.split("").reverse().join(""),
        vout: i % 4,
        scriptSig: { asm: "3045...01 02ab...", hex: "47".repeat(53) },
        sequence: 4294967295,
      }],
      vout: [{
        value: 1.5 + i,
        n: 0,
        scriptPubKey: {
          asm: "OP_DUP OP_HASH160 ab OP_EQUALVERIFY OP_CHECKSIG",
          hex: "76a914" + "ab".repeat(20) + "88ac",
          type: "pubkeyhash",
          addresses: ["EXhPvjB4bG8VhFuYrUXk4uMBiJ8X7Cr5dW"],
        },
      }],
    };
    size += JSON.stringify(entry).length + 1;
    tx.push(entry);
  }
  return { hash: BIG_BLOCK_HASH, height: 170, size, tx };
}

if (import.meta.main) {
  const block = bigBlock(2_000_000);
  const errors = new Map<string, number>();
  const server = new EvrmoreWebSocketServer({
    rpcClient: {
      call: (method) =>
        Promise.resolve(
          method === "getblock"
            ? block
            : method === "getblockcount"
            ? 170
            : null,
        ),
      getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
    },
    zmqClient: { on: () => () => {}, start: () => Promise.resolve() },
    host: "127.0.0.1",
    port: 0,
    startZmq: false,
    dashboard: false,
    // The honest receivers connect through a "proxy" on 127.0.0.1 that
    // names each of them in X-Forwarded-For; the attackers connect from
    // 127.0.x.y and count under their own address (default cap: 50).
    trustProxy: ["127.0.0.1"],
    onError: (error) => {
      const key = error.message.slice(0, 80);
      errors.set(key, (errors.get(key) ?? 0) + 1);
    },
  });
  await server.start();

  const run = async (
    scenario: number,
    rate: number,
    seconds: number,
  ): Promise<LineMessage> => {
    const rssBefore = Deno.memoryUsage().rss;
    let rssPeak = rssBefore;
    const before = server.stats;
    const start = now();
    const total = Math.round(rate * seconds);
    let sent = 0;
    let lagMax = 0;
    let lastTick = start;
    while (sent < total) {
      await new Promise((r) => setTimeout(r, 2));
      const t = now();
      lagMax = Math.max(lagMax, t - lastTick - 2);
      lastTick = t;
      const due = Math.min(total, Math.floor((t - start) * rate / 1000));
      for (; sent < due; sent++) {
        // The time the event was due: event-loop stalls count as latency.
        const data = { t: start + sent * 1000 / rate, s: scenario, n: sent };
        if (sent % 10 === 9) {
          void server.broadcast("blocks", {
            type: "block",
            data: { ...data, hash: BIG_BLOCK_HASH, height: 170 + sent },
          });
        } else {
          void server.broadcast("transactions", {
            type: "transaction",
            data: { ...data, txid: sent.toString(16).padStart(64, "0") },
          });
        }
      }
      const rss = Deno.memoryUsage().rss;
      if (rss > rssPeak) rssPeak = rss;
    }
    const after = server.stats;
    return {
      op: "ran",
      events: sent,
      lagMax,
      rssBefore,
      rssPeak,
      rssAfter: Deno.memoryUsage().rss,
      clients: after.clients,
      slowClientsClosed: after.slowClientsClosed - before.slowClientsClosed,
    };
  };

  await serveLines({ op: "ready", port: server.port }, (message) => {
    switch (message.op) {
      case "run":
        return run(
          message.scenario as number,
          message.rate as number,
          message.seconds as number,
        );
      case "rss":
        return Promise.resolve({
          op: "rss",
          rss: Deno.memoryUsage().rss,
          clients: server.stats.clients,
          errors: Object.fromEntries(errors),
        });
      case "metrics":
        // The server's own counters (commands, errors, closes), for the log.
        return Promise.resolve({
          op: "metrics",
          lines: server.metrics().split("\n").filter((line) =>
            !line.startsWith("#") && /command|error|closed|reject/.test(line)
          ),
        });
      default:
        return Promise.reject(new Error(`unknown op ${message.op}`));
    }
  });
  await server.stop();
  Deno.exit(0);
}
