/**
 * Filtered subscriptions: `{"filter":{"asset":...}}` on `assets`,
 * `{"filter":{"address":...}}` on `assets` and `transactions`.
 *
 * Protocol parsing, the server with fake notifications, the client's
 * bookkeeping, and one devnet end to end (needs `--allow-ffi`).
 */

import assert from "node:assert/strict";
import type { DecodedTransaction } from "../lib/encoding/types.ts";
import type { ZMQNotification } from "../lib/zmq/types.ts";
import {
  type AssetEventData,
  EvrmoreWebSocketClient,
  EvrmoreWebSocketServer,
  type EvrmoreWebSocketServerOptions,
  WebSocketRequestError,
  type WebSocketServerMessage,
} from "../lib/websocket/mod.ts";
import { parseClientMessage } from "../lib/websocket/_protocol.ts";
import { ServerMessageSchema } from "../lib/websocket/_schemas.ts";
import { collect } from "./_ws_collect.ts";
import { open, stubServer, type TestSocket } from "./_ws_hardening_helpers.ts";
import { nodeServer, startNode } from "./_ws_stack.ts";

const ADDR_A = "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe";
const ADDR_B = "n3GNqMveyvaPvUbH469vDRadqpJMPc84JA";

// ---------------------------------------------------------------------------
// Protocol

Deno.test("filter protocol: good filters parse, with the canonical topic", () => {
  assert.deepEqual(
    parseClientMessage(
      '{"action":"subscribe","topic":"asset","filter":{"asset":"MYASSET"},"id":1}',
    ),
    {
      kind: "subscribe",
      topic: "assets",
      filter: { asset: "MYASSET" },
      id: 1,
    },
  );
  for (
    const asset of [
      "MYASSET!",
      "ROOT/SUB",
      "ROOT#tag@1",
      "ROOT~CHANNEL",
      "#QUALIFIER",
      "$RESTRICTED",
      "A.B_C",
      "X".repeat(32),
    ]
  ) {
    const parsed = parseClientMessage(
      JSON.stringify({
        action: "subscribe",
        topic: "assets",
        filter: { asset },
      }),
    );
    assert.equal(parsed.kind, "subscribe", asset);
  }
  assert.deepEqual(
    parseClientMessage(
      JSON.stringify({
        action: "subscribe",
        topic: "transactions",
        filter: { address: ADDR_A },
      }),
    ),
    { kind: "subscribe", topic: "transactions", filter: { address: ADDR_A } },
  );
  assert.deepEqual(
    parseClientMessage(
      JSON.stringify({
        action: "unsubscribe",
        topic: "assets",
        filter: { address: ADDR_A },
      }),
    ),
    { kind: "unsubscribe", topic: "assets", filter: { address: ADDR_A } },
  );
  // Without a filter: as before.
  assert.deepEqual(
    parseClientMessage('{"action":"subscribe","topic":"assets"}'),
    { kind: "subscribe", topic: "assets" },
  );
});

Deno.test("filter protocol: bad filters are invalid_message, the id echoed", () => {
  const bad: unknown[] = [
    { asset: "myasset" },
    { asset: "" },
    { asset: "X".repeat(33) },
    { asset: "MY ASSET" },
    { asset: 5 },
    { address: "0OIl".repeat(8) },
    { address: "mfu93qvv" },
    { address: "m".repeat(36) },
    { asset: "MYASSET", address: ADDR_A },
    { asset: "MYASSET", extra: 1 },
    {},
    "MYASSET",
    null,
    [],
  ];
  for (const filter of bad) {
    const parsed = parseClientMessage(
      JSON.stringify({ action: "subscribe", topic: "assets", filter, id: "f" }),
    );
    assert.equal(parsed.kind, "error", JSON.stringify(filter));
    if (parsed.kind !== "error") continue;
    assert.equal(parsed.error.code, "invalid_message");
    assert.equal(parsed.error.id, "f");
    assert.match(parsed.error.message, /"filter"/);
  }
  // Filters on topics that have none, and asset filters on transactions.
  for (
    const [topic, filter] of [
      ["blocks", { asset: "MYASSET" }],
      ["mempool", { address: ADDR_A }],
      ["transactions", { asset: "MYASSET" }],
    ] as const
  ) {
    const parsed = parseClientMessage(
      JSON.stringify({ action: "subscribe", topic, filter }),
    );
    assert.equal(parsed.kind, "error", topic);
    if (parsed.kind === "error") {
      assert.equal(parsed.error.code, "invalid_message");
    }
  }
});

Deno.test("filter protocol: the subscription answer with a filter is a valid server message", () => {
  assert.ok(
    ServerMessageSchema.safeParse({
      type: "subscription",
      data: {
        status: "success",
        topic: "assets",
        action: "subscribe",
        filter: { asset: "MYASSET" },
      },
      status: "success",
      topic: "assets",
      action: "subscribe",
      filter: { asset: "MYASSET" },
    }).success,
  );
});

// ---------------------------------------------------------------------------
// Server, with fake notifications

let sequence = 0;

interface FakeOutput {
  addresses?: string[];
  asset?: { name: string; amount: number; type: string };
}

/** A decoded transaction with the given outputs (only what the server reads). */
function fakeTx(txid: string, outputs: FakeOutput[]): ZMQNotification {
  const transaction = {
    txid,
    hash: txid,
    size: 200,
    vsize: 200,
    version: 2,
    locktime: 0,
    vin: [],
    vout: outputs.map((output, n) => ({
      value: 0,
      n,
      scriptPubKey: {
        asm: "",
        hex: "",
        type: output.asset?.type ?? "pubkeyhash",
        ...(output.addresses ? { addresses: output.addresses } : {}),
        ...(output.asset
          ? {
            asset: { name: output.asset.name, amount: output.asset.amount },
          }
          : {}),
      },
    })),
  } as unknown as DecodedTransaction;
  return {
    topic: "rawtx",
    body: new Uint8Array(),
    hex: "",
    sequence: sequence++,
    receivedAt: Date.now(),
    transaction,
  };
}

const txid = (n: number) => n.toString(16).padStart(64, "0");

type RawClient = TestSocket;

const rawClient = (port: number): Promise<RawClient> =>
  open(`ws://127.0.0.1:${port}/`);

/** A started server over stand-ins that never notify; an error throws. */
function fakeServer(
  options: Partial<EvrmoreWebSocketServerOptions> = {},
): Promise<EvrmoreWebSocketServer> {
  return stubServer({
    onError: (error) => {
      throw error;
    },
    ...options,
  });
}

async function request(
  client: RawClient,
  message: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  client.send(message);
  return await client.next();
}

const assetNames = (messages: Array<Record<string, unknown>>) =>
  messages.filter((m) => m.type === "asset").map((m) =>
    (m.data as AssetEventData).asset
  );
const txidsOf = (messages: Array<Record<string, unknown>>) =>
  messages.filter((m) => m.type === "transaction").map((m) =>
    (m.data as { txid: string }).txid
  );

Deno.test("filter server: asset and address filters deliver only the matching events, unfiltered gets all", async () => {
  const server = await fakeServer();
  const byAsset = await rawClient(server.port);
  const byAddress = await rawClient(server.port);
  const all = await rawClient(server.port);
  try {
    assert.deepEqual(
      await request(byAsset, {
        action: "subscribe",
        topic: "assets",
        filter: { asset: "AAA" },
        id: 7,
      }),
      {
        type: "subscription",
        data: {
          status: "success",
          topic: "assets",
          action: "subscribe",
          filter: { asset: "AAA" },
        },
        status: "success",
        topic: "assets",
        action: "subscribe",
        filter: { asset: "AAA" },
        id: 7,
      },
    );
    assert.deepEqual(
      await request(byAddress, {
        action: "subscribe",
        topic: "transactions",
        filter: { address: ADDR_A },
      }),
      {
        type: "subscription",
        data: {
          status: "success",
          topic: "transactions",
          action: "subscribe",
          filter: { address: ADDR_A },
        },
        status: "success",
        topic: "transactions",
        action: "subscribe",
        filter: { address: ADDR_A },
      },
    );
    await request(byAddress, {
      action: "subscribe",
      topic: "assets",
      filter: { address: ADDR_B },
    });
    await request(all, { action: "subscribe", topic: "assets" });
    await request(all, { action: "subscribe", topic: "transactions" });
    // Filtered clients are not in the unfiltered sets.
    assert.equal(server.subscriptions.get("assets")?.size, 1);

    await server.handleTransaction(fakeTx(txid(1), [
      {
        addresses: [ADDR_A],
        asset: { name: "AAA", amount: 10, type: "new_asset" },
      },
      {
        addresses: [ADDR_B],
        asset: { name: "AAA!", amount: 1, type: "new_asset" },
      },
    ]));
    await server.handleTransaction(fakeTx(txid(2), [
      {
        addresses: [ADDR_B],
        asset: { name: "BBB", amount: 5, type: "transfer_asset" },
      },
      { addresses: [ADDR_B] },
    ]));
    await server.handleTransaction(fakeTx(txid(3), [{ addresses: [ADDR_A] }]));

    const allGot = await all.drain();
    assert.deepEqual(assetNames(allGot), ["AAA", "AAA!", "BBB"]);
    assert.deepEqual(txidsOf(allGot), [txid(1), txid(2), txid(3)]);

    // Exact names: the owner token AAA! is not AAA.
    const assetGot = (await byAsset.drain()).map(withoutCursor);
    assert.deepEqual(assetGot, [{
      type: "asset",
      data: { txid: txid(1), asset: "AAA", amount: 10, type: "issue" },
    }]);

    // Transactions paying ADDR_A, asset outputs paying ADDR_B.
    const addressGot = await byAddress.drain();
    assert.deepEqual(txidsOf(addressGot), [txid(1), txid(3)]);
    assert.deepEqual(assetNames(addressGot), ["AAA!", "BBB"]);
  } finally {
    await byAsset.close();
    await byAddress.close();
    await all.close();
    await server.stop();
  }
});

Deno.test("filter server: an event matching several filters (or a filter and the topic) is sent once", async () => {
  const server = await fakeServer();
  const client = await rawClient(server.port);
  try {
    await request(client, {
      action: "subscribe",
      topic: "assets",
      filter: { asset: "AAA" },
    });
    await request(client, {
      action: "subscribe",
      topic: "assets",
      filter: { address: ADDR_A },
    });
    // Subscribing to the same filter again changes nothing.
    await request(client, {
      action: "subscribe",
      topic: "assets",
      filter: { asset: "AAA" },
    });
    const event = fakeTx(txid(4), [{
      addresses: [ADDR_A],
      asset: { name: "AAA", amount: 1, type: "transfer_asset" },
    }]);
    await server.handleTransaction(event);
    assert.deepEqual(assetNames(await client.drain()), ["AAA"]);

    await request(client, { action: "subscribe", topic: "assets" });
    await server.handleTransaction(fakeTx(txid(5), [{
      addresses: [ADDR_A],
      asset: { name: "AAA", amount: 2, type: "transfer_asset" },
    }]));
    assert.deepEqual(assetNames(await client.drain()), ["AAA"]);
  } finally {
    await client.close();
    await server.stop();
  }
});

Deno.test("filter server: unsubscribe with a filter drops it; without, drops the topic and its filters", async () => {
  const server = await fakeServer();
  const client = await rawClient(server.port);
  const feed = (n: number, name: string) =>
    server.handleTransaction(fakeTx(txid(n), [{
      addresses: [ADDR_B],
      asset: { name, amount: 1, type: "transfer_asset" },
    }]));
  try {
    for (const asset of ["AAA", "BBB"]) {
      await request(client, {
        action: "subscribe",
        topic: "assets",
        filter: { asset },
      });
    }
    assert.deepEqual(
      await request(client, {
        action: "unsubscribe",
        topic: "assets",
        filter: { asset: "AAA" },
      }),
      {
        type: "subscription",
        data: {
          status: "success",
          topic: "assets",
          action: "unsubscribe",
          filter: { asset: "AAA" },
        },
        status: "success",
        topic: "assets",
        action: "unsubscribe",
        filter: { asset: "AAA" },
      },
    );
    await feed(6, "AAA");
    await feed(7, "BBB");
    assert.deepEqual(assetNames(await client.drain()), ["BBB"]);

    await request(client, {
      action: "subscribe",
      topic: "assets",
      filter: { asset: "AAA" },
    });
    await request(client, { action: "subscribe", topic: "assets" });
    assert.deepEqual(
      await request(client, { action: "unsubscribe", topic: "assets" }),
      {
        type: "subscription",
        data: {
          status: "success",
          topic: "assets",
          action: "unsubscribe",
        },
        status: "success",
        topic: "assets",
        action: "unsubscribe",
      },
    );
    await feed(8, "AAA");
    await feed(9, "BBB");
    assert.deepEqual(await client.drain(), []);
  } finally {
    await client.close();
    await server.stop();
  }
});

Deno.test("filter server: too_many_filters past maxFiltersPerClient; bad filters are invalid_message", async () => {
  const server = await fakeServer({ maxFiltersPerClient: 2 });
  const client = await rawClient(server.port);
  try {
    for (const asset of ["AAA", "BBB"]) {
      const answer = await request(client, {
        action: "subscribe",
        topic: "assets",
        filter: { asset },
      });
      assert.equal(answer.type, "subscription");
    }
    const refused = await request(client, {
      action: "subscribe",
      topic: "transactions",
      filter: { address: ADDR_A },
      id: "x",
    });
    assert.equal(refused.type, "error");
    assert.equal(refused.code, "too_many_filters");
    assert.equal(refused.id, "x");
    // Freeing one makes room.
    await request(client, {
      action: "unsubscribe",
      topic: "assets",
      filter: { asset: "AAA" },
    });
    const accepted = await request(client, {
      action: "subscribe",
      topic: "transactions",
      filter: { address: ADDR_A },
    });
    assert.equal(accepted.type, "subscription");

    const bad = await request(client, {
      action: "subscribe",
      topic: "assets",
      filter: { asset: "lower" },
    });
    assert.equal(bad.type, "error");
    assert.equal(bad.code, "invalid_message");
  } finally {
    await client.close();
    await server.stop();
  }
});

Deno.test("filter server: a closed client's filters are dropped", async () => {
  const server = await fakeServer();
  const client = await rawClient(server.port);
  const other = await rawClient(server.port);
  try {
    await request(client, {
      action: "subscribe",
      topic: "assets",
      filter: { asset: "AAA" },
    });
    await request(other, {
      action: "subscribe",
      topic: "assets",
      filter: { asset: "AAA" },
    });
    await client.close();
    await server.handleTransaction(fakeTx(txid(10), [{
      asset: { name: "AAA", amount: 1, type: "transfer_asset" },
    }]));
    assert.deepEqual(assetNames(await other.drain()), ["AAA"]);
  } finally {
    await other.close();
    await server.stop();
  }
});

// ---------------------------------------------------------------------------
// Client

Deno.test("filter client: subscribe and unsubscribe with filters; filters are remembered and validated", async () => {
  const server = await fakeServer();
  const client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${server.port}`,
    pingInterval: null,
  });
  try {
    await client.connect();
    await client.subscribe("assets", { filter: { asset: "AAA" } });
    await client.subscribe("transactions", { filter: { address: ADDR_A } });
    assert.deepEqual(client.topics, []);
    assert.deepEqual(client.filters, [
      { topic: "assets", filter: { asset: "AAA" } },
      { topic: "transactions", filter: { address: ADDR_A } },
    ]);
    await server.handleTransaction(fakeTx(txid(11), [{
      addresses: [ADDR_A],
      asset: { name: "AAA", amount: 3, type: "transfer_asset" },
    }]));
    const first = await client.receive();
    const second = await client.receive();
    assert.deepEqual(
      [first.type, second.type].sort(),
      ["asset", "transaction"],
    );

    await client.unsubscribe("assets", { filter: { asset: "AAA" } });
    assert.deepEqual(client.filters, [
      { topic: "transactions", filter: { address: ADDR_A } },
    ]);
    await client.unsubscribe("transactions");
    assert.deepEqual(client.filters, []);

    await assert.rejects(
      client.subscribe("assets", {
        filter: { asset: "lower" },
      }),
      TypeError,
    );
    const refused = await client.subscribe("blocks", {
      filter: { asset: "AAA" },
    }).catch((e) => e);
    assert.ok(refused instanceof WebSocketRequestError);
    assert.equal(refused.code, "invalid_message");
    assert.deepEqual(client.filters, []);
  } finally {
    await client.disconnect();
    await server.stop();
  }
});

/** Resolves `subscribed` when a client's filtered subscription was answered. */
class WatchingServer extends EvrmoreWebSocketServer {
  #resolve!: () => void;
  readonly subscribed: Promise<void> = new Promise((resolve) => {
    this.#resolve = resolve;
  });

  override async handleClientMessage(
    socket: WebSocket,
    message: string,
  ): Promise<boolean> {
    const handled = await super.handleClientMessage(socket, message);
    if (message.includes('"filter"')) this.#resolve();
    return handled;
  }
}

Deno.test("filter client: filters are subscribed again after a reconnection", async () => {
  const first = await fakeServer();
  const port = first.port;
  const client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${port}`,
    pingInterval: null,
    reconnectDelay: 20,
    maxReconnectDelay: 100,
    onError: () => {},
  });
  let second: WatchingServer | undefined;
  try {
    await client.connect();
    await client.subscribe("assets", { filter: { asset: "AAA" } });
    await first.stop();
    second = new WatchingServer({
      rpcClient: {
        call: () => Promise.resolve(null),
        getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
      },
      zmqClient: { on: () => () => {}, start: () => Promise.resolve() },
      host: "127.0.0.1",
      port,
      pingInterval: null,
    });
    await second.start();
    await second.subscribed;
    assert.equal(second.subscriptions.get("assets")?.size, 0);
    await second.handleTransaction(fakeTx(txid(12), [{
      asset: { name: "BBB", amount: 4, type: "transfer_asset" },
    }, {
      asset: { name: "AAA", amount: 4, type: "transfer_asset" },
    }]));
    const message = await client.receive();
    assert.equal(message.type, "asset");
    assert.equal(message.type === "asset" && message.data.asset, "AAA");
    assert.equal(client.reconnects, 1);
  } finally {
    await client.disconnect();
    await first.stop();
    await second?.stop();
  }
});

// ---------------------------------------------------------------------------
// Devnet, end to end

const assetsOf = (messages: WebSocketServerMessage[]) =>
  messages.flatMap((m) => m.type === "asset" ? [m.data] : []);
const txidsIn = (messages: WebSocketServerMessage[]) =>
  messages.flatMap((m) => m.type === "transaction" ? [m.data.txid] : []);

Deno.test("filter e2e: devnet asset and address filters against an unfiltered client", async () => {
  const node = await startNode();
  const { devnet } = node;
  const errors: Error[] = [];
  const server = nodeServer(node, {
    onError: (error) => errors.push(error),
  });
  const clients: EvrmoreWebSocketClient[] = [];
  try {
    await server.start();
    const open = async () => {
      const client = new EvrmoreWebSocketClient({
        uri: `ws://127.0.0.1:${server.port}`,
      });
      clients.push(client);
      await client.connect();
      return client;
    };
    const transferTo = await devnet.newAddress();
    const paid = await devnet.newAddress();

    const all = await open();
    await all.subscribe("assets");
    await all.subscribe("transactions");
    const onlyA = await open();
    await onlyA.subscribe("assets", { filter: { asset: "FILTA" } });
    const byAddress = await open();
    await byAddress.subscribe("transactions", { filter: { address: paid } });
    await byAddress.subscribe("assets", { filter: { address: transferTo } });

    const issuedA = await devnet.issueAsset("FILTA", 1000, { units: 2 });
    const issuedB = await devnet.issueAsset("FILTB", 500);
    await devnet.mine(1);
    const transferred = await devnet.transferAsset("FILTA", 12.5, {
      toAddress: transferTo,
    });
    const payment = await devnet.sendPayment(paid, 2);

    // The unfiltered client gets everything.
    const allGot = await collect(all, (m) => txidsIn(m).includes(payment));
    const allAssets = assetsOf(allGot).map((a) => `${a.asset} ${a.type}`);
    for (
      const expected of [
        "FILTA issue",
        "FILTA! owner",
        "FILTB issue",
        "FILTB! owner",
        "FILTA transfer",
      ]
    ) {
      assert.ok(allAssets.includes(expected), `${expected}: ${allAssets}`);
    }
    for (const txid of [issuedA, issuedB, transferred, payment]) {
      assert.ok(txidsIn(allGot).includes(txid), txid);
    }

    // The asset filter: FILTA only (not FILTA!, not FILTB, which was issued
    // before FILTA's transfer, the last event awaited).
    const aGot = await collect(
      onlyA,
      (m) => assetsOf(m).some((a) => a.txid === transferred),
    );
    assert.ok(aGot.every((m) => m.type === "asset"));
    const aEvents = assetsOf(aGot);
    assert.ok(aEvents.every((a) => a.asset === "FILTA"), JSON.stringify(aGot));
    assert.deepEqual(
      aEvents.filter((a) => a.txid === issuedA).map((a) => a.type),
      ["issue"],
    );

    // The address filters: the payment only, and FILTA's output to
    // `transferTo` only (not its change).
    const addressGot = await collect(
      byAddress,
      (m) => txidsIn(m).includes(payment),
    );
    assert.deepEqual(txidsIn(addressGot), [payment]);
    assert.deepEqual(assetsOf(addressGot), [{
      txid: transferred,
      asset: "FILTA",
      amount: 12.5,
      type: "transfer",
    }]);
    assert.deepEqual(errors, []);
  } finally {
    for (const client of clients) await client.disconnect();
    await server.stop();
    await node.close();
  }
});

/** A pushed event without its `cursor` (asserted to be one). */
function withoutCursor(message: unknown): unknown {
  const { cursor, ...rest } = message as Record<string, unknown>;
  assert.match(String(cursor), /^[0-9a-z]+:[0-9]+$/);
  return rest;
}
