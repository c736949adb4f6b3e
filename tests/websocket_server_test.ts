import assert from "node:assert/strict";
import {
  AuthError,
  ConnectionError,
  RpcError,
  TimeoutError,
} from "../lib/errors.ts";
import type {
  DecodedBlock,
  DecodedTransaction,
} from "../lib/encoding/types.ts";
import type { ZMQNotification } from "../lib/zmq/types.ts";
import { decodeBlock, decodeTransaction } from "../lib/encoding/mod.ts";
import {
  EvrmoreWebSocketClient,
  EvrmoreWebSocketServer,
  type EvrmoreWebSocketServerOptions,
  type WebSocketServerRpc,
  type WebSocketServerZmq,
} from "../lib/websocket/mod.ts";
import { ServerMessageSchema } from "../lib/websocket/_schemas.ts";
import {
  FakeZmq,
  type Harness as SharedHarness,
  harnessWith,
  open,
  type TestSocket,
  upgradeAndSubscribe,
  waitFor,
} from "./_ws_hardening_helpers.ts";

// ---------------------------------------------------------------------------
// Fixtures and fakes

const FIXTURES = new URL(
  "../../shared/fixtures/evrmore-regtest/",
  import.meta.url,
);
const labels = JSON.parse(
  Deno.readTextFileSync(new URL("labels.json", FIXTURES)),
) as { txs: Record<string, string>; blocks: Record<string, string> };

function readResult(path: string): unknown {
  return JSON.parse(Deno.readTextFileSync(new URL(path, FIXTURES))).result;
}

const rawHex = new WeakMap<object, string>();

/** A fixture transaction, decoded from its raw bytes as the ZMQ client does. */
function fixtureTx(label: string): DecodedTransaction {
  const txid = labels.txs[label];
  assert.ok(txid, label);
  const hex = Deno.readTextFileSync(
    new URL(`txs/${label}_${txid}.hex`, FIXTURES),
  ).trim();
  const tx = decodeTransaction(hex, { network: "regtest" });
  assert.equal(tx.txid, txid);
  rawHex.set(tx, hex);
  return tx;
}

/** A fixture block, decoded from its raw bytes as the ZMQ client does. */
function fixtureBlock(file: string): DecodedBlock {
  const [prefix, ...rest] = file.split("_");
  const label = rest.join("_");
  const hash = labels.blocks[label];
  assert.ok(hash, label);
  const hex = Deno.readTextFileSync(
    new URL(`blocks/${prefix}_${label}_${hash}.hex`, FIXTURES),
  ).trim();
  const block = decodeBlock(hex, { network: "regtest" });
  assert.equal(block.hash, hash);
  rawHex.set(block, hex);
  return block;
}

let sequence = 0;

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

function txNotification(tx: DecodedTransaction): ZMQNotification {
  const hex = rawHex.get(tx) ?? tx.hex ?? "";
  return {
    topic: "rawtx",
    body: hexToBytes(hex),
    hex,
    sequence: sequence++,
    receivedAt: Date.now(),
    transaction: tx,
  };
}

function blockNotification(block: DecodedBlock): ZMQNotification {
  const hex = rawHex.get(block) ?? "";
  return {
    topic: "rawblock",
    body: hexToBytes(hex),
    hex,
    sequence: sequence++,
    receivedAt: Date.now(),
    block,
  };
}

function hashBlockNotification(hash: string): ZMQNotification {
  return {
    topic: "hashblock",
    body: hexToBytes(hash),
    hex: hash,
    sequence: sequence++,
    receivedAt: Date.now(),
  };
}

/** An RPC client stand-in with scripted answers. */
class FakeRpc implements WebSocketServerRpc {
  calls: Array<{ method: string; params: unknown[] }> = [];
  answers = new Map<string, (params: unknown[]) => unknown>();
  mempool = { size: 0, bytes: 0, usage: 0 };
  mempoolCalls = 0;

  call(method: string, params: unknown[] = []): Promise<unknown> {
    this.calls.push({ method, params });
    const answer = this.answers.get(method);
    if (answer === undefined) {
      return Promise.reject(
        new RpcError(`Cannot call ${method}: Method not found`, {
          code: -32601,
          method,
        }),
      );
    }
    try {
      return Promise.resolve(answer(params));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  getmempoolinfo(): Promise<{ size: number; bytes: number; usage: number }> {
    this.mempoolCalls++;
    return Promise.resolve({
      ...this.mempool,
      maxmempool: 300000000,
      mempoolminfee: 0,
    });
  }

  // Typed helpers as EvrmoreRPCClient has them (used by the custom server).
  getblock(hash: string): Promise<{
    hash: string;
    height: number;
    time: number;
    size: number;
    tx: string[];
  }> {
    return this.call("getblock", [hash]) as Promise<never>;
  }

  getrawtransaction(
    txid: string,
    verbose: boolean,
  ): Promise<DecodedTransaction> {
    return this.call("getrawtransaction", [txid, verbose]) as Promise<never>;
  }
}

// ---------------------------------------------------------------------------
// Raw WebSocket test client

type RawClient = TestSocket;

/** A raw WebSocket to the server on `port`; `next()` waits 3 s by default. */
function rawClient(port: number): Promise<RawClient> {
  return open(`ws://127.0.0.1:${port}/`, undefined, { timeoutMs: 3000 });
}

async function subscribe(
  client: RawClient,
  topic: string,
): Promise<Record<string, unknown>> {
  client.send({ action: "subscribe", topic });
  const answer = await client.next();
  assert.equal(answer.type, "subscription");
  return answer;
}

type Harness = SharedHarness<FakeRpc>;

/** A server over a scripted `FakeRpc` and a `FakeZmq`. */
function harness(
  options: Partial<EvrmoreWebSocketServerOptions<FakeRpc>> = {},
): Promise<Harness> {
  return harnessWith(new FakeRpc(), options);
}

function assertValid(message: Record<string, unknown>): void {
  const parsed = ServerMessageSchema.safeParse(message);
  assert.ok(parsed.success, JSON.stringify(message));
}

// ---------------------------------------------------------------------------
// Lifecycle and HTTP

Deno.test("EvrmoreWebSocketServer has the documented defaults", () => {
  const server = new EvrmoreWebSocketServer({
    rpcClient: new FakeRpc(),
    zmqClient: new FakeZmq(),
  });
  assert.equal(server.host, "localhost");
  assert.equal(server.port, 8765);
  assert.equal(server.listening, false);
  assert.deepEqual([...server.subscriptions.keys()], [
    "blocks",
    "transactions",
    "assets",
    "mempool",
  ]);
});

Deno.test("EvrmoreWebSocketServer() rejects bad options", () => {
  const base = { rpcClient: new FakeRpc(), zmqClient: new FakeZmq() };
  assert.throws(
    () => new EvrmoreWebSocketServer({ ...base, port: 70000 }),
    RangeError,
  );
  assert.throws(
    () => new EvrmoreWebSocketServer({ ...base, pingInterval: -1 }),
    RangeError,
  );
  assert.throws(
    () =>
      new EvrmoreWebSocketServer({
        ...base,
        rpcClient: {} as WebSocketServerRpc,
      }),
    TypeError,
  );
  assert.throws(
    () =>
      new EvrmoreWebSocketServer({
        ...base,
        zmqClient: {} as WebSocketServerZmq,
      }),
    TypeError,
  );
});

Deno.test("EvrmoreWebSocketServer.start() listens on a free port, starts ZMQ, stop() releases everything", async () => {
  const h = await harness();
  assert.ok(h.server.port > 0);
  assert.equal(h.server.host, "127.0.0.1");
  assert.equal(h.server.listening, true);
  assert.equal(h.zmq.starts, 1);
  assert.equal(h.zmq.listenerCount, 9);
  await h.server.start(); // idempotent
  assert.equal(h.zmq.starts, 1);
  await h.server.stop();
  assert.equal(h.zmq.listenerCount, 0);
  assert.equal(h.server.listening, false);
  await h.server.stop(); // idempotent
  await h.server[Symbol.asyncDispose]();
});

Deno.test("EvrmoreWebSocketServer.start() with startZmq false leaves the ZMQ client alone", async () => {
  await using h = await harness({ startZmq: false });
  assert.equal(h.zmq.starts, 0);
});

Deno.test("EvrmoreWebSocketServer.start() rejects with ConnectionError when the port is taken", async () => {
  await using h = await harness();
  const other = new EvrmoreWebSocketServer({
    rpcClient: new FakeRpc(),
    zmqClient: new FakeZmq(),
    host: "127.0.0.1",
    port: h.server.port,
  });
  await assert.rejects(other.start(), ConnectionError);
});

Deno.test("EvrmoreWebSocketServer without the dashboard answers plain HTTP with 426 and GET /health with JSON", async () => {
  await using h = await harness({ dashboard: false });
  const base = `http://127.0.0.1:${h.server.port}`;
  const plain = await fetch(`${base}/`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get("upgrade"), "websocket");
  assert.match(await plain.text(), /WebSocket/);
  const missing = await fetch(`${base}/nothing`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  const body = await health.json();
  assert.equal(body.status, "ok");
  assert.equal(body.clients, 0);
  assert.equal(typeof body.uptime, "number");
  assert.equal(body.last_block, null);
});

Deno.test("EvrmoreWebSocketServer.stop() closes clients with 1001", async () => {
  const h = await harness();
  const client = await rawClient(h.server.port);
  await subscribe(client, "blocks");
  await h.server.stop();
  const event = await client.closed;
  assert.equal(event.code, 1001);
  assert.equal(h.server.subscriptions.get("blocks")?.size, 0);
});

// ---------------------------------------------------------------------------
// Client messages

Deno.test("EvrmoreWebSocketServer answers subscribe, unsubscribe and ping, echoing ids", async () => {
  await using h = await harness();
  const client = await rawClient(h.server.port);
  try {
    client.send({ action: "subscribe", topic: "blocks" });
    assert.deepEqual(await client.next(), {
      type: "subscription",
      data: { status: "success", topic: "blocks", action: "subscribe" },
      status: "success",
      topic: "blocks",
      action: "subscribe",
    });
    client.send({ action: "subscribe", topic: "transaction", id: 1 });
    assert.deepEqual(await client.next(), {
      type: "subscription",
      data: { status: "success", topic: "transactions", action: "subscribe" },
      status: "success",
      topic: "transactions",
      action: "subscribe",
      id: 1,
    });
    client.send({ action: "subscribe", topic: "asset", id: "a" });
    assert.equal((await client.next()).topic, "assets");
    client.send({ action: "subscribe", topic: "mempool" });
    assert.equal((await client.next()).topic, "mempool");
    for (const topic of ["blocks", "transactions", "assets", "mempool"]) {
      assert.equal(h.server.subscriptions.get(topic)?.size, 1, topic);
    }
    client.send({ action: "unsubscribe", topic: "blocks", id: 9 });
    assert.deepEqual(await client.next(), {
      type: "subscription",
      data: { status: "success", topic: "blocks", action: "unsubscribe" },
      status: "success",
      topic: "blocks",
      action: "unsubscribe",
      id: 9,
    });
    assert.equal(h.server.subscriptions.get("blocks")?.size, 0);
    client.send({ action: "ping" });
    assert.deepEqual(await client.next(), { type: "pong", data: {} });
    client.send({ action: "ping", id: "p" });
    assert.deepEqual(await client.next(), {
      type: "pong",
      data: {},
      id: "p",
    });
  } finally {
    await client.close();
  }
  await waitFor(() => h.server.stats.clients === 0, "client removal");
  assert.equal(h.server.subscriptions.get("transactions")?.size, 0);
});

Deno.test("EvrmoreWebSocketServer answers bad input with errors and keeps the connection", async () => {
  await using h = await harness();
  const bad = await rawClient(h.server.port);
  const good = await rawClient(h.server.port);
  try {
    await subscribe(good, "blocks");
    await subscribe(bad, "blocks");
    const cases: Array<[string, string]> = [
      ["{oops", "invalid_json"],
      ["[]", "invalid_message"],
      ['{"hello":1}', "invalid_message"],
      ['{"action":"jump"}', "unknown_action"],
      ['{"action":"subscribe","topic":"weather","id":4}', "unknown_topic"],
      ['{"command":"getblock","params":"x"}', "invalid_params"],
    ];
    for (const [text, code] of cases) {
      bad.sendText(text);
      const answer = await bad.next();
      assertValid(answer);
      assert.equal(answer.type, "error", text);
      assert.equal(answer.code, code, text);
    }
    h.zmq.emit("rawblock", blockNotification(fixtureBlock("0161_evr_sends")));
    assert.equal((await good.next()).type, "block");
    assert.equal((await bad.next()).type, "block");
    bad.send({ action: "ping" });
    assert.equal((await bad.next()).type, "pong");
  } finally {
    await bad.close();
    await good.close();
  }
});

Deno.test("EvrmoreWebSocketServer closes a client that sends an oversized message (1009)", async () => {
  await using h = await harness({ maxMessageSize: 1024 });
  const client = await rawClient(h.server.port);
  const other = await rawClient(h.server.port);
  try {
    client.sendText(JSON.stringify({ command: "x".repeat(2000) }));
    const answer = await client.next();
    assert.equal(answer.type, "error");
    assert.equal(answer.code, "message_too_large");
    assert.equal((await client.closed).code, 1009);
    other.send({ action: "ping" });
    assert.equal((await other.next()).type, "pong");
  } finally {
    await client.close();
    await other.close();
  }
});

Deno.test("EvrmoreWebSocketServer answers binary messages with an error", async () => {
  await using h = await harness();
  const client = await rawClient(h.server.port);
  try {
    client.ws.send(new Uint8Array([1, 2, 3]));
    const answer = await client.next();
    assert.equal(answer.code, "invalid_message");
  } finally {
    await client.close();
  }
});

// ---------------------------------------------------------------------------
// Commands

Deno.test("EvrmoreWebSocketServer runs allowed commands and echoes ids", async () => {
  await using h = await harness();
  h.rpc.answers.set("getblockcount", () => 177);
  h.rpc.answers.set("getblockhash", (params) => `hash-${params[0]}`);
  const client = await rawClient(h.server.port);
  try {
    client.send({ command: "getblockcount", params: [] });
    assert.deepEqual(await client.next(), {
      type: "result",
      command: "getblockcount",
      data: 177,
    });
    client.send({ command: "getblockhash", params: [5], id: "req-1" });
    assert.deepEqual(await client.next(), {
      type: "result",
      command: "getblockhash",
      data: "hash-5",
      id: "req-1",
    });
    client.send({ command: "getblockcount", id: 42 });
    const answer = await client.next();
    assertValid(answer);
    assert.equal(answer.id, 42);
    assert.deepEqual(h.rpc.calls.at(-2), {
      method: "getblockhash",
      params: [5],
    });
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer forwards the node's errors with the node's code", async () => {
  await using h = await harness();
  h.rpc.answers.set("getblock", () => {
    throw new RpcError("Cannot call getblock: Block not found", {
      code: -5,
      method: "getblock",
      status: 500,
    });
  });
  const client = await rawClient(h.server.port);
  try {
    client.send({ command: "getblock", params: ["00".repeat(32)], id: 1 });
    assert.deepEqual(await client.next(), {
      type: "error",
      data: { code: -5, message: "Block not found", command: "getblock" },
      message: "Block not found",
      code: -5,
      command: "getblock",
      id: 1,
    });
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer never forwards credentials from RPC errors", async () => {
  await using h = await harness();
  const secretUrl = "http://alice:hunter2@127.0.0.1:8819/";
  h.rpc.answers.set("getblockcount", () => {
    throw new AuthError(`Cannot authenticate to ${secretUrl}: refused`);
  });
  h.rpc.answers.set("getbestblockhash", () => {
    throw new ConnectionError(`Cannot connect to ${secretUrl}: refused`);
  });
  h.rpc.answers.set("getdifficulty", () => {
    throw new TimeoutError(`Cannot call getdifficulty at ${secretUrl}`);
  });
  h.rpc.answers.set("getchaintips", () => {
    throw new RpcError(`Cannot call getchaintips: proxy ${secretUrl} said no`, {
      code: -1,
    });
  });
  h.rpc.answers.set("uptime", () => {
    throw new Error(`boom ${secretUrl}`);
  });
  const client = await rawClient(h.server.port);
  try {
    const expected: Array<[string, string | number]> = [
      ["getblockcount", "node_unavailable"],
      ["getbestblockhash", "node_unavailable"],
      ["getdifficulty", "timeout"],
      ["getchaintips", -1],
      ["uptime", "internal_error"],
    ];
    for (const [command, code] of expected) {
      client.send({ command });
      const answer = await client.next();
      assert.equal(answer.type, "error");
      assert.equal(answer.code, code, command);
      const text = JSON.stringify(answer);
      assert.ok(!text.includes("hunter2"), text);
      assert.ok(!text.includes("alice"), text);
    }
    assert.equal(h.errors.length, 1); // the unexpected one is reported
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer refuses wallet, mining, network and stop commands whatever the allowlist", async () => {
  await using h = await harness({
    allowedCommands: [
      "getblockcount",
      "stop",
      "getbalance",
      "sendtoaddress",
      "generate",
      "setban",
    ],
  });
  h.rpc.answers.set("getblockcount", () => 1);
  for (
    const name of ["stop", "getbalance", "sendtoaddress", "generate", "setban"]
  ) {
    h.rpc.answers.set(name, () => "should never run");
  }
  const client = await rawClient(h.server.port);
  try {
    for (
      const command of [
        "stop",
        "getbalance",
        "sendtoaddress",
        "generate",
        "setban",
        "Stop",
        "getblock", // not in this server's allowlist
      ]
    ) {
      client.send({ command, params: [], id: command });
      const answer = await client.next();
      assert.equal(answer.type, "error", command);
      assert.equal(answer.code, "command_not_allowed", command);
      assert.equal(answer.id, command);
    }
    client.send({ command: "getblockcount" });
    assert.equal((await client.next()).data, 1);
    assert.deepEqual(h.rpc.calls.map((c) => c.method), ["getblockcount"]);
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer limits the commands a client runs at once", async () => {
  await using h = await harness({ maxPendingCommands: 2 });
  const release = Promise.withResolvers<void>();
  h.rpc.answers.set("getblockcount", () => release.promise.then(() => 5));
  const client = await rawClient(h.server.port);
  try {
    for (let i = 0; i < 3; i++) {
      client.send({ command: "getblockcount", id: i });
    }
    const refused = await client.next();
    assert.equal(refused.code, "too_many_requests");
    assert.equal(refused.id, 2);
    release.resolve();
    const answers = [await client.next(), await client.next()];
    assert.deepEqual(answers.map((a) => a.id).sort(), [0, 1]);
  } finally {
    await client.close();
  }
});

// ---------------------------------------------------------------------------
// Events

Deno.test("EvrmoreWebSocketServer announces blocks from rawblock with the block's fields", async () => {
  await using h = await harness();
  const client = await rawClient(h.server.port);
  try {
    await subscribe(client, "blocks");
    const block = fixtureBlock("0164_transfer");
    h.zmq.emit("hashblock", hashBlockNotification(block.hash));
    h.zmq.emit("rawblock", blockNotification(block));
    const message = await client.next();
    assertValid(message);
    assert.deepEqual(withoutCursor(message), {
      type: "block",
      data: {
        hash:
          "5c870de22d9127b6a534dbe5ad03eae77c6fe207619dd5e9d9cd344ffb4dc840",
        height: 164,
        time: 1795631375,
        tx_count: 4,
        size: 1604,
      },
    });
    // The same block again (hashblock, rawblock) is not announced twice.
    h.zmq.emit("hashblock", hashBlockNotification(block.hash));
    h.zmq.emit("rawblock", blockNotification(block));
    assert.deepEqual(await client.drain(), []);
    assert.equal(h.rpc.calls.length, 0);
    const health = await (await fetch(
      `http://127.0.0.1:${h.server.port}/health`,
    )).json();
    assert.equal(health.last_block.height, 164);
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer announces a hashblock-only block with one getblock call", async () => {
  await using h = await harness({ hashBlockDelay: 10 });
  const hash = labels.blocks.evr_sends!;
  h.rpc.answers.set(
    "getblock",
    () => readResult(`blocks/0161_evr_sends_${hash}.getblock1.json`),
  );
  const client = await rawClient(h.server.port);
  try {
    await subscribe(client, "block");
    h.zmq.emit("hashblock", hashBlockNotification(hash));
    const message = await client.next();
    assert.deepEqual(withoutCursor(message), {
      type: "block",
      data: { hash, height: 161, time: 1795631374, tx_count: 3, size: 739 },
    });
    assert.deepEqual(h.rpc.calls, [{ method: "getblock", params: [hash, 1] }]);
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer announces each transaction once, from the mempool or the block", async () => {
  await using h = await harness();
  const client = await rawClient(h.server.port);
  try {
    await subscribe(client, "transactions");
    await subscribe(client, "blocks");
    const block = fixtureBlock("0161_evr_sends");
    const [coinbase, sendmany, send] = block.tx;
    assert.ok(coinbase && sendmany && send);
    // send_evr seen in the mempool first.
    h.zmq.emit("rawtx", txNotification(send));
    // The block connects: the node republishes every tx, then the block.
    for (const tx of block.tx) h.zmq.emit("rawtx", txNotification(tx));
    h.zmq.emit("hashblock", hashBlockNotification(block.hash));
    h.zmq.emit("rawblock", blockNotification(block));
    const messages = await client.drain();
    assert.deepEqual(
      messages.map((m) =>
        m.type === "block"
          ? `block:${(m.data as { hash: string }).hash}`
          : `tx:${(m.data as { txid: string }).txid}`
      ),
      [
        `tx:${send.txid}`,
        `tx:${coinbase.txid}`,
        `tx:${sendmany.txid}`,
        `block:${block.hash}`,
      ],
    );
    const sendMessage = messages[0]!;
    assertValid(sendMessage);
    assert.deepEqual(sendMessage.data, {
      txid: send.txid,
      size: send.size,
      vsize: send.vsize,
      version: send.version,
      locktime: send.locktime,
      vin_count: send.vin.length,
      vout_count: send.vout.length,
    });

    // A block whose transactions never came through rawtx announces them itself.
    const next = fixtureBlock("0162_issue");
    h.zmq.emit("rawblock", blockNotification(next));
    const fromBlock = await client.drain();
    assert.deepEqual(
      fromBlock.map((m) => m.type),
      [...next.tx.map(() => "transaction"), "block"],
    );
    assert.deepEqual(
      fromBlock.slice(0, -1).map((m) => (m.data as { txid: string }).txid),
      next.tx.map((t) => t.txid),
    );
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer announces asset issue, transfer and reissue outputs", async () => {
  await using h = await harness();
  const client = await rawClient(h.server.port);
  try {
    await subscribe(client, "assets");
    for (const label of ["issue_root", "transfer", "reissue", "send_evr"]) {
      h.zmq.emit("rawtx", txNotification(fixtureTx(label)));
    }
    const messages = await client.drain();
    for (const m of messages) assertValid(m);
    assert.deepEqual(messages.map((m) => m.data), [
      {
        txid: labels.txs.issue_root,
        asset: "MYASSET!",
        amount: 1,
        type: "owner",
      },
      {
        txid: labels.txs.issue_root,
        asset: "MYASSET",
        amount: 1000,
        type: "issue",
      },
      {
        txid: labels.txs.transfer,
        asset: "MYASSET",
        amount: 10.5,
        type: "transfer",
      },
      {
        txid: labels.txs.transfer,
        asset: "MYASSET",
        amount: 989.5,
        type: "transfer",
      },
      {
        txid: labels.txs.reissue,
        asset: "MYASSET!",
        amount: 1,
        type: "transfer",
      },
      {
        txid: labels.txs.reissue,
        asset: "MYASSET",
        amount: 500,
        type: "reissue",
      },
    ]);
    // Seen again in a block: no second asset event.
    h.zmq.emit("rawtx", txNotification(fixtureTx("transfer")));
    assert.deepEqual(await client.drain(), []);
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer coalesces mempool updates and sends only changes", async () => {
  await using h = await harness({ mempoolInterval: 100 });
  const client = await rawClient(h.server.port);
  try {
    // No mempool subscriber: no getmempoolinfo call at all.
    h.zmq.emit("rawtx", txNotification(fixtureTx("mempool_evr")));
    assert.equal(h.rpc.mempoolCalls, 0);

    await subscribe(client, "mempool");
    h.rpc.mempool = { size: 2, bytes: 500, usage: 2000 };
    for (const label of ["mempool_asset", "mempool2_evr", "mempool2_asset"]) {
      h.zmq.emit("rawtx", txNotification(fixtureTx(label)));
    }
    assert.deepEqual(withoutCursor(await client.next()), {
      type: "mempool",
      data: { size: 2, bytes: 500, usage: 2000 },
    });
    assert.equal(h.rpc.mempoolCalls, 1);

    // Activity without change: a call, but no message.
    const started = Date.now();
    h.zmq.emit("rawtx", txNotification(fixtureTx("send_evr")));
    await waitFor(() => h.rpc.mempoolCalls === 2, "second getmempoolinfo");
    assert.ok(Date.now() - started >= 50, "calls at most once per interval");
    assert.deepEqual(await client.drain(), []);

    // A block empties the mempool: one message with the new figures.
    h.rpc.mempool = { size: 0, bytes: 0, usage: 96 };
    h.zmq.emit("rawblock", blockNotification(fixtureBlock("0163_sub_unique")));
    assert.deepEqual(withoutCursor(await client.next()), {
      type: "mempool",
      data: { size: 0, bytes: 0, usage: 96 },
    });
    assert.equal(h.rpc.mempoolCalls, 3);
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer isolates a slow client and keeps serving the others", async () => {
  await using h = await harness({ maxBufferedAmount: 256 * 1024 });
  const fast = await rawClient(h.server.port);
  // A slow client: completes the handshake, subscribes, never reads.
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: h.server.port,
  });
  try {
    await upgradeAndSubscribe(conn, "transactions");
    await subscribe(fast, "transactions");
    await waitFor(
      () => h.server.subscriptions.get("transactions")?.size === 2,
      "slow subscription",
    );
    const pad = "x".repeat(64 * 1024);
    let received = 0;
    for (let i = 0; i < 400 && h.server.stats.slowClientsClosed === 0; i++) {
      await h.server.broadcast("transactions", { type: "bulk", i, pad });
      // Sends are queued synchronously: let the fast client read each one.
      received += (await fast.drain()).length;
    }
    received += (await fast.drain()).length;
    assert.equal(h.server.stats.slowClientsClosed, 1);
    assert.equal(h.server.subscriptions.get("transactions")?.size, 1);
    assert.ok(received > 0);
    // The fast client still gets events.
    h.zmq.emit("rawtx", txNotification(fixtureTx("send_evr")));
    assert.equal((await fast.next()).type, "transaction");
  } finally {
    conn.close();
    await fast.close();
  }
});

Deno.test("EvrmoreWebSocketServer serializes each broadcast once", async () => {
  await using h = await harness();
  const clients = await Promise.all(
    [0, 1, 2].map(() => rawClient(h.server.port)),
  );
  try {
    for (const c of clients) await subscribe(c, "blocks");
    const before = h.server.stats.broadcasts;
    h.zmq.emit("rawblock", blockNotification(fixtureBlock("0165_reissue")));
    for (const c of clients) assert.equal((await c.next()).type, "block");
    assert.equal(h.server.stats.broadcasts - before, 1);
    assert.equal(h.server.stats.blocks, 1);
  } finally {
    for (const c of clients) await c.close();
  }
});

Deno.test("EvrmoreWebSocketServer maps pingInterval and pingTimeout onto Deno's idle timeout", async () => {
  // A client that never answers pings is closed after about
  // pingInterval + pingTimeout seconds of silence.
  await using h = await harness({ pingInterval: 0.5, pingTimeout: 0.5 });
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: h.server.port,
  });
  try {
    await conn.write(new TextEncoder().encode(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ));
    const started = Date.now();
    const buffer = new Uint8Array(4096);
    let sawPing = false;
    let sawClose = false;
    while (Date.now() - started < 5000) {
      const n = await conn.read(buffer);
      if (n === null) break;
      const text = new TextDecoder().decode(buffer.subarray(0, n));
      if (text.startsWith("HTTP/1.1")) continue;
      if (buffer[0] === 0x89) sawPing = true;
      if (buffer[0] === 0x88 || buffer.subarray(0, n).includes(0x88)) {
        sawClose = true;
        break;
      }
    }
    assert.ok(sawPing, "server pinged");
    assert.ok(sawClose, "server closed the silent client");
    await waitFor(() => h.server.stats.clients === 0, "client removal");
  } finally {
    conn.close();
  }
});

// ---------------------------------------------------------------------------
// The design document's custom server, in TypeScript

interface LargeBlockMessage {
  type: "large_block";
  data: {
    hash: string;
    height: number;
    time: number;
    tx_count: number;
    size: number;
  };
}

interface AssetTransferMessage {
  type: "asset_transfer";
  data: {
    txid: string;
    asset: string;
    amount: number;
    from: string;
    to: string;
  };
}

class CustomWebSocketServer extends EvrmoreWebSocketServer<FakeRpc> {
  customTopics: Map<string, Set<WebSocket>> = new Map([
    ["large_blocks", new Set<WebSocket>()],
    ["asset_transfers", new Set<WebSocket>()],
  ]);
  log: string[] = [];

  override async handleBlock(notification: ZMQNotification): Promise<void> {
    // Call the parent method to handle the notification
    await super.handleBlock(notification);
    // Get block details
    const blockHash = notification.block?.hash ?? notification.hex;
    const block = await this.rpcClient.getblock(blockHash);
    // Check if this is a large block
    if (block.tx.length > 100) {
      const message: LargeBlockMessage = {
        type: "large_block",
        data: {
          hash: block.hash,
          height: block.height,
          time: block.time,
          tx_count: block.tx.length,
          size: block.size,
        },
      };
      await this.broadcast("large_blocks", message);
    }
  }

  override async handleTransaction(
    notification: ZMQNotification,
  ): Promise<void> {
    await super.handleTransaction(notification);
    const txid = notification.transaction?.txid ?? notification.hex;
    try {
      const tx = await this.rpcClient.getrawtransaction(txid, true);
      for (const vout of tx.vout) {
        const asset = vout.scriptPubKey.asset;
        if (asset === undefined) continue;
        const message: AssetTransferMessage = {
          type: "asset_transfer",
          data: {
            txid: tx.txid,
            asset: asset.name,
            amount: asset.amount,
            from: "unknown", // Would need to look up the input address
            to: vout.scriptPubKey.addresses?.[0] ?? "unknown",
          },
        };
        await this.broadcast("asset_transfers", message);
      }
    } catch (error) {
      this.log.push(`Error handling transaction: ${error}`);
    }
  }

  override async handleClientMessage(
    socket: WebSocket,
    message: string,
  ): Promise<boolean> {
    let data: unknown;
    try {
      data = JSON.parse(message);
    } catch {
      socket.send(JSON.stringify({ type: "error", message: "Invalid JSON" }));
      return true;
    }
    // Handle custom subscriptions
    if (
      typeof data === "object" && data !== null && "action" in data &&
      "topic" in data
    ) {
      const { action, topic } = data as { action: unknown; topic: unknown };
      const subscribers = typeof topic === "string"
        ? this.customTopics.get(topic)
        : undefined;
      if (subscribers !== undefined) {
        if (action === "subscribe") {
          subscribers.add(socket);
          socket.send(
            JSON.stringify({ type: "subscription", status: "success", topic }),
          );
          this.log.push(`Client subscribed to custom topic: ${topic}`);
        } else if (action === "unsubscribe" && subscribers.delete(socket)) {
          socket.send(
            JSON.stringify({
              type: "subscription",
              status: "success",
              topic,
              action: "unsubscribe",
            }),
          );
          this.log.push(`Client unsubscribed from custom topic: ${topic}`);
        }
        return true;
      }
    }
    // If not handled, let the parent class handle it
    return await super.handleClientMessage(socket, message);
  }

  override async broadcast(topic: string, message: object): Promise<void> {
    if (this.subscriptions.has(topic)) {
      // Use the parent method for standard topics
      await super.broadcast(topic, message);
    } else {
      const subscribers = this.customTopics.get(topic);
      if (subscribers === undefined || subscribers.size === 0) return;
      const text = JSON.stringify(message);
      for (const client of subscribers) {
        if (client.readyState === WebSocket.OPEN) client.send(text);
      }
    }
  }
}

Deno.test("The design document's custom server works by subclassing", async () => {
  const rpc = new FakeRpc();
  const zmq = new FakeZmq();
  const issue = fixtureTx("issue_root");
  rpc.answers.set("getrawtransaction", ([txid]) => {
    if (txid === issue.txid) return issue;
    throw new RpcError("Cannot call getrawtransaction: No such transaction", {
      code: -5,
    });
  });
  const big = fixtureBlock("0166_qualifier");
  rpc.answers.set("getblock", ([hash]) => ({
    hash,
    height: big.height,
    time: big.time,
    size: 99999,
    tx: Array.from({ length: hash === big.hash ? 150 : 2 }, (_, i) => `tx${i}`),
  }));
  await using server = new CustomWebSocketServer({
    rpcClient: rpc,
    zmqClient: zmq,
    host: "127.0.0.1",
    port: 0,
    pingInterval: null,
    onError: () => {},
  });
  await server.start();
  const client = await rawClient(server.port);
  try {
    client.send({ action: "subscribe", topic: "large_blocks" });
    assert.deepEqual(await client.next(), {
      type: "subscription",
      status: "success",
      topic: "large_blocks",
    });
    await subscribe(client, "blocks");
    client.send({ action: "subscribe", topic: "asset_transfers" });
    assert.equal((await client.next()).topic, "asset_transfers");
    client.sendText("{not json");
    assert.deepEqual(await client.next(), {
      type: "error",
      message: "Invalid JSON",
    });

    zmq.emit("rawtx", txNotification(issue));
    zmq.emit("rawblock", blockNotification(fixtureBlock("0165_reissue")));
    zmq.emit("rawblock", blockNotification(big));
    const messages = await client.drain();
    assert.deepEqual(messages.map((m) => m.type), [
      "asset_transfer",
      "asset_transfer",
      "block",
      "block",
      "large_block",
    ]);
    assert.deepEqual(messages[1]!.data, {
      txid: issue.txid,
      asset: "MYASSET",
      amount: 1000,
      from: "unknown",
      to: issue.vout[3]!.scriptPubKey.addresses![0],
    });
    assert.deepEqual(messages[4]!.data, {
      hash: big.hash,
      height: big.height,
      time: big.time,
      tx_count: 150,
      size: 99999,
    });
    client.send({ action: "unsubscribe", topic: "large_blocks" });
    assert.equal((await client.next()).action, "unsubscribe");
    assert.ok(
      server.log.includes("Client subscribed to custom topic: large_blocks"),
    );
  } finally {
    await client.close();
  }
});

// ---------------------------------------------------------------------------
// With the API client

Deno.test("EvrmoreWebSocketServer serves EvrmoreWebSocketClient end to end", async () => {
  await using h = await harness();
  h.rpc.answers.set("getblockcount", () => 164);
  await using client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${h.server.port}`,
    pingInterval: null,
  });
  await client.connect();
  await client.subscribe("blocks");
  await client.subscribe("transactions");
  await client.subscribe("assets");
  assert.equal(await client.command("getblockcount"), 164);
  h.zmq.emit("rawtx", txNotification(fixtureTx("transfer")));
  h.zmq.emit("rawblock", blockNotification(fixtureBlock("0164_transfer")));
  const first = await client.receive();
  assert.equal(first.type, "transaction");
  if (first.type === "transaction") {
    assert.equal(first.data.txid, labels.txs.transfer);
  }
  const types: string[] = [];
  for await (const message of client) {
    types.push(message.type);
    if (message.type === "block") {
      assert.equal(message.data.height, 164);
      break;
    }
  }
  assert.deepEqual(types, [
    "asset",
    "asset",
    "transaction",
    "transaction",
    "asset",
    "asset",
    "transaction",
    "asset",
    "block",
  ]);
});

Deno.test("EvrmoreWebSocketServer falls back to getblock when the rawblock cannot be decoded", async () => {
  await using h = await harness({ hashBlockDelay: 20 });
  const hash = labels.blocks.evr_sends!;
  h.rpc.answers.set(
    "getblock",
    () => readResult(`blocks/0161_evr_sends_${hash}.getblock1.json`),
  );
  const client = await rawClient(h.server.port);
  try {
    await subscribe(client, "blocks");
    h.zmq.emit("hashblock", hashBlockNotification(hash));
    // A rawblock whose body did not decode carries no `block`.
    h.zmq.emit("rawblock", {
      topic: "rawblock",
      body: new Uint8Array([1, 2, 3]),
      hex: "010203",
      sequence: sequence++,
      receivedAt: Date.now(),
    });
    const message = await client.next();
    assert.equal(message.type, "block");
    assert.equal((message.data as { height: number }).height, 161);
    assert.equal(h.rpc.calls.length, 1);
  } finally {
    await client.close();
  }
});

Deno.test("EvrmoreWebSocketServer refuses clients beyond maxClients with 503", async () => {
  await using h = await harness({ maxClients: 1 });
  const first = await rawClient(h.server.port);
  try {
    await assert.rejects(rawClient(h.server.port));
    const health = await (await fetch(
      `http://127.0.0.1:${h.server.port}/health`,
    )).json();
    assert.equal(health.clients, 1);
  } finally {
    await first.close();
  }
});

Deno.test("EvrmoreWebSocketServer can start again after stop()", async () => {
  const h = await harness();
  await h.server.stop();
  await h.server.start();
  try {
    assert.equal(h.server.listening, true);
    assert.equal(h.zmq.listenerCount, 9);
    const client = await rawClient(h.server.port);
    await subscribe(client, "blocks");
    h.zmq.emit("rawblock", blockNotification(fixtureBlock("0161_evr_sends")));
    assert.equal((await client.next()).type, "block");
    await client.close();
  } finally {
    await h.server.stop();
  }
});

/** A pushed event without its `cursor` (asserted to be one). */
function withoutCursor(message: unknown): unknown {
  const { cursor, ...rest } = message as Record<string, unknown>;
  assert.match(String(cursor), /^[0-9a-z]+:[0-9]+$/);
  return rest;
}
