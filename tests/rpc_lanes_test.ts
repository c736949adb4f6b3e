/**
 * Priority lanes: high calls leave before waiting normal ones, each lane is
 * bounded (QueueFullError), and a timeout separates queue time from node
 * time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { EvrmoreError, QueueFullError, TimeoutError } from "../lib/errors.ts";
import * as root from "../mod.ts";
import { clientFor, startFixtureRpcServer } from "./_rpc_fixture_server.ts";
import { fillCap, gateRequests, methodsOf } from "./_rpc_gate.ts";

Deno.test("EvrmoreRPCClient sends high-priority calls before waiting normal ones", async () => {
  for (const batching of [false, true]) {
    await using server = await startFixtureRpcServer();
    await using client = clientFor(server, {
      maxConcurrency: 1,
      batching,
      singleFlight: false,
    });
    const gate = gateRequests(server, "getbestblockhash");
    const { holder } = await fillCap(client, gate);
    const calls = [
      client.call("getblockcount"),
      client.call("getdifficulty"),
      client.call("getmempoolinfo", [], { priority: "high" }),
      client.call("getblockchaininfo"),
      client.call("getrawmempool", [], { priority: "high" }),
    ];
    gate.release();
    await Promise.all(calls);
    await holder;
    const order = gate.bodies.slice(2).flatMap(methodsOf);
    assert.deepEqual(order, [
      "getmempoolinfo",
      "getrawmempool",
      "getblockcount",
      "getdifficulty",
      "getblockchaininfo",
    ], `batching ${batching}`);
    // With batching they left as one request, high calls first.
    assert.equal(gate.bodies.length - 2, batching ? 1 : 5);
  }
});

Deno.test("EvrmoreRPCClient takes its default priority from the client option", async () => {
  await using server = await startFixtureRpcServer();
  await using pipeline = clientFor(server, {
    maxConcurrency: 1,
    priority: "high",
    batching: false,
  });
  const gate = gateRequests(server, "getbestblockhash");
  const { holder } = await fillCap(pipeline, gate);
  const calls = [
    pipeline.call("getdifficulty", [], { priority: "normal" }),
    pipeline.call("getblockcount"),
  ];
  gate.release();
  await Promise.all(calls);
  await holder;
  assert.deepEqual(gate.bodies.slice(2).flatMap(methodsOf), [
    "getblockcount",
    "getdifficulty",
  ]);
  assert.throws(
    () => clientFor(server, { priority: "urgent" as never }),
    TypeError,
  );
  await assert.rejects(
    pipeline.call("getblockcount", [], { priority: "low" as never }),
    TypeError,
  );
});

Deno.test("EvrmoreRPCClient rejects a call with QueueFullError when its lane is full", async () => {
  assert.equal(root.QueueFullError, QueueFullError);
  for (const batching of [true, false]) {
    await using server = await startFixtureRpcServer();
    await using client = clientFor(server, {
      maxConcurrency: 1,
      maxQueueSize: 2,
      batching,
      singleFlight: false,
    });
    const gate = gateRequests(server, "getbestblockhash");
    const { holder } = await fillCap(client, gate);
    const queued = [client.getblockcount(), client.getblockcount()];
    const error = await client.getblockcount().then(
      () => assert.fail("expected QueueFullError"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof QueueFullError, `batching ${batching}`);
    assert.ok(error instanceof EvrmoreError);
    assert.equal(error.name, "QueueFullError");
    assert.equal(error.lane, "normal");
    assert.equal(error.limit, 2);
    assert.equal(
      error.message,
      "Cannot call getblockcount: the normal lane is full (2 calls waiting)",
    );
    // The high lane has its own bound.
    const urgent = client.getblockcount({ priority: "high" });
    gate.release();
    assert.deepEqual(await Promise.all([...queued, urgent]), [177, 177, 177]);
    await holder;
    // Nothing of the refused call reached the node.
    assert.equal(gate.bodies.flatMap(methodsOf).length, 2 + 3);
  }
});

Deno.test("EvrmoreRPCClient reports queue time apart from node time in TimeoutError", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server, { maxConcurrency: 1 });
  const gate = gateRequests(server, "getbestblockhash");
  const { holder } = await fillCap(client, gate);
  const holderDone = holder.catch((e: unknown) => e);
  // Never sent: all of its time was queue time.
  const queued = await client.getblockcount({ timeout: 40 }).then(
    () => assert.fail("expected TimeoutError"),
    (e: unknown) => e,
  );
  assert.ok(queued instanceof TimeoutError);
  assert.equal(queued.nodeTime, 0);
  assert.ok((queued.queueTime ?? 0) >= 35, `queued ${queued.queueTime}`);
  assert.match(
    queued.message,
    /^Cannot call getblockcount: no answer within 40 ms \(\d+ ms queued, 0 ms at the node\)$/,
  );
  // Sent at once, then held by the node: all of its time was node time.
  await client.close();
  assert.ok((await holderDone) instanceof Error);
  await using client2 = clientFor(server, { maxConcurrency: 1 });
  const gate2 = gateRequests(server, "getbestblockhash");
  await client2.getblockcount();
  const atNode = await client2.call("getbestblockhash", [], { timeout: 40 })
    .then(() => assert.fail("expected TimeoutError"), (e: unknown) => e);
  assert.ok(atNode instanceof TimeoutError);
  assert.ok(
    (atNode.queueTime ?? Infinity) < (atNode.nodeTime ?? 0),
    `queued ${atNode.queueTime}, node ${atNode.nodeTime}`,
  );
  assert.ok((atNode.nodeTime ?? 0) >= 35, `node ${atNode.nodeTime}`);
  assert.equal(
    atNode.message,
    "Cannot call getbestblockhash: no answer within 40 ms",
  );
  gate2.release();
});
