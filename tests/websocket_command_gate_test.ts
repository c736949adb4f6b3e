import assert from "node:assert/strict";
import {
  CommandGate,
  CommandGateError,
  defaultCommandCost,
} from "../lib/websocket/_command_gate.ts";

/** An exec the test settles by hand; records the signal it got. */
function deferredExec<T>() {
  const calls: {
    signal: AbortSignal;
    resolve: (v: T) => void;
    reject: (e: unknown) => void;
  }[] = [];
  const exec = (signal: AbortSignal) =>
    new Promise<T>((resolve, reject) =>
      calls.push({ signal, resolve, reject })
    );
  return { exec, calls };
}

async function rejectsWith(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof CommandGateError, String(error));
    assert.equal(error.name, "CommandGateError");
    assert.equal(error.code, code);
    return true;
  });
}

Deno.test("defaultCommandCost() charges heavy reads more", () => {
  assert.equal(defaultCommandCost("getblockcount", []), 1);
  assert.equal(defaultCommandCost("getblock", ["h", 2]), 4);
  assert.equal(defaultCommandCost("getblock", ["h"]), 2);
  assert.equal(defaultCommandCost("getblock", ["h", 0]), 1);
  assert.equal(defaultCommandCost("getrawmempool", [true]), 4);
  assert.equal(defaultCommandCost("getrawmempool", []), 1);
  assert.equal(defaultCommandCost("gettxoutsetinfo", []), 8);
});

Deno.test("CommandGate.run() keeps cost units in flight under maxInFlight", async () => {
  const gate = new CommandGate({ maxInFlight: 4, singleFlight: false });
  const { exec, calls } = deferredExec<number>();
  const client = {};
  const a = gate.run(client, "getblock", ["a", 2], exec); // 4
  const b = gate.run(client, "getblockcount", [], exec); // 1
  const c = gate.run(client, "getblockcount", [], exec); // 1
  assert.equal(calls.length, 1);
  assert.deepEqual(gate.stats, {
    inFlight: 4,
    running: 1,
    queued: 2,
    waiters: 3,
  });
  calls[0]!.resolve(1);
  assert.equal((await a).value, 1);
  assert.equal(calls.length, 3);
  assert.equal(gate.stats.inFlight, 2);
  calls[1]!.resolve(2);
  calls[2]!.resolve(3);
  assert.equal((await b).value, 2);
  assert.equal((await c).value, 3);
  assert.deepEqual(gate.stats, {
    inFlight: 0,
    running: 0,
    queued: 0,
    waiters: 0,
  });
});

Deno.test("CommandGate.run() caps a cost to the budget so it runs alone", async () => {
  const gate = new CommandGate({ maxInFlight: 2 });
  const { exec, calls } = deferredExec<string>();
  const big = gate.run({}, "gettxoutsetinfo", [], exec);
  const small = gate.run({}, "getblockcount", [], exec);
  assert.equal(calls.length, 1);
  calls[0]!.resolve("utxo");
  assert.equal((await big).value, "utxo");
  assert.equal(calls.length, 2);
  calls[1]!.resolve("n");
  await small;
});

Deno.test("CommandGate.run() answers server_busy when the queue is full", async () => {
  const gate = new CommandGate({
    maxInFlight: 1,
    maxQueued: 2,
    singleFlight: false,
  });
  const { exec, calls } = deferredExec<number>();
  const running = gate.run({}, "getblockcount", [], exec);
  const q1 = gate.run({}, "getblockcount", [], exec);
  const q2 = gate.run({}, "getblockcount", [], exec);
  await rejectsWith(gate.run({}, "getblockcount", [], exec), "server_busy");
  for (let i = 0; i < 3; i++) {
    calls[i]!.resolve(i);
    await [running, q1, q2][i];
  }
});

Deno.test("CommandGate.run() answers client_busy past maxPerClient", async () => {
  const gate = new CommandGate({ maxPerClient: 2, singleFlight: false });
  const { exec, calls } = deferredExec<number>();
  const greedy = {};
  const p = [gate.run(greedy, "a", [], exec), gate.run(greedy, "b", [], exec)];
  await rejectsWith(gate.run(greedy, "c", [], exec), "client_busy");
  const other = gate.run({}, "d", [], exec); // another client is still served
  for (const call of calls) call.resolve(0);
  await Promise.all([...p, other]);
});

Deno.test("CommandGate.run() gives server_busy after maxQueueMs in the queue", async () => {
  const gate = new CommandGate({
    maxInFlight: 1,
    maxQueueMs: 20,
    singleFlight: false,
  });
  const { exec, calls } = deferredExec<number>();
  const running = gate.run({}, "x", [], exec);
  await rejectsWith(gate.run({}, "y", [], exec), "server_busy");
  assert.equal(gate.stats.queued, 0);
  calls[0]!.resolve(1);
  await running;
  assert.equal(calls.length, 1); // the expired one never ran
});

Deno.test("CommandGate.run() measures queue time apart from run time", async () => {
  let now = 0;
  const gate = new CommandGate({
    maxInFlight: 1,
    singleFlight: false,
    now: () => now,
  });
  const { exec, calls } = deferredExec<number>();
  const first = gate.run({}, "x", [], exec);
  const second = gate.run({}, "y", [], exec);
  now = 100;
  calls[0]!.resolve(1); // first: queued 0, ran 100
  const r1 = await first;
  assert.deepEqual([r1.queueMs, r1.runMs], [0, 100]);
  now = 130;
  calls[1]!.resolve(2); // second started at 100: queued 100, ran 30
  const r2 = await second;
  assert.deepEqual([r2.queueMs, r2.runMs], [100, 30]);
});

Deno.test("CommandGate.leave() aborts the client's queued and running commands", async () => {
  const gate = new CommandGate({ maxInFlight: 1, singleFlight: false });
  const { exec, calls } = deferredExec<number>();
  const leaver = {};
  const stayer = {};
  const running = gate.run(leaver, "a", [], exec);
  const queued = gate.run(leaver, "b", [], exec);
  const honest = gate.run(stayer, "c", [], exec);
  gate.leave(leaver);
  gate.leave(leaver);
  await rejectsWith(running, "aborted");
  await rejectsWith(queued, "aborted");
  assert.equal(calls[0]!.signal.aborted, true);
  // The running one still holds its units until the node answers.
  assert.equal(calls.length, 1);
  calls[0]!.reject(calls[0]!.signal.reason);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(calls.length, 2); // "b" never ran; "c" did
  calls[1]!.resolve(7);
  assert.equal((await honest).value, 7);
  assert.deepEqual(gate.stats, {
    inFlight: 0,
    running: 0,
    queued: 0,
    waiters: 0,
  });
});

Deno.test("CommandGate.run() shares identical commands in flight", async () => {
  const gate = new CommandGate();
  const { exec, calls } = deferredExec<string>();
  const a = {};
  const b = {};
  const p1 = gate.run(a, "getblock", ["h", 2], exec);
  const p2 = gate.run(b, "getblock", ["h", 2], exec);
  const p3 = gate.run(b, "getblock", ["h", 1], exec); // different params
  assert.equal(calls.length, 2);
  calls[0]!.resolve("block");
  calls[1]!.resolve("other");
  const [r1, r2, r3] = await Promise.all([p1, p2, p3]);
  assert.equal(r1.value, "block");
  assert.equal(r2.value, "block");
  assert.equal(r1.shared && r2.shared, true);
  assert.equal(r3.shared, false);
  // After it settled, the same command runs again.
  const p4 = gate.run(a, "getblock", ["h", 2], exec);
  assert.equal(calls.length, 3);
  calls[2]!.resolve("again");
  assert.equal((await p4).value, "again");
});

Deno.test("CommandGate aborts a shared command only when its last caller leaves", async () => {
  const gate = new CommandGate();
  const { exec, calls } = deferredExec<string>();
  const a = {};
  const b = {};
  const pa = gate.run(a, "getrawmempool", [true], exec);
  const pb = gate.run(b, "getrawmempool", [true], exec);
  gate.leave(a);
  await rejectsWith(pa, "aborted");
  assert.equal(calls[0]!.signal.aborted, false);
  const controller = new AbortController();
  const pc = gate.run({}, "getrawmempool", [true], exec, {
    signal: controller.signal,
  });
  controller.abort();
  await rejectsWith(pc, "aborted");
  assert.equal(calls[0]!.signal.aborted, false);
  gate.leave(b);
  await rejectsWith(pb, "aborted");
  assert.equal(calls[0]!.signal.aborted, true);
  // A new identical command does not join the aborted one.
  const pd = gate.run({}, "getrawmempool", [true], exec);
  calls[0]!.reject(new Error("aborted by node client"));
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(calls.length, 2);
  calls[1]!.resolve("fresh");
  assert.equal((await pd).value, "fresh");
});

Deno.test("CommandGate.run() passes exec errors to every caller and frees the units", async () => {
  const gate = new CommandGate({ maxInFlight: 1 });
  const boom = new Error("node said no");
  await assert.rejects(
    gate.run({}, "x", [], () => Promise.reject(boom)),
    (e) => e === boom,
  );
  await assert.rejects(
    gate.run({}, "y", [], () => {
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.equal(
    (await gate.run({}, "z", [], () => Promise.resolve(1))).value,
    1,
  );
  await rejectsWith(
    gate.run({}, "z", [], () => Promise.resolve(1), {
      signal: AbortSignal.abort(),
    }),
    "aborted",
  );
});

Deno.test("CommandGate rejects bad limits with RangeError", () => {
  assert.throws(() => new CommandGate({ maxInFlight: 0 }), RangeError);
  assert.throws(() => new CommandGate({ maxQueued: 1.5 }), RangeError);
});
