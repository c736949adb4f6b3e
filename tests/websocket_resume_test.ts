/**
 * Block continuity end to end: embedded devnet → ZMQ →
 * EvrmoreWebSocketServer → EvrmoreWebSocketClient, with ZMQ gaps, publisher
 * restarts, reorgs, `since` cursors and client reconnections.
 *
 * Needs `--allow-ffi` (zeromq).
 */

import assert from "node:assert/strict";
import { ConnectionError } from "../lib/errors.ts";
import type { DecodedBlock } from "../lib/encoding/types.ts";
import type { EvrmoreDevnet } from "../lib/devnet/mod.ts";
import type { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import type { EvrmoreZMQClient } from "../lib/zmq/mod.ts";
import {
  EvrmoreWebSocketClient,
  type EvrmoreWebSocketClientOptions,
  EvrmoreWebSocketServer,
  type EvrmoreWebSocketServerOptions,
  WebSocketRequestError,
  type WebSocketServerMessage,
  type WebSocketServerZmq,
} from "../lib/websocket/mod.ts";
import {
  parseClientMessage,
  parseServerMessage,
} from "../lib/websocket/_protocol.ts";
import { collect } from "./_ws_collect.ts";
import { nodeServer, startNode } from "./_ws_stack.ts";

interface Stack {
  devnet: EvrmoreDevnet;
  rpc: EvrmoreRPCClient;
  zmq: EvrmoreZMQClient;
  server: EvrmoreWebSocketServer<EvrmoreRPCClient>;
  client: EvrmoreWebSocketClient;
  errors: Error[];
  clientErrors: Error[];
  /** Starts a server on the same port as the first one (after it stopped). */
  restartServer(): Promise<EvrmoreWebSocketServer<EvrmoreRPCClient>>;
  /** A second client, disconnected at the end. */
  newClient(): Promise<EvrmoreWebSocketClient>;
  /** Resolves with the next error the server reports. */
  nextError(): Promise<Error>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function stack(
  options: Partial<EvrmoreWebSocketServerOptions<EvrmoreRPCClient>> = {},
  clientOptions: EvrmoreWebSocketClientOptions = {},
  topics: string[] = ["blocks"],
): Promise<Stack> {
  const node = await startNode();
  const { devnet, rpc, zmq } = node;
  const errors: Error[] = [];
  const clientErrors: Error[] = [];
  const waiting: Array<(error: Error) => void> = [];
  const servers: EvrmoreWebSocketServer<EvrmoreRPCClient>[] = [];
  const clients: EvrmoreWebSocketClient[] = [];
  const makeServer = (port: number) => {
    const server = nodeServer(node, {
      port,
      pingInterval: null,
      onError: (error) => {
        errors.push(error);
        for (const resolve of waiting.splice(0)) resolve(error);
      },
      ...options,
    });
    servers.push(server);
    return server;
  };
  const close = async () => {
    for (const client of clients) await client.disconnect();
    for (const server of servers) await server.stop();
    await node.close();
  };
  try {
    const server = makeServer(0);
    await server.start();
    const port = server.port;
    const newClient = async () => {
      const client = new EvrmoreWebSocketClient({
        uri: `ws://127.0.0.1:${port}`,
        pingInterval: null,
        reconnectDelay: 20,
        maxReconnectDelay: 100,
        onError: (error) => clientErrors.push(error),
        ...clientOptions,
      });
      clients.push(client);
      await client.connect();
      return client;
    };
    const client = await newClient();
    await client.subscribe("blocks");
    await warmUp(devnet, client);
    for (const topic of topics) {
      if (topic !== "blocks") await client.subscribe(topic);
    }
    return {
      devnet,
      rpc,
      zmq,
      server,
      client,
      errors,
      clientErrors,
      async restartServer() {
        const next = makeServer(port);
        await next.start();
        return next;
      },
      newClient,
      nextError: () => new Promise((resolve) => waiting.push(resolve)),
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

type Received = WebSocketServerMessage;

const untilBlock = (hash: string) => (messages: Received[]) =>
  messages.some((m) => m.type === "block" && m.data.hash === hash);

/** The `block` and `reorg` messages, as `height:hash` and `reorg@fork`. */
function chain(messages: Received[]): string[] {
  return messages.flatMap((m) =>
    m.type === "block"
      ? [`${m.data.height}:${m.data.hash}`]
      : m.type === "reorg"
      ? [`reorg@${m.data.fork_height}`]
      : []
  );
}

/** `height:hash` of the node's active chain from `from` to `to`. */
async function nodeChain(
  rpc: EvrmoreRPCClient,
  from: number,
  to: number,
): Promise<string[]> {
  const out: string[] = [];
  for (let height = from; height <= to; height++) {
    out.push(`${height}:${await rpc.call<string>("getblockhash", [height])}`);
  }
  return out;
}

/**
 * Mines until a block gets through: the first messages after a ZMQ
 * subscriber connects may be lost (ZMQ's slow joiner). The server then has a
 * tip to keep continuous.
 */
async function warmUp(
  devnet: EvrmoreDevnet,
  client: EvrmoreWebSocketClient,
): Promise<Received[]> {
  for (let attempt = 0;; attempt++) {
    const [hash] = await devnet.mine(1);
    assert.ok(hash);
    try {
      return await collect(client, untilBlock(hash), 1000);
    } catch (error) {
      if (attempt >= 10) throw error;
    }
  }
}

/** Asserts that nothing else was sent before the answer to a round trip. */
async function assertNoMore(client: EvrmoreWebSocketClient): Promise<void> {
  await client.command("getblockcount");
  const extra = await client.receive({ signal: AbortSignal.abort() }).then(
    (m) => m,
    () => undefined,
  );
  assert.equal(extra, undefined, JSON.stringify(extra));
}

/** Mines one block and waits until the client got it. */
async function mineAndReceive(s: Stack): Promise<Received[]> {
  const [hash] = await s.devnet.mine(1);
  assert.ok(hash);
  return await collect(s.client, untilBlock(hash));
}

Deno.test("EvrmoreWebSocketServer backfills blocks missed in a ZMQ gap", async () => {
  await using s = await stack({}, {}, ["blocks", "transactions"]);
  await mineAndReceive(s);
  const start = s.devnet.height;
  // Every message of the next block is lost (hashtx, rawtx, hashblock, rawblock).
  s.devnet.dropZmq(4);
  const [lost] = await s.devnet.mine(1);
  const [next] = await s.devnet.mine(1);
  assert.ok(lost && next);
  const messages = await collect(s.client, untilBlock(next));
  assert.deepEqual(
    chain(messages),
    await nodeChain(s.rpc, start + 1, start + 2),
  );
  // The lost block's coinbase was announced once, from the backfilled block.
  const lostBlock = await s.rpc.call<{ tx: string[] }>("getblock", [lost, 1]);
  const txids = messages.flatMap((m) =>
    m.type === "transaction" ? [m.data.txid] : []
  );
  assert.equal(txids.filter((t) => t === lostBlock.tx[0]).length, 1);
  assert.equal(new Set(txids).size, txids.length);
  assert.deepEqual(s.errors, []);
});

Deno.test("EvrmoreWebSocketServer backfills blocks mined while ZMQ was paused, in order, once", async () => {
  await using s = await stack();
  await mineAndReceive(s);
  const start = s.devnet.height;
  s.devnet.pauseZmq();
  await s.devnet.mine(3);
  s.devnet.resumeZmq();
  const [last] = await s.devnet.mine(1);
  assert.ok(last);
  const messages = await collect(s.client, untilBlock(last));
  assert.deepEqual(
    chain(messages),
    await nodeChain(s.rpc, start + 1, start + 4),
  );
  await assertNoMore(s.client);
  assert.deepEqual(s.errors, []);
});

Deno.test("EvrmoreWebSocketServer loses no block across a ZMQ publisher restart", async () => {
  await using s = await stack();
  await mineAndReceive(s);
  const start = s.devnet.height;
  const reconnected = new Promise<void>((resolve) => {
    const off = s.zmq.on("connect", () => {
      off();
      resolve();
    });
  });
  await s.devnet.restartZmq();
  await reconnected;
  // The first messages after a reconnection may still be lost: mine until
  // one block gets through; the ones before it are backfilled.
  const messages = await warmUp(s.devnet, s.client);
  assert.deepEqual(
    chain(messages),
    await nodeChain(s.rpc, start + 1, s.devnet.height),
  );
  assert.deepEqual(s.errors, []);
});

Deno.test("EvrmoreWebSocketServer announces a reorg, then the new branch's blocks", async () => {
  await using s = await stack();
  await mineAndReceive(s);
  await s.devnet.mine(2);
  const tip = s.devnet.height;
  await collect(s.client, untilBlock(s.devnet.tip));
  const oldTip = s.devnet.tip;
  const replaced = await s.devnet.reorg(2);
  assert.equal(replaced.length, 3);
  const messages = await collect(s.client, untilBlock(replaced[2]!));
  assert.deepEqual(chain(messages), [
    `reorg@${tip - 2}`,
    ...await nodeChain(s.rpc, tip - 1, tip + 1),
  ]);
  const reorg = messages.find((m) => m.type === "reorg");
  assert.ok(reorg?.type === "reorg");
  assert.deepEqual(reorg.data.old_tip, { hash: oldTip, height: tip });
  assert.equal(
    reorg.data.fork_hash,
    await s.rpc.call<string>("getblockhash", [tip - 2]),
  );
  assert.equal(s.client.lastBlock?.hash, replaced[2]);
  await assertNoMore(s.client);
  // A client resuming from the replaced tip gets the reorg, then the branch.
  const late = await s.newClient();
  await late.subscribe("blocks", { since: oldTip });
  const resumed = await collect(late, untilBlock(replaced[2]!));
  assert.deepEqual(chain(resumed), [
    `reorg@${tip - 2}`,
    ...await nodeChain(s.rpc, tip - 1, tip + 1),
  ]);
  const again = resumed.find((m) => m.type === "reorg");
  assert.ok(again?.type === "reorg");
  assert.deepEqual(again.data.old_tip, { hash: oldTip, height: tip });
  assert.deepEqual(again.data.new_tip, { hash: replaced[2], height: tip + 1 });
  await assertNoMore(late);
  assert.deepEqual(s.errors, []);
});

Deno.test("EvrmoreWebSocketServer replays blocks after a since cursor, then goes on live without duplicates", async () => {
  await using s = await stack();
  await mineAndReceive(s);
  await s.devnet.mine(3);
  await collect(s.client, untilBlock(s.devnet.tip));
  const cursor = s.devnet.height - 5; // below the announced window: from RPC
  const other = await s.newClient();
  // Blocks keep coming while the replay runs.
  const mining = s.devnet.mine(3);
  await other.subscribe("blocks", { since: cursor });
  const mined = await mining;
  const messages = await collect(other, untilBlock(mined[2]!));
  assert.deepEqual(
    chain(messages),
    await nodeChain(s.rpc, cursor + 1, s.devnet.height),
  );
  await assertNoMore(other);
  // By hash: the blocks after it.
  const third = await s.newClient();
  const hash = await s.rpc.call<string>("getblockhash", [
    s.devnet.height - 2,
  ]);
  await third.subscribe("blocks", { since: hash });
  const replayed = await collect(third, untilBlock(s.devnet.tip));
  assert.deepEqual(
    chain(replayed),
    await nodeChain(s.rpc, s.devnet.height - 1, s.devnet.height),
  );
  await assertNoMore(third);
  assert.deepEqual(s.errors, []);
});

Deno.test("EvrmoreWebSocketServer refuses unknown and too old since cursors", async () => {
  await using s = await stack({ maxReplayBlocks: 5 });
  const other = await s.newClient();
  const unknown = await other.subscribe("blocks", { since: "ab".repeat(32) })
    .catch((e) => e);
  assert.ok(unknown instanceof WebSocketRequestError, String(unknown));
  assert.equal(unknown.code, "unknown_cursor");
  const old = await other.subscribe("blocks", { since: 3 }).catch((e) => e);
  assert.ok(old instanceof WebSocketRequestError, String(old));
  assert.equal(old.code, "cursor_too_old");
  const wrongTopic = await other.subscribe("transactions", { since: 3 })
    .catch((e) => e);
  assert.ok(wrongTopic instanceof WebSocketRequestError);
  assert.equal(wrongTopic.code, "invalid_message");
  assert.deepEqual(other.topics, []);
  // Within the limit it works.
  await other.subscribe("blocks", { since: s.devnet.height - 2 });
  const messages = await collect(other, untilBlock(s.devnet.tip));
  assert.deepEqual(
    chain(messages),
    await nodeChain(s.rpc, s.devnet.height - 1, s.devnet.height),
  );
  assert.deepEqual(s.errors, []);
});

Deno.test("EvrmoreWebSocketClient resumes blocks after a server restart without missing one", async () => {
  await using s = await stack();
  await mineAndReceive(s);
  const start = s.devnet.height;
  assert.equal(s.client.lastBlock?.height, start);
  await s.server.stop();
  // Mined while the server is down: nobody announces them.
  await s.devnet.mine(2);
  const server = await s.restartServer();
  assert.ok(server.listening);
  const messages = await collect(s.client, untilBlock(s.devnet.tip));
  assert.ok(s.client.reconnects >= 1);
  // Then live.
  messages.push(...await mineAndReceive(s));
  assert.deepEqual(
    chain(messages),
    await nodeChain(s.rpc, start + 1, s.devnet.height),
  );
  await assertNoMore(s.client);
  assert.deepEqual(s.errors, []);
  assert.ok(
    s.clientErrors.every((e) => e.message.includes("connect")),
    s.clientErrors.map((e) => e.message).join("; "),
  );
});

Deno.test("parseClientMessage validates the since cursor of a blocks subscription", () => {
  const hash = "AB".repeat(32);
  assert.deepEqual(
    parseClientMessage(
      JSON.stringify({ action: "subscribe", topic: "block", since: hash }),
    ),
    { kind: "subscribe", topic: "blocks", since: hash.toLowerCase() },
  );
  assert.deepEqual(
    parseClientMessage(
      '{"action":"subscribe","topic":"blocks","since":0,"id":3}',
    ),
    { kind: "subscribe", topic: "blocks", since: 0, id: 3 },
  );
  for (const since of [-1, 1.5, "1x", "zz".repeat(32), null, true]) {
    const parsed = parseClientMessage(
      JSON.stringify({ action: "subscribe", topic: "blocks", since, id: 1 }),
    );
    assert.equal(parsed.kind, "error", JSON.stringify(since));
    if (parsed.kind === "error") {
      assert.equal(parsed.error.code, "invalid_message");
      assert.equal(parsed.error.id, 1);
      assert.match(parsed.error.message, /since/);
    }
  }
  const other = parseClientMessage(
    '{"action":"subscribe","topic":"mempool","since":5}',
  );
  assert.equal(other.kind, "error");
  // The reorg message is a known server message.
  const reorg = parseServerMessage(
    '{"type":"reorg","data":{"fork_height":5,"fork_hash":"a5","old_tip":{"hash":"a7","height":7},"new_tip":{"hash":"b6","height":6}}}',
  );
  assert.equal(reorg.kind, "known");
  assert.equal(
    parseServerMessage('{"type":"reorg","data":{"fork_height":"5"}}').kind,
    "invalid",
  );
});

Deno.test("EvrmoreWebSocketServer holds a block back while its missed parent cannot be fetched", async () => {
  const handlers = new Map<string, (event: unknown) => void>();
  const zmq: WebSocketServerZmq = {
    on(event, handler) {
      handlers.set(event, handler as (event: unknown) => void);
      return () => handlers.delete(event);
    },
    start: () => Promise.resolve(),
  };
  const calls: string[] = [];
  const errors: Error[] = [];
  let askedTwice: () => void = () => {};
  const retried = new Promise<void>((resolve) => (askedTwice = resolve));
  const server = new EvrmoreWebSocketServer({
    rpcClient: {
      call: (method) => {
        calls.push(method);
        if (calls.filter((m) => m === "getbestblockhash").length === 2) {
          askedTwice();
        }
        return Promise.reject(new ConnectionError("Cannot call: node down"));
      },
      getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
    },
    zmqClient: zmq,
    host: "127.0.0.1",
    port: 0,
    pingInterval: null,
    onError: (error) => errors.push(error),
  });
  await server.start();
  await using client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${server.port}`,
    pingInterval: null,
  });
  try {
    await client.connect();
    await client.subscribe("blocks");
    const block = (height: number, hash: string, previous: string) => ({
      topic: "rawblock" as const,
      body: new Uint8Array(0),
      hex: "",
      sequence: height,
      receivedAt: Date.now(),
      block: {
        hash,
        height,
        previousblockhash: previous,
        time: 1700000000 + height,
        size: 200,
        tx: [],
      } as unknown as DecodedBlock,
    });
    const a = "0a".repeat(32);
    const b = "0b".repeat(32);
    const c = "0c".repeat(32);
    handlers.get("rawblock")!(block(10, a, "09".repeat(32)));
    // Block 11 (b) never came: block 12 reveals the hole, RPC is down.
    handlers.get("rawblock")!(block(12, c, b));
    const messages = await collect(client, untilBlock(a), 3000);
    assert.deepEqual(chain(messages), [`10:${a}`]);
    // Announcing 12 now would skip 11: it waits for the node, which is
    // asked again (with a growing wait) and reported once.
    await retried;
    assert.equal(errors.length, 1, errors.join("; "));
    assert.match(
      errors[0]!.message,
      /Cannot keep the announced blocks continuous/,
    );
    assert.ok(errors[0]!.cause instanceof ConnectionError);
    // A ZMQ reconnection checks the node: that fails too, no crash, no block.
    handlers.get("connect")!({ address: "tcp://127.0.0.1:1" });
    await client.command("getblockcount").catch(() => {});
    assert.equal(server.health().last_block?.hash, a);
    assert.equal(server.stats.blocks, 1);
  } finally {
    await client.disconnect();
    await server.stop();
  }
});

Deno.test("EvrmoreWebSocketServer delivers every block after RPC and ZMQ fail together", async () => {
  await using s = await stack();
  await mineAndReceive(s);
  const start = s.devnet.height;
  // Every message of the next two blocks is lost, and RPC is down.
  s.devnet.dropZmq(8);
  await s.devnet.stopRpc();
  await s.devnet.mine(2);
  const reported = (async () => {
    // The continuity's report (the mempool reconciliation may come first).
    const continuity = /catching up when the node answers/;
    while (!s.errors.some((e) => continuity.test(e.message))) {
      await s.nextError();
    }
  })();
  const [last] = await s.devnet.mine(1);
  assert.ok(last);
  await reported;
  await s.devnet.startRpc();
  const messages = await collect(s.client, untilBlock(last), 20000);
  assert.deepEqual(
    chain(messages),
    await nodeChain(s.rpc, start + 1, start + 3),
  );
  await assertNoMore(s.client);
  // Each outage is reported once: continuity, and the mempool
  // reconciliation the gap asked for.
  const kinds = s.errors.map((e) =>
    /catching up when the node answers/.test(e.message)
      ? "continuity"
      : /Cannot reconcile the mempool/.test(e.message)
      ? "mempool"
      : e.message
  );
  assert.ok(kinds.includes("continuity"), kinds.join("; "));
  assert.deepEqual(
    kinds.filter((k) => k !== "mempool" && k !== "continuity"),
    [],
  );
  assert.ok(kinds.length <= 2, kinds.join("; "));
});

Deno.test("EvrmoreWebSocketServer announces a reorg that happened while RPC was down and ZMQ paused", async () => {
  await using s = await stack();
  await mineAndReceive(s);
  await s.devnet.mine(2);
  const tip = s.devnet.height;
  await collect(s.client, untilBlock(s.devnet.tip));
  s.devnet.pauseZmq();
  await s.devnet.stopRpc();
  const replaced = await s.devnet.reorg(2);
  s.devnet.resumeZmq();
  const reported = s.nextError();
  const [last] = await s.devnet.mine(1);
  assert.ok(last);
  await reported;
  await s.devnet.startRpc();
  const messages = await collect(s.client, untilBlock(last), 20000);
  assert.equal(replaced.length, 3);
  assert.deepEqual(chain(messages), [
    `reorg@${tip - 2}`,
    ...await nodeChain(s.rpc, tip - 1, tip + 2),
  ]);
  await assertNoMore(s.client);
  // Reported once per outage (continuity, the mempool reconciliation).
  assert.ok(s.errors.length >= 1 && s.errors.length <= 2, s.errors.join("; "));
  for (const error of s.errors) {
    assert.match(
      error.message,
      /catching up when the node answers|Cannot reconcile the mempool/,
    );
  }
});
