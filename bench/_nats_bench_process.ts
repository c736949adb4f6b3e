/**
 * One server process of `bench/nats_bench.ts`:
 *
 * - `standalone`: an `EvrmoreWebSocketServer` whose ZMQ client is an
 *   emitter (below);
 * - `ingest <nats-url>`: `startIngest` over the same emitter, no port;
 * - `gateway <nats-url>`: `startGateway` (events from JetStream).
 *
 * The emitter hands the feed decoded `rawtx` notifications, as the ZMQ
 * client does, each with a distinct txid that carries its emission time
 * (µs since the epoch, from `performance.timeOrigin + performance.now()`)
 * so a receiver can compute the publish → client latency.
 *
 * Driven by JSON lines on stdin, answers JSON lines on stdout:
 * `{"op":"ready","port":N}` once started; `{"op":"emit","count":K,"rate":R}`
 * (R events/s, 0 = as fast as it can) answered `{"op":"emitted"}`. Exits
 * when stdin closes.
 *
 * @module
 */

import { decodeTransaction } from "../lib/encoding/mod.ts";
import type { ZMQNotification } from "../lib/zmq/types.ts";
import {
  EvrmoreWebSocketServer,
  type WebSocketServerRpc,
  type WebSocketServerZmq,
} from "../lib/websocket/mod.ts";
import { startGateway, startIngest } from "../lib/server/_nats_roles.ts";
import { FIXTURES_DIR } from "../tests/_rpc_fixture_server.ts";
import { benchTxid } from "./_nats_bench_time.ts";

function fixtureTx(): string {
  const dir = `${FIXTURES_DIR}/txs`;
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name.startsWith("send_evr_") && entry.name.endsWith(".hex")) {
      return Deno.readTextFileSync(`${dir}/${entry.name}`).trim();
    }
  }
  throw new Error("Cannot find a send_evr_ transaction fixture");
}

/** A ZMQ client that emits what it is told to. */
class Emitter implements WebSocketServerZmq {
  #handlers = new Set<(n: ZMQNotification) => void | Promise<void>>();
  #hex = fixtureTx();
  #tx = decodeTransaction(this.#hex, { network: "regtest" });
  #seq = 0;

  on<E extends string>(
    event: E,
    handler: (event: never) => void | Promise<void>,
  ): () => void {
    if (event !== "rawtx") return () => {};
    const h = handler as (n: ZMQNotification) => void;
    this.#handlers.add(h);
    return () => this.#handlers.delete(h);
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  emitOne(): void {
    const seq = ++this.#seq;
    const notification: ZMQNotification = {
      topic: "rawtx",
      body: new Uint8Array(0),
      hex: this.#hex,
      sequence: seq,
      receivedAt: Date.now(),
      transaction: { ...this.#tx, txid: benchTxid(seq) },
    };
    for (const handler of this.#handlers) void handler(notification);
  }

  /** `count` events at `rate`/s (0: batches of 50, yielding between). */
  async emit(count: number, rate: number): Promise<void> {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      if (rate > 0) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      } else if (i % 50 === 0) {
        await new Promise((r) => setTimeout(r, 0));
      }
      this.emitOne();
    }
  }
}

const NO_NODE: WebSocketServerRpc = {
  call: () => Promise.reject(new Error("no node in this bench")),
  getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
};

if (import.meta.main) {
  const [role, url] = Deno.args;
  const report = (error: Error) =>
    console.error(`nats_bench ${role}: ${error.message}`);
  const emitter = new Emitter();
  const settings = {
    servers: [url ?? ""],
    network: "regtest" as const,
    stream: "EVRBENCH",
  };
  let close: () => Promise<void>;
  let port = 0;
  if (role === "standalone") {
    const server = new EvrmoreWebSocketServer({
      rpcClient: NO_NODE,
      zmqClient: emitter,
      host: "127.0.0.1",
      port: 0,
      pingInterval: null,
      maxClients: 100_000,
      maxClientsPerIp: 0,
      // The guard allows 16 pending handshakes per address; the receivers
      // open 100 at a time from 127.0.0.1 (as behind a load balancer).
      guard: false,
      onError: report,
    });
    await server.start();
    port = server.port;
    close = () => server.stop();
  } else if (role === "ingest") {
    const ingest = await startIngest(settings, {
      rpcClient: NO_NODE,
      zmqClient: emitter,
      listen: false,
      onError: report,
    }, report);
    close = () => ingest.close();
  } else if (role === "gateway") {
    const gateway = await startGateway(settings, {
      host: "127.0.0.1",
      port: 0,
      pingInterval: null,
      maxClients: 100_000,
      maxClientsPerIp: 0,
      guard: false,
      onError: report,
    }, report);
    port = gateway.server.port;
    close = () => gateway.close();
  } else {
    throw new TypeError(`Cannot run role ${role}`);
  }
  const encoder = new TextEncoder();
  const out = Deno.stdout.writable.getWriter();
  const say = (value: unknown) =>
    out.write(encoder.encode(JSON.stringify(value) + "\n"));
  await say({ op: "ready", port });
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line === "") continue;
      const command = JSON.parse(line) as {
        op: string;
        count: number;
        rate: number;
      };
      if (command.op === "emit") {
        await emitter.emit(command.count, command.rate);
        await say({ op: "emitted" });
      }
    }
  }
  await close();
  Deno.exit(0);
}
