import assert from "node:assert/strict";
import {
  EvrmoreZMQClient,
  ZMQ_TOPICS,
  type ZMQEventMap,
  type ZMQNotification,
  type ZMQTopic,
} from "../lib/zmq/mod.ts";
import { DecodeError, EvrmoreError, TimeoutError } from "../lib/errors.ts";
import { SequenceTracker } from "../lib/zmq/_sequence.ts";
import type { XPublisher } from "zeromq";
import { DEADLINE, nextEvent, withDeadline } from "./_zmq_events.ts";

const FIXTURES = new URL(
  "../../shared/fixtures/evrmore-regtest/",
  import.meta.url,
);

interface CapturedMessage {
  t: number;
  topic: ZMQTopic;
  nframes: number;
  body_len: number;
  body_hex: string;
  seq_hex: string;
  seq: number;
}

// --- helpers ---------------------------------------------------------------

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return bytes;
}

function seqFrame(sequence: number): Uint8Array {
  const frame = new Uint8Array(4);
  new DataView(frame.buffer).setUint32(0, sequence, true);
  return frame;
}

const HASH = new Uint8Array(32).fill(0xab);

/** Records every value of the given events. */
function record(client: EvrmoreZMQClient) {
  const seen = {
    gaps: [] as ZMQEventMap["gap"][],
    restarts: [] as ZMQEventMap["restart"][],
    errors: [] as Error[],
    overflows: [] as ZMQEventMap["overflow"][],
    connects: 0,
    disconnects: 0,
  };
  client.on("gap", (e) => void seen.gaps.push(e));
  client.on("restart", (e) => void seen.restarts.push(e));
  client.on("error", (e) => void seen.errors.push(e));
  client.on("overflow", (e) => void seen.overflows.push(e));
  client.on("connect", () => void seen.connects++);
  client.on("disconnect", () => void seen.disconnects++);
  return seen;
}

/** Reads `count` notifications from an iterator. */
async function take(
  iterator: AsyncIterator<ZMQNotification>,
  count: number,
): Promise<ZMQNotification[]> {
  const out: ZMQNotification[] = [];
  await withDeadline(
    (async () => {
      while (out.length < count) {
        const result = await iterator.next();
        if (result.done) throw new Error(`Iterator ended after ${out.length}`);
        out.push(result.value);
      }
    })(),
    `${count} notifications`,
  );
  return out;
}

/**
 * A zeromq XPublisher (a PUB socket that also reports subscriptions).
 *
 * Its send and receive never wait (timeouts 0): under Deno's N-API layer,
 * zeromq's own poller can miss wakeups, so `subscribed()` polls instead.
 */
async function bindPublisher(
  endpoint = "tcp://127.0.0.1:0",
): Promise<XPublisher> {
  const zmq = await import("zeromq");
  const publisher = new zmq.XPublisher({
    linger: 0,
    sendTimeout: 0,
    receiveTimeout: 0,
  });
  await publisher.bind(endpoint);
  return publisher;
}

/** An endpoint nobody listens on: bound, read, then unbound (awaited). */
async function unusedEndpoint(): Promise<string> {
  const probe = await bindPublisher();
  const endpoint = probe.lastEndpoint!;
  await probe.unbind(endpoint);
  probe.close();
  return endpoint;
}

/**
 * PUB/SUB slow joiner: resolves once the publisher has received the
 * subscriptions for every topic, so nothing it sends from then on is lost.
 * Polls `readable` every few ms (with a deadline): zeromq's wakeups are not
 * reliable under Deno (see bindPublisher).
 */
async function subscribed(
  publisher: XPublisher,
  topics: readonly string[],
): Promise<void> {
  const missing = new Set(topics);
  const deadline = Date.now() + DEADLINE;
  while (missing.size > 0) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for subscriptions to ${[...missing]}`);
    }
    if (!publisher.readable) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      continue;
    }
    const [frame] = await publisher.receive();
    if (frame !== undefined && frame[0] === 1) {
      missing.delete(new TextDecoder().decode(frame.subarray(1)));
    }
  }
}

/** A started client subscribed through a fresh publisher. */
async function setup(
  options: ConstructorParameters<typeof EvrmoreZMQClient>[0] = {},
) {
  const publisher = await bindPublisher();
  const client = new EvrmoreZMQClient({
    address: publisher.lastEndpoint!,
    network: "regtest",
    ...options,
  });
  const seen = record(client);
  const iterator = client[Symbol.asyncIterator]();
  await client.start();
  await subscribed(publisher, client.topics);
  const send = (topic: string, body: Uint8Array | string, sequence: number) =>
    publisher.send([topic, body, seqFrame(sequence)]);
  return {
    publisher,
    client,
    seen,
    iterator,
    send,
    async [Symbol.asyncDispose]() {
      await client.close();
      publisher.close();
    },
  };
}

// --- replay of the node's messages -----------------------------------------

async function readJson(path: URL): Promise<{ result: unknown }> {
  return JSON.parse(await Deno.readTextFile(path));
}

async function fixtureIndex() {
  const txs = new Map<string, URL>();
  for await (const entry of Deno.readDir(new URL("txs/", FIXTURES))) {
    const match = /_([0-9a-f]{64})\.decoderawtransaction\.json$/.exec(
      entry.name,
    );
    if (match) txs.set(match[1]!, new URL(`txs/${entry.name}`, FIXTURES));
  }
  const blocks = new Map<string, URL>();
  for await (const entry of Deno.readDir(new URL("blocks/", FIXTURES))) {
    const match = /_([0-9a-f]{64})\.getblock2\.json$/.exec(entry.name);
    if (match) blocks.set(match[1]!, new URL(`blocks/${entry.name}`, FIXTURES));
  }
  return { txs, blocks };
}

/** The fields of `getblock <hash> 2` that the block's bytes determine. */
const BLOCK_FIELDS = [
  "hash",
  "strippedsize",
  "size",
  "weight",
  "height",
  "version",
  "versionHex",
  "merkleroot",
  "tx",
  "time",
  "nonce",
  "bits",
  "difficulty",
  "headerhash",
  "mixhash",
  "nonce64",
  "previousblockhash",
] as const;

function pick(value: object, keys: readonly string[]): Record<string, unknown> {
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    keys.filter((key) => key in record).map((key) => [key, record[key]]),
  );
}

Deno.test("EvrmoreZMQClient delivers the node's captured messages decoded as the node decoded them", async () => {
  const lines = (await Deno.readTextFile(new URL("zmq.jsonl", FIXTURES)))
    .split("\n").filter((line) => line.trim() !== "");
  const captured = lines.map((line) => JSON.parse(line) as CapturedMessage);
  assert.equal(captured.length, 821);

  await using t = await setup({ bufferSize: captured.length });
  const started = performance.now();
  for (const message of captured) {
    assert.equal(message.nframes, 3);
    await t.send(
      message.topic,
      hexToBytes(message.body_hex),
      message.seq,
    );
  }
  const got = await take(t.iterator, captured.length);
  const elapsed = performance.now() - started;
  assert.deepEqual(t.seen.errors, []);
  assert.deepEqual(t.seen.gaps, []);
  assert.deepEqual(t.seen.restarts, []);
  assert.deepEqual(t.seen.overflows, []);

  const { txs, blocks } = await fixtureIndex();
  // Transactions as the node printed them inside blocks (getblock 2, minus hex).
  const blockTxs = new Map<string, unknown>();
  for (const url of blocks.values()) {
    const block = (await readJson(url)).result as { tx: { txid: string }[] };
    for (const tx of block.tx) {
      const { hex: _hex, ...decoded } = tx as { hex?: string; txid: string };
      blockTxs.set(tx.txid, decoded);
    }
  }

  const txidBySeq = new Map<number, string>();
  const blockHashBySeq = new Map<number, string>();
  let txFixtures = 0;
  let blockFixtures = 0;
  let messages = 0;
  for (const [i, n] of got.entries()) {
    const message = captured[i]!;
    assert.equal(n.topic, message.topic, `topic #${i}`);
    assert.equal(n.sequence, message.seq, `sequence #${i}`);
    assert.equal(n.body.length, message.body_len, `body length #${i}`);
    assert.equal(n.hex, message.body_hex, `hex #${i}`);
    assert.equal(n.error, undefined, `error #${i}`);
    assert.ok(n.receivedAt >= Date.now() - elapsed - 1000);
    switch (n.topic) {
      case "rawtx": {
        assert.ok(n.transaction, `transaction #${i}`);
        txidBySeq.set(n.sequence, n.transaction.txid);
        const fixture = txs.get(n.transaction.txid);
        if (fixture !== undefined) {
          assert.deepEqual(
            n.transaction,
            withoutUninitialised((await readJson(fixture)).result),
            `decoded ${n.transaction.txid}`,
          );
          txFixtures++;
        } else if (blockTxs.has(n.transaction.txid)) {
          assert.deepEqual(
            n.transaction,
            withoutUninitialised(blockTxs.get(n.transaction.txid)),
            `decoded ${n.transaction.txid}`,
          );
          txFixtures++;
        }
        break;
      }
      case "rawblock": {
        assert.ok(n.block, `block #${i}`);
        blockHashBySeq.set(n.sequence, n.block.hash);
        const fixture = blocks.get(n.block.hash);
        if (fixture !== undefined) {
          const result = (await readJson(fixture)).result as { tx?: unknown[] };
          const expected = {
            ...result,
            ...(result.tx ? { tx: result.tx.map(withoutUninitialised) } : {}),
          } as object;
          assert.deepEqual(
            pick(n.block, BLOCK_FIELDS),
            pick(expected, BLOCK_FIELDS),
            `decoded block ${n.block.hash}`,
          );
          blockFixtures++;
        }
        break;
      }
      case "rawmessage":
        assert.deepEqual(
          n.message,
          JSON.parse(new TextDecoder().decode(hexToBytes(message.body_hex))),
        );
        messages++;
        break;
      default:
        assert.equal(n.body.length, 32);
    }
  }
  // The hash topics carry the same hashes as the raw ones, in display order.
  for (const n of got) {
    if (n.topic === "hashtx") assert.equal(n.hex, txidBySeq.get(n.sequence));
    if (n.topic === "hashblock") {
      assert.equal(n.hex, blockHashBySeq.get(n.sequence));
    }
  }
  const labels = JSON.parse(
    await Deno.readTextFile(new URL("labels.json", FIXTURES)),
  ) as { blocks: Record<string, string> };
  const published = new Set(
    got.filter((n) => n.topic === "hashblock").map((n) => n.hex),
  );
  for (const [label, hash] of Object.entries(labels.blocks)) {
    if (label !== "genesis") assert.ok(published.has(hash), label);
  }
  assert.ok(txFixtures >= 20, `compared ${txFixtures} transactions`);
  assert.equal(blockFixtures, blocks.size);
  assert.equal(messages, 3);
});

// --- sequences ----------------------------------------------------------------

Deno.test("SequenceTracker tells next, gap, restart and uint32 wrap-around apart", () => {
  const tracker = new SequenceTracker<string>();
  assert.deepEqual(tracker.check("a", 7), { kind: "first" });
  assert.deepEqual(tracker.check("a", 8), { kind: "next" });
  assert.deepEqual(tracker.check("a", 11), {
    kind: "gap",
    expected: 9,
    missed: 2,
  });
  assert.deepEqual(tracker.check("a", 0), {
    kind: "restart",
    previous: 11,
    missed: 0,
  });
  // A jump of 2^31 or more ahead is read as the counter going back.
  assert.deepEqual(tracker.check("a", 0xfffffffe), {
    kind: "restart",
    previous: 0,
    missed: 0xfffffffe,
  });
  assert.deepEqual(tracker.check("a", 0xffffffff), { kind: "next" });
  assert.deepEqual(tracker.check("a", 0), { kind: "next" });
  tracker.check("b", 0xfffffff0);
  assert.deepEqual(tracker.check("b", 2), {
    kind: "gap",
    expected: 0xfffffff1,
    missed: 17,
  });
  assert.deepEqual(tracker.check("b", 1), {
    kind: "restart",
    previous: 2,
    missed: 1,
  });
});

Deno.test("EvrmoreZMQClient reports a skipped sequence number as a gap", async () => {
  await using t = await setup({ topics: ["hashtx", "hashblock"] });
  const gap = nextEvent(t.client, "gap");
  await t.send("hashtx", HASH, 0);
  await t.send("hashtx", HASH, 1);
  await t.send("hashblock", HASH, 40);
  await t.send("hashtx", HASH, 4);
  assert.deepEqual(await gap, {
    topic: "hashtx",
    expected: 2,
    received: 4,
    missed: 2,
  });
  const got = await take(t.iterator, 4);
  assert.deepEqual(got.map((n) => n.sequence), [0, 1, 40, 4]);
  assert.deepEqual(t.seen.gaps.length, 1);
  assert.deepEqual(t.seen.restarts, []);
});

Deno.test("EvrmoreZMQClient reports a sequence back to 0 as a restart, and wrap-around as nothing", async () => {
  await using t = await setup({ topics: ["hashtx", "hashblock"] });
  const sequence = [5, 6, 0, 1, 0xfffffffe, 0xffffffff, 0, 1];
  await t.send("hashtx", HASH, 5);
  await t.send("hashtx", HASH, 6);
  await t.send("hashtx", HASH, 0);
  await t.send("hashtx", HASH, 1);
  const got = await take(t.iterator, 4);
  assert.deepEqual(got.map((n) => n.sequence), sequence.slice(0, 4));
  assert.deepEqual(t.seen.restarts, [{
    topic: "hashtx",
    previous: 6,
    received: 0,
  }]);
  assert.deepEqual(t.seen.gaps, []);
  // Wrap-around on another topic.
  for (const s of [0xfffffffe, 0xffffffff, 0, 1]) {
    await t.send("hashblock", HASH, s);
  }
  const wrapped = await take(t.iterator, 4);
  assert.deepEqual(wrapped.map((n) => n.sequence), sequence.slice(4));
  assert.equal(t.seen.restarts.length, 1);
  assert.deepEqual(t.seen.gaps, []);
  // A jump ahead is a gap; back below the last number (not to 0) is a
  // restart whose first notifications were lost: a gap from 0 follows.
  await t.send("hashblock", HASH, 7);
  await t.send("hashblock", HASH, 3);
  await take(t.iterator, 2);
  assert.deepEqual(t.seen.restarts[1], {
    topic: "hashblock",
    previous: 7,
    received: 3,
  });
  assert.deepEqual(t.seen.gaps, [
    { topic: "hashblock", expected: 2, received: 7, missed: 5 },
    { topic: "hashblock", expected: 0, received: 3, missed: 3 },
  ]);
});

// --- connection ---------------------------------------------------------------

Deno.test("EvrmoreZMQClient survives a publisher restart and reports disconnect and connect", async () => {
  let publisher = await bindPublisher();
  const endpoint = publisher.lastEndpoint!;
  await using client = new EvrmoreZMQClient({
    address: endpoint,
    topics: ["hashblock"],
  });
  const seen = record(client);
  const iterator = client[Symbol.asyncIterator]();
  const firstConnect = nextEvent(client, "connect");
  await client.start();
  assert.equal(client.connected, true);
  assert.equal((await firstConnect).address, endpoint);
  await subscribed(publisher, ["hashblock"]);
  await publisher.send(["hashblock", HASH, seqFrame(0)]);
  assert.equal((await take(iterator, 1))[0]!.sequence, 0);

  // The node restarts: same port, counters back to 0.
  const disconnected = nextEvent(client, "disconnect");
  publisher.close();
  assert.equal((await disconnected).address, endpoint);
  assert.equal(client.connected, false);
  const reconnected = nextEvent(client, "connect");
  publisher = await bindPublisher(endpoint);
  try {
    await reconnected;
    assert.equal(client.connected, true);
    await subscribed(publisher, ["hashblock"]);
    await publisher.send(["hashblock", HASH, seqFrame(0)]);
    await publisher.send(["hashblock", HASH, seqFrame(1)]);
    const got = await take(iterator, 2);
    assert.deepEqual(got.map((n) => n.sequence), [0, 1]);
    assert.equal(seen.connects, 2);
    assert.equal(seen.disconnects, 1);
    assert.deepEqual(seen.gaps, []);
    assert.deepEqual(seen.errors, []);
  } finally {
    publisher.close();
  }
});

Deno.test("EvrmoreZMQClient.start() rejects with TimeoutError when no publisher answers, and can be retried", async () => {
  const endpoint = await unusedEndpoint();
  await using client = new EvrmoreZMQClient({ address: endpoint });
  await assert.rejects(client.start({ timeout: 200 }), TimeoutError);
  assert.equal(client.connected, false);
  // Nothing was left open; a second try works once the publisher is there.
  const publisher = await bindPublisher(endpoint);
  try {
    await client.start();
    assert.equal(client.connected, true);
  } finally {
    publisher.close();
  }
});

Deno.test("EvrmoreZMQClient.start() honours an abort signal", async () => {
  const endpoint = await unusedEndpoint();
  await using client = new EvrmoreZMQClient({ address: endpoint });
  const controller = new AbortController();
  const started = client.start({ signal: controller.signal });
  controller.abort(new Error("enough"));
  await assert.rejects(started, { message: "enough" });
  await assert.rejects(
    client.start({ signal: AbortSignal.abort(new Error("already")) }),
    { message: "already" },
  );
  // waitForConnection: false resolves at once.
  await client.start({ waitForConnection: false });
  assert.equal(client.connected, false);
});

// --- handlers, errors --------------------------------------------------------

Deno.test("EvrmoreZMQClient keeps delivering when handlers throw or reject", async () => {
  await using t = await setup({ topics: ["hashtx"] });
  const delivered: number[] = [];
  t.client.on("hashtx", () => {
    throw new Error("sync boom");
  });
  t.client.on("hashtx", () => Promise.reject(new Error("async boom")));
  t.client.on("hashtx", (n) => void delivered.push(n.sequence));
  // A handler returning something odd is no failure.
  t.client.on("hashtx", () => null as unknown as void);
  const all = t.client.on("notification", async (n) => {
    await Promise.resolve();
    if (n.sequence === 2) throw "not an error object";
  });
  const sevenErrors = new Promise<void>((resolve) => {
    t.client.on("error", () => {
      if (t.seen.errors.length >= 7) resolve();
    });
  });
  for (const s of [0, 1, 2]) await t.send("hashtx", HASH, s);
  const got = await take(t.iterator, 3);
  assert.deepEqual(got.map((n) => n.sequence), [0, 1, 2]);
  assert.deepEqual(delivered, [0, 1, 2]);
  // Async handlers reject later: wait for all 7 reports.
  await withDeadline(sevenErrors, "7 handler errors");
  assert.equal(t.seen.errors.length, 7);
  for (const error of t.seen.errors) assert.ok(error instanceof EvrmoreError);
  const messages = t.seen.errors.map((e) => e.message);
  assert.equal(
    messages.filter((m) => m === 'Cannot run "hashtx" handler: sync boom')
      .length,
    3,
  );
  assert.equal(
    messages.filter((m) => m === 'Cannot run "hashtx" handler: async boom')
      .length,
    3,
  );
  assert.ok(
    messages.includes('Cannot run "notification" handler: not an error object'),
  );
  all();
});

Deno.test("EvrmoreZMQClient reports malformed messages as errors and goes on", async () => {
  await using t = await setup({ topics: ["hashtx", "rawtx", "rawmessage"] });
  const decodeErrors = () =>
    t.seen.errors.filter((e) => e instanceof DecodeError);
  // Malformed: dropped, reported.
  await t.publisher.send(["hashtx", HASH]); // 2 frames
  await t.publisher.send(["hashtx", HASH, seqFrame(0), "extra"]); // 4 frames
  await t.publisher.send(["hashtx", HASH, new Uint8Array(3)]); // short sequence
  await t.send("hashtxextra", HASH, 0); // unknown topic (matches the prefix)
  // Undecodable bodies: delivered without the decoded field, reported.
  await t.send("rawtx", new Uint8Array([1, 0, 0]), 0);
  await t.send("rawmessage", "{not json", 0);
  await t.send("rawmessage", '{"blockheight":"x"}', 1);
  await t.send("hashtx", new Uint8Array(31), 0);
  // A good message still arrives.
  await t.send("hashtx", HASH, 1);
  const got = await take(t.iterator, 5);
  assert.deepEqual(got.map((n) => [n.topic, n.sequence]), [
    ["rawtx", 0],
    ["rawmessage", 0],
    ["rawmessage", 1],
    ["hashtx", 0],
    ["hashtx", 1],
  ]);
  assert.equal(got[0]!.transaction, undefined);
  assert.ok(got[0]!.error instanceof DecodeError);
  assert.equal(got[1]!.message, undefined);
  assert.ok(got[1]!.error instanceof DecodeError);
  assert.equal(got[2]!.message, undefined);
  assert.ok(got[2]!.error instanceof DecodeError);
  assert.ok(got[3]!.error instanceof DecodeError);
  assert.equal(got[4]!.error, undefined);
  assert.equal(got[4]!.hex, "ab".repeat(32));
  const messages = decodeErrors().map((e) => e.message);
  assert.equal(messages.length, 8, messages.join("\n"));
  assert.match(messages[0]!, /expected 3 frames .* got 2/);
  assert.match(messages[1]!, /expected 3 frames .* got 4/);
  assert.match(messages[2]!, /sequence frame has 3 bytes/);
  assert.match(messages[3]!, /unknown topic "hashtxextra"/);
  assert.match(messages[4]!, /^Cannot decode rawtx/);
  assert.match(messages[5]!, /^Cannot decode rawmessage #0: body is not JSON/);
  assert.match(messages[6]!, /^Cannot decode rawmessage #1: blockheight/);
  assert.match(messages[7]!, /^Cannot decode hashtx #0: body has 31 bytes/);
  assert.deepEqual(t.seen.gaps, []);
});

Deno.test("EvrmoreZMQClient.on() returns an unsubscribe function and off() removes a handler", async () => {
  await using t = await setup({ topics: ["hashblock"] });
  const a: number[] = [];
  const b: number[] = [];
  const handlerB = (n: ZMQNotification) => void b.push(n.sequence);
  const unsubscribeA = t.client.on("hashblock", (n) => void a.push(n.sequence));
  t.client.on("hashblock", handlerB);
  await t.send("hashblock", HASH, 0);
  await take(t.iterator, 1);
  unsubscribeA();
  assert.equal(t.client.off("hashblock", handlerB), true);
  assert.equal(t.client.off("hashblock", handlerB), false);
  await t.send("hashblock", HASH, 1);
  await take(t.iterator, 1);
  assert.deepEqual(a, [0]);
  assert.deepEqual(b, [0]);
  assert.throws(
    // @ts-expect-error: not an event
    () => t.client.on("block", () => {}),
    TypeError,
  );
  assert.throws(
    // @ts-expect-error: not a function
    () => t.client.on("hashblock", "nope"),
    TypeError,
  );
});

// --- iterators ----------------------------------------------------------------

Deno.test("EvrmoreZMQClient gives independent iterators, each bounded (drop oldest, overflow event)", async () => {
  await using t = await setup({ topics: ["hashtx"], bufferSize: 2 });
  const second = t.client[Symbol.asyncIterator]();
  const arrived = nextEvent(t.client, "hashtx", (n) => n.sequence === 4);
  for (const s of [0, 1, 2, 3, 4]) await t.send("hashtx", HASH, s);
  await arrived;
  // Neither iterator was read: each kept the 2 newest and dropped 3.
  assert.equal(t.seen.overflows.length, 6);
  assert.deepEqual(
    t.seen.overflows.slice(0, 2),
    [{ topic: "hashtx", sequence: 0, bufferSize: 2 }, {
      topic: "hashtx",
      sequence: 0,
      bufferSize: 2,
    }],
  );
  assert.deepEqual((await take(t.iterator, 2)).map((n) => n.sequence), [3, 4]);
  assert.deepEqual((await take(second, 2)).map((n) => n.sequence), [3, 4]);
  // Once detached, an iterator gets nothing more.
  assert.deepEqual(await second.return!(), { value: undefined, done: true });
  await t.send("hashtx", HASH, 5);
  assert.equal((await take(t.iterator, 1))[0]!.sequence, 5);
  assert.deepEqual(await second.next(), { value: undefined, done: true });
});

Deno.test("EvrmoreZMQClient.close() ends iterators, pending next() included, and is idempotent", async () => {
  await using t = await setup({ topics: ["hashtx"] });
  const pending = t.iterator.next();
  const loop = (async () => {
    const seen: number[] = [];
    for await (const n of t.client) seen.push(n.sequence);
    return seen;
  })();
  await t.send("hashtx", HASH, 0);
  assert.equal((await pending).value?.sequence, 0);
  const waiting = t.iterator.next();
  await Promise.all([t.client.close(), t.client.close()]);
  assert.deepEqual(await waiting, { value: undefined, done: true });
  assert.deepEqual(await withDeadline(loop, "the for-await loop"), [0]);
  assert.equal(t.client.closed, true);
  assert.equal(t.client.connected, false);
  await t.client[Symbol.asyncDispose]();
  await t.client.stop();
  // A closed client cannot start again, and new iterators are done at once.
  await assert.rejects(t.client.start(), { name: "ConnectionError" });
  assert.deepEqual(
    await t.client[Symbol.asyncIterator]().next(),
    { value: undefined, done: true },
  );
});

// --- options --------------------------------------------------------------------

Deno.test("EvrmoreZMQClient validates its options", async () => {
  const defaults = new EvrmoreZMQClient();
  assert.equal(defaults.address, "tcp://127.0.0.1:28332");
  assert.deepEqual(defaults.topics, ZMQ_TOPICS);
  assert.equal(defaults.network, "main");
  assert.equal(defaults.connected, false);
  assert.equal(
    new EvrmoreZMQClient({ host: "::1", port: 1 }).address,
    "tcp://[::1]:1",
  );
  assert.deepEqual(
    new EvrmoreZMQClient({ topics: ["rawtx", "rawtx", "hashtx"] }).topics,
    ["rawtx", "hashtx"],
  );
  assert.throws(
    // @ts-expect-error: not a topic
    () => new EvrmoreZMQClient({ topics: ["sequence"] }),
    { name: "TypeError", message: /Cannot subscribe to "sequence"/ },
  );
  assert.throws(() => new EvrmoreZMQClient({ topics: [] }), TypeError);
  assert.throws(
    () => new EvrmoreZMQClient({ address: "tcp://x:1", port: 1 }),
    TypeError,
  );
  assert.throws(
    () => new EvrmoreZMQClient({ address: "localhost" }),
    TypeError,
  );
  assert.throws(() => new EvrmoreZMQClient({ port: 0 }), RangeError);
  assert.throws(() => new EvrmoreZMQClient({ port: 70000 }), RangeError);
  assert.throws(() => new EvrmoreZMQClient({ bufferSize: 0 }), RangeError);
  assert.throws(
    // @ts-expect-error: not a network
    () => new EvrmoreZMQClient({ network: "moon" }),
    TypeError,
  );
  await assert.rejects(defaults.start({ timeout: -1 }), RangeError);
  await defaults.close();
});

Deno.test("EvrmoreZMQClient decodes nothing with decode: false", async () => {
  await using t = await setup({ topics: ["rawtx"], decode: false });
  await t.send("rawtx", new Uint8Array([1, 2, 3]), 0);
  const [n] = await take(t.iterator, 1);
  assert.equal(n!.transaction, undefined);
  assert.equal(n!.error, undefined);
  assert.equal(n!.hex, "010203");
  assert.deepEqual(t.seen.errors, []);
});

Deno.test("lib/zmq/mod.ts imports without --allow-ffi; start() then rejects clearly", async () => {
  const script = `
    import { EvrmoreZMQClient } from "${
    new URL("../lib/zmq/mod.ts", import.meta.url).href
  }";
    const client = new EvrmoreZMQClient();
    try {
      await client.start();
      console.log("started?");
    } catch (error) {
      console.log(error.name, /--allow-ffi/.test(error.message));
    }
    await client.close();`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const output = await child.output();
  assert.equal(
    new TextDecoder().decode(output.stdout).trim(),
    "EvrmoreError true",
    new TextDecoder().decode(output.stderr),
  );
});

/**
 * The node's JSON without the uninitialised `expire_time` it prints on
 * issue, owner and reissue outputs (decoders omit it by default).
 */
function withoutUninitialised(tx: unknown): unknown {
  const copy = structuredClone(tx) as {
    vout?: Array<
      { scriptPubKey?: { type?: string; asset?: { expire_time?: unknown } } }
    >;
  };
  for (const out of copy.vout ?? []) {
    const spk = out.scriptPubKey;
    if (spk?.type === "new_asset" || spk?.type === "reissue_asset") {
      delete spk.asset?.expire_time;
    }
  }
  return copy;
}
