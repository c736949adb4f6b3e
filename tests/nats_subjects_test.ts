import assert from "node:assert/strict";
import {
  commandSubject,
  decodeAssetToken,
  encodeAssetToken,
  type FeedEvent,
  streamSubjects,
} from "../lib/nats/mod.ts";
import {
  parseEventSubject,
  subjectForEvent,
  subjectsForTopics,
} from "../lib/nats/_subjects.ts";
import { parseCursor } from "../lib/nats/_consumer.ts";
import { wantedStreamConfig } from "../lib/nats/_stream.ts";
import { CommandReplySchema, FeedPayloadSchema } from "../lib/nats/_wire.ts";

const NAMES = [
  "EVR",
  "ROSE",
  "ROSE/RED",
  "ROSE/RED#tag.1",
  "$ROSE",
  "ROSE!",
  "ROSE~CHANNEL",
  "A.B_C",
  "#UNIQUE*>%",
  "50%OFF",
  "ÜBER/ß",
];

Deno.test("encodeAssetToken() makes one safe subject token per asset name, reversibly", () => {
  const tokens = new Set<string>();
  for (const name of NAMES) {
    const token = encodeAssetToken(name);
    assert.match(token, /^[A-Za-z0-9_%-]+$/, `${name} -> ${token}`);
    assert.equal(decodeAssetToken(token), name);
    tokens.add(token);
  }
  assert.equal(tokens.size, NAMES.length);
  assert.equal(encodeAssetToken("ROSE/RED#tag.1"), "ROSE%2FRED%23tag%2E1");
  assert.equal(encodeAssetToken("$ROSE!"), "%24ROSE%21");
});

Deno.test("decodeAssetToken() rejects tokens that encodeAssetToken() cannot make", () => {
  for (
    const bad of ["", "A.B", "A*", "A%2", "A%zz", "%41", "A%2f", "%FF", "A B"]
  ) {
    assert.equal(decodeAssetToken(bad), undefined, bad);
  }
  assert.throws(() => encodeAssetToken(""), TypeError);
});

Deno.test("subjectForEvent() maps each topic, reorgs and assets to its subject", () => {
  const ev = (e: Partial<FeedEvent>): FeedEvent => ({
    topic: "blocks",
    id: "x",
    message: { type: "block", data: {} },
    ...e,
  });
  assert.equal(subjectForEvent("regtest", ev({})), "evrmore.regtest.block");
  assert.equal(
    subjectForEvent("regtest", ev({ message: { type: "reorg", data: {} } })),
    "evrmore.regtest.reorg",
  );
  assert.equal(
    subjectForEvent("main", ev({ topic: "transactions" })),
    "evrmore.main.transaction",
  );
  assert.equal(
    subjectForEvent("test", ev({ topic: "mempool" })),
    "evrmore.test.mempool",
  );
  assert.equal(
    subjectForEvent(
      "main",
      ev({ topic: "assets", match: { asset: "ROSE/RED" } }),
    ),
    "evrmore.main.asset.ROSE%2FRED",
  );
  assert.throws(
    () => subjectForEvent("main", ev({ topic: "assets" })),
    TypeError,
  );
  assert.throws(
    () => subjectForEvent("main", ev({ topic: "nope" as "blocks" })),
    TypeError,
  );
  assert.throws(
    () => subjectForEvent("mainnet" as "main", ev({})),
    TypeError,
  );
});

Deno.test("parseEventSubject() reads back topic and asset, and refuses other subjects", () => {
  assert.deepEqual(parseEventSubject("main", "evrmore.main.reorg"), {
    topic: "blocks",
  });
  assert.deepEqual(
    parseEventSubject("main", "evrmore.main.asset.ROSE%2FRED"),
    { topic: "assets", asset: "ROSE/RED" },
  );
  assert.equal(parseEventSubject("main", "evrmore.test.block"), undefined);
  assert.equal(parseEventSubject("main", "evrmore.main.command"), undefined);
  assert.equal(parseEventSubject("main", "evrmore.main.asset.A%2"), undefined);
});

Deno.test("streamSubjects() leaves the command subject out of the stream", () => {
  const subjects = streamSubjects("regtest");
  assert.deepEqual(subjects, [
    "evrmore.regtest.block",
    "evrmore.regtest.reorg",
    "evrmore.regtest.transaction",
    "evrmore.regtest.mempool",
    "evrmore.regtest.asset.>",
  ]);
  assert.equal(commandSubject("regtest"), "evrmore.regtest.command");
  assert.ok(!subjects.includes(commandSubject("regtest")));
  assert.deepEqual(subjectsForTopics("main", ["blocks"]), [
    "evrmore.main.block",
    "evrmore.main.reorg",
  ]);
  assert.deepEqual(subjectsForTopics("main", ["assets", "assets"]), [
    "evrmore.main.asset.>",
  ]);
});

Deno.test("parseCursor() accepts decimal stream sequences only", () => {
  assert.equal(parseCursor("0"), 0);
  assert.equal(parseCursor("42"), 42);
  for (
    const bad of ["", "-1", "01", "1.5", "0x10", " 1", "99999999999999999"]
  ) {
    assert.throws(() => parseCursor(bad), RangeError, bad);
  }
});

Deno.test("wantedStreamConfig() applies retention and keeps the duplicate window within max age", () => {
  const c = wantedStreamConfig("EVRMORE", "main", {
    maxAgeMs: 60_000,
    maxBytes: 1024,
    duplicateWindowMs: 600_000,
  });
  assert.equal(c.max_age, 60_000 * 1e6);
  assert.equal(c.max_bytes, 1024);
  assert.equal(c.duplicate_window, 60_000 * 1e6);
  assert.throws(
    () => wantedStreamConfig("EV.RMORE", "main", {}),
    TypeError,
  );
  assert.throws(
    () => wantedStreamConfig("EVRMORE", "main", { maxAgeMs: -1 }),
    RangeError,
  );
});

Deno.test("wire schemas accept the feed payload and both command replies, nothing else", () => {
  assert.ok(
    FeedPayloadSchema.safeParse({
      message: { type: "block", data: { height: 1 }, cursor: "x" },
      match: { addresses: ["a"] },
    }).success,
  );
  assert.ok(!FeedPayloadSchema.safeParse({ message: { data: 1 } }).success);
  assert.ok(CommandReplySchema.safeParse({ result: 5 }).success);
  assert.ok(
    CommandReplySchema.safeParse({ error: { code: -5, message: "m" } }).success,
  );
  assert.ok(
    !CommandReplySchema.safeParse({ error: { code: null, message: "m" } })
      .success,
  );
});
