import assert from "node:assert/strict";
import { ConnectionError, RpcError } from "../lib/errors.ts";
import type {
  DecodedBlock,
  DecodedTransaction,
} from "../lib/encoding/types.ts";
import type { ZMQNotification } from "../lib/zmq/types.ts";
import { decodeBlock, decodeTransaction } from "../lib/encoding/mod.ts";
import {
  type BlockData,
  EvrmoreWebSocketClient,
  type TransactionData,
  WebSocketRequestError,
  type WebSocketServerRpc,
} from "../lib/websocket/mod.ts";
import { harnessWith, waitFor as waitUntil } from "./_ws_hardening_helpers.ts";

// ---------------------------------------------------------------------------
// Fixtures and fakes

const FIXTURES = new URL(
  "../../shared/fixtures/evrmore-regtest/",
  import.meta.url,
);
const labels = JSON.parse(
  Deno.readTextFileSync(new URL("labels.json", FIXTURES)),
) as { txs: Record<string, string>; blocks: Record<string, string> };

function fixtureTx(label: string): DecodedTransaction {
  const hex = Deno.readTextFileSync(
    new URL(`txs/${label}_${labels.txs[label]}.hex`, FIXTURES),
  ).trim();
  return decodeTransaction(hex, { network: "regtest" });
}

function fixtureBlock(prefix: string, label: string): DecodedBlock {
  const hex = Deno.readTextFileSync(
    new URL(`blocks/${prefix}_${label}_${labels.blocks[label]}.hex`, FIXTURES),
  ).trim();
  return decodeBlock(hex, { network: "regtest" });
}

let sequence = 0;

function txNotification(tx: DecodedTransaction): ZMQNotification {
  return {
    topic: "rawtx",
    body: new Uint8Array(),
    hex: tx.hex ?? "",
    sequence: sequence++,
    receivedAt: Date.now(),
    transaction: tx,
  };
}

function blockNotification(block: DecodedBlock): ZMQNotification {
  return {
    topic: "rawblock",
    body: new Uint8Array(),
    hex: "",
    sequence: sequence++,
    receivedAt: Date.now(),
    block,
  };
}

class FakeRpc implements WebSocketServerRpc {
  answers = new Map<string, (params: unknown[]) => unknown>();
  call(method: string, params: unknown[] = []): Promise<unknown> {
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
    return Promise.resolve({ size: 1, bytes: 2, usage: 3 });
  }
}

async function startServer(port = 0) {
  const { server, rpc, zmq } = await harnessWith(new FakeRpc(), {
    port,
    onError: () => {},
  });
  return { server, rpc, zmq, uri: `ws://127.0.0.1:${server.port}` };
}

/** Waits up to 5 s for `condition`. */
const waitFor = (condition: () => boolean, what: string): Promise<void> =>
  waitUntil(condition, what, 5000);

/** A port nobody listens on. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

// ---------------------------------------------------------------------------

Deno.test("EvrmoreWebSocketClient has the documented defaults", () => {
  const client = new EvrmoreWebSocketClient();
  assert.equal(client.uri, "ws://localhost:8765");
  assert.equal(client.state, "idle");
  assert.equal(client.connected, false);
  assert.deepEqual(client.topics, []);
  assert.throws(() => new EvrmoreWebSocketClient({ uri: "nope" }), TypeError);
  assert.throws(
    () => new EvrmoreWebSocketClient({ uri: "ftp://x/" }),
    TypeError,
  );
  assert.throws(
    () => new EvrmoreWebSocketClient({ pingInterval: -1 }),
    RangeError,
  );
});

Deno.test("EvrmoreWebSocketClient uses no Deno-only API (runs in browsers)", () => {
  for (const file of ["_client.ts", "_client_options.ts", "_schemas.ts"]) {
    const source = Deno.readTextFileSync(
      new URL(`../lib/websocket/${file}`, import.meta.url),
    );
    assert.ok(!/\bDeno\./.test(source), file);
  }
  const protocol = Deno.readTextFileSync(
    new URL("../lib/websocket/_protocol.ts", import.meta.url),
  );
  assert.ok(!/\bDeno\./.test(protocol));
});

Deno.test("EvrmoreWebSocketClient.connect() rejects with ConnectionError when nothing listens", async () => {
  const client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${freePort()}`,
  });
  await assert.rejects(client.connect(), ConnectionError);
  assert.equal(client.state, "closed");
  await assert.rejects(client.receive(), ConnectionError);
  await client.disconnect();
});

Deno.test("EvrmoreWebSocketClient.receive() rejects before connect()", async () => {
  const client = new EvrmoreWebSocketClient();
  await assert.rejects(client.receive(), ConnectionError);
  await assert.rejects(client.subscribe("blocks"), ConnectionError);
});

Deno.test("EvrmoreWebSocketClient subscribes and receives typed messages of every topic", async () => {
  const { server, zmq, uri } = await startServer();
  try {
    await using client = new EvrmoreWebSocketClient({
      uri,
      pingInterval: null,
    });
    await client.connect();
    assert.equal(client.state, "open");
    await client.subscribe("blocks");
    await client.subscribe("transaction"); // singular alias
    await client.subscribe("assets");
    await client.subscribe("mempool");
    assert.deepEqual(client.topics, [
      "blocks",
      "transaction",
      "assets",
      "mempool",
    ]);

    zmq.emit("rawtx", txNotification(fixtureTx("issue_root")));
    zmq.emit("rawblock", blockNotification(fixtureBlock("0162", "issue")));

    const seen: string[] = [];
    let block: BlockData | undefined;
    let mempool = false;
    while (block === undefined || !mempool) {
      const message = await client.receive();
      seen.push(message.type);
      switch (message.type) {
        case "block":
          block = message.data; // typed: message.data.hash is a string
          break;
        case "transaction":
          assert.equal(typeof message.data.vout_count, "number");
          break;
        case "asset":
          assert.ok(
            ["issue", "owner", "transfer", "reissue"].includes(
              message.data.type,
            ),
          );
          break;
        case "mempool":
          assert.deepEqual(message.data, { size: 1, bytes: 2, usage: 3 });
          mempool = true;
          break;
      }
    }
    assert.equal(block.hash, labels.blocks.issue);
    assert.equal(block.height, 162);
    const issueBlock = fixtureBlock("0162", "issue");
    const txs = new Map(
      [fixtureTx("issue_root"), ...issueBlock.tx].map((t) => [t.txid, t]),
    );
    const assetOutputs = [...txs.values()].flatMap((t) =>
      t.vout.filter((o) =>
        ["new_asset", "transfer_asset", "reissue_asset"].includes(
          o.scriptPubKey.type,
        )
      )
    );
    assert.equal(seen.filter((t) => t === "transaction").length, txs.size);
    assert.equal(
      seen.filter((t) => t === "asset").length,
      assetOutputs.length,
    );

    await client.unsubscribe("blocks");
    assert.deepEqual(client.topics, ["transaction", "assets", "mempool"]);
    assert.equal(server.subscriptions.get("blocks")?.size, 0);
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient.subscribe() rejects an unknown topic with WebSocketRequestError", async () => {
  const { server, uri } = await startServer();
  try {
    await using client = new EvrmoreWebSocketClient({
      uri,
      pingInterval: null,
    });
    await client.connect();
    const error = await client.subscribe("weather").catch((e) => e);
    assert.ok(error instanceof WebSocketRequestError);
    assert.equal(error.code, "unknown_topic");
    assert.deepEqual(client.topics, []);
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient delivers messages of unknown types unchanged", async () => {
  const { server, uri } = await startServer();
  try {
    interface LargeBlock {
      type: "large_block";
      data: { hash: string };
    }
    await using client = new EvrmoreWebSocketClient<LargeBlock>({
      uri,
      pingInterval: null,
    });
    await client.connect();
    await client.subscribe("blocks");
    await server.broadcast("blocks", {
      type: "large_block",
      data: { hash: "ab" },
    });
    const message = await client.receive();
    assert.equal(message.type, "large_block");
    if (message.type === "large_block") assert.equal(message.data.hash, "ab");
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient.command() resolves with the result and rejects with the node's RpcError", async () => {
  const { server, rpc, uri } = await startServer();
  rpc.answers.set("getblockcount", () => 177);
  rpc.answers.set("getblock", () => {
    throw new RpcError("Cannot call getblock: Block not found", { code: -5 });
  });
  rpc.answers.set("getdifficulty", () => {
    throw new ConnectionError("Cannot connect to http://u:p@127.0.0.1:1/");
  });
  try {
    await using client = new EvrmoreWebSocketClient({
      uri,
      pingInterval: null,
    });
    await client.connect();
    const [a, b] = await Promise.all([
      client.command<number>("getblockcount"),
      client.command("getblockcount", []),
    ]);
    assert.equal(a, 177);
    assert.equal(b, 177);
    const nodeError = await client.command("getblock", ["00"]).catch((e) => e);
    assert.ok(nodeError instanceof RpcError);
    assert.equal(nodeError.code, -5);
    assert.equal(nodeError.method, "getblock");
    assert.equal(nodeError.message, "Cannot call getblock: Block not found");
    const refused = await client.command("stop").catch((e) => e);
    assert.ok(refused instanceof WebSocketRequestError);
    assert.equal(refused.code, "command_not_allowed");
    assert.equal(refused.command, "stop");
    const down = await client.command("getdifficulty").catch((e) => e);
    assert.ok(down instanceof ConnectionError);
    assert.ok(!down.message.includes("u:p"));
    await assert.rejects(client.command(""), TypeError);
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient runs a literal port of the document's custom client, counting each message once", async () => {
  // The design document's CustomWebSocketClient: its own loop calls the
  // handlers; the client must not call them too.
  class CustomWebSocketClient extends EvrmoreWebSocketClient {
    blockCount = 0;
    txCount = 0;
    lines: string[] = [];

    override handleBlock(blockData: BlockData): void {
      this.blockCount += 1;
      this.lines.push(
        `New block: ${blockData.hash} (height: ${blockData.height})`,
      );
      this.lines.push(`Total blocks received: ${this.blockCount}`);
    }

    override handleTransaction(txData: TransactionData): void {
      this.txCount += 1;
      this.lines.push(`New transaction: ${txData.txid}`);
      this.lines.push(`Total transactions received: ${this.txCount}`);
    }

    async processMessages(stopAfterBlocks: number): Promise<void> {
      for await (const message of this) {
        if (message.type === "block") {
          await this.handleBlock(message.data);
          if (this.blockCount >= stopAfterBlocks) return;
        } else if (message.type === "transaction") {
          await this.handleTransaction(message.data);
        }
      }
    }
  }

  const { server, zmq, uri } = await startServer();
  try {
    const client = new CustomWebSocketClient({ uri, pingInterval: null });
    await client.connect();
    await client.subscribe("blocks");
    await client.subscribe("transactions");
    const processing = client.processMessages(2);
    zmq.emit("rawtx", txNotification(fixtureTx("send_evr")));
    zmq.emit("rawblock", blockNotification(fixtureBlock("0161", "evr_sends")));
    zmq.emit("rawblock", blockNotification(fixtureBlock("0162", "issue")));
    await processing;
    await client.disconnect();
    assert.equal(client.blockCount, 2);
    // send_evr, then the other transactions of both blocks, each once.
    assert.equal(client.txCount, 3 + 3);
    assert.ok(client.lines.includes(`New transaction: ${labels.txs.send_evr}`));
    assert.ok(
      client.lines.includes(`New block: ${labels.blocks.issue} (height: 162)`),
    );
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient.listen() calls each hook once per message, and only listen() does", async () => {
  class Counting extends EvrmoreWebSocketClient {
    blocks = 0;
    txs = 0;
    override handleBlock(): void {
      this.blocks++;
    }
    override handleTransaction(): Promise<void> {
      this.txs++;
      return Promise.resolve();
    }
  }
  const { server, zmq, uri } = await startServer();
  try {
    await using client = new Counting({ uri, pingInterval: null });
    await client.connect();
    await client.subscribe("blocks");
    await client.subscribe("transactions");
    // Without listen(), receiving calls no hook.
    zmq.emit("rawtx", txNotification(fixtureTx("send_evr")));
    assert.equal((await client.receive()).type, "transaction");
    assert.equal(client.txs, 0);
    const stop = new AbortController();
    const listening = client.listen({ signal: stop.signal });
    const block = fixtureBlock("0161", "evr_sends");
    const newTxs = block.tx.filter((tx) => tx.txid !== labels.txs.send_evr);
    zmq.emit("rawblock", blockNotification(block));
    await waitFor(() => client.blocks === 1, "the block hook");
    stop.abort();
    await listening;
    assert.equal(client.blocks, 1);
    // The block's transactions (send_evr already seen) came before it.
    assert.ok(newTxs.length > 0);
    assert.equal(client.txs, newTxs.length);
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient.listen() reports hook errors and goes on; ends on disconnect()", async () => {
  const { server, zmq, uri } = await startServer();
  const errors: Error[] = [];
  class Failing extends EvrmoreWebSocketClient {
    calls = 0;
    override handleBlock(): Promise<void> {
      this.calls++;
      return Promise.reject(new Error("handler failed"));
    }
  }
  try {
    const client = new Failing({
      uri,
      pingInterval: null,
      onError: (e) => errors.push(e),
    });
    await client.connect();
    await client.subscribe("blocks");
    const listening = client.listen();
    zmq.emit("rawblock", blockNotification(fixtureBlock("0161", "evr_sends")));
    zmq.emit("rawblock", blockNotification(fixtureBlock("0162", "issue")));
    await waitFor(() => errors.length === 2, "two reported errors");
    assert.equal(errors[0]?.message, "handler failed");
    assert.equal(client.calls, 2);
    await client.disconnect();
    await listening;
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient keeps a bounded receive queue", async () => {
  const { server, uri } = await startServer();
  try {
    await using client = new EvrmoreWebSocketClient({
      uri,
      pingInterval: null,
      maxQueueSize: 3,
    });
    await client.connect();
    await client.subscribe("blocks");
    for (let i = 0; i < 5; i++) {
      await server.broadcast("blocks", { type: "note", i });
    }
    // A command's answer comes after the five messages.
    await assert.rejects(client.command("stop"), WebSocketRequestError);
    assert.equal(client.droppedMessages, 2);
    const kept = [
      await client.receive(),
      await client.receive(),
      await client.receive(),
    ];
    assert.deepEqual(kept.map((m) => (m as unknown as { i: number }).i), [
      2,
      3,
      4,
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient.disconnect() ends iterators and rejects receive()", async () => {
  const { server, uri } = await startServer();
  try {
    const client = new EvrmoreWebSocketClient({ uri, pingInterval: null });
    await client.connect();
    await client.subscribe("blocks");
    const iterating = (async () => {
      const got: string[] = [];
      for await (const message of client) got.push(message.type);
      return got;
    })();
    const waiting = assert.rejects(client.receive(), ConnectionError);
    await client.disconnect();
    assert.deepEqual(await iterating, []);
    await waiting;
    await assert.rejects(client.receive(), ConnectionError);
    await assert.rejects(client.command("getblockcount"), ConnectionError);
    assert.equal(client.state, "closed");
    await client.disconnect();
    await client[Symbol.asyncDispose]();
    await waitFor(() => server.stats.clients === 0, "server-side close");
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient reconnects and resubscribes after a server restart on the same port", async () => {
  const first = await startServer();
  const port = first.server.port;
  await using client = new EvrmoreWebSocketClient({
    uri: first.uri,
    pingInterval: null,
    reconnectDelay: 20,
    maxReconnectDelay: 100,
  });
  await client.connect();
  await client.subscribe("blocks");
  await client.subscribe("assets");
  await first.server.stop();
  await waitFor(() => client.state === "reconnecting", "reconnecting state");
  const pendingReceive = client.receive();

  const second = await startServer(port);
  try {
    await waitFor(
      () =>
        second.server.subscriptions.get("blocks")?.size === 1 &&
        second.server.subscriptions.get("assets")?.size === 1,
      "resubscription",
    );
    assert.equal(client.state, "open");
    assert.equal(client.reconnects, 1);
    second.zmq.emit(
      "rawblock",
      blockNotification(fixtureBlock("0163", "sub_unique")),
    );
    // The block's transactions carry assets: asset events come first.
    let message = await pendingReceive;
    assert.equal(message.type, "asset");
    while (message.type !== "block") message = await client.receive();
    assert.equal(message.data.height, 163);
  } finally {
    await client.disconnect();
    await second.server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient without reconnect rejects receive() with ConnectionError when the server goes away", async () => {
  const { server, uri } = await startServer();
  const client = new EvrmoreWebSocketClient({
    uri,
    pingInterval: null,
    reconnect: false,
  });
  await client.connect();
  const waiting = assert.rejects(client.receive(), ConnectionError);
  const pending = assert.rejects(
    client.command("getblockcount"),
    ConnectionError,
  );
  await server.stop();
  await waiting;
  await pending;
  assert.equal(client.state, "closed");
  await client.disconnect();
});

Deno.test("EvrmoreWebSocketClient heartbeat pings a server that announced pings and treats its silence as dropped", async () => {
  // A server that announces pings, counts messages, never answers.
  let received = 0;
  const sockets: WebSocket[] = [];
  const silent = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request, {
        idleTimeout: 0,
      });
      sockets.push(socket);
      socket.addEventListener("open", () => {
        socket.send(JSON.stringify({
          type: "welcome",
          data: { protocol: 1, server: "x", version: "1", features: ["ping"] },
        }));
      });
      socket.addEventListener("message", () => received++);
      return response;
    },
  );
  try {
    const client = new EvrmoreWebSocketClient({
      uri: `ws://127.0.0.1:${silent.addr.port}`,
      pingInterval: 0.05,
      pingTimeout: 0.1,
      reconnect: false,
    });
    await client.connect();
    const error = await client.receive().catch((e) => e);
    assert.ok(error instanceof ConnectionError);
    assert.match(error.message, /no answer to ping/);
    assert.ok(received >= 1, "a ping was sent");
    await client.disconnect();
  } finally {
    for (const socket of sockets) {
      if (socket.readyState === WebSocket.OPEN) socket.close();
    }
    await silent.shutdown();
  }
});

Deno.test("EvrmoreWebSocketClient heartbeat keeps a live connection open", async () => {
  const { server, uri } = await startServer();
  try {
    await using client = new EvrmoreWebSocketClient({
      uri,
      pingInterval: 0.03,
      pingTimeout: 0.5,
    });
    await client.connect();
    await client.subscribe("blocks");
    const deadline = Date.now() + 300;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(client.state, "open");
    }
    assert.equal(client.reconnects, 0);
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient matches answers of a server that echoes no ids", async () => {
  // A server in the style of the design document's custom server.
  const silent = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request, {
        idleTimeout: 0,
      });
      socket.addEventListener("message", (event) => {
        const data = JSON.parse(event.data as string);
        if (data.action === "subscribe") {
          socket.send(
            JSON.stringify({
              type: "subscription",
              status: "success",
              topic: data.topic,
            }),
          );
        } else if (data.command) {
          socket.send(
            JSON.stringify({ type: "result", command: data.command, data: 7 }),
          );
        }
      });
      return response;
    },
  );
  try {
    await using client = new EvrmoreWebSocketClient({
      uri: `ws://127.0.0.1:${silent.addr.port}`,
      pingInterval: null,
    });
    await client.connect();
    await client.subscribe("large_blocks");
    assert.equal(await client.command("getblockcount"), 7);
  } finally {
    await silent.shutdown();
  }
});

// ---------------------------------------------------------------------------
// Servers that speak only the design document (like the Python evrmore-rpc
// 1.2.1 server): no welcome, no answer to subscribe, no application pong,
// nothing for commands.

interface DocumentServer {
  uri: string;
  /** Every text received, in order. */
  received: string[];
  /** Sends `{type, data}` to the subscribers of the type's topic (or `all`). */
  publish(type: string, data: unknown): number;
  /** Sockets open now. */
  open(): number;
  shutdown(): Promise<void>;
}

function documentOnlyServer(
  options: { welcome?: unknown; welcomeDelay?: number; acks?: boolean } = {},
): DocumentServer {
  const topics = new Map<WebSocket, Set<string>>();
  const received: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request, {
        idleTimeout: 0,
      });
      topics.set(socket, new Set());
      const welcome = options.welcome;
      // Answers wait for the welcome, as a real server's would.
      let welcomed = Promise.resolve();
      if (welcome !== undefined) {
        welcomed = new Promise((resolve) => {
          socket.addEventListener("open", () => {
            setTimeout(() => {
              socket.send(JSON.stringify(welcome));
              resolve();
            }, options.welcomeDelay ?? 0);
          });
        });
      }
      socket.addEventListener("message", (event) => {
        received.push(event.data as string);
        const data = JSON.parse(event.data as string);
        if (!("action" in data && "topic" in data)) return;
        if (data.action === "subscribe") topics.get(socket)?.add(data.topic);
        else if (data.action === "unsubscribe") {
          topics.get(socket)?.delete(data.topic);
        }
        if (options.acks === true) {
          const ack = { status: "success", topic: data.topic };
          welcomed.then(() =>
            socket.send(JSON.stringify({
              type: "subscription",
              data: { ...ack, action: data.action },
              ...ack,
              ...("id" in data ? { id: data.id } : {}),
            }))
          );
        }
      });
      socket.addEventListener("close", () => topics.delete(socket));
      return response;
    },
  );
  const plural: Record<string, string> = {
    block: "blocks",
    transaction: "transactions",
    asset: "assets",
    mempool: "mempool",
  };
  return {
    uri: `ws://127.0.0.1:${server.addr.port}`,
    received,
    publish(type, data) {
      let sent = 0;
      for (const [socket, subscribed] of topics) {
        if (
          socket.readyState === WebSocket.OPEN &&
          (subscribed.has(plural[type] ?? type) || subscribed.has("all"))
        ) {
          socket.send(JSON.stringify({ type, data }));
          sent++;
        }
      }
      return sent;
    },
    open: () => topics.size,
    async shutdown() {
      for (const socket of topics.keys()) {
        if (socket.readyState === WebSocket.OPEN) socket.close();
      }
      await server.shutdown();
    },
  };
}

const BLOCK_DATA = {
  hash: "00".repeat(31) + "ab",
  height: 1,
  time: 1231006505,
  tx_count: 1,
  size: 285,
};

Deno.test("EvrmoreWebSocketClient.subscribe() resolves once sent to a document-only server", async () => {
  const doc = documentOnlyServer();
  try {
    await using client = new EvrmoreWebSocketClient({
      uri: doc.uri,
      welcomeTimeout: 200,
      requestTimeout: 60_000,
    });
    await client.connect();
    await client.subscribe("blocks");
    await client.subscribe("transactions");
    assert.equal(client.serverInfo, undefined);
    await waitFor(() => doc.received.length === 2, "both requests");
    assert.deepEqual(
      doc.received.map((text) => JSON.parse(text).topic),
      ["blocks", "transactions"],
    );
    await waitFor(() => doc.publish("block", BLOCK_DATA) === 1, "a subscriber");
    const message = await client.receive();
    assert.equal(message.type, "block");
    assert.deepEqual(message.data, BLOCK_DATA);
    await client.unsubscribe("transactions");
    assert.deepEqual(client.topics, ["blocks"]);
  } finally {
    await doc.shutdown();
  }
});

Deno.test("EvrmoreWebSocketClient keeps a quiet document-only server's connection: no application ping, no false disconnect", async () => {
  // The default 20 s + 20 s heartbeat against a minute of silence, scaled
  // down: 50 ms + 50 ms against 1 s (20 ping periods).
  const doc = documentOnlyServer();
  try {
    await using client = new EvrmoreWebSocketClient({
      uri: doc.uri,
      pingInterval: 0.05,
      pingTimeout: 0.05,
      welcomeTimeout: 20,
    });
    await client.connect();
    await client.subscribe("blocks");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(client.state, "open");
    assert.equal(client.reconnects, 0);
    assert.equal(doc.open(), 1);
    assert.ok(
      doc.received.every((text) => JSON.parse(text).action !== "ping"),
      `no ping sent: ${doc.received.join(" ")}`,
    );
    // Still delivering after the silence.
    assert.equal(doc.publish("block", BLOCK_DATA), 1);
    assert.equal((await client.receive()).type, "block");
  } finally {
    await doc.shutdown();
  }
});

Deno.test("EvrmoreWebSocketClient waits for acks when a late welcome announces them", async () => {
  // The welcome comes 50 ms after the client's first send.
  const doc = documentOnlyServer({
    welcome: {
      type: "welcome",
      data: {
        protocol: 1,
        server: "test",
        version: "9.9.9",
        features: ["acks"],
      },
    },
    welcomeDelay: 50,
    acks: true,
  });
  try {
    await using client = new EvrmoreWebSocketClient({
      uri: doc.uri,
      pingInterval: null,
      welcomeTimeout: 5000,
    });
    await client.connect();
    await client.subscribe("blocks");
    assert.equal(client.serverInfo?.version, "9.9.9");
    assert.deepEqual(client.serverInfo?.features, ["acks"]);
    await client.subscribe("mempool");
    // Acks are answers, not messages.
    assert.equal(doc.publish("mempool", { size: 1, bytes: 2, usage: 3 }), 1);
    assert.equal((await client.receive()).type, "mempool");
  } finally {
    await doc.shutdown();
  }
});

Deno.test("EvrmoreWebSocketClient learns our server's features from its welcome", async () => {
  const { server, uri } = await startServer();
  try {
    await using client = new EvrmoreWebSocketClient({
      uri,
      pingInterval: null,
    });
    await client.connect();
    await client.subscribe("blocks");
    const info = client.serverInfo;
    assert.equal(info?.server, "@evrmore/rpc");
    assert.equal(info?.protocol, 1);
    for (const feature of ["acks", "ping", "commands", "since", "all"]) {
      assert.ok(info?.features.includes(feature), feature);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient subscribes to all: one answer, each event once; unsubscribe all stops them", async () => {
  const { server, zmq, uri } = await startServer();
  try {
    await using client = new EvrmoreWebSocketClient({
      uri,
      pingInterval: null,
    });
    await client.connect();
    await client.subscribe("all");
    zmq.emit("rawtx", txNotification(fixtureTx("send_evr")));
    const first = await client.receive();
    assert.equal(first.type, "transaction");
    // A command's answer comes after anything else the server sent.
    await assert.rejects(client.command("stop"), WebSocketRequestError);
    const more: string[] = [];
    while (true) {
      const next = await client.receive({ signal: AbortSignal.timeout(50) })
        .catch(() => undefined);
      if (next === undefined) break;
      more.push(next.type);
    }
    assert.ok(!more.includes("transaction"), `once: ${more.join(",")}`);
    await client.unsubscribe("all");
    zmq.emit("rawtx", txNotification(fixtureTx("sendmany_evr")));
    await assert.rejects(client.command("stop"), WebSocketRequestError);
    const after = await client.receive({ signal: AbortSignal.timeout(50) })
      .catch(() => undefined);
    assert.equal(after, undefined);
  } finally {
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketClient throws on unknown options, naming the right one", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new EvrmoreWebSocketClient({ ping_interval: 30 } as any),
    (error: unknown) =>
      error instanceof TypeError &&
      /unknown option "ping_interval" \(did you mean pingInterval\?\)/.test(
        error.message,
      ),
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new EvrmoreWebSocketClient({ pingIntreval: 30 } as any),
    /did you mean pingInterval\?/,
  );
});
