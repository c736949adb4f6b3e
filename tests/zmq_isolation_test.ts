import assert from "node:assert/strict";
import {
  EvrmoreZMQClient,
  type EvrmoreZMQClientOptions,
  type ZMQEventName,
  type ZMQNotification,
} from "../lib/zmq/mod.ts";
import { ConnectionError, DecodeError, EvrmoreError } from "../lib/errors.ts";
import {
  encodeControl,
  encodeMessage,
  RecordReader,
} from "../lib/zmq/_records.ts";
import type { XPublisher } from "zeromq";
import { DEADLINE, nextEvent, withDeadline } from "./_zmq_events.ts";

const HASH = new Uint8Array(32).fill(0xcd);
const ZMQ_DIR = new URL("../lib/zmq/", import.meta.url);
const CONFIG = new URL("../deno.json", import.meta.url);

// --- helpers ---------------------------------------------------------------

function seqFrame(sequence: number): Uint8Array {
  const frame = new Uint8Array(4);
  new DataView(frame.buffer).setUint32(0, sequence, true);
  return frame;
}

/** Every event in order, as [name, value]. */
function journal(client: EvrmoreZMQClient): [ZMQEventName, unknown][] {
  const events: [ZMQEventName, unknown][] = [];
  const names: ZMQEventName[] = [
    "notification",
    "gap",
    "restart",
    "connect",
    "disconnect",
    "respawn",
    "resync",
    "error",
  ];
  for (const name of names) {
    client.on(name, (value) => void events.push([name, value]));
  }
  return events;
}

/** An XPUB socket that passes on every subscription (also repeated ones). */
async function bindPublisher(): Promise<XPublisher> {
  const zmq = await import("zeromq");
  const publisher = new zmq.XPublisher({
    linger: 0,
    sendTimeout: 0,
    receiveTimeout: 0,
    verbosity: "allSubs",
  });
  await publisher.bind("tcp://127.0.0.1:0");
  return publisher;
}

/**
 * Resolves once the publisher has seen a subscription to each topic, so
 * nothing sent afterwards is lost (ZMQ's slow joiner). Polls `readable`:
 * zeromq's wakeups are not reliable under Deno.
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

async function setup(options: EvrmoreZMQClientOptions = {}) {
  const publisher = await bindPublisher();
  const client = new EvrmoreZMQClient({
    address: publisher.lastEndpoint!,
    topics: ["hashtx"],
    ...options,
  });
  const events = journal(client);
  await client.start();
  await subscribed(publisher, client.topics);
  return {
    publisher,
    client,
    events,
    send: (sequence: number) =>
      publisher.send(["hashtx", HASH, seqFrame(sequence)]),
    async [Symbol.asyncDispose]() {
      await client.close();
      publisher.close();
    },
  };
}

// --- the record stream --------------------------------------------------------

Deno.test("RecordReader splits records whatever the chunk boundaries", () => {
  const frames = [
    new TextEncoder().encode("rawtx"),
    new Uint8Array(300).map((_, i) => i & 0xff),
    seqFrame(7),
  ];
  const stream = new Uint8Array([
    ...encodeMessage(frames),
    ...encodeControl({ type: "connect", address: "tcp://127.0.0.1:1" }),
    ...encodeMessage([new Uint8Array(0)]),
    ...encodeControl({ type: "heartbeat" }),
  ]);
  for (const size of [1, 2, 5, 7, 64, 1000, stream.length]) {
    const reader = new RecordReader();
    const records = [];
    for (let at = 0; at < stream.length; at += size) {
      records.push(...reader.push(stream.slice(at, at + size)));
    }
    assert.equal(reader.pending, 0, `chunks of ${size}`);
    assert.deepEqual(records, [
      { kind: "message", frames },
      {
        kind: "control",
        control: { type: "connect", address: "tcp://127.0.0.1:1" },
      },
      { kind: "message", frames: [new Uint8Array(0)] },
      { kind: "control", control: { type: "heartbeat" } },
    ], `chunks of ${size}`);
  }
  // Frames handed out stay intact while more data arrives.
  const reader = new RecordReader();
  const [first] = reader.push(encodeMessage(frames));
  reader.push(encodeMessage([new Uint8Array(70_000).fill(9)]));
  assert.deepEqual(first, { kind: "message", frames });
});

Deno.test("RecordReader rejects malformed records with DecodeError", () => {
  const bad = [
    new Uint8Array([1, 0, 0, 0, 9, 0]), // unknown kind
    new Uint8Array([0xff, 0xff, 0xff, 0x7f, 1]), // over the size limit
    new Uint8Array([3, 0, 0, 0, 1, 5, 0, 0]), // truncated frame length
    new Uint8Array([5, 0, 0, 0, 1, 9, 0, 0, 0, 1]), // frame past the record
    new Uint8Array([2, 0, 0, 0, 2, 0x7b, 0x7d]), // control without type
    new Uint8Array([1, 0, 0, 0, 2, 0x7b]), // control not JSON
  ];
  for (const bytes of bad) {
    assert.throws(() => new RecordReader().push(bytes), DecodeError);
  }
});

// --- isolation ------------------------------------------------------------------

Deno.test('EvrmoreZMQClient emits resync "start" once its subscription is in effect', async () => {
  // Without traffic: after the settle delay.
  const publisher = await bindPublisher();
  try {
    const quiet = new EvrmoreZMQClient({
      address: publisher.lastEndpoint!,
      topics: ["hashblock", "rawtx"],
    });
    const resync = nextEvent(quiet, "resync");
    await quiet.start();
    assert.deepEqual(await resync, {
      reason: "start",
      topics: ["hashblock", "rawtx"],
    });
    assert.equal(quiet.stats.resyncs, 1);
    await quiet.close();
  } finally {
    publisher.close();
  }
  // With traffic: at the first notification, just before it.
  await using t = await setup({ topics: ["hashtx"] });
  await t.send(0);
  await nextEvent(t.client, "hashtx");
  const names = t.events.map(([name]) => name);
  assert.deepEqual(names.slice(0, 3), ["connect", "resync", "notification"]);
  assert.deepEqual(t.events[1]![1], { reason: "start", topics: ["hashtx"] });
});

Deno.test("EvrmoreZMQClient survives a segfault of its subscriber process: respawn, error, resync, gap", async () => {
  // A subscriber process that really segfaults (a native read of address
  // 8) on SIGUSR1, in the middle of its blocking receive.
  const dir = await Deno.makeTempDir();
  const script = `${dir}/crashing_subscriber.ts`;
  await Deno.writeTextFile(
    script,
    `import { runZMQSubscriber } from "${new URL("mod.ts", ZMQ_DIR).href}";
Deno.addSignalListener("SIGUSR1", () => {
  new Deno.UnsafePointerView(Deno.UnsafePointer.create(8n)!).getUint8();
});
await runZMQSubscriber(Deno.args[0]!);
`,
  );
  await using _cleanup = {
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
  await using t = await setup({
    subscriberCommand: [
      Deno.execPath(),
      "run",
      "--quiet",
      `--config=${CONFIG.pathname}`,
      "--allow-ffi",
      "--allow-read",
      script,
    ],
  });
  await t.send(0);
  await t.send(1);
  await nextEvent(t.client, "hashtx", (n) => n.sequence === 1);
  const first = t.client.stats.pid;
  assert.equal(typeof first, "number");
  assert.equal(t.client.stats.isolation, "subprocess");

  const respawn = nextEvent(t.client, "respawn");
  const resync = nextEvent(t.client, "resync", (e) => e.reason === "respawn");
  Deno.kill(first!, "SIGUSR1");
  assert.deepEqual(await respawn, {
    reason: "crash",
    code: null,
    signal: "SIGSEGV",
    respawns: 1,
    message:
      "The ZMQ subscriber process was killed by SIGSEGV; starting a new one",
  });
  // The new process subscribes; messages sent meanwhile were lost.
  await subscribed(t.publisher, ["hashtx"]);
  const gap = nextEvent(t.client, "gap");
  await t.send(5);
  assert.deepEqual(await gap, {
    topic: "hashtx",
    expected: 2,
    received: 5,
    missed: 3,
  });
  assert.deepEqual(await resync, { reason: "respawn", topics: ["hashtx"] });
  const after = t.events.map(([name]) => name).slice(
    t.events.findIndex(([name]) => name === "respawn"),
  );
  assert.deepEqual(after, [
    "respawn",
    "error",
    "connect",
    "resync",
    "gap",
    "resync",
    "notification",
  ]);
  const error = t.events.find(([name]) => name === "error")![1];
  assert.ok(error instanceof ConnectionError);
  assert.notEqual(t.client.stats.pid, first);
  const stats = t.client.stats;
  assert.equal(stats.respawns, 1);
  assert.equal(stats.gaps, 1);
  assert.equal(stats.missed, 3);
  assert.equal(stats.received, 3);
  assert.equal(stats.errors, 1);
  // disconnect was reported for the lost connection, before the respawn.
  assert.ok(t.events.some(([name]) => name === "disconnect"));
});

Deno.test("EvrmoreZMQClient replaces a subscriber process that aborts", async () => {
  await using t = await setup();
  const respawn = nextEvent(t.client, "respawn");
  const reconnected = nextEvent(t.client, "connect");
  Deno.kill(t.client.stats.pid!, "SIGABRT");
  const event = await respawn;
  assert.equal(event.reason, "crash");
  assert.equal(event.signal, "SIGABRT");
  await reconnected;
  assert.equal(t.client.connected, true);
});

Deno.test("EvrmoreZMQClient replaces a subscriber process that hangs", async () => {
  await using t = await setup({ hangTimeout: 300 });
  const pid = t.client.stats.pid!;
  const respawn = nextEvent(t.client, "respawn");
  Deno.kill(pid, "SIGSTOP");
  const event = await respawn;
  assert.equal(event.reason, "hang");
  assert.equal(event.signal, "SIGKILL");
  assert.match(event.message, /stopped answering/);
  // The new one delivers.
  await subscribed(t.publisher, ["hashtx"]);
  const got = nextEvent(t.client, "hashtx");
  await t.send(0);
  assert.equal((await got).sequence, 0);
  assert.notEqual(t.client.stats.pid, pid);
});

for (const isolation of ["subprocess", "none"] as const) {
  Deno.test(`EvrmoreZMQClient (isolation: "${isolation}") starts and stops 200 times without leaks, whatever the receive is doing`, async () => {
    const publisher = await bindPublisher();
    const address = publisher.lastEndpoint!;
    let sending = true;
    let sequence = 0;
    // A steady stream, so some stops land while messages are arriving.
    const sender = (async () => {
      while (sending) {
        await publisher.send(["hashtx", HASH, seqFrame(sequence++)]);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    try {
      await withDeadline(
        (async () => {
          for (let i = 0; i < 200; i++) {
            const client = new EvrmoreZMQClient({
              address,
              topics: ["hashtx"],
              isolation,
            });
            client.on("error", () => {});
            switch (i % 4) {
              case 0: { // stopped while the subscriber process starts
                const started = client.start().catch((error) => error);
                await client.stop();
                const result = await started;
                // Either it was up before the stop, or it says it was stopped.
                assert.ok(
                  result === undefined ||
                    (result instanceof ConnectionError &&
                      /the client was stopped/.test(result.message)),
                  String(result),
                );
                break;
              }
              case 1: // stopped once connected
                await client.start();
                await client.stop();
                break;
              case 2: { // stopped right after a notification arrived
                const got = nextEvent(client, "hashtx");
                await client.start();
                await got;
                await client.stop();
                break;
              }
              default: { // disposed with an iterator waiting
                await client.start({ waitForConnection: false });
                const pending = client[Symbol.asyncIterator]().next();
                await client[Symbol.asyncDispose]();
                await pending;
              }
            }
            assert.equal(client.closed, true);
            assert.equal(client.stats.pid, undefined);
          }
        })(),
        "200 start/stop cycles",
        180_000,
      );
    } finally {
      sending = false;
      await sender;
      publisher.close();
    }
  });
}

Deno.test("EvrmoreZMQClient reports a subscriber process that cannot start", async () => {
  const exits = new EvrmoreZMQClient({
    subscriberCommand: [Deno.execPath(), "eval", "Deno.exit(7)"],
  });
  await assert.rejects(exits.start({ timeout: 5000 }), {
    name: "EvrmoreError",
    message: /subscriber process exited with code 7/,
  });
  await exits.close();
  // libzmq refuses the endpoint: ConnectionError, as in-process.
  for (const isolation of ["subprocess", "none"] as const) {
    const refused = new EvrmoreZMQClient({ address: "nope://x", isolation });
    await assert.rejects(refused.start(), {
      name: "ConnectionError",
      message: /^Cannot connect to nope:\/\/x: /,
    });
    await refused.close();
  }
});

Deno.test("EvrmoreZMQClient runs its subscriber through subscriberCommand and runZMQSubscriber (deno compile)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/main.ts`;
    await Deno.writeTextFile(
      script,
      `import { runZMQSubscriber } from "${new URL("mod.ts", ZMQ_DIR).href}";
if (Deno.args[0] === "--zmq-subscriber") await runZMQSubscriber(Deno.args[1]!);
Deno.exit(9);
`,
    );
    await using t = await setup({
      subscriberCommand: [
        Deno.execPath(),
        "run",
        "--quiet",
        `--config=${CONFIG.pathname}`,
        "--allow-ffi",
        "--allow-read",
        script,
        "--zmq-subscriber",
      ],
    });
    const got = nextEvent(t.client, "hashtx");
    await t.send(0);
    assert.equal((await got).sequence, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const { runZMQSubscriber } = await import("../lib/zmq/mod.ts");
  assert.throws(() => runZMQSubscriber("{"), TypeError);
  assert.throws(() => runZMQSubscriber('{"address":1}'), TypeError);
});

Deno.test('EvrmoreZMQClient with isolation: "none" keeps zeromq in this process', async () => {
  await using t = await setup({ isolation: "none" });
  assert.equal(t.client.stats.isolation, "none");
  assert.equal(t.client.stats.pid, undefined);
  const got: ZMQNotification[] = [];
  const two = nextEvent(t.client, "hashtx", (n) => n.sequence === 1);
  t.client.on("hashtx", (n) => void got.push(n));
  await t.send(0);
  await t.send(1);
  await two;
  assert.deepEqual(got.map((n) => n.sequence), [0, 1]);
});

Deno.test("EvrmoreZMQClient validates isolation, hangTimeout and subscriberCommand", () => {
  assert.equal(new EvrmoreZMQClient().stats.isolation, "subprocess");
  assert.throws(
    // @ts-expect-error: not an isolation
    () => new EvrmoreZMQClient({ isolation: "thread" }),
    TypeError,
  );
  assert.throws(() => new EvrmoreZMQClient({ hangTimeout: 0 }), RangeError);
  assert.throws(
    () => new EvrmoreZMQClient({ hangTimeout: Infinity }),
    RangeError,
  );
  assert.throws(
    () => new EvrmoreZMQClient({ subscriberCommand: [] }),
    TypeError,
  );
  assert.throws(
    // @ts-expect-error: not strings
    () => new EvrmoreZMQClient({ subscriberCommand: [1] }),
    TypeError,
  );
  assert.ok(new EvrmoreError("x") instanceof Error);
});

Deno.test("EvrmoreZMQClient without --allow-run keeps zeromq in-process and reports it", async () => {
  const script = `
    import { EvrmoreZMQClient } from "${new URL("mod.ts", ZMQ_DIR).href}";
    const client = new EvrmoreZMQClient({ port: 1 });
    const errors = [];
    client.on("error", (error) => errors.push(error));
    await client.start({ waitForConnection: false });
    console.log(client.stats.isolation, errors.length, /--allow-run/.test(errors[0]?.message));
    await client.close();`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-ffi",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      "-",
    ],
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
    "none 1 true",
    new TextDecoder().decode(output.stderr),
  );
});
