import assert from "node:assert/strict";
import { LogLimiter } from "../lib/websocket/_log_limiter.ts";

function setup(options: { intervalMs?: number; maxKinds?: number } = {}) {
  const lines: string[] = [];
  let now = 1_000;
  const log = new LogLimiter({
    ...options,
    write: (line) => lines.push(line),
    now: () => now,
  });
  return { log, lines, advance: (ms: number) => (now += ms) };
}

Deno.test("LogLimiter.error() writes one line per kind per interval", () => {
  const { log, lines, advance } = setup({ intervalMs: 1000 });
  assert.equal(log.error("bad_request", "first"), true);
  for (let i = 0; i < 2000; i++) log.error("bad_request", "again");
  assert.equal(lines.length, 1);
  assert.equal(log.suppressed("bad_request"), 2000);
  advance(999);
  assert.equal(log.error("bad_request", "still quiet"), false);
  advance(1);
  assert.equal(log.error("bad_request", "next"), true);
  assert.deepEqual(lines, [
    "[bad_request] first",
    "[bad_request] next (2001 more suppressed)",
  ]);
  assert.equal(log.suppressed("bad_request"), 0);
});

Deno.test("LogLimiter.error() keeps kinds apart", () => {
  const { log, lines } = setup();
  log.error("a", "one");
  log.error("b", "two");
  log.error("a", "three");
  assert.deepEqual(lines, ["[a] one", "[b] two"]);
});

Deno.test("LogLimiter forgets the oldest kind past maxKinds", () => {
  const { log, lines } = setup({ maxKinds: 2 });
  log.error("a", "1");
  log.error("b", "2");
  log.error("c", "3"); // evicts a
  log.error("a", "4"); // a is new again: written
  log.error("c", "5"); // c still remembered: suppressed
  assert.deepEqual(lines, ["[a] 1", "[b] 2", "[c] 3", "[a] 4"]);
});

Deno.test("LogLimiter rejects a non-positive interval with RangeError", () => {
  assert.throws(() => new LogLimiter({ intervalMs: 0 }), RangeError);
  assert.throws(() => new LogLimiter({ maxKinds: 0 }), RangeError);
});
