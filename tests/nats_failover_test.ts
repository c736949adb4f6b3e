import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  connectNats,
  type FeedEvent,
  NatsFeedPublisher,
  NatsFeedSource,
  type NatsStatusEvent,
} from "../lib/nats/mod.ts";
import { NatsTestServer, take } from "./_nats_server.ts";

function tx(n: number): FeedEvent {
  return {
    topic: "transactions",
    id: `tx:${n}`,
    message: { type: "transaction", data: { txid: `t${n}` } },
    match: { addresses: [`E${n}`] },
  };
}

/** Resolves when `predicate` first holds for a value pushed to the returned hook. */
function when<T>(predicate: (value: T) => boolean) {
  const { promise, resolve } = Promise.withResolvers<T>();
  return {
    promise,
    hook: (value: T) => {
      if (predicate(value)) resolve(value);
    },
  };
}

/** Awaits `promise`, failing after `ms` (a guard only). */
async function within<T>(promise: Promise<T>, ms: number, what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out: ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("nats-server restart: the publisher buffers and republishes, the feed resumes, nothing lost or doubled", async () => {
  await using server = await NatsTestServer.start();
  const reconnected = when<NatsStatusEvent>((s) => s.type === "reconnect");
  await using pubLink = await connectNats(server.url, {
    name: "ingest",
    reconnectWaitMs: 50,
  });
  await using subLink = await connectNats(server.url, {
    name: "gateway",
    reconnectWaitMs: 50,
    onStatus: reconnected.hook,
  });
  const failed = when<Error>((e) =>
    (e as { code?: string }).code === "publish_failed"
  );
  await using publisher = await NatsFeedPublisher.create(pubLink, {
    network: "regtest",
    publishTimeoutMs: 500,
    onError: failed.hook,
  });
  await using feed = await NatsFeedSource.open(subLink, { network: "regtest" });
  const it = feed[Symbol.asyncIterator]();
  for (let i = 1; i <= 3; i++) publisher.publish(tx(i));
  const before = await take(it, 3);
  assert.deepEqual(before.map((e) => e.cursor), ["1", "2", "3"]);

  await server.stop();
  for (let i = 4; i <= 6; i++) assert.equal(publisher.publish(tx(i)), true);
  await within(failed.promise, 20_000, "a failed publish while NATS is down");
  assert.ok(publisher.stats.buffered > 0);

  await server.restart();
  await within(reconnected.promise, 20_000, "the gateway to reconnect");
  await within(publisher.flush(), 30_000, "the publisher to flush");
  const after = await take(it, 3, 30_000);
  assert.deepEqual(after.map((e) => e.id), ["tx:4", "tx:5", "tx:6"]);
  assert.deepEqual(after.map((e) => e.cursor), ["4", "5", "6"]);
  assert.ok(publisher.stats.failures > 0);

  // Nothing doubled: the next event is the marker, right after.
  publisher.publish(tx(7));
  const [marker] = await take(it, 1, 30_000);
  assert.equal(marker!.id, "tx:7");
  assert.equal(marker!.cursor, "7");

  const nc = await connect({ servers: server.url });
  try {
    const info = await (await jetstreamManager(nc)).streams.info("EVRMORE");
    assert.equal(info.state.messages, 7);
  } finally {
    await nc.close();
  }
});

Deno.test("A feed opened from a cursor resumes after a nats-server restart mid-replay and goes on live", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url, { reconnectWaitMs: 50 });
  await using publisher = await NatsFeedPublisher.create(link, {
    network: "main",
    publishTimeoutMs: 500,
  });
  for (let i = 1; i <= 10; i++) publisher.publish(tx(i));
  await publisher.flush();
  await using feed = await NatsFeedSource.open(link, {
    network: "main",
    since: "2",
  });
  const it = feed[Symbol.asyncIterator]();
  const first = await take(it, 4);
  await server.stop();
  await server.restart();
  // Events stored after the restart come through the recreated consumer.
  for (let i = 11; i <= 12; i++) publisher.publish(tx(i));
  const rest = await take(it, 6, 30_000);
  const ids = [...first, ...rest].map((e) => e.id);
  assert.deepEqual(
    ids,
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((n) => `tx:${n}`),
  );
  assert.equal(feed.cursor, "12");
});
