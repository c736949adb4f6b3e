import assert from "node:assert/strict";
import { eventId, EventLog } from "../lib/websocket/_event_log.ts";
import { parseClientMessage } from "../lib/websocket/_protocol.ts";
import {
  EvrmoreWebSocketClient,
  type WebSocketServerMessage,
} from "../lib/websocket/mod.ts";
import { open, stubServer } from "./_ws_hardening_helpers.ts";

function filled(log: EventLog, count: number): void {
  for (let seq = 1; seq <= count; seq++) {
    const topic = seq % 2 === 0 ? "transactions" : "blocks";
    log.add({
      seq,
      topic,
      text: `{"n":${seq}}`,
      match: { addresses: [seq % 4 === 0 ? "A" : "B"] },
    });
  }
}

Deno.test("EventLog.replay() returns the topic's events after the cursor, oldest first", () => {
  const log = new EventLog("e1");
  filled(log, 10);
  assert.equal(log.cursor(4), "e1:4");
  const replay = log.replay("e1:4", "transactions");
  assert.deepEqual(replay, {
    texts: ['{"n":6}', '{"n":8}', '{"n":10}'],
  });
  assert.deepEqual(log.replay("e1:10", "blocks"), { texts: [] });
  assert.deepEqual(
    log.replay("e1:0", "transactions", { address: "A" }),
    { texts: ['{"n":4}', '{"n":8}'] },
  );
});

Deno.test("EventLog.replay() refuses cursors it cannot resume from", () => {
  const log = new EventLog("e1", { maxEvents: 5 });
  filled(log, 10);
  assert.equal(log.size, 5);
  const code = (cursor: string) => {
    const replay = log.replay(cursor, "blocks");
    return "error" in replay ? replay.error : "ok";
  };
  assert.equal(code("e1:5"), "ok"); // 6..10 kept
  assert.equal(code("e1:4"), "cursor_too_old"); // 5 dropped
  assert.equal(code("e1:11"), "unknown_cursor");
  assert.equal(code("e0:7"), "cursor_too_old"); // an earlier run
  assert.equal(code("7"), "cursor_too_old"); // another stream's
  const bare = new EventLog(undefined);
  filled(bare, 3);
  assert.deepEqual(bare.replay("1", "blocks"), { texts: ['{"n":3}'] });
  assert.equal(bare.cursor(3), "3");
});

Deno.test("EventLog stays within its byte limit", () => {
  const log = new EventLog("e", { maxBytes: 100 });
  for (let seq = 1; seq <= 50; seq++) {
    log.add({ seq, topic: "blocks", text: "x".repeat(30), match: undefined });
  }
  assert.ok(log.size <= 4, String(log.size));
  assert.ok(log.size >= 1);
});

Deno.test("eventId() names an event the same way in every process", () => {
  assert.equal(
    eventId({ type: "block", data: { hash: "ab" } }),
    "block:ab",
  );
  assert.equal(
    eventId({ type: "transaction", data: { txid: "cd" } }),
    "tx:cd",
  );
  const asset = {
    type: "asset",
    data: { txid: "ef", asset: "ROSE", type: "transfer", amount: 1 },
  };
  assert.equal(eventId(asset), "asset:ef:ROSE:transfer:1");
  assert.equal(eventId(asset, 1), "asset:ef:ROSE:transfer:1:1");
  assert.equal(
    eventId({
      type: "reorg",
      data: { old_tip: { hash: "a" }, new_tip: { hash: "b" } },
    }),
    "reorg:a:b",
  );
  assert.equal(
    eventId({ type: "x", data: 1 }),
    eventId({ type: "x", data: 1 }),
  );
  assert.notEqual(
    eventId({ type: "x", data: 1 }),
    eventId({ type: "x", data: 2 }),
  );
});

Deno.test("parseClientMessage accepts event cursors on every topic, block cursors on blocks only", () => {
  const parse = (topic: string, since: unknown, filter?: unknown) =>
    parseClientMessage(
      JSON.stringify({ action: "subscribe", topic, since, filter }),
    );
  assert.deepEqual(parse("transactions", "mx1:42"), {
    kind: "subscribe",
    topic: "transactions",
    since: "mx1:42",
  });
  assert.deepEqual(parse("mempool", "42"), {
    kind: "subscribe",
    topic: "mempool",
    since: "42",
  });
  assert.equal(parse("assets", 5).kind, "error");
  assert.equal(parse("assets", "a".repeat(64)).kind, "error");
  assert.deepEqual(parse("assets", "m:3", { asset: "ROSE" }), {
    kind: "subscribe",
    topic: "assets",
    since: "m:3",
    filter: { asset: "ROSE" },
  });
  assert.equal(parse("assets", 3, { asset: "ROSE" }).kind, "error");
});

Deno.test("EvrmoreWebSocketServer resumes any topic from an event's cursor, each event once", async () => {
  await using server = await stubServer();
  const tx = (n: number) => ({ type: "transaction", data: { txid: `t${n}` } });
  const first = await open(`ws://127.0.0.1:${server.port}`);
  try {
    first.send({ action: "subscribe", topic: "transactions" });
    assert.equal((await first.next()).type, "subscription");
    for (let n = 1; n <= 3; n++) await server.broadcast("transactions", tx(n));
    await server.broadcast("blocks", { type: "block", data: { hash: "b" } });
    const seen = [await first.next(), await first.next(), await first.next()];
    assert.deepEqual(seen.map((m) => (m.data as { txid: string }).txid), [
      "t1",
      "t2",
      "t3",
    ]);
    const cursor = seen[0]!.cursor as string;
    // A second client resumes after the first transaction: t2, t3, then live.
    const late = await open(`ws://127.0.0.1:${server.port}`);
    try {
      late.send({
        action: "subscribe",
        topic: "transactions",
        since: cursor,
        id: 9,
      });
      const ack = await late.next();
      assert.equal(ack.type, "subscription");
      assert.equal(ack.id, 9);
      await server.broadcast("transactions", tx(4));
      const got = [await late.next(), await late.next(), await late.next()];
      assert.deepEqual(got.map((m) => (m.data as { txid: string }).txid), [
        "t2",
        "t3",
        "t4",
      ]);
      late.send({ action: "subscribe", topic: "mempool", since: "zz:1" });
      const refused = await late.next();
      assert.equal(refused.type, "error");
      assert.equal(refused.code, "cursor_too_old");
    } finally {
      await late.close();
    }
  } finally {
    await first.close();
  }
});

Deno.test("EvrmoreWebSocketClient resumes every topic from its last cursor after a reconnection", async () => {
  await using server = await stubServer();
  const errors: Error[] = [];
  await using client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${server.port}`,
    pingInterval: null,
    reconnectDelay: 20,
    maxReconnectDelay: 50,
    onError: (error) => errors.push(error),
  });
  await client.connect();
  await client.subscribe("transactions");
  const tx = (n: number) => ({
    type: "transaction",
    data: {
      txid: `t${n}`,
      size: 100,
      vsize: 100,
      version: 2,
      locktime: 0,
      vin_count: 1,
      vout_count: 1,
    },
  });
  const txid = (m: WebSocketServerMessage) =>
    m.type === "transaction" ? m.data.txid : m.type;
  await server.broadcast("transactions", tx(1));
  assert.equal(txid(await client.receive()), "t1");
  // The server drops the connection; events go on meanwhile (before the
  // client is back, 20 ms later: without resuming it would miss them).
  for (const socket of server.subscriptions.get("transactions")!) {
    socket.close(1011, "test");
  }
  for (let n = 2; n <= 4; n++) await server.broadcast("transactions", tx(n));
  const got = [];
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), 10_000);
  try {
    while (got.length < 3) {
      got.push(txid(await client.receive({ signal: giveUp.signal })));
    }
  } finally {
    clearTimeout(timer);
  }
  assert.deepEqual(got, ["t2", "t3", "t4"]);
  assert.deepEqual(
    errors.map((e) => e.message).filter((m) => !/closed/.test(m)),
    [],
  );
});
