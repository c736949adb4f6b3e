/**
 * The server's limits against hostile clients, end to end: per-address caps
 * behind trusted proxies, the command gate, reply size, the drain deadline
 * and the unsent-data budget.
 */

import assert from "node:assert/strict";
import { open, stubServer, type TestSocket } from "./_ws_hardening_helpers.ts";
import type { EvrmoreWebSocketServerOptions } from "../lib/websocket/mod.ts";

function forwardedFor(port: number, address: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, {
    headers: { "x-forwarded-for": address },
  });
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve(ws), { once: true });
    ws.addEventListener("error", () => reject(new Error("refused")), {
      once: true,
    });
  });
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) =>
      ws.readyState === WebSocket.CLOSED
        ? Promise.resolve()
        : new Promise<void>(
          (resolve) => {
            ws.addEventListener("close", () => resolve(), { once: true });
            ws.close();
          },
        )
    ),
  );
}

Deno.test("EvrmoreWebSocketServer caps connections per client address, from X-Forwarded-For only behind a trusted proxy", async () => {
  // 127.0.0.1 is the trusted proxy: each forwarded client counts alone.
  await using trusted = await stubServer({
    maxClientsPerIp: 2,
    trustProxy: ["127.0.0.1"],
  });
  const open1 = [
    await forwardedFor(trusted.port, "203.0.113.7"),
    await forwardedFor(trusted.port, "203.0.113.7"),
    await forwardedFor(trusted.port, "198.51.100.1"),
  ];
  await assert.rejects(forwardedFor(trusted.port, "203.0.113.7"), /refused/);
  await closeAll(open1);
  // Without the proxy listed, the header is ignored: all are 127.0.0.1.
  await using untrusted = await stubServer({ maxClientsPerIp: 2 });
  const open2 = [
    await forwardedFor(untrusted.port, "203.0.113.7"),
    await forwardedFor(untrusted.port, "198.51.100.1"),
  ];
  await assert.rejects(forwardedFor(untrusted.port, "192.0.2.9"), /refused/);
  await closeAll(open2);
  const metrics = untrusted.metrics();
  assert.match(metrics, /reason="too_many_connections"} 1/);
});

Deno.test("EvrmoreWebSocketServer refuses commands past the global queue with server_busy, and aborts a leaving client's commands", async () => {
  const aborted: string[] = [];
  const release: Array<() => void> = [];
  await using server = await stubServer({
    maxCommandsInFlight: 1,
    maxQueuedCommands: 1,
    rpcClient: {
      call: (method, params, options) =>
        new Promise((resolve, reject) => {
          release.push(() => resolve(`${method}:${JSON.stringify(params)}`));
          options?.signal?.addEventListener("abort", () => {
            aborted.push(String(params?.[0]));
            reject(options.signal!.reason);
          });
        }),
      getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
    },
  });
  const a = await open(`ws://127.0.0.1:${server.port}`);
  const b = await open(`ws://127.0.0.1:${server.port}`);
  try {
    // a's command runs, b's waits, the next one is refused at once.
    a.send({ command: "getblockhash", params: [1], id: 1 });
    b.send({ command: "getblockhash", params: [2], id: 2 });
    await waitUntil(() => release.length === 1);
    b.send({ command: "getblockhash", params: [3], id: 3 });
    const busy = await b.next();
    assert.equal(busy.type, "error");
    assert.equal(busy.code, "server_busy");
    assert.equal(busy.id, 3);
    // a leaves: its running command is aborted, b's runs next.
    await a.close();
    await waitUntil(() => release.length === 2);
    assert.deepEqual(aborted, ["1"]);
    release[1]!();
    const answer = await b.next();
    assert.equal(answer.type, "result");
    assert.equal(answer.data, "getblockhash:[2]");
    assert.match(server.metrics(), /result="server_busy"} 1/);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("EvrmoreWebSocketServer answers reply_too_large for a reply over maxReplySize, and sends identical commands to the node once", async () => {
  let calls = 0;
  const big = "x".repeat(5000);
  let releaseAll: () => void = () => {};
  const gate = new Promise<void>((resolve) => (releaseAll = resolve));
  await using server = await stubServer({
    maxReplySize: 4096,
    rpcClient: {
      call: async (method) => {
        calls++;
        await gate;
        return method === "getblock" ? big : 170;
      },
      getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
    },
  });
  const client = await open(`ws://127.0.0.1:${server.port}`);
  try {
    client.send({ command: "getblock", params: ["00", 2], id: "big" });
    client.send({ command: "getblockcount", id: 1 });
    client.send({ command: "getblockcount", id: 2 });
    await waitUntil(() => calls === 2);
    releaseAll();
    const answers = [
      await client.next(),
      await client.next(),
      await client.next(),
    ];
    const byId = new Map(answers.map((m) => [m.id, m]));
    assert.equal(byId.get("big")?.code, "reply_too_large");
    assert.equal(byId.get(1)?.data, 170);
    assert.equal(byId.get(2)?.data, 170);
    assert.equal(calls, 2, "the two getblockcount shared one call");
  } finally {
    await client.close();
  }
});

async function silentClientClosed(
  limits: Partial<EvrmoreWebSocketServerOptions>,
  reason: string,
): Promise<void> {
  const server = await stubServer({
    maxBufferedAmount: 1 << 30,
    ...limits,
  });
  // A client that reads nothing: a raw TCP connection after the upgrade.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  let reader: TestSocket | undefined;
  try {
    const key = btoa("0123456789abcdef");
    await conn.write(new TextEncoder().encode(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    const head = new Uint8Array(4096);
    await conn.read(head);
    // Subscribe (a masked text frame), then never read again.
    await conn.write(
      maskedText(JSON.stringify({ action: "subscribe", topic: "blocks" })),
    );
    reader = await open(`ws://127.0.0.1:${server.port}`);
    reader.send({ action: "subscribe", topic: "blocks" });
    await reader.next();
    await waitUntil(() => server.subscriptions.get("blocks")!.size === 2);
    const block = {
      type: "block",
      data: { hash: "h", height: 1, pad: "y".repeat(64 * 1024) },
    };
    // Fill the silent client's buffers until the server closes it.
    // Bounded in time: the sweep reads the buffers once a second.
    const deadline = Date.now() + 20_000;
    for (
      let i = 0;
      server.stats.slowClientsClosed === 0 && Date.now() < deadline;
      i++
    ) {
      await server.broadcast("blocks", block);
      await reader.next();
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(server.stats.slowClientsClosed, 1);
    assert.match(server.metrics(), new RegExp(`reason="${reason}"} 1`));
    // The honest client is still served.
    await server.broadcast("blocks", {
      type: "block",
      data: { hash: "z", height: 2 },
    });
    assert.equal(((await reader.next()).data as { hash: string }).hash, "z");
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
    await reader?.close();
    await server.stop();
  }
}

Deno.test("EvrmoreWebSocketServer closes a client whose send buffer does not drain in time (1013)", async () => {
  await silentClientClosed({ drainTimeout: 0.5 }, "drain_timeout");
});

Deno.test("EvrmoreWebSocketServer keeps all clients' unsent data under maxUnsentBytes, closing the largest backlog (1013)", async () => {
  await silentClientClosed(
    { drainTimeout: 3600, maxUnsentBytes: 256 * 1024 },
    "unsent_budget",
  );
});

/** Waits for a condition the server reaches on its own (bounded). */
async function waitUntil(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function maskedText(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const mask = [1, 2, 3, 4];
  const frame = new Uint8Array(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  frame.set(mask, 2);
  for (let i = 0; i < payload.length; i++) {
    frame[6 + i] = payload[i]! ^ mask[i % 4]!;
  }
  return frame;
}

Deno.test("EvrmoreWebSocketServer gives no more node work to a client that leaves its replies unread", async () => {
  let calls = 0;
  const big = {
    tx: Array.from({ length: 2000 }, (_, i) => `${i}`.repeat(1000)),
  };
  await using server = await stubServer({
    // Large enough that the slow-client close does not come first.
    maxBufferedAmount: 64 * 1024 * 1024,
    rpcClient: {
      call: () => {
        calls++;
        return Promise.resolve({ ...big }); // a new object each call
      },
      getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
    },
  });
  // A raw client: upgrades, then asks again and again, never reading.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(new TextEncoder().encode(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${
          btoa("0123456789abcdef")
        }\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    await conn.read(new Uint8Array(4096));
    const asked = 40;
    for (let i = 0; i < asked; i++) {
      await conn.write(
        maskedText(
          JSON.stringify({ command: "getblock", params: ["00", 2], id: i }),
        ),
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    // Each reply is ~2.7 MB: once the socket buffers are full and replies
    // wait unsent, the next commands are refused (server_busy) before any
    // node work.
    const busy = () =>
      Number(/result="server_busy"} (\d+)/.exec(server.metrics())?.[1] ?? 0);
    await waitUntil(() =>
      server.stats.slowClientsClosed > 0 || calls + busy() >= asked
    );
    assert.ok(calls <= 5, `${calls} node calls for ${asked} commands`);
    assert.ok(busy() >= asked - 5, `${busy()} refused`);
  } finally {
    conn.close();
  }
});
