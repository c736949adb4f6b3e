/**
 * Automatic batching: calls waiting behind the cap leave as JSON-RPC
 * batches, each caller keeping its own result or error.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConnectionError, RpcError } from "../lib/errors.ts";
import { clientFor, startFixtureRpcServer } from "./_rpc_fixture_server.ts";
import { fillCap, gateRequests, methodsOf } from "./_rpc_gate.ts";

const GENESIS =
  "5177b521d358ee45b83abbe2597a01511846c1bb3c08c14dc762a4649a7d2fc9";

Deno.test("EvrmoreRPCClient sends one request per call below the cap (no batching)", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server, { maxConcurrency: 8 });
  await client.getblockcount();
  const gate = gateRequests(server, "never-held");
  const hashes = await Promise.all(
    [0, 1, 160, 161].map((height) => client.getblockhash(height)),
  );
  assert.equal(hashes[0], GENESIS);
  assert.equal(gate.bodies.length, 4);
  for (const body of gate.bodies) assert.ok(!body.startsWith("["));
});

Deno.test("EvrmoreRPCClient batches calls queued behind the cap, splits at maxBatchSize and answers each caller in order", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server, {
    maxConcurrency: 1,
    maxBatchSize: 3,
  });
  const gate = gateRequests(server, "getbestblockhash");
  const { holder } = await fillCap(client, gate);
  const heights = [0, 1, 160, 161, 162, 163, 164];
  const pending = heights.map((height) => client.getblockhash(height));
  gate.release();
  const hashes = await Promise.all(pending);
  await holder;
  // Each caller got the hash of its own height, as the node answers it.
  for (const [i, height] of heights.entries()) {
    const expected = server.lookup("getblockhash", [height]);
    assert.ok(expected !== undefined);
    assert.equal(hashes[i], JSON.parse(expected.body).result);
  }
  assert.equal(hashes[0], GENESIS);
  // After the held call: batches of 3, 3, then the last call alone.
  const sent = gate.bodies.slice(gate.bodies.length - 3).map((body) =>
    JSON.parse(body)
  );
  assert.equal(gate.bodies.length, 2 + 3);
  assert.deepEqual(
    sent.map((request) =>
      Array.isArray(request)
        ? request.map((call: { params: number[] }) => call.params[0])
        : request.params[0]
    ),
    [[0, 1, 160], [161, 162, 163], 164],
  );
  assert.ok(server.maxInFlight <= 1);
});

Deno.test("EvrmoreRPCClient gives each call of an automatic batch its own RpcError with the node's code", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server, { maxConcurrency: 1 });
  const gate = gateRequests(server, "getbestblockhash");
  const { holder } = await fillCap(client, gate);
  const outcomes = Promise.allSettled([
    client.getblockhash(0),
    client.getblockhash(999_999),
    client.call("getblock", ["00".repeat(32)]),
    client.call("nosuchmethod"),
    client.getblockhash(160),
  ]);
  gate.release();
  const [ok, range, block, unknown, ok2] = await outcomes;
  await holder;
  assert.deepEqual(methodsOf(gate.bodies.at(-1) ?? "[]"), [
    "getblockhash",
    "getblockhash",
    "getblock",
    "nosuchmethod",
    "getblockhash",
  ]);
  assert.equal(ok?.status === "fulfilled" && ok.value, GENESIS);
  assert.equal(ok2?.status, "fulfilled");
  const codes = [range, block, unknown].map((outcome) => {
    assert.equal(outcome?.status, "rejected");
    const error = (outcome as PromiseRejectedResult).reason;
    assert.ok(error instanceof RpcError);
    return [error.code, error.method];
  });
  assert.deepEqual(codes, [
    [-8, "getblockhash"],
    [-5, "getblock"],
    [-32601, "nosuchmethod"],
  ]);
});

Deno.test("EvrmoreRPCClient retries a read-only batch refused by the work queue, never one with a write call", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server, { maxConcurrency: 1, retryDelay: 1 });
  const gate = gateRequests(server, "getbestblockhash");
  const { holder } = await fillCap(client, gate);
  // Refuse the next batch once, as a node with a full work queue does.
  let refusals = 1;
  const held = server.intercept;
  server.intercept = (info) => {
    if (info.body.startsWith("[") && refusals > 0) {
      refusals--;
      gate.bodies.push(info.body);
      return { status: 500, body: "Work queue depth exceeded" };
    }
    return held?.(info);
  };
  const reads = [0, 1, 160].map((height) => client.getblockhash(height));
  gate.release();
  const hashes = await Promise.all(reads);
  await holder;
  assert.equal(hashes[0], GENESIS);
  const batches = gate.bodies.filter((body) => body.startsWith("["));
  assert.equal(batches.length, 2, "refused once, then sent again");
  assert.equal(batches[0], batches[1]);

  // A batch with a write call is refused once and not retried.
  const gate2 = gateRequests(server, "getbestblockhash");
  const { holder: holder2 } = await fillCap(client, gate2);
  refusals = 1;
  const held2 = server.intercept;
  server.intercept = (info) => {
    if (info.body.startsWith("[") && refusals > 0) {
      refusals--;
      gate2.bodies.push(info.body);
      return { status: 500, body: "Work queue depth exceeded" };
    }
    return held2?.(info);
  };
  const mixed = Promise.allSettled([
    client.getblockhash(0),
    client.call("sendrawtransaction", ["00"]),
  ]);
  gate2.release();
  const outcomes = await mixed;
  await holder2;
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "rejected");
    const error = (outcome as PromiseRejectedResult).reason;
    assert.ok(error instanceof ConnectionError);
    assert.match(error.message, /Work queue depth exceeded/);
  }
  assert.equal(gate2.bodies.filter((body) => body.startsWith("[")).length, 1);
});

Deno.test("EvrmoreRPCClient aborts one caller inside an automatic batch without touching the others", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server, { maxConcurrency: 1 });
  const gate = gateRequests(server, "getbestblockhash");
  const { holder } = await fillCap(client, gate);
  // The batch itself is held at the server too ("getblockhash" marker
  // follows once the first gate opens).
  const batchGate = Promise.withResolvers<void>();
  const batchArrived = Promise.withResolvers<void>();
  const first = server.intercept;
  server.intercept = async (info) => {
    if (info.body.startsWith("[")) {
      gate.bodies.push(info.body);
      batchArrived.resolve();
      await Promise.race([batchGate.promise, info.closed]);
      return undefined;
    }
    return await first?.(info);
  };
  const leaving = new AbortController();
  const queuedOnly = new AbortController();
  const calls = [
    client.getblockhash(0),
    client.getblockhash(1, { signal: leaving.signal }),
    client.getblockhash(160),
    client.getblockhash(161, { signal: queuedOnly.signal }),
  ];
  // Aborted while still queued: it never reaches the node.
  const dropped = new Error("dropped before sending");
  queuedOnly.abort(dropped);
  await assert.rejects(calls[3]!, (e: unknown) => e === dropped);
  gate.release();
  await batchArrived.promise;
  const batch = JSON.parse(gate.bodies.at(-1) ?? "[]") as {
    params: number[];
  }[];
  assert.deepEqual(batch.map((call) => call.params[0]), [0, 1, 160]);
  // Aborted while its batch is in flight: it rejects at once with its
  // reason; the batch goes on for the others.
  const reason = new Error("caller left");
  leaving.abort(reason);
  await assert.rejects(calls[1]!, (e: unknown) => e === reason);
  batchGate.resolve();
  const [zero, , two] = await Promise.all([calls[0], null, calls[2]]);
  assert.equal(zero, GENESIS);
  assert.equal(typeof two, "string");
  await holder;
  // The slot came back: the client still works.
  assert.equal(await client.getblockcount(), 177);
});

Deno.test("EvrmoreRPCClient with batching: false sends queued calls one by one", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server, {
    maxConcurrency: 1,
    batching: false,
  });
  const gate = gateRequests(server, "getbestblockhash");
  const { holder } = await fillCap(client, gate);
  const pending = [0, 1, 160].map((height) => client.getblockhash(height));
  gate.release();
  await Promise.all(pending);
  await holder;
  const after = gate.bodies.slice(2);
  assert.equal(after.length, 3);
  for (const body of after) assert.ok(!body.startsWith("["));
});

Deno.test("EvrmoreRPCClient rejects bad batching options with RangeError", () => {
  assert.throws(
    () =>
      clientFor({ url: "http://127.0.0.1:1/" } as never, { maxBatchSize: 0 }),
    RangeError,
  );
  assert.throws(
    () =>
      clientFor({ url: "http://127.0.0.1:1/" } as never, { maxQueueSize: -1 }),
    RangeError,
  );
});
