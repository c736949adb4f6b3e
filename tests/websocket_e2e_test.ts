/**
 * End to end: embedded devnet → ZMQ → EvrmoreWebSocketServer →
 * EvrmoreWebSocketClient, with the real RPC and ZMQ clients.
 *
 * Needs `--allow-ffi` (zeromq).
 */

import assert from "node:assert/strict";
import { ConnectionError, RpcError } from "../lib/errors.ts";
import type { EvrmoreDevnet } from "../lib/devnet/mod.ts";
import type { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import {
  type AssetEventData,
  EvrmoreWebSocketClient,
  type EvrmoreWebSocketServer,
  WebSocketRequestError,
  type WebSocketServerMessage,
} from "../lib/websocket/mod.ts";
import { collect } from "./_ws_collect.ts";
import { nodeServer, startNode } from "./_ws_stack.ts";

interface Stack {
  devnet: EvrmoreDevnet;
  rpc: EvrmoreRPCClient;
  server: EvrmoreWebSocketServer<EvrmoreRPCClient>;
  client: EvrmoreWebSocketClient;
  errors: Error[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function stack(): Promise<Stack> {
  const node = await startNode();
  const { devnet, rpc } = node;
  const errors: Error[] = [];
  const server = nodeServer(node, {
    mempoolInterval: 50,
    onError: (error) => errors.push(error),
  });
  let connected: EvrmoreWebSocketClient | undefined;
  try {
    await server.start();
    connected = new EvrmoreWebSocketClient({
      uri: `ws://127.0.0.1:${server.port}`,
    });
    await connected.connect();
    for (const topic of ["blocks", "transactions", "assets", "mempool"]) {
      await connected.subscribe(topic);
    }
    return {
      devnet,
      rpc,
      server,
      client: connected,
      errors,
      async [Symbol.asyncDispose]() {
        await connected?.disconnect();
        await server.stop();
        await node.close();
      },
    };
  } catch (error) {
    await connected?.disconnect();
    await server.stop();
    await node.close();
    throw error;
  }
}

const hasBlock = (hash: string) => (messages: WebSocketServerMessage[]) =>
  messages.some((m) => m.type === "block" && m.data.hash === hash);

function txids(messages: WebSocketServerMessage[]): string[] {
  return messages.flatMap((m) => m.type === "transaction" ? [m.data.txid] : []);
}

function assets(messages: WebSocketServerMessage[]): AssetEventData[] {
  return messages.flatMap((m) => m.type === "asset" ? [m.data] : []);
}

Deno.test("websocket e2e: a mined block arrives with the node's hash, height, tx_count and size", async () => {
  await using s = await stack();
  const [hash] = await s.devnet.mine(1);
  assert.ok(hash);
  const messages = await collect(s.client, hasBlock(hash));
  const block = messages.find((m) => m.type === "block");
  assert.ok(block?.type === "block");
  const node = await s.rpc.call<
    { hash: string; height: number; time: number; size: number; tx: string[] }
  >("getblock", [hash, 1]);
  assert.deepEqual(block.data, {
    hash: node.hash,
    height: node.height,
    time: node.time,
    tx_count: node.tx.length,
    size: node.size,
  });
  // Its coinbase was announced as a transaction, once.
  assert.deepEqual(txids(messages), [node.tx[0]]);
  assert.deepEqual(s.errors, []);
});

Deno.test("websocket e2e: a payment is announced once, from the mempool, not again in its block", async () => {
  await using s = await stack();
  const txid = await s.devnet.sendPayment(undefined, 1.5);
  const first = await collect(
    s.client,
    (m) => txids(m).includes(txid) && m.some((x) => x.type === "mempool"),
  );
  assert.deepEqual(txids(first), [txid]);
  const mempool = first.find((m) => m.type === "mempool");
  assert.ok(mempool?.type === "mempool");
  assert.equal(mempool.data.size, 1);

  const [hash] = await s.devnet.mine(1);
  assert.ok(hash);
  const second = await collect(
    s.client,
    (m) =>
      hasBlock(hash)(m) &&
      m.some((x) => x.type === "mempool" && x.data.size === 0),
  );
  const block = second.find((m) => m.type === "block");
  assert.ok(block?.type === "block");
  assert.equal(block.data.tx_count, 2);
  assert.ok(!txids(second).includes(txid), "payment not announced twice");
  assert.equal(txids(second).length, 1); // the coinbase
});

Deno.test("websocket e2e: issue, transfer and reissue arrive as asset events", async () => {
  await using s = await stack();
  const issued = await s.devnet.issueAsset("WSTEST", 1000, { units: 2 });
  await s.devnet.mine(1);
  const transferred = await s.devnet.transferAsset("WSTEST", 12.5);
  const reissued = await s.devnet.reissueAsset("WSTEST", 500);
  const messages = await collect(
    s.client,
    (m) =>
      txids(m).includes(reissued) &&
      assets(m).some((a) => a.type === "reissue"),
  );
  const events = assets(messages);
  const of = (txid: string) =>
    events.filter((a) => a.txid === txid).map((
      a,
    ) => [a.asset, a.amount, a.type]);
  assert.deepEqual(
    of(issued).sort(),
    [["WSTEST!", 1, "owner"], ["WSTEST", 1000, "issue"]],
  );
  assert.ok(
    of(transferred).some(([name, amount, type]) =>
      name === "WSTEST" && amount === 12.5 && type === "transfer"
    ),
    JSON.stringify(of(transferred)),
  );
  assert.ok(
    of(reissued).some(([name, amount, type]) =>
      name === "WSTEST" && amount === 500 && type === "reissue"
    ),
    JSON.stringify(of(reissued)),
  );
});

Deno.test("websocket e2e: commands run on the node; refused ones never reach it", async () => {
  await using s = await stack();
  assert.equal(await s.client.command("getblockcount"), s.devnet.height);
  const best = await s.client.command<string>("getbestblockhash");
  assert.equal(best, s.devnet.tip);
  const error = await s.client.command("getblock", ["00".repeat(32)]).catch((
    e,
  ) => e);
  assert.ok(error instanceof RpcError, String(error));
  assert.equal(error.code, -5);
  const refused = await s.client.command("stop").catch((e) => e);
  assert.ok(refused instanceof WebSocketRequestError);
  assert.equal(refused.code, "command_not_allowed");
  const wallet = await s.client.command("getbalance").catch((e) => e);
  assert.ok(wallet instanceof WebSocketRequestError);
  // The node is still up.
  assert.equal(await s.client.command("getblockcount"), s.devnet.height);
});

Deno.test("websocket e2e: a stopped RPC server gives node_unavailable without credentials", async () => {
  await using s = await stack();
  await s.devnet.stopRpc();
  try {
    const error = await s.client.command("getblockcount").catch((e) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.ok(!error.message.includes(s.devnet.rpcPassword));
  } finally {
    await s.devnet.startRpc();
  }
});
