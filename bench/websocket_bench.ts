/**
 * WebSocket fan-out: EvrmoreWebSocketServer pushing events to N subscribed
 * clients, beside a bare `Deno.serve` broadcast loop measured in the same
 * run. Project goal: the server's fan-out within 10% of the bare loop.
 *
 * Run: `deno bench -A bench/websocket_bench.ts` (or `deno task bench
 * bench/websocket_bench.ts`).
 *
 * Read the "x faster/slower" summary of each group: it is the ratio of each
 * line to the bare loop (`baseline: true`). One iteration sends M = 100
 * messages to each of the group's N clients and ends when every client has
 * received all of them, so messages/sec = N × 100 × iter/s.
 *
 * The lines of a group, each with its own N clients:
 *
 * - `bare Deno.serve loop` (baseline): `Deno.serve` + `Deno.upgradeWebSocket`,
 *   a `Set` of open sockets, and for each message
 *   `for (const s of sockets) if (s.readyState === WebSocket.OPEN) s.send(text)`
 *   with one pre-serialized JSON string (a `block` message). Nothing else.
 * - `server.broadcast("blocks", message)`: the public `broadcast()` of a
 *   `block` message object (serialized once per message by the server, then
 *   the per-client send with its slow-client check), awaited as
 *   `handleBlock()` awaits it.
 * - `server.handleTransaction(rawtx notification)`: the path a ZMQ `rawtx`
 *   takes once decoded (the ZMQ client decodes; that cost is not in here):
 *   the `transaction` message built from the decoded transaction, serialized,
 *   broadcast to `transactions`, asset outputs looked for (none: `send_evr`).
 * - `server.handleBlock(rawblock notification)`: the path of a decoded
 *   `rawblock` (its transactions already announced, so one `block` message).
 *
 * The server's clients subscribe to `blocks` and `transactions` (the
 * subscription answers are not counted); the bare loop's clients subscribe
 * to nothing. Both servers run in this process, each on its own port.
 *
 * Receivers: the N clients run in a separate process
 * (`_ws_receivers_process.ts`, started once with `Deno.Command`, driven by
 * JSON lines on stdin, reporting on stdout once per iteration when every
 * client of the group has got its 100 messages; no sleeps, no polling). So
 * the server and the clients use two cores as in a deployment, and the
 * receivers' work (frame parsing, events) does not share the server's
 * thread. Without run permission, or with `WS_BENCH_RECEIVERS=inprocess`,
 * the receivers run in this process and the bench says so on stderr: the
 * ratios then move towards 1 (the receiving side, identical for all lines,
 * takes over half of each iteration).
 *
 * Bounds: fixed iteration counts (`n`, `warmup`), a bounded warm-up of every
 * line before timing (so the baseline, first in each group, does not pay
 * for the JIT), and a 30 s timeout on every wait for the receivers.
 *
 * Results (2-core development machine, Deno 2.9.6, receivers in their own
 * process; time per iteration, ratio to the bare loop of the same run,
 * several runs):
 *
 * RESULTS-PLACEHOLDER
 *
 * @module
 */

import { decodeBlock, decodeTransaction } from "../lib/encoding/mod.ts";
import type { ZMQNotification } from "../lib/zmq/types.ts";
import { EvrmoreWebSocketServer } from "../lib/websocket/mod.ts";
import { FIXTURES_DIR } from "../tests/_rpc_fixture_server.ts";
import {
  type ReceiverCommand,
  type ReceiverEvent,
  ReceiverPool,
} from "./_ws_receivers_process.ts";

const MESSAGES = 100;
const SIZES = sizes();
const WAIT_MS = 30_000;

/** Group sizes: `WS_BENCH_SIZES=10,100` to choose (default 10, 100, 1000). */
function sizes(): number[] {
  let text: string | undefined;
  try {
    text = Deno.env.get("WS_BENCH_SIZES");
  } catch {
    // no env permission
  }
  const chosen = (text ?? "").split(",").map(Number).filter((n) =>
    Number.isInteger(n) && n > 0 && n <= 5000
  );
  return chosen.length > 0 ? chosen : [10, 100, 1000];
}

// ---------------------------------------------------------------------------
// Receivers: in their own process when allowed, else in this one.

interface Receivers {
  open(
    group: string,
    url: string,
    clients: number,
    subscribe: string[],
  ): Promise<void>;
  /** Resolves once every client of the group has received `count` messages. */
  reached(group: string, count: number): Promise<void>;
  close(group: string): Promise<void>;
  stop(): Promise<void>;
}

function wantProcess(): boolean {
  let mode: string | undefined;
  try {
    mode = Deno.env.get("WS_BENCH_RECEIVERS");
  } catch {
    // no env permission
  }
  if (mode === "inprocess") return false;
  return Deno.permissions.querySync({ name: "run" }).state === "granted";
}

function startReceivers(): Receivers {
  const reachedCounts = new Map<string, number>();
  const waiters = new Map<string, {
    count: number;
    resolve: () => void;
    reject: (error: Error) => void;
  }>();
  const replies = new Map<string, {
    resolve: () => void;
    reject: (error: Error) => void;
  }>();

  const onEvent = (event: ReceiverEvent): void => {
    switch (event.op) {
      case "reached": {
        reachedCounts.set(event.group, event.count);
        const waiter = waiters.get(event.group);
        if (waiter !== undefined && event.count >= waiter.count) {
          waiters.delete(event.group);
          waiter.resolve();
        }
        return;
      }
      case "opened":
      case "closed": {
        const reply = replies.get(`${event.op}:${event.group}`);
        replies.delete(`${event.op}:${event.group}`);
        reply?.resolve();
        return;
      }
      case "error": {
        const error = new Error(`receivers ${event.group}: ${event.message}`);
        for (const key of [`opened:${event.group}`, `closed:${event.group}`]) {
          replies.get(key)?.reject(error);
          replies.delete(key);
        }
        const waiter = waiters.get(event.group);
        waiters.delete(event.group);
        if (waiter !== undefined) waiter.reject(error);
        else console.error(error.message);
      }
    }
  };

  let send: (command: ReceiverCommand) => void;
  let stop: () => Promise<void>;
  if (wantProcess()) {
    const script = new URL("./_ws_receivers_process.ts", import.meta.url);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-net=127.0.0.1", script.pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const stdin = child.stdin.getWriter();
    const encoder = new TextEncoder();
    send = (command) =>
      void stdin.write(encoder.encode(JSON.stringify(command) + "\n"));
    const reading = (async () => {
      let buffer = "";
      for await (
        const chunk of child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          onEvent(JSON.parse(buffer.slice(0, newline)) as ReceiverEvent);
          buffer = buffer.slice(newline + 1);
        }
      }
    })();
    stop = async () => {
      await stdin.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          child.kill();
        } catch {
          // already gone
        }
      }, 5000);
      await child.status;
      clearTimeout(timer);
      await reading.catch(() => {});
    };
    console.error("websocket_bench: receivers in their own process");
  } else {
    console.error(
      "websocket_bench: receivers in-process (no --allow-run, or " +
        "WS_BENCH_RECEIVERS=inprocess): they share this thread with the " +
        "servers, so the ratios move towards 1",
    );
    const pool = new ReceiverPool(onEvent);
    send = (command) => void pool.run(command);
    stop = () => pool.closeAll();
  }

  const reply = (key: string, command: ReceiverCommand): Promise<void> => {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(
      () => reject(new Error(`receivers: no answer to ${key}`)),
      WAIT_MS,
    );
    replies.set(key, {
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
      reject: (error) => {
        clearTimeout(timer);
        reject(error);
      },
    });
    send(command);
    return promise;
  };

  return {
    open: (group, url, clients, subscribe) =>
      reply(`opened:${group}`, {
        op: "open",
        group,
        url,
        clients,
        subscribe,
        every: MESSAGES,
      }),
    close: (group) => reply(`closed:${group}`, { op: "close", group }),
    reached(group, count) {
      if ((reachedCounts.get(group) ?? 0) >= count) return Promise.resolve();
      if (waiters.has(group)) {
        return Promise.reject(new Error(`receivers ${group}: already waited`));
      }
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      const timer = setTimeout(() => {
        waiters.delete(group);
        reject(new Error(`receivers ${group}: ${count} not reached in time`));
      }, WAIT_MS);
      waiters.set(group, {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      return promise;
    },
    stop: () => stop(),
  };
}

// ---------------------------------------------------------------------------
// Messages: real fixture events, decoded as the ZMQ client decodes them.

function fixtureHex(dir: string, prefix: string): string {
  for (const entry of Deno.readDirSync(`${FIXTURES_DIR}/${dir}`)) {
    if (
      entry.name.startsWith(prefix) && entry.name.endsWith(".hex") &&
      !entry.name.endsWith(".header.hex")
    ) {
      return Deno.readTextFileSync(`${FIXTURES_DIR}/${dir}/${entry.name}`)
        .trim();
    }
  }
  throw new Error(`Cannot find fixture ${dir}/${prefix}*.hex`);
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return bytes;
}

const txHex = fixtureHex("txs", "send_evr_");
const blockHex = fixtureHex("blocks", "0165_reissue_");
const block = decodeBlock(blockHex, { network: "regtest" });
const txNotification: ZMQNotification = {
  topic: "rawtx",
  body: hexToBytes(txHex),
  hex: txHex,
  sequence: 1,
  receivedAt: Date.now(),
  transaction: decodeTransaction(txHex, { network: "regtest" }),
};
const blockNotification: ZMQNotification = {
  topic: "rawblock",
  body: hexToBytes(blockHex),
  hex: blockHex,
  sequence: 2,
  receivedAt: Date.now(),
  block,
};
const blockMessage = {
  type: "block",
  data: {
    hash: block.hash,
    height: block.height,
    time: block.time,
    tx_count: block.tx.length,
    size: block.size,
  },
};
const blockText = JSON.stringify(blockMessage);

// ---------------------------------------------------------------------------
// Servers: one bare loop and one EvrmoreWebSocketServer per group size.

interface Bare {
  url: string;
  broadcast(text: string): void;
  shutdown(): Promise<void>;
}

function startBare(): Bare {
  const sockets = new Set<WebSocket>();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.addEventListener("open", () => sockets.add(socket));
      socket.addEventListener("close", () => sockets.delete(socket));
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${http.addr.port}/`,
    broadcast(text) {
      for (const socket of sockets) {
        if (socket.readyState === WebSocket.OPEN) socket.send(text);
      }
    },
    async shutdown() {
      for (const socket of sockets) socket.close();
      await http.shutdown();
    },
  };
}

async function startSubject(): Promise<EvrmoreWebSocketServer> {
  const server = new EvrmoreWebSocketServer({
    rpcClient: {
      call: () => Promise.reject(new Error("no node in this bench")),
      getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
    },
    zmqClient: { on: () => () => {}, start: () => Promise.resolve() },
    host: "127.0.0.1",
    port: 0,
    startZmq: false,
    onError: (error) => console.error(`websocket_bench: ${error.message}`),
  });
  await server.start();
  // Announce the block's transactions now (no subscribers yet), so each
  // handleBlock() below sends just the block message.
  await server.handleBlock(blockNotification);
  return server;
}

const receivers = startReceivers();

interface Line {
  name: string;
  baseline?: boolean;
  /** Sends the iteration's messages (synchronous work and microtasks only). */
  send: () => Promise<void>;
  /** Waits until every client has received them. */
  delivered: () => Promise<void>;
}

const groups: Array<{ size: number; lines: Line[] }> = [];
const closers: Array<() => Promise<void>> = [];

for (const size of SIZES) {
  const bare = startBare();
  const server = await startSubject();
  closers.push(() => bare.shutdown(), () => server.stop());
  const bareGroup = `bare-${size}`;
  const serverGroup = `server-${size}`;
  await receivers.open(bareGroup, bare.url, size, []);
  await receivers.open(
    serverGroup,
    `ws://127.0.0.1:${server.port}/`,
    size,
    ["blocks", "transactions"],
  );
  let bareSent = 0;
  let serverSent = 0;
  const bareDelivered = () => {
    bareSent += MESSAGES;
    return receivers.reached(bareGroup, bareSent);
  };
  const serverDelivered = () => {
    serverSent += MESSAGES;
    return receivers.reached(serverGroup, serverSent);
  };
  groups.push({
    size,
    lines: [
      {
        name: "bare Deno.serve loop (pre-serialized)",
        baseline: true,
        // deno-lint-ignore require-await
        send: async () => {
          for (let i = 0; i < MESSAGES; i++) bare.broadcast(blockText);
        },
        delivered: bareDelivered,
      },
      {
        name: 'server.broadcast("blocks", message)',
        send: async () => {
          for (let i = 0; i < MESSAGES; i++) {
            await server.broadcast("blocks", blockMessage);
          }
        },
        delivered: serverDelivered,
      },
      {
        name: "server.handleTransaction(rawtx notification)",
        send: async () => {
          for (let i = 0; i < MESSAGES; i++) {
            await server.handleTransaction(txNotification);
          }
        },
        delivered: serverDelivered,
      },
      {
        name: "server.handleBlock(rawblock notification)",
        send: async () => {
          for (let i = 0; i < MESSAGES; i++) {
            await server.handleBlock(blockNotification);
          }
        },
        delivered: serverDelivered,
      },
    ],
  });
}

/** Iterations (after warm-up) by group size: about 10^6 messages a line. */
function iterations(size: number): { n: number; warmup: number } {
  const n = Math.max(20, Math.round(10_000 / size));
  return { n, warmup: Math.max(5, Math.round(n / 10)) };
}

// Warm every line (server JIT included) before timing, interleaved, so the
// first line of a group does not pay for it. Bounded.
for (let round = 0; round < 5; round++) {
  for (const { size, lines } of groups) {
    for (const line of lines) {
      for (let i = 0; i < iterations(size).warmup; i++) {
        await line.send();
        await line.delivered();
      }
    }
  }
}

for (const { size, lines } of groups) {
  for (const line of lines) {
    // Async functions: Deno.bench awaits only those.
    Deno.bench({
      name: `${line.name} x${size}`,
      group: `delivered: ${size} clients x ${MESSAGES} messages`,
      ...(line.baseline ? { baseline: true } : {}),
      ...iterations(size),
      fn: async () => {
        await line.send();
        await line.delivered();
      },
    });
  }
}

for (const { size, lines } of groups) {
  for (const line of lines) {
    Deno.bench({
      name: `${line.name} x${size} (send call only)`,
      group: `send call only: ${size} clients x ${MESSAGES} messages`,
      ...(line.baseline ? { baseline: true } : {}),
      ...iterations(size),
      fn: async (b) => {
        b.start();
        await line.send();
        b.end();
        await line.delivered();
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  // Best effort: the receivers process also exits when its stdin closes.
  void receivers.stop();
  for (const close of closers) void close();
});
