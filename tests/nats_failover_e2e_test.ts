/**
 * Failover on a real nats-server with the devnet: the ingest killed and
 * restarted (backfill), two ingests on one stream (each event once, one
 * dies, the other carries on), nats-server restarted while blocks are
 * mined. A gateway's WebSocket client checks what arrives: every block in
 * height order, every block and transaction exactly once.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type { EvrmoreDevnet } from "../lib/devnet/mod.ts";
import { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import { EvrmoreZMQClient } from "../lib/zmq/mod.ts";
import { EvrmoreWebSocketServer } from "../lib/websocket/mod.ts";
import {
  connectNats,
  type FeedEvent,
  NatsFeedPublisher,
} from "../lib/nats/mod.ts";
import {
  type NatsSettings,
  type Running,
  startGateway,
  startIngest,
} from "../lib/server/_nats_roles.ts";
import { open, type TestSocket } from "./_ws_hardening_helpers.ts";
import { NatsTestServer } from "./_nats_server.ts";
import { startNode } from "./_ws_stack.ts";

type Message = Record<string, unknown>;

/** What a gateway client has received so far. */
class Seen {
  messages: Message[] = [];
  get blocks(): Array<{ hash: string; height: number }> {
    return this.messages.flatMap((m) =>
      m.type === "block" ? [m.data as { hash: string; height: number }] : []
    );
  }
  get hashes(): string[] {
    return this.blocks.map((b) => b.hash);
  }
  get txids(): string[] {
    return this.messages.flatMap((m) =>
      m.type === "transaction" ? [(m.data as { txid: string }).txid] : []
    );
  }
  /** Every block once, heights consecutive; every transaction once. */
  assertExactlyOnce(): void {
    const heights = this.blocks.map((b) => b.height);
    for (let i = 1; i < heights.length; i++) {
      assert.equal(
        heights[i],
        heights[i - 1]! + 1,
        `blocks out of order or missing: ${JSON.stringify(heights)}`,
      );
    }
    assert.equal(new Set(this.hashes).size, this.hashes.length, "block twice");
    const txids = this.txids;
    const twice = txids.filter((t, i) => txids.indexOf(t) !== i);
    assert.deepEqual(twice, [], "transactions twice");
  }
}

/** Receives into `seen` until `done`; fails with what arrived after `ms`. */
async function until(
  socket: TestSocket,
  seen: Seen,
  done: (seen: Seen) => boolean,
  ms = 30_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  const failure = () =>
    new Error(
      `timed out; blocks ${
        JSON.stringify(seen.blocks.map((b) => b.height))
      }, ${seen.txids.length} txs`,
    );
  while (!done(seen)) {
    const left = deadline - Date.now();
    if (left <= 0) throw failure();
    try {
      seen.messages.push(await socket.next(left));
    } catch {
      throw failure();
    }
  }
}

/** Fresh RPC + ZMQ clients on the devnet (each ingest owns a pair). */
function clients(devnet: EvrmoreDevnet) {
  const rpc = new EvrmoreRPCClient({
    url: devnet.rpcUrl,
    user: devnet.rpcUser,
    password: devnet.rpcPassword,
  });
  const zmq = new EvrmoreZMQClient({
    address: devnet.zmqAddress,
    network: devnet.network,
  });
  return {
    rpc,
    zmq,
    async close() {
      await zmq.close();
      await rpc.close();
    },
  };
}

interface Ingest extends Running {
  rpc: EvrmoreRPCClient;
}

async function ingest(
  settings: NatsSettings,
  devnet: EvrmoreDevnet,
  report: (error: Error) => void,
): Promise<Ingest> {
  const pair = clients(devnet);
  try {
    const running = await startIngest(settings, {
      rpcClient: pair.rpc,
      zmqClient: pair.zmq,
      listen: false,
      onError: report,
    }, report);
    let closed: Promise<void> | undefined;
    return {
      rpc: pair.rpc,
      close: () => closed ??= running.close().finally(() => pair.close()),
    };
  } catch (error) {
    await pair.close();
    throw error;
  }
}

/** A gateway client subscribed to blocks and transactions. */
async function subscriber(port: number): Promise<TestSocket> {
  const socket = await open(`ws://127.0.0.1:${port}`);
  socket.send({ action: "subscribe", topic: "blocks" });
  socket.send({ action: "subscribe", topic: "transactions" });
  assert.equal((await socket.next()).type, "subscription");
  assert.equal((await socket.next()).type, "subscription");
  return socket;
}

/** Mines until one block reaches the client (the ZMQ slow joiner). */
async function firstBlock(
  devnet: EvrmoreDevnet,
  socket: TestSocket,
  seen: Seen,
): Promise<void> {
  for (let attempt = 0; seen.blocks.length === 0; attempt++) {
    assert.ok(attempt < 20, "no block reached the gateway");
    await devnet.mine(1);
    try {
      await until(socket, seen, (s) => s.blocks.length > 0, 2000);
    } catch { /* mine again */ }
  }
}

const gatewayOptions = (report: (error: Error) => void) =>
  ({
    host: "127.0.0.1",
    port: 0,
    pingInterval: null,
    onError: report,
  }) as const;

Deno.test("NATS failover: a restarted ingest backfills what was mined while it was down, each block and transaction once", async () => {
  await using nats = await NatsTestServer.start();
  await using node = await startNode();
  const { devnet } = node;
  const report = (_error: Error) => {};
  const settings = {
    servers: [nats.url],
    network: devnet.network,
    stream: "EVRFAIL",
  };
  const first = await ingest(settings, devnet, report);
  let second: Ingest | undefined;
  const gateway = await startGateway(settings, gatewayOptions(report), report);
  const socket = await subscriber(gateway.server.port);
  try {
    const seen = new Seen();
    await firstBlock(devnet, socket, seen);
    const paid0 = await devnet.sendPayment(undefined, 1);
    const [mined0] = await devnet.mine(1);
    await until(
      socket,
      seen,
      (s) => s.hashes.includes(mined0!) && s.txids.includes(paid0),
    );
    await first.close(); // the ingest goes away

    // Meanwhile the chain goes on: mined payments and one in the mempool.
    const paid1 = await devnet.sendPayment(undefined, 2);
    const down = await devnet.mine(2);
    const paid2 = await devnet.sendPayment(undefined, 3);
    const top = devnet.height;

    second = await ingest(settings, devnet, report);
    await until(
      socket,
      seen,
      (s) =>
        down.every((h) => s.hashes.includes(h)) &&
        s.txids.includes(paid1) && s.txids.includes(paid2),
    );
    // And live again: the mempool payment is mined, not announced twice.
    const [mined3] = await devnet.mine(1);
    await until(socket, seen, (s) => s.hashes.includes(mined3!));
    // A marker after everything: what came before it is all there is.
    const marker = await devnet.sendPayment(undefined, 4);
    await until(socket, seen, (s) => s.txids.includes(marker));
    seen.assertExactlyOnce();
    assert.equal(seen.blocks.at(-1)!.height, top + 1);
  } finally {
    await socket.close();
    await gateway.close();
    await second?.close();
    await first.close();
  }
});

Deno.test("NATS failover: two ingests on one stream store each event once; one stops, the other carries on", async () => {
  await using nats = await NatsTestServer.start();
  await using node = await startNode();
  const { devnet } = node;
  const report = (_error: Error) => {};
  const settings = {
    servers: [nats.url],
    network: devnet.network,
    stream: "EVRPAIR",
  };
  // The gateway and its client come first: they see the whole stream.
  const gateway = await startGateway(settings, gatewayOptions(report), report);
  const socket = await subscriber(gateway.server.port);
  const a = await ingest(settings, devnet, report);
  const b = await ingest(settings, devnet, report);
  try {
    const seen = new Seen();
    await firstBlock(devnet, socket, seen);
    const both: string[] = [];
    for (let i = 0; i < 3; i++) {
      both.push(await devnet.sendPayment(undefined, 1 + i));
      both.push(...await devnet.mine(1));
    }
    await until(
      socket,
      seen,
      (s) => both.every((id) => s.hashes.includes(id) || s.txids.includes(id)),
    );
    await a.close(); // one ingest dies

    const after: string[] = [];
    for (let i = 0; i < 2; i++) {
      after.push(await devnet.sendPayment(undefined, 5 + i));
      after.push(...await devnet.mine(1));
    }
    await until(
      socket,
      seen,
      (s) => after.every((id) => s.hashes.includes(id) || s.txids.includes(id)),
    );
    const marker = await devnet.sendPayment(undefined, 9);
    await until(socket, seen, (s) => s.txids.includes(marker));
    seen.assertExactlyOnce();

    // The stream itself holds each block and transaction once.
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info("EVRPAIR", { subjects_filter: ">" });
      const subjects = info.state.subjects ?? {};
      const prefix = `evrmore.${devnet.network}`;
      assert.equal(subjects[`${prefix}.block`], seen.blocks.length);
      assert.equal(subjects[`${prefix}.transaction`], seen.txids.length);
    } finally {
      await nc.close();
    }
  } finally {
    await socket.close();
    await gateway.close();
    await b.close();
    await a.close();
  }
});

Deno.test("NATS failover: nats-server restarts while blocks are mined; the ingest republishes, the client gets every block once", async () => {
  await using nats = await NatsTestServer.start();
  await using node = await startNode();
  const { devnet } = node;
  const report = (_error: Error) => {};
  const settings = {
    servers: [nats.url],
    network: devnet.network,
    stream: "EVRRESTART",
  };
  const one = await ingest(settings, devnet, report);
  const gateway = await startGateway(settings, gatewayOptions(report), report);
  const socket = await subscriber(gateway.server.port);
  try {
    const seen = new Seen();
    await firstBlock(devnet, socket, seen);
    await nats.stop();
    const paid = await devnet.sendPayment(undefined, 1);
    const down = await devnet.mine(3);
    await nats.restart();
    const [later] = await devnet.mine(1);
    await until(
      socket,
      seen,
      (s) =>
        [...down, later!].every((h) => s.hashes.includes(h)) &&
        s.txids.includes(paid),
      60_000,
    );
    const marker = await devnet.sendPayment(undefined, 2);
    await until(socket, seen, (s) => s.txids.includes(marker), 60_000);
    seen.assertExactlyOnce();
    assert.equal(seen.blocks.at(-1)!.hash, later);
  } finally {
    await socket.close();
    await gateway.close();
    await one.close();
  }
});

Deno.test("NatsFeedPublisher.lastBlock() gives the last stored block, undefined before any", async () => {
  await using nats = await NatsTestServer.start();
  await using link = await connectNats(nats.url);
  await using publisher = await NatsFeedPublisher.create(link, {
    network: "regtest",
    stream: "EVRLAST",
  });
  assert.equal(await publisher.lastBlock(), undefined);
  const block = (n: number): FeedEvent => ({
    topic: "blocks",
    id: `block:${n}`,
    message: {
      type: "block",
      data: { hash: String(n).repeat(64).slice(0, 64), height: n },
    },
  });
  publisher.publish(block(1));
  publisher.publish(block(2));
  publisher.publish({
    topic: "transactions",
    id: "tx:t",
    message: { type: "transaction", data: { txid: "t" } },
  });
  await publisher.flush();
  const last = await publisher.lastBlock();
  assert.equal(last?.height, 2);
  assert.equal(last?.hash, "2".repeat(64));
});

Deno.test("EvrmoreWebSocketServer rejects a resumeAfter that is not a block", async () => {
  await using node = await startNode();
  for (const bad of [{ hash: "xyz", height: 1 }, { hash: "a".repeat(64) }]) {
    assert.throws(
      () =>
        new EvrmoreWebSocketServer({
          rpcClient: node.rpc,
          zmqClient: node.zmq,
          resumeAfter: bad as never,
        }),
      TypeError,
    );
  }
});
