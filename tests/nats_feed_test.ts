import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  connectNats,
  FeedCursorError,
  type FeedEvent,
  NatsFeedPublisher,
  NatsFeedSource,
} from "../lib/nats/mod.ts";
import { NatsTestServer, take } from "./_nats_server.ts";

function block(n: number): FeedEvent {
  return {
    topic: "blocks",
    id: `block:${n.toString(16).padStart(64, "0")}`,
    message: { type: "block", data: { height: n, hash: `h${n}` } },
  };
}

function tx(n: number, addresses: string[] = []): FeedEvent {
  return {
    topic: "transactions",
    id: `tx:${n}`,
    message: { type: "transaction", data: { txid: `t${n}` } },
    match: { addresses },
  };
}

/** Stream state read with a separate plain client. */
async function streamState(url: string, stream = "EVRMORE") {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    return { ...info.state, config: info.config };
  } finally {
    await nc.close();
  }
}

Deno.test("NatsFeedPublisher and NatsFeedSource round-trip every topic in order with cursors", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url);
  await using publisher = await NatsFeedPublisher.create(link, {
    network: "regtest",
  });
  await using feed = await NatsFeedSource.open(link, { network: "regtest" });
  const it = feed[Symbol.asyncIterator]();
  const events: FeedEvent[] = [
    block(1),
    tx(1, ["EaddrA"]),
    {
      topic: "assets",
      id: "asset:t1:0",
      message: { type: "asset_transfer", data: { name: "ROSE/RED#x.1" } },
      match: { asset: "ROSE/RED#x.1", addresses: ["EaddrB"] },
    },
    {
      topic: "blocks",
      id: "reorg:h1",
      message: { type: "reorg", data: { depth: 1 } },
    },
    {
      topic: "mempool",
      id: "mempool:1",
      message: { type: "mempool", data: { size: 3 } },
    },
  ];
  for (const e of events) assert.equal(publisher.publish(e), true);
  const got = await take(it, events.length);
  assert.deepEqual(got.map((e) => e.id), events.map((e) => e.id));
  assert.deepEqual(got.map((e) => e.cursor), ["1", "2", "3", "4", "5"]);
  for (const [i, e] of got.entries()) {
    assert.equal(e.topic, events[i]!.topic);
    assert.deepEqual(e.message, events[i]!.message);
    assert.deepEqual(e.match, events[i]!.match);
  }
  assert.equal(feed.cursor, "5");
  await publisher.flush();
  assert.equal(publisher.stats.published, 5);
  assert.equal(publisher.stats.lastCursor, "5");
  const state = await streamState(server.url);
  assert.equal(state.messages, 5);
  assert.ok(!state.config.subjects.includes("evrmore.regtest.command"));
});

Deno.test("NatsFeedSource resumes after a cursor and delivers each event once, filtered by topic", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url);
  await using publisher = await NatsFeedPublisher.create(link, {
    network: "main",
  });
  for (let i = 1; i <= 4; i++) {
    publisher.publish(block(i));
    publisher.publish(tx(i));
  }
  await publisher.flush();
  {
    // Cursor 4 = after block 2 and tx 2.
    await using feed = await NatsFeedSource.open(link, {
      network: "main",
      since: "4",
    });
    const it = feed[Symbol.asyncIterator]();
    const got = await take(it, 4);
    assert.deepEqual(got.map((e) => e.id), [
      block(3).id,
      "tx:3",
      block(4).id,
      "tx:4",
    ]);
    // Replay then live, without a repeat in between.
    publisher.publish(block(5));
    const [live] = await take(it, 1);
    assert.equal(live!.id, block(5).id);
    assert.equal(live!.cursor, "9");
    assert.throws(() => feed[Symbol.asyncIterator](), TypeError);
  }
  {
    await using feed = await NatsFeedSource.open(link, {
      network: "main",
      since: "0",
      topics: ["transactions"],
    });
    const got = await take(feed[Symbol.asyncIterator](), 4);
    assert.deepEqual(got.map((e) => e.id), ["tx:1", "tx:2", "tx:3", "tx:4"]);
    assert.deepEqual(got.map((e) => e.cursor), ["2", "4", "6", "8"]);
  }
  {
    // Two topics: blocks = block + reorg subjects, filtered on the client.
    await using feed = await NatsFeedSource.open(link, {
      network: "main",
      since: "6",
      topics: ["blocks"],
    });
    const got = await take(feed[Symbol.asyncIterator](), 2);
    assert.deepEqual(got.map((e) => e.cursor), ["7", "9"]);
  }
});

Deno.test("NatsFeedSource.open() rejects a cursor older than retention with cursor_too_old", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url);
  // A tiny byte limit: retention drops the oldest events as new ones come.
  await using publisher = await NatsFeedPublisher.create(link, {
    network: "regtest",
    maxBytes: 4096,
  });
  for (let i = 1; i <= 60; i++) publisher.publish(tx(i, ["E".repeat(34)]));
  await publisher.flush();
  const state = await streamState(server.url);
  assert.equal(state.config.max_bytes, 4096);
  assert.ok(state.first_seq > 1, `first_seq ${state.first_seq}`);
  assert.equal(state.last_seq, 60);
  const tooOld = String(state.first_seq - 2);
  try {
    await NatsFeedSource.open(link, { network: "regtest", since: tooOld });
    assert.fail("expected cursor_too_old");
  } catch (e) {
    assert.ok(e instanceof FeedCursorError);
    assert.equal(e.code, "cursor_too_old");
    assert.equal(e.firstCursor, String(state.first_seq));
    assert.match(e.message, /^Cannot resume from cursor/);
  }
  // The cursor just before the first stored event still resumes.
  await using ok = await NatsFeedSource.open(link, {
    network: "regtest",
    since: String(state.first_seq - 1),
  });
  const [first] = await take(ok[Symbol.asyncIterator](), 1);
  assert.equal(first!.cursor, String(state.first_seq));
  // Past the end: unknown_cursor; malformed: RangeError.
  await assert.rejects(
    NatsFeedSource.open(link, { network: "regtest", since: "61" }),
    (e: unknown) => e instanceof FeedCursorError && e.code === "unknown_cursor",
  );
  await assert.rejects(
    NatsFeedSource.open(link, { network: "regtest", since: "-1" }),
    RangeError,
  );
});

Deno.test("Two NatsFeedPublishers on one stream store each event once, and one carries on when the other stops", async () => {
  await using server = await NatsTestServer.start();
  await using linkA = await connectNats(server.url, { name: "ingest-a" });
  await using linkB = await connectNats(server.url, { name: "ingest-b" });
  await using reader = await connectNats(server.url, { name: "gateway" });
  const a = await NatsFeedPublisher.create(linkA, { network: "regtest" });
  await using b = await NatsFeedPublisher.create(linkB, { network: "regtest" });
  await using feed = await NatsFeedSource.open(reader, {
    network: "regtest",
    since: "0",
  });
  const it = feed[Symbol.asyncIterator]();
  const events = [block(1), tx(1), tx(2), block(2), tx(3)];
  for (const e of events) {
    a.publish(e);
    b.publish(e);
  }
  await Promise.all([a.flush(), b.flush()]);
  const got = await take(it, 5);
  assert.deepEqual(got.map((e) => e.id), events.map((e) => e.id));
  const sa = a.stats;
  const sb = b.stats;
  assert.equal(sa.published + sb.published, 5);
  assert.equal(sa.duplicates + sb.duplicates, 5);
  assert.equal((await streamState(server.url)).messages, 5);
  // Ingest A stops; B alone goes on.
  await a.close();
  assert.equal(a.publish(block(3)), false);
  b.publish(block(3));
  b.publish(tx(4));
  const more = await take(it, 2);
  assert.deepEqual(more.map((e) => e.id), [block(3).id, "tx:4"]);
  assert.deepEqual(more.map((e) => e.cursor), ["6", "7"]);
});

Deno.test("A restarted NatsFeedPublisher republishing recent events stores none of them twice", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url);
  {
    await using first = await NatsFeedPublisher.create(link, {
      network: "regtest",
    });
    for (let i = 1; i <= 3; i++) first.publish(block(i));
    await first.flush();
  }
  await using second = await NatsFeedPublisher.create(link, {
    network: "regtest",
  });
  for (let i = 2; i <= 4; i++) second.publish(block(i)); // backfill overlaps
  await second.flush();
  assert.equal(second.stats.duplicates, 2);
  assert.equal(second.stats.published, 1);
  assert.equal((await streamState(server.url)).messages, 4);
});

Deno.test("NatsFeedPublisher rejects bad events with TypeError and drops past its buffer", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url);
  const errors: Error[] = [];
  await using publisher = await NatsFeedPublisher.create(link, {
    network: "regtest",
    maxBuffered: 2,
    onError: (e) => errors.push(e),
  });
  assert.throws(() => publisher.publish({ ...block(1), id: "" }), TypeError);
  assert.throws(
    () =>
      publisher.publish({
        topic: "assets",
        id: "asset:x:0",
        message: { type: "asset_transfer", data: {} },
      }),
    TypeError,
  );
  assert.throws(
    () =>
      publisher.publish({
        ...block(1),
        message: { type: "block", data: 1n },
      }),
    TypeError,
  );
  // The drain loop has not run yet: the third synchronous publish overflows.
  assert.equal(publisher.publish(block(1)), true);
  assert.equal(publisher.publish(block(2)), true);
  assert.equal(publisher.publish(block(3)), false);
  assert.equal(publisher.stats.dropped, 1);
  assert.equal((errors[0] as { code?: string }).code, "buffer_full");
  await publisher.flush();
  assert.equal(publisher.stats.published, 2);
  await assert.rejects(
    NatsFeedPublisher.create(link, { network: "regtest", stream: "a.b" }),
    TypeError,
  );
});

Deno.test("NatsFeedSource ends on abort and close is idempotent", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url);
  await using publisher = await NatsFeedPublisher.create(link, {
    network: "regtest",
  });
  const controller = new AbortController();
  const feed = await NatsFeedSource.open(link, {
    network: "regtest",
    signal: controller.signal,
  });
  const it = feed[Symbol.asyncIterator]();
  publisher.publish(block(1));
  assert.equal((await take(it, 1))[0]!.id, block(1).id);
  const pending = it.next();
  controller.abort();
  assert.deepEqual(await pending, { value: undefined, done: true });
  await feed.close();
  await feed[Symbol.asyncDispose]();
});

Deno.test("Closing the NatsLink ends the feed and stops the publisher instead of retrying", async () => {
  await using server = await NatsTestServer.start();
  const link = await connectNats(server.url);
  const errors: Error[] = [];
  await using publisher = await NatsFeedPublisher.create(link, {
    network: "regtest",
    onError: (e) => errors.push(e),
  });
  await using feed = await NatsFeedSource.open(link, { network: "regtest" });
  const it = feed[Symbol.asyncIterator]();
  publisher.publish(block(1));
  assert.equal((await take(it, 1))[0]!.id, block(1).id);
  const pending = it.next();
  await link.close();
  await link.close();
  assert.equal(link.closed, true);
  assert.deepEqual(await pending, { value: undefined, done: true });
  assert.equal(publisher.publish(block(2)), false);
  await publisher.flush();
  assert.equal(
    errors.map((e) => (e as { code?: string }).code).at(-1),
    "closed",
  );
});

Deno.test("NatsFeedPublisher keeps a burst in order with many publishes in flight, and drops what exceeds max_payload", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url);
  const errors: Error[] = [];
  await using publisher = await NatsFeedPublisher.create(link, {
    network: "regtest",
    maxInFlight: 64,
    onError: (e) => errors.push(e),
  });
  await using feed = await NatsFeedSource.open(link, { network: "regtest" });
  const it = feed[Symbol.asyncIterator]();
  const n = 2_000;
  for (let i = 1; i <= n; i++) publisher.publish(tx(i));
  const huge: FeedEvent = {
    ...block(1),
    message: { type: "block", data: "x".repeat(2 * 1024 * 1024) },
  };
  assert.equal(publisher.publish(huge), false);
  assert.equal((errors.at(-1) as { code?: string }).code, "too_large");
  const got = await take(it, n, 60_000);
  assert.deepEqual(
    got.map((e) => e.id),
    Array.from({ length: n }, (_, i) => `tx:${i + 1}`),
  );
  assert.deepEqual(
    got.map((e) => e.cursor),
    Array.from({ length: n }, (_, i) => String(i + 1)),
  );
  await publisher.flush();
  assert.equal(publisher.stats.published, n);
});
