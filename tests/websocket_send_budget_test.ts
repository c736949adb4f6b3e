import assert from "node:assert/strict";
import { SendBudget } from "../lib/websocket/_send_budget.ts";

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

Deno.test("SendBudget.charge() accounts bytes per client and in total", () => {
  const budget = new SendBudget<string>({
    totalBytes: 1000,
    perClientBytes: 500,
  });
  budget.add("a");
  budget.add("b");
  assert.equal(budget.charge("a", 300), true);
  assert.equal(budget.charge("b", 200), true);
  assert.equal(budget.total, 500);
  assert.equal(budget.overBudget, false);
  assert.equal(budget.charge("a", 201), false); // a: 501 > 500
  assert.equal(budget.charge("ghost", 10_000), true); // untracked: ignored
  assert.equal(budget.total, 701);
  budget.remove("a");
  budget.remove("a");
  assert.equal(budget.total, 200);
  assert.equal(budget.size, 1);
});

Deno.test("SendBudget.fits() checks the total and the client's own limit", () => {
  const budget = new SendBudget<string>({
    totalBytes: 1000,
    perClientBytes: 600,
  });
  budget.add("a");
  budget.add("b");
  budget.charge("a", 500);
  assert.equal(budget.fits("a", 100), true);
  assert.equal(budget.fits("a", 101), false);
  budget.charge("b", 400);
  assert.equal(budget.fits("b", 100), true);
  assert.equal(budget.fits("b", 101), false);
});

Deno.test("SendBudget.sweep() replaces estimates with real buffers", () => {
  const budget = new SendBudget<string>({ totalBytes: 1000 });
  budget.add("a");
  budget.add("b");
  budget.charge("a", 900);
  budget.charge("b", 900);
  assert.equal(budget.overBudget, true);
  const read: string[] = [];
  const verdicts = budget.sweep((c) => {
    read.push(c);
    return c === "a" ? 0 : 100;
  });
  assert.deepEqual(verdicts, []);
  assert.deepEqual(read, ["a", "b"]);
  assert.equal(budget.total, 100);
  assert.equal(budget.overBudget, false);
  // Clients at zero are not read again.
  read.length = 0;
  budget.sweep((c) => {
    read.push(c);
    return 100;
  });
  assert.deepEqual(read, ["b"]);
});

Deno.test("SendBudget.sweep() sheds the largest buffers past the total", () => {
  const budget = new SendBudget<string>({
    totalBytes: 1000,
    perClientBytes: 1000,
  });
  const real: Record<string, number> = { a: 100, b: 700, c: 400, d: 300 };
  for (const c of Object.keys(real)) {
    budget.add(c);
    budget.charge(c, real[c]!);
  }
  const verdicts = budget.sweep((c) => real[c]!);
  assert.deepEqual(
    verdicts.map((v) => [v.client, v.reason, v.buffered]),
    [["b", "total_budget", 700]],
  );
});

Deno.test("SendBudget.sweep() reports a client past its own limit", () => {
  const budget = new SendBudget<string>({ perClientBytes: 100 });
  budget.add("a");
  budget.charge("a", 150);
  assert.deepEqual(budget.sweep(() => 150).map((v) => v.reason), [
    "client_budget",
  ]);
  assert.deepEqual(budget.sweep(() => 50), []);
});

Deno.test("SendBudget.sweep() closes a client whose buffer stops draining", () => {
  const { now, advance } = clock();
  const budget = new SendBudget<string>({ drainDeadlineMs: 10_000, now });
  budget.add("stuck");
  budget.add("slow");
  budget.charge("stuck", 1000);
  budget.charge("slow", 1000);
  advance(6_000);
  // slow delivered its first 1000 bytes but has new ones queued.
  budget.charge("slow", 1000);
  assert.deepEqual(budget.sweep((c) => (c === "stuck" ? 1000 : 1000)), []);
  advance(5_000); // 11 s since stuck's bytes were queued
  budget.charge("slow", 500);
  const verdicts = budget.sweep((c) => (c === "stuck" ? 1000 : 1500));
  assert.deepEqual(verdicts.map((v) => [v.client, v.reason]), [[
    "stuck",
    "drain_deadline",
  ]]);
  // slow keeps draining what was queued 5 s ago: never closed.
  for (let i = 0; i < 5; i++) {
    advance(5_000);
    budget.charge("slow", 500);
    assert.deepEqual(
      budget.sweep((c) => (c === "stuck" ? 1000 : 500)).filter((v) =>
        v.client === "slow"
      ),
      [],
    );
  }
});

Deno.test("SendBudget.sweep() resets the clock when a buffer empties", () => {
  const { now, advance } = clock();
  const budget = new SendBudget<string>({ drainDeadlineMs: 1_000, now });
  budget.add("a");
  budget.charge("a", 10);
  advance(900);
  assert.deepEqual(budget.sweep(() => 0), []);
  advance(900);
  budget.charge("a", 10);
  advance(900);
  assert.deepEqual(budget.sweep(() => 10), []); // 900 ms since queued
  advance(200);
  assert.deepEqual(budget.sweep(() => 10).map((v) => v.reason), [
    "drain_deadline",
  ]);
});

Deno.test("SendBudget rejects non-positive limits with RangeError", () => {
  assert.throws(() => new SendBudget({ totalBytes: 0 }), RangeError);
  assert.throws(() => new SendBudget({ perClientBytes: -1 }), RangeError);
  assert.throws(() => new SendBudget({ drainDeadlineMs: NaN }), RangeError);
});
