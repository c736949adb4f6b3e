/**
 * Single-flight: identical read-only calls in flight at once share one
 * request; off per call or per client; never for write calls.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { BlockchainInfo } from "../lib/rpc/mod.ts";
import { clientFor, startFixtureRpcServer } from "./_rpc_fixture_server.ts";
import { gateRequests } from "./_rpc_gate.ts";

Deno.test("EvrmoreRPCClient shares one request among 100 identical concurrent read-only calls", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  await client.getblockcount();
  const before = server.requests;
  const results = await Promise.all(
    Array.from({ length: 100 }, () => client.getblockcount()),
  );
  assert.deepEqual(results, Array(100).fill(177));
  assert.equal(server.requests - before, 1);
  // Once settled, the next identical call makes a new request.
  assert.equal(await client.getblockcount(), 177);
  assert.equal(server.requests - before, 2);
});

Deno.test("EvrmoreRPCClient single-flight keys on params and gives each caller its own copy", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  await client.getblockcount();
  const before = server.requests;
  const [a, b, c, d] = await Promise.all([
    client.getblockhash(0),
    client.getblockhash(1),
    client.getblockhash(0),
    client.getblockhash(1),
  ]);
  assert.equal(a, c);
  assert.equal(b, d);
  assert.notEqual(a, b);
  assert.equal(server.requests - before, 2);
  // Objects are shared by value: one caller's change stays its own.
  const [x, y] = await Promise.all([
    client.getblockchaininfo(),
    client.getblockchaininfo(),
  ]) as [BlockchainInfo, BlockchainInfo];
  x.blocks = -1;
  assert.equal(y.blocks, 177);
});

Deno.test("EvrmoreRPCClient single-flight can be turned off per call and per client", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  await client.getblockcount();
  let before = server.requests;
  await Promise.all([
    client.getblockcount(),
    client.getblockcount({ singleFlight: false }),
    client.getblockcount({ singleFlight: false }),
  ]);
  assert.equal(server.requests - before, 3);
  await using off = clientFor(server, { singleFlight: false });
  await off.getblockcount();
  before = server.requests;
  await Promise.all(Array.from({ length: 5 }, () => off.getblockcount()));
  assert.equal(server.requests - before, 5);
  // Write calls are never shared.
  before = server.requests;
  await Promise.allSettled([
    client.call("sendrawtransaction", ["00"]),
    client.call("sendrawtransaction", ["00"]),
  ]);
  assert.equal(server.requests - before, 2);
});

Deno.test("EvrmoreRPCClient single-flight: one caller's abort leaves the others waiting; all aborting cancels", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  await client.getblockcount();
  const gate = gateRequests(server, "getbestblockhash");
  const arrived = gate.arrived();
  const leaving = new AbortController();
  const first = client.getbestblockhash({ signal: leaving.signal });
  const second = client.getbestblockhash();
  await arrived;
  const reason = new Error("first caller left");
  leaving.abort(reason);
  await assert.rejects(first, (e: unknown) => e === reason);
  gate.release();
  assert.match(await second, /^[0-9a-f]{64}$/);
  assert.equal(gate.bodies.length, 1);

  // Every caller has a signal and leaves: the shared request is cancelled,
  // and a new identical call starts a fresh one.
  const gate2 = gateRequests(server, "getbestblockhash");
  const arrived2 = gate2.arrived();
  const a = new AbortController();
  const b = new AbortController();
  const pa = client.getbestblockhash({ signal: a.signal });
  const pb = client.getbestblockhash({ signal: b.signal });
  await arrived2;
  a.abort(new Error("a"));
  b.abort(new Error("b"));
  await assert.rejects(pa, /^Error: a$/);
  await assert.rejects(pb, /^Error: b$/);
  gate2.release();
  assert.match(await client.getbestblockhash(), /^[0-9a-f]{64}$/);
  assert.equal(gate2.bodies.length, 2);
});
