/**
 * The fan-out path of EvrmoreWebSocketServer.broadcast(), as trimmed for
 * `bench/websocket_bench.ts`: bigints still serialize as JSON numbers (the
 * replacer-free fast path falls back), a client closed during a broadcast
 * is dropped without disturbing the others, and a slow client is still
 * closed (1013) when the messages are small and the send buffers are read
 * only every `maxBufferedAmount / 16` bytes.
 */

import assert from "node:assert/strict";
import type { EvrmoreWebSocketServer } from "../lib/websocket/mod.ts";
import { stubServer, upgradeAndSubscribe } from "./_ws_hardening_helpers.ts";

function startServer(
  maxBufferedAmount?: number,
): Promise<EvrmoreWebSocketServer> {
  return stubServer({
    startZmq: false,
    ...(maxBufferedAmount === undefined ? {} : { maxBufferedAmount }),
  });
}

interface Listener {
  ws: WebSocket;
  texts: string[];
  /** Resolves with the received texts once there are `count` of them. */
  received(count: number): Promise<string[]>;
  closed: Promise<void>;
  close(): Promise<void>;
}

/** A client subscribed to `topic`, keeping the raw text of what it gets. */
async function listen(port: number, topic: string): Promise<Listener> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const texts: string[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  const subscribed = Promise.withResolvers<void>();
  ws.addEventListener("message", (event) => {
    const text = event.data as string;
    if (text.startsWith('{"type":"welcome"')) return;
    if (text.includes('"type":"subscription"')) {
      subscribed.resolve();
      return;
    }
    texts.push(text);
    if (waiter !== undefined && texts.length >= waiter.count) waiter.resolve();
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error("cannot connect")), {
      once: true,
    });
  });
  ws.send(JSON.stringify({ action: "subscribe", topic }));
  await subscribed.promise;
  const closed = new Promise<void>((resolve) =>
    ws.addEventListener("close", () => resolve(), { once: true })
  );
  return {
    ws,
    texts,
    closed,
    async received(count) {
      if (texts.length < count) {
        const { promise, resolve } = Promise.withResolvers<void>();
        waiter = { count, resolve };
        const timer = setTimeout(resolve, 3000);
        await promise;
        clearTimeout(timer);
      }
      assert.ok(texts.length >= count, `${texts.length} of ${count} messages`);
      return texts;
    },
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      await closed;
    },
  };
}

Deno.test("EvrmoreWebSocketServer.broadcast() sends the same text as JSON.stringify, bigints as numbers", async () => {
  await using server = await startServer();
  const a = await listen(server.port, "blocks");
  const b = await listen(server.port, "blocks");
  try {
    const plain = { type: "block", data: { hash: "ab", height: 1, e: "é" } };
    await server.broadcast("blocks", plain);
    await server.broadcast("blocks", {
      type: "asset",
      data: { expire_time: 12345678901234567890n, n: 1 },
    });
    for (const client of [a, b]) {
      const [first, second] = await client.received(2);
      // Every event gets a cursor (for `since`), added after its fields.
      const cursor = JSON.parse(first!).cursor;
      assert.match(cursor, /^[0-9a-z]+:1$/);
      assert.equal(first, JSON.stringify({ ...plain, cursor }));
      assert.match(
        second!,
        /^\{"type":"asset","data":\{"expire_time":12345678901234567890,"n":1\},"cursor":"[0-9a-z]+:2"\}$/,
      );
    }
    // A cycle still fails (and reaches no client).
    const cyclic: Record<string, unknown> = { type: "x" };
    cyclic.self = cyclic;
    assert.throws(() => server.broadcast("blocks", cyclic), TypeError);
    assert.equal(server.stats.broadcasts, 2);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("EvrmoreWebSocketServer.broadcast() drops a closed subscriber and keeps serving the others", async () => {
  await using server = await startServer();
  const clients = await Promise.all(
    [0, 1, 2].map(() => listen(server.port, "transactions")),
  );
  try {
    const subscribers = server.subscriptions.get("transactions")!;
    assert.equal(subscribers.size, 3);
    // Close one server-side socket while it is still in the set.
    const [first] = subscribers;
    first!.close();
    await server.broadcast("transactions", { type: "transaction", i: 1 });
    assert.equal(subscribers.size, 2);
    await Promise.race(clients.map((c) => c.closed));
    const open = clients.filter((c) => c.ws.readyState === WebSocket.OPEN);
    assert.equal(open.length, 2);
    for (const client of open) await client.received(1);
  } finally {
    for (const client of clients) await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer closes a slow client (1013) under a stream of small broadcasts", async () => {
  const limit = 64 * 1024;
  await using server = await startServer(limit);
  const fast = await listen(server.port, "blocks");
  // A slow client: completes the handshake, subscribes, never reads.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await upgradeAndSubscribe(conn, "blocks");
    const subscribers = server.subscriptions.get("blocks")!;
    for (let i = 0; i < 300 && subscribers.size < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(subscribers.size, 2);
    const slow = [...subscribers][1]!; // subscribed after the fast one
    // 512-byte messages: the send buffers are read every 4 KiB broadcast.
    const pad = "x".repeat(480);
    let sent = 0;
    let overshoot = 0;
    for (
      let round = 0;
      round < 2000 && server.stats.slowClientsClosed === 0;
      round++
    ) {
      for (let i = 0; i < 32; i++) {
        const buffered = slow.readyState === WebSocket.OPEN
          ? slow.bufferedAmount
          : 0;
        overshoot = Math.max(overshoot, buffered - limit);
        await server.broadcast("blocks", { type: "bulk", i: sent++, pad });
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    assert.equal(server.stats.slowClientsClosed, 1);
    assert.equal(subscribers.size, 1);
    // Closed within a sixteenth of the limit (plus one message) past it.
    assert.ok(overshoot <= limit / 16 + 512, `${overshoot} bytes past`);
    // The fast client got everything and still gets events.
    await fast.received(sent);
    await server.broadcast("blocks", { type: "block", last: true });
    assert.match((await fast.received(sent + 1))[sent]!, /"last":true/);
  } finally {
    conn.close();
    await fast.close();
  }
});
