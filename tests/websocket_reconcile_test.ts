/**
 * Nothing lost at connect or after a gap: the server reconciles the mempool
 * with the node when the ZMQ client says notifications may be missing.
 */

import assert from "node:assert/strict";
import {
  EvrmoreWebSocketClient,
  type WebSocketServerMessage,
} from "../lib/websocket/mod.ts";
import { collect } from "./_ws_collect.ts";
import { nodeServer, startNode } from "./_ws_stack.ts";

const txids = (messages: WebSocketServerMessage[]) =>
  messages.flatMap((m) => m.type === "transaction" ? [m.data.txid] : []);

Deno.test("EvrmoreWebSocketServer announces mempool transactions ZMQ missed, each once", async () => {
  await using node = await startNode();
  const errors: Error[] = [];
  await using server = nodeServer(node, {
    pingInterval: null,
    onError: (error) => errors.push(error),
  });
  // Sent before the server (and its ZMQ subscriber) exist: never published
  // to it, found by the reconciliation when the subscription takes effect.
  const early = await node.devnet.sendPayment(undefined, 1);
  await server.start();
  await using client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${server.port}`,
    pingInterval: null,
  });
  await client.connect();
  await client.subscribe("transactions");
  const first = await collect(client, (m) => txids(m).includes(early), 20_000);
  assert.deepEqual(txids(first).filter((t) => t === early), [early]);
  // One payment through ZMQ sets the sequence baseline; the next one's
  // messages are lost on the wire, so the one after reveals a gap and the
  // server asks the node.
  const warm = await node.devnet.sendPayment(undefined, 1);
  first.push(...await collect(client, (m) => txids(m).includes(warm)));
  node.devnet.dropZmq(2);
  const lost = await node.devnet.sendPayment(undefined, 1);
  const after = await node.devnet.sendPayment(undefined, 1);
  const messages = await collect(
    client,
    (m) => txids(m).includes(lost) && txids(m).includes(after),
    20_000,
  );
  const seen = txids([...first, ...messages]);
  assert.equal(seen.filter((t) => t === lost).length, 1);
  assert.equal(seen.filter((t) => t === after).length, 1);
  assert.equal(new Set(seen).size, seen.length, "each once");
  await client.command("getblockcount");
  const extra = await client.receive({ signal: AbortSignal.abort() }).then(
    (m) => m,
    () => undefined,
  );
  assert.equal(extra, undefined);
  assert.deepEqual(errors, []);
});
