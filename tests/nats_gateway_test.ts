/**
 * One chain feed, many gateways: an ingest on the devnet publishes to a
 * real nats-server's JetStream; gateways push the stream's events to
 * WebSocket clients with the stream's cursors.
 */

import assert from "node:assert/strict";
import { startGateway, startIngest } from "../lib/server/_nats_roles.ts";
import { open, type TestSocket } from "./_ws_hardening_helpers.ts";
import { NatsTestServer } from "./_nats_server.ts";
import { startNode } from "./_ws_stack.ts";

type Message = Record<string, unknown>;

/** Receives until `done`; fails with what arrived after `ms`. */
async function until(
  socket: TestSocket,
  done: (seen: Message[]) => boolean,
  ms = 20_000,
): Promise<Message[]> {
  const seen: Message[] = [];
  const deadline = Date.now() + ms;
  while (!done(seen)) {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(
        `timed out; got ${JSON.stringify(seen.map((m) => m.type))}`,
      );
    }
    seen.push(await socket.next(left));
  }
  return seen;
}

const hashes = (seen: Message[]) =>
  seen.flatMap((m) =>
    m.type === "block" ? [(m.data as { hash: string }).hash] : []
  );
const txids = (seen: Message[]) =>
  seen.flatMap((m) =>
    m.type === "transaction" ? [(m.data as { txid: string }).txid] : []
  );

Deno.test("NATS: a client resumes on another gateway from its cursors, each event once", async () => {
  await using nats = await NatsTestServer.start();
  await using node = await startNode();
  const errors: Error[] = [];
  const report = (error: Error) => errors.push(error);
  const settings = {
    servers: [nats.url],
    network: node.devnet.network,
    stream: "EVRTEST",
  };
  const ingest = await startIngest(settings, {
    rpcClient: node.rpc,
    zmqClient: node.zmq,
    listen: false,
    onError: report,
  }, report);
  const common = {
    host: "127.0.0.1",
    port: 0,
    pingInterval: null,
    onError: report,
  } as const;
  const a = await startGateway(settings, common, report);
  const b = await startGateway(settings, common, report);
  try {
    const first = await open(`ws://127.0.0.1:${a.server.port}`);
    first.send({ action: "subscribe", topic: "blocks" });
    first.send({ action: "subscribe", topic: "transactions" });
    assert.equal((await first.next()).type, "subscription");
    assert.equal((await first.next()).type, "subscription");
    // Mine until one block gets through the whole path (ZMQ slow joiner).
    let seen: Message[] = [];
    for (let attempt = 0; hashes(seen).length === 0; attempt++) {
      assert.ok(attempt < 20, "no block reached the gateway");
      await node.devnet.mine(1);
      try {
        seen = seen.concat(
          await until(first, (s) => hashes(s).length > 0, 2000),
        );
      } catch { /* mine again */ }
    }
    const paid = await node.devnet.sendPayment(undefined, 1);
    const [mined] = await node.devnet.mine(1);
    seen = seen.concat(
      await until(
        first,
        (s) => hashes(s).includes(mined!) && txids(s).includes(paid),
      ),
    );
    for (const m of seen) assert.match(String(m.cursor), /^[0-9]+$/);
    const lastTx = seen.filter((m) => m.type === "transaction").at(-1)!;
    const lastBlock = seen.filter((m) => m.type === "block").at(-1)!;
    await first.close();
    await a.close(); // gateway A goes away

    // Meanwhile the chain goes on.
    const paid2 = await node.devnet.sendPayment(undefined, 2);
    const [mined2] = await node.devnet.mine(1);

    // The client comes back on gateway B with its cursors.
    const again = await open(`ws://127.0.0.1:${b.server.port}`);
    try {
      again.send({
        action: "subscribe",
        topic: "blocks",
        since: lastBlock.cursor,
      });
      again.send({
        action: "subscribe",
        topic: "transactions",
        since: lastTx.cursor,
      });
      const resumed = await until(
        again,
        (s) => hashes(s).includes(mined2!) && txids(s).includes(paid2),
      );
      assert.deepEqual(
        resumed.filter((m) => m.type === "subscription").length,
        2,
      );
      // Nothing it had already seen, nothing twice.
      for (const hash of hashes(resumed)) {
        assert.ok(!hashes(seen).includes(hash), `block ${hash} again`);
      }
      for (const txid of txids(resumed)) {
        assert.ok(!txids(seen).includes(txid), `tx ${txid} again`);
      }
      assert.equal(new Set(hashes(resumed)).size, hashes(resumed).length);
      assert.equal(new Set(txids(resumed)).size, txids(resumed).length);
      // Commands go to the ingest over NATS.
      again.send({ command: "getblockcount", id: 1 });
      const answer = await until(again, (s) => s.some((m) => m.id === 1));
      const result = answer.find((m) => m.id === 1)!;
      assert.equal(result.type, "result");
      assert.equal(result.data, node.devnet.height);
    } finally {
      await again.close();
    }
  } finally {
    await b.close();
    await a.close();
    await ingest.close();
  }
  assert.deepEqual(errors.map((e) => e.message), []);
});

Deno.test("NATS: a gateway with no ingest answers commands with node_unavailable", async () => {
  await using nats = await NatsTestServer.start();
  const errors: Error[] = [];
  const report = (error: Error) => errors.push(error);
  const gateway = await startGateway(
    { servers: [nats.url], network: "regtest", stream: "EVRNONE" },
    { host: "127.0.0.1", port: 0, pingInterval: null, onError: report },
    report,
  );
  try {
    const client = await open(`ws://127.0.0.1:${gateway.server.port}`);
    try {
      client.send({ command: "getblockcount", id: 7 });
      const answer = await client.next();
      assert.equal(answer.type, "error");
      assert.equal(answer.code, "node_unavailable");
      assert.equal(answer.id, 7);
    } finally {
      await client.close();
    }
  } finally {
    await gateway.close();
  }
});
