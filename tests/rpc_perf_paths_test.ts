/**
 * The client's fast paths keep their guarantees: the shared deadline timer
 * still times out every call (short after long, late after a burst), the
 * caller's signal and `close()` still abort queued and in-flight calls, the
 * semaphore's `tryAcquire()` never jumps the queue or the cap, and a batch
 * reply out of order is still matched by id.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConnectionError, TimeoutError } from "../lib/errors.ts";
import {
  clientFor,
  type FixtureRpcServer,
  startFixtureRpcServer,
} from "./_rpc_fixture_server.ts";

/** Holds every request whose body contains `marker` until the server closes. */
function holdCalls(server: FixtureRpcServer, marker: string): {
  arrivals: () => number;
  next: () => Promise<void>;
} {
  let arrived = 0;
  let waiter = Promise.withResolvers<void>();
  server.intercept = async ({ body, closed }) => {
    if (!body.includes(marker)) return undefined;
    arrived++;
    waiter.resolve();
    waiter = Promise.withResolvers<void>();
    await closed;
    return undefined;
  };
  return {
    arrivals: () => arrived,
    next: () => waiter.promise,
  };
}

Deno.test("EvrmoreRPCClient times out a short call while a longer one is pending", async () => {
  await using server = await startFixtureRpcServer();
  const held = holdCalls(server, "getblockcount");
  await using client = clientFor(server, { timeout: 60_000 });
  const long = client.getblockcount();
  const longOutcome = long.then(() => "answered", (e: unknown) => e);
  await held.next();
  const started = performance.now();
  await assert.rejects(
    client.getblockcount({ timeout: 30 }),
    (e: unknown) => {
      assert.ok(e instanceof TimeoutError);
      assert.equal(
        e.message,
        "Cannot call getblockcount: no answer within 30 ms",
      );
      return true;
    },
  );
  assert.ok(performance.now() - started >= 25, "fired too early");
  // The long call is untouched until the client closes.
  const raced = await Promise.race([
    longOutcome,
    new Promise((resolve) => setTimeout(() => resolve("pending"), 20)),
  ]);
  assert.equal(raced, "pending");
  await client.close();
  const error = await longOutcome;
  assert.ok(error instanceof ConnectionError);
  assert.equal(
    (error as Error).message,
    "Cannot call getblockcount: the client was closed",
  );
  await server.close();
});

Deno.test("EvrmoreRPCClient times out a call that starts after a burst of answered calls", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server, { timeout: 150 });
  // The burst arms the shared timer for its first deadline.
  for (let i = 0; i < 20; i++) assert.equal(await client.getblockcount(), 177);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const held = holdCalls(server, "getblockcount");
  const started = performance.now();
  const pending = client.getblockcount();
  await held.next();
  await assert.rejects(pending, (e: unknown) => {
    assert.ok(e instanceof TimeoutError);
    assert.equal(
      e.message,
      "Cannot call getblockcount: no answer within 150 ms",
    );
    return true;
  });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 140, `fired after ${elapsed} ms, before the deadline`);
  // The client still works after a timeout.
  server.intercept = undefined;
  assert.equal(await client.getblockcount(), 177);
  await server.close();
});

Deno.test("EvrmoreRPCClient times out and aborts calls queued behind the cap", async () => {
  await using server = await startFixtureRpcServer();
  const held = holdCalls(server, "getblockcount");
  await using client = clientFor(server, { maxConcurrency: 1 });
  const first = client.getblockcount().catch((e: unknown) => e);
  await held.next();
  // Queued: times out without ever reaching the server.
  await assert.rejects(
    client.getblockcount({ timeout: 20 }),
    /Cannot call getblockcount: no answer within 20 ms/,
  );
  // Queued: the caller's signal rejects it with the caller's reason.
  const controller = new AbortController();
  const queued = client.getblockcount({ signal: controller.signal });
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(queued, (e: unknown) => e === reason);
  // Queued: close() rejects it, naming the method.
  const last = client.getblockchaininfo();
  await client.close();
  await assert.rejects(last, (e: unknown) => {
    assert.ok(e instanceof ConnectionError);
    assert.equal(
      e.message,
      "Cannot call getblockchaininfo: the client was closed",
    );
    return true;
  });
  assert.ok((await first) instanceof ConnectionError);
  assert.equal(held.arrivals(), 1);
  assert.equal(server.requests, 1);
  await server.close();
});

Deno.test("EvrmoreRPCClient caller signal aborts after the settings are cached", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  assert.equal(await client.getblockcount(), 177);
  const held = holdCalls(server, "getblockcount");
  const controller = new AbortController();
  const pending = client.getblockcount({ signal: controller.signal });
  await held.next();
  const reason = new Error("enough");
  controller.abort(reason);
  await assert.rejects(pending, (e: unknown) => e === reason);
  // A signal that was used and not aborted leaves later calls alone.
  server.intercept = undefined;
  const unused = new AbortController();
  assert.equal(await client.getblockcount({ signal: unused.signal }), 177);
  unused.abort(new Error("late"));
  assert.equal(await client.getblockcount(), 177);
  await server.close();
});

Deno.test("EvrmoreRPCClient keeps the cap with the free-slot fast path", async () => {
  await using server = await startFixtureRpcServer();
  // Identical calls: single-flight (on by default) would share one request.
  await using client = clientFor(server, {
    maxConcurrency: 2,
    singleFlight: false,
  });
  const results = await Promise.all(
    Array.from({ length: 40 }, () => client.getblockcount()),
  );
  assert.deepEqual(results, Array(40).fill(177));
  assert.ok(server.maxInFlight <= 2, `in flight ${server.maxInFlight} > 2`);
  assert.equal(server.requests, 40);
  await server.close();
});

Deno.test("EvrmoreRPCClient.batch() matches a reply out of order by id", async () => {
  await using server = await startFixtureRpcServer();
  let dropLast = false;
  server.intercept = ({ body }) => {
    const calls = JSON.parse(body) as { id: number; method: string }[];
    const replies = calls.map((call) => ({
      result: call.method === "getbestblockhash" ? "ab".repeat(32) : call.id,
      error: null,
      id: call.id,
    }));
    // Reversed, and with `dropLast` the last call's answer missing.
    return {
      status: 200,
      body: JSON.stringify(
        (dropLast ? replies.slice(0, -1) : replies).reverse(),
      ),
    };
  };
  await using client = clientFor(server);
  const calls = [
    { method: "getblockcount" },
    { method: "getbestblockhash" },
    { method: "getblockcount" },
    { method: "getblockcount" },
  ];
  for (dropLast of [false, true]) {
    const outcomes = await client.batch(calls);
    assert.equal(outcomes.length, 4);
    const first = outcomes[0]?.result as number;
    assert.equal(typeof first, "number");
    assert.equal(outcomes[1]?.result, "ab".repeat(32));
    assert.equal(outcomes[2]?.result, first + 2);
    if (dropLast) {
      assert.ok(outcomes[3]?.error instanceof ConnectionError);
      assert.match(
        outcomes[3]?.error?.message ?? "",
        /^Cannot call getblockcount: no answer for it in the batch reply/,
      );
    } else {
      assert.equal(outcomes[3]?.result, first + 3);
    }
  }
  await server.close();
});
