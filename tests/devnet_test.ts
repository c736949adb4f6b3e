import assert from "node:assert/strict";
import { createHash, createPublicKey, ECDH, verify } from "node:crypto";
import { EvrmoreDevnet } from "../lib/devnet/mod.ts";
import { RpcError } from "../lib/errors.ts";
import {
  blockHash,
  bytesToHex,
  decodeTransaction,
  hexToBytes,
  merkleRoot,
  parseBlock,
  parseTransaction,
  serializeBlock,
  serializeTransaction,
  txid as txidOf,
  UNINITIALISED_EXPIRE_TIME,
} from "../lib/encoding/mod.ts";

const FIXTURES: string = (() => {
  const near = new URL("../../shared/fixtures/evrmore-regtest", import.meta.url)
    .pathname;
  try {
    Deno.statSync(near);
    return near;
  } catch {
    return "/work/shared/fixtures/evrmore-regtest";
  }
})();

const QM = "QmTqu3Lk3gmTsQVtjU7rYYM37EAW4xNmbuEAp2Mjr4AV7E";
const OUTSIDE = "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe";

function fixture(path: string): string {
  return Deno.readTextFileSync(`${FIXTURES}/${path}`);
}

function fixtureResult(path: string): unknown {
  return (JSON.parse(fixture(path)) as { result: unknown }).result;
}

async function newDevnet(): Promise<EvrmoreDevnet> {
  const devnet = new EvrmoreDevnet({
    rpcUser: "evr",
    rpcPassword: "evrpass",
    authDelayMs: 5,
  });
  await devnet.start();
  return devnet;
}

interface Reply {
  status: number;
  body: string;
  headers: Headers;
}

async function post(
  devnet: EvrmoreDevnet,
  body: string,
  path = "/",
  auth: string | null = "evr:evrpass",
  method = "POST",
): Promise<Reply> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
  };
  if (auth !== null) headers.authorization = `Basic ${btoa(auth)}`;
  const response = await fetch(new URL(path, devnet.rpcUrl), {
    method,
    headers,
    ...(method === "GET" ? {} : { body }),
  });
  return {
    status: response.status,
    body: await response.text(),
    headers: response.headers,
  };
}

async function rpc<T = unknown>(
  devnet: EvrmoreDevnet,
  method: string,
  params: unknown[] = [],
): Promise<T> {
  const reply = await post(devnet, JSON.stringify({ id: 1, method, params }));
  const parsed = JSON.parse(reply.body) as {
    result: T;
    error: { code: number; message: string } | null;
  };
  if (parsed.error) {
    throw new Error(`${method}: ${parsed.error.code} ${parsed.error.message}`);
  }
  return parsed.result;
}

// ------------------------------------------------------------ ZMQ helper

interface Message {
  topic: string;
  body: Uint8Array;
  seq: number;
}

interface SubscriberSocket {
  connect(a: string): void;
  subscribe(...t: string[]): void;
  close(): void;
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array[]>;
}

/** A raw zeromq subscriber collecting every message. */
class Collector {
  messages: Message[] = [];
  #socket: SubscriberSocket;
  #waiters = new Set<() => void>();
  #loop: Promise<void>;

  private constructor(socket: SubscriberSocket) {
    this.#socket = socket;
    this.#loop = (async () => {
      try {
        for await (const [topic, body, seq] of socket) {
          this.messages.push({
            topic: new TextDecoder().decode(topic),
            body: new Uint8Array(body!),
            seq: new DataView(seq!.buffer, seq!.byteOffset, 4).getUint32(
              0,
              true,
            ),
          });
          for (const waiter of this.#waiters) waiter();
        }
      } catch {
        // closed: the pending receive rejects
      }
    })();
  }

  static async open(address: string): Promise<Collector> {
    const zmq = await import("zeromq");
    const socket = new zmq.Subscriber({ linger: 0 });
    socket.connect(address);
    socket.subscribe();
    return new Collector(socket as unknown as SubscriberSocket);
  }

  /** Waits until `predicate` holds (event-driven, with a deadline). */
  waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve(true);
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Waits until `hash`'s hashblock and the rawblock after it have arrived. */
  waitForBlock(hash: string, timeoutMs = 5000): Promise<boolean> {
    return this.waitFor(() => {
      const i = this.messages.findIndex((m) =>
        m.topic === "hashblock" && bytesToHex(m.body) === hash
      );
      return i >= 0 && this.messages[i + 1]?.topic === "rawblock";
    }, timeoutMs);
  }

  async close(): Promise<void> {
    // Closing while zeromq is handing over a message crashes the addon under
    // Deno: wait until nothing has arrived for 100 ms (bounded).
    for (let i = 0; i < 50; i++) {
      const count = this.messages.length;
      await this.waitFor(() => this.messages.length !== count, 100);
      if (this.messages.length === count) break;
    }
    this.#socket.close();
    await this.#loop;
  }
}

/**
 * Mines until the subscriber sees messages (ZMQ subscriptions propagate
 * asynchronously: there is no event for "subscribed"), then waits for the
 * last block's rawblock. Returns the index where the next messages start.
 */
async function warmUp(
  devnet: EvrmoreDevnet,
  collector: Collector,
): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const [hash] = await devnet.mine(1);
    const seen = await collector.waitFor(
      () =>
        collector.messages.some((m) =>
          m.topic === "hashblock" && bytesToHex(m.body) === hash
        ),
      100,
    );
    if (seen) {
      await collector.waitForBlock(hash!);
      return collector.messages.length;
    }
  }
  throw new Error("subscriber never received a message");
}

function assertConsecutive(messages: Message[]): void {
  const last = new Map<string, number>();
  for (const m of messages) {
    const previous = last.get(m.topic);
    if (previous !== undefined) {
      assert.equal(
        m.seq,
        previous + 1,
        `${m.topic} sequence after ${previous}`,
      );
    }
    last.set(m.topic, m.seq);
  }
}

const CONTEXT_FIELDS = [
  "hex",
  "blockhash",
  "height",
  "confirmations",
  "time",
  "blocktime",
];

/** getrawtransaction verbose minus chain context and address-index fields. */
function stripContext(tx: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tx)) {
    if (CONTEXT_FIELDS.includes(k)) continue;
    if (k === "vin") {
      out.vin = (v as Record<string, unknown>[]).map((input) => {
        const { value: _v, valueSat: _s, address: _a, ...rest } = input;
        return rest;
      });
    } else if (k === "vout") {
      out.vout = (v as Record<string, unknown>[]).map((output) => {
        const {
          spentTxId: _t,
          spentIndex: _i,
          spentHeight: _h,
          valueSat: _s,
          ...rest
        } = output;
        return rest;
      });
    } else out[k] = v;
  }
  return out;
}

/** Asserts the same keys in the same order and the same JSON types, recursively. */
function assertSameShape(ours: unknown, theirs: unknown, path = "$"): void {
  const kind = (v: unknown) =>
    v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
  assert.equal(kind(ours), kind(theirs), `type of ${path}`);
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    const n = Math.min(ours.length, theirs.length);
    for (let i = 0; i < n; i++) {
      assertSameShape(ours[i], theirs[i], `${path}[${i}]`);
    }
  } else if (kind(ours) === "object") {
    const a = ours as Record<string, unknown>,
      b = theirs as Record<string, unknown>;
    assert.deepEqual(Object.keys(a), Object.keys(b), `keys of ${path}`);
    for (const k of Object.keys(a)) assertSameShape(a[k], b[k], `${path}.${k}`);
  }
}

// ----------------------------------------------------------------- tests

Deno.test("EvrmoreDevnet constructor rejects bad options and has defaults", () => {
  assert.throws(() => new EvrmoreDevnet({ rpcPort: -1 }), RangeError);
  assert.throws(() => new EvrmoreDevnet({ initialBlocks: 1.5 }), RangeError);
  const devnet = new EvrmoreDevnet();
  assert.equal(devnet.network, "regtest");
  assert.equal(devnet.rpcUser, "devnet");
  assert.match(devnet.rpcPassword, /^[0-9a-f]{32}$/);
});

Deno.test("EvrmoreDevnet answers HTTP and auth failures like the node", async () => {
  await using devnet = await newDevnet();
  const good = JSON.stringify({ id: 1, method: "getblockcount", params: [] });
  for (const auth of [null, "evr:wrong", "nobody:evrpass"]) {
    const reply = await post(devnet, good, "/", auth);
    assert.equal(reply.status, 401);
    assert.equal(reply.body, "");
    assert.equal(
      reply.headers.get("www-authenticate"),
      'Basic realm="jsonrpc"',
    );
  }
  const get = await post(devnet, "", "/", "evr:evrpass", "GET");
  assert.equal(get.status, 405);
  assert.equal(get.body, fixture("errors/http_get.body"));
  const unknown = await post(devnet, good, "/nosuchpath");
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body, "");
  const ok = await post(devnet, good);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("content-type"), "application/json");
  assert.equal(ok.body, `{"result":${devnet.height},"error":null,"id":1}\n`);
});

Deno.test("EvrmoreDevnet error bodies equal the fixtures' bytes", async () => {
  await using devnet = await newDevnet();
  const cases = [
    "batch_all_unknown",
    "batch_empty",
    "err_address_invalid",
    "err_asset_not_found",
    "err_bad_params_type",
    "err_block_not_found",
    "err_blockheader_not_found",
    "err_decoderawtx_bad",
    "err_empty_body",
    "err_getblock_64_nonhex",
    "err_getzmqnotifications",
    "err_height_out_of_range",
    "err_insufficient_funds",
    "err_insufficient_funds_real",
    "err_invalid_hash_short",
    "err_issue_invalid_name",
    "err_method_not_string",
    "err_missing_method",
    "err_params_not_array",
    "err_parse_error",
    "err_sendraw_bad",
    "err_top_level_not_object",
    "err_transfer_insufficient_asset",
    "err_tx_bad_hex",
    "err_tx_not_found",
    "err_unknown_method",
    "err_unknown_named_param",
    "http_wallet_path",
    "ok_getassetdata_unknown",
  ];
  for (const name of cases) {
    const transcript = fixture(`errors/${name}.txt`);
    const lines = transcript.split("\n");
    const body = lines[1]!;
    const path = /^> POST (\S+) HTTP/m.exec(transcript)?.[1] ?? "/";
    const reply = await post(devnet, body, path);
    assert.equal(reply.body, fixture(`errors/${name}.body`), name);
    assert.equal(
      String(reply.status),
      fixture(`errors/${name}.status`).trim(),
      `${name} status`,
    );
  }
});

Deno.test("EvrmoreDevnet decoderawtransaction of every fixture tx equals the node's body", async () => {
  await using devnet = await newDevnet();
  let count = 0;
  for (const entry of Deno.readDirSync(`${FIXTURES}/txs`)) {
    if (!entry.name.endsWith(".decoderawtransaction.json")) continue;
    const base = entry.name.replace(".decoderawtransaction.json", "");
    const hex = fixture(`txs/${base}.hex`).trim();
    const expected = fixture(`txs/${entry.name}`);
    const id = (JSON.parse(expected) as { id: unknown }).id;
    const reply = await post(
      devnet,
      JSON.stringify({ id, method: "decoderawtransaction", params: [hex] }),
    );
    assert.equal(reply.body.trim(), expected.trim(), base);
    count++;
  }
  assert.ok(count >= 20);
});

Deno.test("EvrmoreDevnet decodeblock of fixture blocks equals the node's body", async () => {
  await using devnet = await newDevnet();
  const cases = [
    [
      "blocks/0177_mempool2_mined_5d49fffb1948649d89c9ab70f9ccae0072b028dfede6ebb810bea26f91bbeea6.hex",
      "blocks/0177_mempool2_mined_5d49fffb1948649d89c9ab70f9ccae0072b028dfede6ebb810bea26f91bbeea6.decodeblock.json",
    ],
    [
      "blocks/0163_sub_unique_0c80acc17952c9cf83b833561a40f9a4c741662bf3fb7cbbe48e5394f035c45b.hex",
      "rpc/decodeblock_sub_unique_0c80acc17952c9cf83b833561a40f9a4c741662bf3fb7cbbe48e5394f035c45b.json",
    ],
  ];
  for (const [hexFile, jsonFile] of cases) {
    const expected = fixture(jsonFile!);
    const id = (JSON.parse(expected) as { id: unknown }).id;
    const reply = await post(
      devnet,
      JSON.stringify({
        id,
        method: "decodeblock",
        params: [fixture(hexFile!).trim()],
      }),
    );
    assert.equal(reply.body.trim(), expected.trim(), jsonFile);
  }
});

Deno.test("EvrmoreDevnet batches, named params, ids and wallet paths", async () => {
  await using devnet = await newDevnet();
  const height = devnet.height;
  const mixed = await post(
    devnet,
    fixture("errors/batch_mixed_errors.txt").split("\n")[1]!,
  );
  assert.equal(mixed.status, 200);
  assert.equal(
    mixed.body,
    fixture("errors/batch_mixed_errors.body").replace(
      '"result":176',
      `"result":${height}`,
    ),
  );
  const named = await post(
    devnet,
    JSON.stringify({ id: 9, method: "getblockhash", params: { height: 1 } }),
  );
  const hash1 = await rpc<string>(devnet, "getblockhash", [1]);
  assert.equal(named.body, `{"result":"${hash1}","error":null,"id":9}\n`);
  const noId = await post(devnet, JSON.stringify({ method: "getblockcount" }));
  assert.equal(noId.body, `{"result":${height},"error":null,"id":null}\n`);
  const v2 = await post(
    devnet,
    JSON.stringify({ jsonrpc: "2.0", id: "x", method: "getblockcount" }),
  );
  assert.equal(v2.body, `{"result":${height},"error":null,"id":"x"}\n`);
  const wallet = await post(
    devnet,
    JSON.stringify({ id: 1, method: "getbalance", params: [] }),
    "/wallet/wallet.dat",
  );
  assert.equal(wallet.status, 200);
  assert.match(wallet.body, /^\{"result":\d+\.\d{8},"error":null,"id":1\}\n$/);
  // Non-wallet methods ignore the wallet path.
  const chainCall = await post(
    devnet,
    JSON.stringify({ id: 1, method: "getblockcount" }),
    "/wallet/other",
  );
  assert.equal(chainCall.status, 200);
});

Deno.test("EvrmoreDevnet read answers have the fixtures' keys and types", async () => {
  await using devnet = await newDevnet();
  const payment = await devnet.sendPayment(OUTSIDE, 2);
  const mempoolTx = await rpc(devnet, "getrawtransaction", [payment, 1]);
  assertSameShape(
    mempoolTx,
    fixtureResult(
      "txs/mempool_evr_76961c9cd6b6adb77cde5933c9284721b6467763668f61ae6269ab80bf207333.getrawtransaction1_mempool.json",
    ),
  );
  const rawMempool = await rpc<Record<string, unknown>>(
    devnet,
    "getrawmempool",
    [true],
  );
  const theirsMempool = fixtureResult("rpc/getrawmempool_true.json") as Record<
    string,
    unknown
  >;
  assertSameShape(rawMempool[payment], Object.values(theirsMempool)[0]);
  assertSameShape(
    await rpc(devnet, "getmempoolinfo"),
    fixtureResult("rpc/getmempoolinfo_nonempty.json"),
  );
  const [blockHashMined] = await devnet.mine(1);
  await devnet.mine(1);
  const confirmed = await rpc(devnet, "getrawtransaction", [payment, true]);
  assertSameShape(
    confirmed,
    fixtureResult(
      "txs/mempool_evr_76961c9cd6b6adb77cde5933c9284721b6467763668f61ae6269ab80bf207333.getrawtransaction1.json",
    ),
  );
  const block161 =
    "blocks/0161_evr_sends_7b291358735924fa820519f367e7e0ec346144fbc6b1309a19dc7910baa8d62f";
  assertSameShape(
    await rpc(devnet, "getblock", [blockHashMined, 1]),
    fixtureResult(`${block161}.getblock1.json`),
  );
  assertSameShape(
    await rpc(devnet, "getblock", [blockHashMined, 2]),
    fixtureResult(`${block161}.getblock2.json`),
  );
  assertSameShape(
    await rpc(devnet, "getblockheader", [blockHashMined, true]),
    fixtureResult(`${block161}.getblockheader_true.json`),
  );
  assert.match(
    await rpc<string>(devnet, "getblockheader", [blockHashMined, false]),
    /^[0-9a-f]{160}$/,
  );
  for (
    const name of [
      "getblockchaininfo",
      "getnetworkinfo",
      "getdifficulty",
      "getbestblockhash",
      "getblockcount",
    ]
  ) {
    assertSameShape(
      await rpc(devnet, name),
      fixtureResult(`rpc/${name}.json`),
      name,
    );
  }
  assertSameShape(
    await rpc(devnet, "getmempoolinfo"),
    fixtureResult("rpc/getmempoolinfo_empty.json"),
  );
  assert.deepEqual(await rpc(devnet, "getrawmempool"), []);
  const hex = await rpc<string>(devnet, "getrawtransaction", [payment, 0]);
  assertSameShape(
    await rpc(devnet, "decoderawtransaction", [hex]),
    fixtureResult(
      "txs/mempool_evr_76961c9cd6b6adb77cde5933c9284721b6467763668f61ae6269ab80bf207333.decoderawtransaction.json",
    ),
  );
});

Deno.test("EvrmoreDevnet asset RPCs: issue, transfer, reissue, listings", async () => {
  await using devnet = await newDevnet();
  const to = await rpc<string>(devnet, "getnewaddress");
  const [issued] = await rpc<string[]>(devnet, "issue", [
    "MYASSET",
    1000,
    to,
    "",
    3,
    true,
    true,
    QM,
  ]);
  await rpc(devnet, "issue", ["OTHERASSET", 21000000, "", "", 0, false]);
  await assert.rejects(
    rpc(devnet, "issue", ["MYASSET", 1]),
    /-8 Invalid parameter/,
  );
  await devnet.mine(1);
  await rpc(devnet, "issue", ["MYASSET/SUB", 100]);
  await rpc(devnet, "issueunique", ["MYASSET", ["tag1", "tag2"], [QM, QM]]);
  await rpc(devnet, "issue", ["MYASSET~CHAN", 1, "", "", 0, false]);
  const [transferred] = await rpc<string[]>(devnet, "transfer", [
    "MYASSET",
    10.5,
    OUTSIDE,
  ]);
  await devnet.mine(1);
  await rpc(devnet, "reissue", ["MYASSET", 500, to]);
  await devnet.mine(1);
  const data = await rpc<Record<string, unknown>>(devnet, "getassetdata", [
    "MYASSET",
  ]);
  assert.deepEqual(data, {
    name: "MYASSET",
    amount: 1500,
    units: 3,
    reissuable: 1,
    has_ipfs: 1,
    ipfs_hash: QM,
  });
  assertSameShape(data, fixtureResult("rpc/getassetdata.json"));
  const raw = await post(
    devnet,
    JSON.stringify({ id: 1, method: "getassetdata", params: ["MYASSET"] }),
  );
  assert.match(raw.body, /"amount":1500\.000,/);
  const names = await rpc(devnet, "listassets", ["*", false]);
  assert.deepEqual(names, [
    "MYASSET",
    "OTHERASSET",
    "MYASSET/SUB",
    "MYASSET#tag1",
    "MYASSET#tag2",
    "MYASSET~CHAN",
  ]);
  const verbose = await rpc<Record<string, unknown>>(devnet, "listassets", [
    "MYASSET*",
    true,
  ]);
  assertSameShape(verbose, fixtureResult("rpc/listassets_3.json"));
  const holders = await rpc<Record<string, number>>(
    devnet,
    "listaddressesbyasset",
    ["MYASSET"],
  );
  assert.equal(holders[OUTSIDE], 10.5);
  assert.equal(Object.values(holders).reduce((a, b) => a + b, 0), 1500);
  assert.equal(
    await rpc(devnet, "listaddressesbyasset", ["MYASSET", true]),
    Object.keys(holders).length,
  );
  // Issue and transfer outputs decode as the node prints them.
  const issueTx = await rpc<
    {
      vout: {
        scriptPubKey: { type: string; asset?: Record<string, unknown> };
      }[];
    }
  >(
    devnet,
    "getrawtransaction",
    [issued, 1],
  );
  const assetOut = issueTx.vout.find((o) =>
    o.scriptPubKey.asset?.name === "MYASSET"
  )!;
  assert.equal(assetOut.scriptPubKey.type, "new_asset");
  const theirs = fixtureResult(
    "txs/issue_root_5628ec4017db817923fc7841ade052bf195d30e07ac79e86d2800b2c0311a73e.getrawtransaction1.json",
  ) as typeof issueTx;
  assertSameShape(assetOut.scriptPubKey, theirs.vout[3]!.scriptPubKey);
  const transferTx = await rpc<typeof issueTx>(devnet, "getrawtransaction", [
    transferred,
    1,
  ]);
  const sent = transferTx.vout.find((o) =>
    o.scriptPubKey.asset?.amount === 10.5
  )!;
  assert.equal(sent.scriptPubKey.type, "transfer_asset");
  await assert.rejects(
    rpc(devnet, "transfer", ["MYASSET", 99999999, OUTSIDE]),
    /-25 Insufficient asset funds/,
  );
  // The scripting API reports node errors as RpcError.
  await assert.rejects(devnet.transferAsset("NOPE", 1), (error: unknown) => {
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, -25);
    assert.equal(error.method, "transfer");
    assert.equal(error.message, "Cannot transfer: Insufficient asset funds");
    return true;
  });
  await assert.rejects(
    devnet.issueAsset("bad name", 1),
    (error: unknown) => error instanceof RpcError && error.code === -8,
  );
  await assert.rejects(devnet.sendPayment(OUTSIDE, -1), RangeError);
  await assert.rejects(
    rpc(devnet, "issue", ["IPFSBAD", 1, "", "", 0, true, true, "notahash"]),
    /-8 Invalid IPFS\/Txid hash/,
  );
});

Deno.test("EvrmoreDevnet publishes the node's ZMQ messages in order", async () => {
  await using devnet = await newDevnet();
  const collector = await Collector.open(devnet.zmqAddress);
  try {
    const start = await warmUp(devnet, collector);
    const pay = await devnet.sendPayment(OUTSIDE, 1.25);
    const issue = await devnet.issueAsset("ZMQASSET", 100);
    const [block] = await devnet.mine(1);
    const arrived = await collector.waitFor(() =>
      collector.messages.length >= start + 4 + 8
    );
    assert.ok(arrived, "all messages arrived");
    const got = collector.messages.slice(start);
    assert.deepEqual(got.map((m) => m.topic), [
      "hashtx",
      "rawtx",
      "hashtx",
      "rawtx",
      "hashtx",
      "rawtx",
      "hashtx",
      "rawtx",
      "hashtx",
      "rawtx",
      "hashblock",
      "rawblock",
    ]);
    assertConsecutive(collector.messages);
    assert.equal(bytesToHex(got[0]!.body), pay);
    assert.equal(bytesToHex(got[2]!.body), issue);
    assert.equal(bytesToHex(got[10]!.body), block);
    assert.equal(
      bytesToHex(got[11]!.body),
      await rpc(devnet, "getblock", [block, 0]),
    );
    // Block order: coinbase first, then the mempool transactions.
    const blockJson = await rpc<{ tx: string[] }>(devnet, "getblock", [
      block,
      1,
    ]);
    assert.deepEqual(
      [got[4], got[6], got[8]].map((m) => bytesToHex(m!.body)),
      blockJson.tx,
    );
    // Each rawtx decodes to what getrawtransaction says, minus chain context.
    for (const m of got.filter((m) => m.topic === "rawtx")) {
      const decoded = decodeTransaction(m.body, {
        network: "regtest",
        uninitialisedExpireTime: UNINITIALISED_EXPIRE_TIME,
      });
      const verbose = await rpc<Record<string, unknown>>(
        devnet,
        "getrawtransaction",
        [
          decoded.txid,
          1,
        ],
      );
      assert.deepEqual(
        JSON.parse(JSON.stringify(decoded)),
        stripContext(verbose),
      );
      assert.equal(bytesToHex(m.body), verbose.hex);
    }
  } finally {
    await collector.close();
  }
});

Deno.test("EvrmoreDevnet publishes rawmessage for channel messages", async () => {
  await using devnet = await newDevnet();
  await devnet.issueAsset("MSGASSET", 10);
  await devnet.mine(1);
  const collector = await Collector.open(devnet.zmqAddress);
  try {
    const start = await warmUp(devnet, collector);
    await devnet.sendMessage("MSGASSET!", QM, { expireTime: 1827167348 });
    const [block] = await devnet.mine(1);
    assert.ok(await collector.waitForBlock(block!));
    const got = collector.messages.slice(start);
    assert.deepEqual(got.map((m) => m.topic), [
      "hashtx",
      "rawtx",
      "rawmessage",
      "hashtx",
      "rawtx",
      "hashtx",
      "rawtx",
      "hashblock",
      "rawblock",
    ]);
    const height =
      (await rpc<{ height: number }>(devnet, "getblock", [block])).height;
    assert.equal(
      new TextDecoder().decode(got[2]!.body),
      `{"blockheight": ${height}, "assetname": "MSGASSET!", "ipfshash": "${QM}", "expiretime": 1827167348}`,
    );
  } finally {
    await collector.close();
  }
});

Deno.test("EvrmoreDevnet dropZmq() and pauseZmq() show as sequence gaps", async () => {
  await using devnet = await newDevnet();
  const collector = await Collector.open(devnet.zmqAddress);
  try {
    const start = await warmUp(devnet, collector);
    devnet.dropZmq(1);
    await devnet.sendPayment(undefined, 1);
    assert.ok(
      await collector.waitFor(() => collector.messages.length >= start + 1),
    );
    const rawtx = collector.messages[start]!;
    assert.equal(rawtx.topic, "rawtx"); // the hashtx was dropped
    devnet.pauseZmq();
    await devnet.mine(1); // 2 tx, hashblock, rawblock: all lost
    devnet.resumeZmq();
    const [block] = await devnet.mine(1);
    assert.ok(await collector.waitForBlock(block!));
    const after = collector.messages.slice(start + 1);
    const hashtx = after.find((m) => m.topic === "hashtx")!;
    const hashblock = after.find((m) => m.topic === "hashblock")!;
    assert.equal(bytesToHex(hashblock.body), block);
    const before = collector.messages.slice(0, start);
    const lastHashtx = before.findLast((m) => m.topic === "hashtx")!;
    const lastHashblock = before.findLast((m) => m.topic === "hashblock")!;
    // dropped: payment hashtx; paused: 2 hashtx (coinbase + payment) of one block.
    assert.equal(hashtx.seq, lastHashtx.seq + 4);
    assert.equal(hashblock.seq, lastHashblock.seq + 2);
  } finally {
    await collector.close();
  }
});

Deno.test("EvrmoreDevnet restartZmq() restarts sequences at 0", async () => {
  await using devnet = await newDevnet();
  const address = devnet.zmqAddress;
  let collector = await Collector.open(address);
  try {
    await warmUp(devnet, collector);
    const last = (await devnet.mine(3)).at(-1)!;
    assert.ok(await collector.waitForBlock(last));
    const before = collector.messages.findLast((m) => m.topic === "hashblock")!;
    assert.ok(before.seq >= 3);
    await collector.close();
    await devnet.restartZmq();
    assert.equal(devnet.zmqAddress, address);
    // Like a node restart: subscribers connect again and see counters from 0.
    collector = await Collector.open(address);
    const mark = await warmUp(devnet, collector);
    const first = collector.messages.slice(0, mark).find((m) =>
      m.topic === "hashblock"
    )!;
    const blocksSinceRestart = devnet.height - (await rpc<{ height: number }>(
      devnet,
      "getblock",
      [bytesToHex(before.body)],
    )).height;
    assert.ok(
      first.seq < blocksSinceRestart,
      `seq ${first.seq} < ${blocksSinceRestart}`,
    );
    assert.equal(
      first.seq,
      blocksSinceRestart - 1 - (devnet.height - (await rpc<{ height: number }>(
        devnet,
        "getblock",
        [bytesToHex(first.body)],
      )).height),
    );
  } finally {
    await collector.close();
  }
});

Deno.test("EvrmoreDevnet reorg() replaces blocks and republishes", async () => {
  await using devnet = await newDevnet();
  const collector = await Collector.open(devnet.zmqAddress);
  try {
    const start = await warmUp(devnet, collector);
    const pay = await devnet.sendPayment(OUTSIDE, 3);
    const [old1] = await devnet.mine(1);
    const [old2] = await devnet.mine(1);
    const height = devnet.height;
    const replacement = await devnet.reorg(2);
    assert.equal(replacement.length, 3);
    assert.equal(devnet.height, height + 1);
    assert.equal(devnet.tip, replacement[2]);
    const stale = await rpc<{ confirmations: number }>(devnet, "getblock", [
      old1,
    ]);
    assert.equal(stale.confirmations, -1);
    assert.equal(
      await rpc(devnet, "getblockhash", [height - 1]),
      replacement[0],
    );
    assert.notEqual(replacement[0], old1);
    assert.notEqual(replacement[1], old2);
    const tx = await rpc<{ blockhash: string }>(devnet, "getrawtransaction", [
      pay,
      1,
    ]);
    assert.equal(tx.blockhash, replacement[0]);
    assert.ok(
      await collector.waitFor(() =>
        collector.messages.some((m) =>
          m.topic === "hashblock" && bytesToHex(m.body) === replacement[2]
        )
      ),
    );
    const blocks = collector.messages.slice(start).filter((m) =>
      m.topic === "hashblock"
    )
      .map((m) => bytesToHex(m.body));
    assert.deepEqual(blocks, [old1, old2, ...replacement]);
    const payments = collector.messages.slice(start).filter((m) =>
      m.topic === "hashtx" && bytesToHex(m.body) === pay
    );
    // mempool entry, first block, back to the mempool, replacement block
    assert.equal(payments.length, 4);
    assertConsecutive(collector.messages);
  } finally {
    await collector.close();
  }
});

Deno.test("EvrmoreDevnet blocks and transactions round-trip through the encoder", async () => {
  await using devnet = await newDevnet();
  await devnet.sendPayment(OUTSIDE, 1);
  await devnet.issueAsset("ROUNDTRIP", 5, { ipfsHash: QM });
  await devnet.mine(1);
  await devnet.transferAsset("ROUNDTRIP", 2, {
    toAddress: OUTSIDE,
    message: QM,
  });
  await devnet.mine(1);
  let previous = "";
  for (let h = 0; h <= devnet.height; h++) {
    const hash = await rpc<string>(devnet, "getblockhash", [h]);
    const hex = await rpc<string>(devnet, "getblock", [hash, 0]);
    const block = parseBlock(hexToBytes(hex), { network: "regtest" });
    assert.equal(bytesToHex(serializeBlock(block)), hex);
    assert.equal(blockHash(block.header, "regtest"), hash);
    assert.equal(block.header.version, h === 0 ? 4 : 0x30000000);
    assert.equal(block.header.bits, 0x207fffff);
    if (h > 0) assert.equal(block.header.prevHash, previous);
    const ids = block.transactions.map((tx) => txidOf(tx));
    assert.equal(merkleRoot(ids), block.header.merkleRoot);
    for (const tx of block.transactions) {
      assert.deepEqual(parseTransaction(serializeTransaction(tx)), tx);
    }
    if (h > 0) {
      const coinbase = block.transactions[0]!;
      assert.equal(
        coinbase.outputs.at(-1)!.script.slice(0, 6).toString(),
        "106,36,170,33,169,237",
      );
      assert.equal(coinbase.inputs[0]!.witness.length, 1);
    }
    previous = hash;
  }
});

Deno.test("EvrmoreDevnet signs wallet inputs with real ECDSA signatures", async () => {
  await using devnet = await newDevnet();
  const txid = await devnet.sendPayment(OUTSIDE, 1);
  const hex = await rpc<string>(devnet, "getrawtransaction", [txid, 0]);
  const tx = parseTransaction(hexToBytes(hex));
  const input = tx.inputs[0]!;
  const prevHex = await rpc<string>(devnet, "getrawtransaction", [
    input.txid,
    0,
  ]);
  const prevScript =
    parseTransaction(hexToBytes(prevHex)).outputs[input.vout]!.script;
  // scriptSig: <sig+hashtype> [<pubkey>] (P2PK coinbase outputs have no pubkey push)
  const sig = input.scriptSig.subarray(1, 1 + input.scriptSig[0]!);
  assert.equal(sig.at(-1), 1, "SIGHASH_ALL");
  const pubkey = prevScript.length === 35
    ? prevScript.subarray(1, 34)
    : input.scriptSig.subarray(2 + sig.length);
  const preimage = serializeTransaction({
    ...tx,
    inputs: tx.inputs.map((other, i) => ({
      ...other,
      scriptSig: i === 0 ? prevScript : new Uint8Array(0),
    })),
  });
  const full = new Uint8Array([...preimage, 1, 0, 0, 0]);
  const uncompressed = new Uint8Array(
    ECDH.convertKey(
      pubkey,
      "secp256k1",
      undefined,
      undefined,
      "uncompressed",
    ) as Uint8Array,
  );
  const b64 = (b: Uint8Array) =>
    btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_")
      .replace(/=+$/, "");
  const key = createPublicKey({
    key: {
      kty: "EC",
      crv: "secp256k1",
      x: b64(uncompressed.subarray(1, 33)),
      y: b64(uncompressed.subarray(33, 65)),
    },
    format: "jwk",
  });
  const once = createHash("sha256").update(full).digest();
  assert.ok(verify("sha256", once, key, sig.subarray(0, -1)));
});

Deno.test("EvrmoreDevnet sendrawtransaction accepts, deduplicates and rejects like the node", async () => {
  await using devnet = await newDevnet();
  const parent = await devnet.sendPayment(OUTSIDE, 5);
  const parentHex = await rpc<string>(devnet, "getrawtransaction", [parent, 0]);
  // Already in the mempool: the node answers with the txid.
  assert.equal(await rpc(devnet, "sendrawtransaction", [parentHex]), parent);
  const tx = parseTransaction(hexToBytes(parentHex));
  // Same inputs, other outputs: a mempool conflict.
  const conflict = { ...tx, outputs: [{ ...tx.outputs[0]!, value: 1n }] };
  await assert.rejects(
    rpc(devnet, "sendrawtransaction", [
      bytesToHex(serializeTransaction(conflict)),
    ]),
    /-26 18: txn-mempool-conflict/,
  );
  // Unknown inputs.
  const orphan = {
    ...tx,
    inputs: [{ ...tx.inputs[0]!, txid: "11".repeat(32) }],
  };
  await assert.rejects(
    rpc(devnet, "sendrawtransaction", [
      bytesToHex(serializeTransaction(orphan)),
    ]),
    /-25 Missing inputs/,
  );
  // A child spending the parent's payment output enters the mempool and is mined.
  const paid = tx.outputs.findIndex((o) => o.value === 500_000_000n);
  const child = {
    version: 2,
    inputs: [{
      txid: parent,
      vout: paid,
      scriptSig: new Uint8Array(0),
      sequence: 0xffffffff,
      witness: [],
    }],
    outputs: [{ value: 400_000_000n, script: tx.outputs[paid]!.script }],
    locktime: 0,
  };
  const childId = await rpc<string>(devnet, "sendrawtransaction", [
    bytesToHex(serializeTransaction(child)),
  ]);
  assert.equal(childId, txidOf(child));
  const entry = await rpc<
    { depends: string[]; fee: number; ancestorcount: number }
  >(
    devnet,
    "getmempoolentry",
    [childId],
  );
  assert.deepEqual(entry.depends, [parent]);
  assert.equal(entry.fee, 1);
  assert.equal(entry.ancestorcount, 2);
  const [block] = await devnet.mine(1);
  const json = await rpc<{ tx: string[] }>(devnet, "getblock", [block]);
  assert.deepEqual(json.tx.slice(1), [parent, childId]);
  await assert.rejects(
    rpc(devnet, "sendrawtransaction", [parentHex]),
    /-27 transaction already in block chain/,
  );
});

Deno.test("EvrmoreDevnet serializes concurrent operations", async () => {
  await using devnet = await newDevnet();
  const txids = await Promise.all(
    Array.from(
      { length: 12 },
      (_, i) => devnet.sendPayment(OUTSIDE, 1 + i / 10),
    ),
  );
  assert.equal(new Set(txids).size, 12);
  const mempool = await rpc<string[]>(devnet, "getrawmempool");
  assert.deepEqual([...mempool].sort(), [...txids].sort());
  const [block] = await devnet.mine(1);
  const json = await rpc<{ tx: string[] }>(devnet, "getblock", [block]);
  assert.equal(json.tx.length, 13);
  const aborted = new AbortController();
  aborted.abort(new Error("enough"));
  await assert.rejects(devnet.mine(5, { signal: aborted.signal }), /enough/);
  await assert.rejects(devnet.mine(-1), RangeError);
  await assert.rejects(devnet.reorg(0), RangeError);
});

Deno.test("EvrmoreDevnet answers 500 Work queue depth exceeded beyond its queue", async () => {
  await using devnet = new EvrmoreDevnet({
    rpcUser: "evr",
    rpcPassword: "evrpass",
    authDelayMs: 100,
    rpcWorkQueue: 0,
    rpcThreads: 1,
    zmq: false,
    initialBlocks: 0,
  });
  await devnet.start();
  const body = JSON.stringify({ id: 1, method: "getblockcount" });
  const slow = post(devnet, body, "/", "evr:wrong"); // holds the only worker
  let rejected: Reply | undefined;
  for (let i = 0; i < 20 && rejected === undefined; i++) {
    const reply = await post(devnet, body); // 200 only if it overtook `slow`
    if (reply.status === 500) rejected = reply;
  }
  assert.ok(rejected);
  assert.equal(rejected.body, "Work queue depth exceeded");
  assert.equal((await slow).status, 401);
  assert.equal((await post(devnet, body)).status, 200);
});

Deno.test("EvrmoreDevnet stopRpc() and startRpc() keep the port", async () => {
  await using devnet = await newDevnet();
  const url = devnet.rpcUrl;
  await devnet.stopRpc();
  await assert.rejects(post(devnet, "{}"));
  await devnet.startRpc();
  assert.equal(devnet.rpcUrl, url);
  assert.equal(await rpc(devnet, "getblockcount"), devnet.height);
});

Deno.test("EvrmoreDevnet startAutoMine() mines blocks with transactions", async () => {
  await using devnet = await newDevnet();
  const collector = await Collector.open(devnet.zmqAddress);
  try {
    const height = devnet.height;
    devnet.startAutoMine({ intervalMs: 80 });
    const deadline = Date.now() + 5000;
    while (devnet.height < height + 3 && Date.now() < deadline) {
      await collector.waitFor(() => false, 50);
    }
    devnet.stopAutoMine();
    assert.ok(devnet.height >= height + 3);
    let withTxs = 0;
    for (let h = height + 1; h <= devnet.height; h++) {
      const hash = await rpc<string>(devnet, "getblockhash", [h]);
      const block = await rpc<{ tx: string[] }>(devnet, "getblock", [hash]);
      if (block.tx.length > 1) withTxs++;
    }
    assert.ok(withTxs >= 1);
  } finally {
    await collector.close();
  }
});

Deno.test("EvrmoreDevnet stop() is idempotent and help lists methods", async () => {
  const devnet = await newDevnet();
  assert.match(await rpc<string>(devnet, "help"), /getblockhash height/);
  assert.equal(
    await rpc(devnet, "help", ["getblock"]),
    'getblock "blockhash" ( verbosity ) ',
  );
  await devnet.stop();
  await devnet.stop();
  await devnet[Symbol.asyncDispose]();
});

Deno.test("EvrmoreDevnet works with EvrmoreRPCClient and EvrmoreZMQClient", async () => {
  const { EvrmoreRPCClient } = await import("../lib/rpc/mod.ts");
  const { EvrmoreZMQClient } = await import("../lib/zmq/mod.ts");
  await using devnet = await newDevnet();
  await using client = new EvrmoreRPCClient({
    url: devnet.rpcUrl,
    user: devnet.rpcUser,
    password: devnet.rpcPassword,
  });
  assert.equal(await client.call("getblockcount"), devnet.height);
  await using zmq = new EvrmoreZMQClient({
    address: devnet.zmqAddress,
    network: "regtest",
  });
  const hashes: string[] = [];
  zmq.on("hashblock", (n) => {
    hashes.push(n.hex);
  });
  await zmq.start();
  const deadline = Date.now() + 5000;
  let mined: string[] = [];
  while (hashes.length === 0 && Date.now() < deadline) {
    mined = mined.concat(await devnet.mine(1));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(hashes.length > 0);
  assert.ok(mined.includes(hashes[0]!));
});
