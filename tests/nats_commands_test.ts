import assert from "node:assert/strict";
import {
  connectNats,
  NatsFeedError,
  NodeUnavailableError,
  requestCommand,
  serveCommands,
} from "../lib/nats/mod.ts";
import { ConnectionError, RpcError, TimeoutError } from "../lib/errors.ts";
import { NatsTestServer } from "./_nats_server.ts";

Deno.test("requestCommand() gets the ingest's result, and its errors as typed errors", async () => {
  await using server = await NatsTestServer.start();
  await using ingest = await connectNats(server.url, { name: "ingest" });
  await using gateway = await connectNats(server.url, { name: "gateway" });
  const seen: Array<[string, unknown[]]> = [];
  await using _commands = serveCommands(ingest, (method, params) => {
    seen.push([method, params]);
    switch (method) {
      case "getblockcount":
        return Promise.resolve(42);
      case "getblock":
        throw new RpcError("Block not found", { code: -5, method });
      case "getrawtransaction":
        throw new TypeError("Cannot run getrawtransaction: txid must be hex");
      case "getblockhash":
        throw new ConnectionError("Cannot connect to http://127.0.0.1:1/");
      case "getmempoolinfo":
        throw new TimeoutError("Cannot call getmempoolinfo: no answer");
      case "stop":
        throw Object.assign(new Error("Cannot run stop: not allowed"), {
          code: "command_not_allowed",
        });
      default:
        throw new Error("secret internal detail");
    }
  }, { network: "regtest" });
  const ask = (method: string, params: unknown[] = []) =>
    requestCommand(gateway, { network: "regtest", method, params });

  assert.equal(await ask("getblockcount"), 42);
  await assert.rejects(
    ask("getblock", ["00ff"]),
    (e: unknown) =>
      e instanceof RpcError && e.code === -5 && e.method === "getblock" &&
      e.message === "Block not found",
  );
  await assert.rejects(ask("getrawtransaction", ["zz"]), TypeError);
  await assert.rejects(
    ask("getblockhash", [1]),
    (e: unknown) =>
      e instanceof NodeUnavailableError && e instanceof ConnectionError &&
      e.code === "node_unavailable",
  );
  await assert.rejects(ask("getmempoolinfo"), TimeoutError);
  await assert.rejects(
    ask("stop"),
    (e: unknown) =>
      e instanceof NatsFeedError && e.code === "command_not_allowed",
  );
  await assert.rejects(
    ask("other"),
    (e: unknown) =>
      e instanceof NatsFeedError && e.code === "internal_error" &&
      !e.message.includes("secret"),
  );
  assert.deepEqual(seen[1], ["getblock", ["00ff"]]);
  await assert.rejects(
    requestCommand(gateway, { network: "regtest", method: "" }),
    TypeError,
  );
});

Deno.test("requestCommand() rejects with node_unavailable when no ingest serves commands", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url);
  await assert.rejects(
    requestCommand(link, { network: "main", method: "getblockcount" }),
    (e: unknown) =>
      e instanceof NodeUnavailableError && e.code === "node_unavailable" &&
      /^Cannot run getblockcount/.test(e.message),
  );
  // Served, then closed (same connection, so the order is certain).
  const commands = serveCommands(link, () => Promise.resolve(1), {
    network: "main",
  });
  assert.equal(
    await requestCommand(link, { network: "main", method: "getblockcount" }),
    1,
  );
  await commands.close();
  await commands.close();
  await assert.rejects(
    requestCommand(link, { network: "main", method: "getblockcount" }),
    NodeUnavailableError,
  );
});

Deno.test("Two ingests in one queue group share commands; each request is answered once", async () => {
  await using server = await NatsTestServer.start();
  await using a = await connectNats(server.url, { name: "ingest-a" });
  await using b = await connectNats(server.url, { name: "ingest-b" });
  await using gateway = await connectNats(server.url, { name: "gateway" });
  const served = { a: 0, b: 0 };
  const serveA = serveCommands(a, () => {
    served.a++;
    return Promise.resolve("a");
  }, { network: "regtest" });
  await using _serveB = serveCommands(b, () => {
    served.b++;
    return Promise.resolve("b");
  }, { network: "regtest" });
  // Both subscriptions are known to the server once each link round-trips.
  await requestCommand(a, { network: "regtest", method: "ping" });
  await requestCommand(b, { network: "regtest", method: "ping" });
  served.a = served.b = 0;
  const answers = await Promise.all(
    Array.from(
      { length: 40 },
      () => requestCommand(gateway, { network: "regtest", method: "ping" }),
    ),
  );
  assert.equal(served.a + served.b, 40);
  assert.equal(answers.filter((x) => x === "a").length, served.a);
  assert.ok(served.a > 0 && served.b > 0, JSON.stringify(served));
  // Ingest A goes away: B answers everything.
  await serveA.close();
  // A round-trip on A's connection: its unsubscribe is processed by then.
  assert.equal(
    await requestCommand(a, { network: "regtest", method: "ping" }),
    "b",
  );
  const later = await Promise.all(
    Array.from(
      { length: 10 },
      () => requestCommand(gateway, { network: "regtest", method: "ping" }),
    ),
  );
  assert.deepEqual(later, Array(10).fill("b"));
});

Deno.test("requestCommand() times out with TimeoutError when the ingest does not answer in time", async () => {
  await using server = await NatsTestServer.start();
  await using link = await connectNats(server.url);
  const { promise: release, resolve } = Promise.withResolvers<void>();
  await using _commands = serveCommands(
    link,
    async () => {
      await release;
      return "late";
    },
    { network: "regtest" },
  );
  try {
    await assert.rejects(
      requestCommand(link, {
        network: "regtest",
        method: "getblockcount",
        timeoutMs: 200,
      }),
      TimeoutError,
    );
  } finally {
    resolve();
  }
});
