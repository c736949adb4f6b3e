import assert from "node:assert/strict";
import {
  AuthError,
  ConnectionError,
  RpcError,
  TimeoutError,
} from "../lib/errors.ts";
import {
  EvrmoreRPCClient,
  READ_ONLY_METHODS,
  RpcValidationError,
} from "../lib/rpc/mod.ts";
import {
  clientFor,
  FIXTURES_DIR,
  startFixtureRpcServer,
} from "./_rpc_fixture_server.ts";

const HELP_DIR = `${FIXTURES_DIR}/help`;

function resultOf(text: string): unknown {
  return (JSON.parse(text) as { result: unknown }).result;
}

async function fixtureFiles(
  sub: string,
  pattern: RegExp,
): Promise<{ name: string; match: RegExpExecArray }[]> {
  const out: { name: string; match: RegExpExecArray }[] = [];
  for await (const entry of Deno.readDir(`${FIXTURES_DIR}/${sub}`)) {
    const match = pattern.exec(entry.name);
    if (match !== null) out.push({ name: entry.name, match });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function read(path: string): Promise<string> {
  return Deno.readTextFile(`${FIXTURES_DIR}/${path}`);
}

/** A free local port with nothing listening on it. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("EvrmoreRPCClient has one method per node command", async () => {
  const commands = (await Deno.readTextFile(`${HELP_DIR}/_commands.txt`))
    .split("\n").map((l) => l.trim()).filter((l) => /^[a-z]\w*$/.test(l));
  assert.equal(commands.length, 171);
  const client = new EvrmoreRPCClient({ env: false });
  const methods = client as unknown as Record<string, unknown>;
  for (const command of commands) {
    assert.equal(typeof methods[command], "function", command);
  }
  await client.close();
});

Deno.test("EvrmoreRPCClient typed chain reads validate against the captured answers", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);

  assert.deepEqual(
    await client.getblockchaininfo(),
    resultOf(await read("rpc/getblockchaininfo.json")),
  );
  assert.equal(await client.getblockcount(), 177);
  assert.equal(
    await client.getbestblockhash(),
    resultOf(await read("rpc/getbestblockhash.json")),
  );
  assert.deepEqual(
    await client.getnetworkinfo(),
    resultOf(await read("rpc/getnetworkinfo.json")),
  );

  const blocks = await fixtureFiles(
    "blocks",
    /^(\d+)_.*_([0-9a-f]{64})\.hex$/,
  );
  assert.ok(blocks.length >= 19);
  let verbose2 = 0;
  for (const { match } of blocks) {
    const height = Number(match[1]);
    const hash = match[2] ?? "";
    const base = match.input.replace(/\.hex$/, "");
    assert.equal(await client.getblockhash(height), hash);
    const block1 = await client.getblock(hash);
    assert.deepEqual(
      block1,
      resultOf(await read(`blocks/${base}.getblock1.json`)),
    );
    assert.equal(block1.hash, hash);
    assert.deepEqual(
      await client.getblock(hash, 1),
      resultOf(await read(`blocks/${base}.getblock1.json`)),
    );
    assert.deepEqual(
      await client.getblockheader(hash),
      resultOf(await read(`blocks/${base}.getblockheader_true.json`)),
    );
    assert.deepEqual(
      await client.getblockheader(hash, false),
      resultOf(await read(`blocks/${base}.getblockheader_false.json`)),
    );
    if (height === 0) continue; // the genesis has no verbosity 0/2 dumps
    const raw = await client.getblock(hash, 0);
    assert.equal(raw, (await read(`blocks/${base}.hex`)).trim());
    const block2 = await client.getblock(hash, 2);
    assert.deepEqual(
      block2,
      resultOf(await read(`blocks/${base}.getblock2.json`)),
    );
    assert.equal(block2.tx.length, block1.tx.length);
    verbose2++;
  }
  assert.ok(verbose2 >= 18);
});

Deno.test("EvrmoreRPCClient.getblock() keeps the node's expire_time above 2^53 as JSON.parse reads it", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  const [issue] = await fixtureFiles("blocks", /^0162_.*_([0-9a-f]{64})\.hex$/);
  assert.ok(issue);
  const block = await client.getblock(issue.match[1] ?? "", 2);
  const assets = block.tx.flatMap((tx) => tx.vout)
    .map((out) => out.scriptPubKey.asset)
    .filter((asset) => asset?.expire_time !== undefined);
  assert.ok(assets.length > 0);
  for (const asset of assets) {
    assert.equal(asset?.expire_time, 8387847183396104000);
  }
});

Deno.test("EvrmoreRPCClient typed transaction reads validate against the captured answers", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  const txs = await fixtureFiles("txs", /^(.*)_([0-9a-f]{64})\.hex$/);
  assert.ok(txs.length >= 25);
  let verbose = 0;
  for (const { match } of txs) {
    const txid = match[2] ?? "";
    const base = match.input.replace(/\.hex$/, "");
    const hex = (await read(`txs/${base}.hex`)).trim();
    const decoded = await client.decoderawtransaction(hex);
    assert.deepEqual(
      decoded,
      resultOf(await read(`txs/${base}.decoderawtransaction.json`)),
    );
    assert.equal(decoded.txid, txid);
    const answer1 = server.lookup("getrawtransaction", [txid, true]);
    if (answer1 !== undefined) {
      const info = await client.getrawtransaction(txid, true);
      assert.deepEqual(info, resultOf(answer1.body));
      assert.equal(info.hex, hex);
      assert.deepEqual(await client.getrawtransaction(txid, 1), info);
      verbose++;
    }
    const answer0 = server.lookup("getrawtransaction", [txid]);
    if (answer0 !== undefined) {
      assert.equal(await client.getrawtransaction(txid), hex);
      assert.equal(await client.getrawtransaction(txid, false), hex);
    }
  }
  assert.ok(verbose >= 25);
});

Deno.test("EvrmoreRPCClient typed mempool reads validate against the captured answers", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  for (const file of ["empty", "nonempty", "after_mining"]) {
    const body = await read(`rpc/getmempoolinfo_${file}.json`);
    server.setAnswer("getmempoolinfo", [], { status: 200, body });
    assert.deepEqual(await client.getmempoolinfo(), resultOf(body));
  }
  for (const file of ["getrawmempool_false", "getrawmempool_false_nonempty"]) {
    const body = await read(`rpc/${file}.json`);
    server.setAnswer("getrawmempool", [], { status: 200, body });
    const ids = await client.getrawmempool();
    assert.deepEqual(ids, resultOf(body));
    server.setAnswer("getrawmempool", [false], { status: 200, body });
    assert.deepEqual(await client.getrawmempool(false), ids);
  }
  for (
    const file of [
      "getrawmempool",
      "getrawmempool_true",
      "getrawmempool_true_nonempty",
    ]
  ) {
    const body = await read(`rpc/${file}.json`);
    server.setAnswer("getrawmempool", [true], { status: 200, body });
    assert.deepEqual(await client.getrawmempool(true), resultOf(body));
  }
  const entry = await read("rpc/getmempoolentry.json");
  server.setAnswer("getmempoolentry", undefined, { status: 200, body: entry });
  assert.deepEqual(
    await client.getmempoolentry("00".repeat(32)),
    resultOf(entry),
  );
});

Deno.test("EvrmoreRPCClient typed asset reads validate against the captured answers", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  assert.deepEqual(
    await client.listassets("*", true),
    resultOf(await read("rpc/listassets.json")),
  );
  assert.deepEqual(
    await client.listassets("*", false),
    resultOf(await read("rpc/listassets_2.json")),
  );
  assert.deepEqual(
    await client.listassets("MYASSET*", true),
    resultOf(await read("rpc/listassets_3.json")),
  );
  const names = [
    "MYASSET",
    "MYASSET/SUB",
    "MYASSET#tag1",
    "$MYASSET",
    "#KYC",
    "OTHERASSET",
    "MYASSET~CHAN",
  ];
  for (const [i, name] of names.entries()) {
    const file = i === 0 ? "getassetdata" : `getassetdata_${i + 1}`;
    const data = await client.getassetdata(name);
    assert.deepEqual(data, resultOf(await read(`rpc/${file}.json`)));
    assert.equal(data?.name, name);
  }
  assert.equal(await client.getassetdata("NOSUCHASSET"), null);
  assert.deepEqual(
    await client.listaddressesbyasset("MYASSET"),
    resultOf(await read("rpc/listaddressesbyasset.json")),
  );
  assert.equal(await client.listaddressesbyasset("MYASSET", true), 4);
});

Deno.test("EvrmoreRPCClient rejects an answer of the wrong shape with RpcValidationError naming the field", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  const [block] = await fixtureFiles("blocks", /^0161_.*_([0-9a-f]{64})\.hex$/);
  const hash = block?.match[1] ?? "";
  const good = JSON.parse(
    server.lookup("getblock", [hash, 2])?.body ?? "null",
  );
  good.result.tx[1].vout[0].value = "12.5";
  server.setAnswer("getblock", [hash, 2], {
    status: 200,
    body: JSON.stringify(good),
  });
  const error = await client.getblock(hash, 2).then(
    () => assert.fail("expected a validation error"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RpcValidationError);
  assert.equal(error.method, "getblock");
  assert.equal(error.field, "tx[1].vout[0].value");
  assert.match(
    error.message,
    /^Cannot validate getblock result: field tx\[1\]\.vout\[0\]\.value/,
  );

  server.setAnswer("getblockcount", [], {
    status: 200,
    body: '{"result":"177","error":null,"id":1}',
  });
  await assert.rejects(client.getblockcount(), RpcValidationError);
  // Validation can be turned off.
  await using loose = clientFor(server, { validate: false });
  assert.equal(await loose.getblockcount(), "177");
});

Deno.test("EvrmoreRPCClient.call() keeps the node's error code, message and status", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  const cases: [() => Promise<unknown>, number, number, string, string][] = [
    [
      () => client.getblock("00".repeat(32)),
      -5,
      500,
      "getblock",
      "Cannot call getblock: Block not found",
    ],
    [
      () => client.getblockheader("00".repeat(32)),
      -5,
      500,
      "getblockheader",
      "Cannot call getblockheader: Block not found",
    ],
    [
      () => client.call("nosuchmethod"),
      -32601,
      404,
      "nosuchmethod",
      "Cannot call nosuchmethod: Method not found",
    ],
    [
      () => client.getblockhash(999999),
      -8,
      500,
      "getblockhash",
      "Cannot call getblockhash: Block height out of range",
    ],
    [
      () => client.getrawtransaction("nothex", true),
      -8,
      500,
      "getrawtransaction",
      "Cannot call getrawtransaction: parameter 1 must be hexadecimal string (not 'nothex')",
    ],
    [
      () => client.getrawtransaction("00".repeat(32), true),
      -5,
      500,
      "getrawtransaction",
      "Cannot call getrawtransaction: No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
    ],
    [
      () => client.decoderawtransaction("00"),
      -22,
      500,
      "decoderawtransaction",
      "Cannot call decoderawtransaction: TX decode failed",
    ],
    [
      () => client.call("getblockhash", ["abc"]),
      -1,
      500,
      "getblockhash",
      "Cannot call getblockhash: JSON value is not an integer as expected",
    ],
  ];
  for (const [run, code, status, method, message] of cases) {
    const error = await run().then(
      () => assert.fail(`expected ${method} to fail`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RpcError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    assert.equal(error.method, method);
    assert.equal(error.message, message);
  }
  // Any captured error body, with its captured status.
  for (
    const name of [
      "err_insufficient_funds_real",
      "err_transfer_insufficient_asset",
    ]
  ) {
    const body = await read(`errors/${name}.body`);
    const status = Number((await read(`errors/${name}.status`)).trim());
    server.setAnswer("sendtoaddress", undefined, { status, body });
    const error = await client.sendtoaddress(
      "n1BurnXXXXXXXXXXXXXXXXXXXXXXU1qejP",
      1,
    )
      .then(() => assert.fail("expected an error"), (e: unknown) => e);
    assert.ok(error instanceof RpcError);
    const expected =
      (JSON.parse(body) as { error: { code: number } }).error.code;
    assert.equal(error.code, expected);
  }
});

Deno.test("EvrmoreRPCClient.call() rejects on HTTP 401 with AuthError naming the credential source", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server, { password: "wrong" });
  const error = await client.getblockcount().then(
    () => assert.fail("expected AuthError"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AuthError);
  assert.match(error.message, /^Cannot call getblockcount: /);
  assert.match(error.message, /options\.user and options\.password|options/);
  assert.match(error.message, /HTTP 401/);
  assert.doesNotMatch(error.message, /wrong/);
  // Not retried, even though getblockcount is read-only.
  assert.equal(server.requests, 1);

  await using anonymous = new EvrmoreRPCClient({
    url: server.url,
    env: false,
    datadir: "/nonexistent-evrmore-datadir",
  });
  await assert.rejects(anonymous.getblockcount(), (e: unknown) => {
    assert.ok(e instanceof AuthError);
    assert.match(e.message, /no credentials/);
    return true;
  });
});

Deno.test("EvrmoreRPCClient.call() rejects with TimeoutError when the node does not answer in time", async () => {
  await using server = await startFixtureRpcServer();
  server.intercept = async ({ closed }) => {
    await closed;
    return { status: 200, body: '{"result":1,"error":null,"id":1}' };
  };
  await using client = clientFor(server, { timeout: 50, retries: 5 });
  const error = await client.getblockcount().then(
    () => assert.fail("expected TimeoutError"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TimeoutError);
  assert.ok(error instanceof ConnectionError);
  assert.equal(
    error.message,
    "Cannot call getblockcount: no answer within 50 ms",
  );
  // A per-call timeout overrides the client's.
  await assert.rejects(
    client.call("getblockcount", [], { timeout: 20 }),
    /no answer within 20 ms/,
  );
  // Timeouts are not retried.
  assert.equal(server.requests, 2);
  await server.close();
});

Deno.test("EvrmoreRPCClient.call() rejects with the caller's abort reason", async () => {
  await using server = await startFixtureRpcServer();
  const arrived = Promise.withResolvers<void>();
  server.intercept = async ({ closed }) => {
    arrived.resolve();
    await closed;
    return undefined;
  };
  await using client = clientFor(server);
  const controller = new AbortController();
  const pending = client.getblockcount({ signal: controller.signal });
  await arrived.promise;
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(pending, (e: unknown) => e === reason);
  // An already-aborted signal rejects at once.
  await assert.rejects(
    client.getblockcount({ signal: AbortSignal.abort(reason) }),
    (e: unknown) => e === reason,
  );
  await server.close();
});

Deno.test("EvrmoreRPCClient.call() rejects with ConnectionError naming the URL when the node is unreachable", async () => {
  const port = closedPort();
  await using client = new EvrmoreRPCClient({
    url: `http://127.0.0.1:${port}/`,
    user: "u",
    password: "p",
    env: false,
    retryDelay: 1,
  });
  const error = await client.getblockcount().then(
    () => assert.fail("expected ConnectionError"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectionError);
  assert.ok(!(error instanceof TimeoutError));
  assert.match(
    error.message,
    new RegExp(`^Cannot connect to http://127\\.0\\.0\\.1:${port}/: `),
  );
});

Deno.test("EvrmoreRPCClient queues calls beyond maxConcurrency", async () => {
  await using server = await startFixtureRpcServer();
  const cap = 3;
  const total = 12;
  const held: (() => void)[] = [];
  let arrival = Promise.withResolvers<void>();
  server.intercept = ({ closed }) => {
    assert.ok(server.inFlight <= cap, `in flight ${server.inFlight} > ${cap}`);
    const release = Promise.withResolvers<void>();
    held.push(release.resolve);
    arrival.resolve();
    return Promise.race([release.promise, closed]).then(() => undefined);
  };
  // Identical calls: single-flight (on by default) would share one request.
  await using client = clientFor(server, {
    maxConcurrency: cap,
    singleFlight: false,
  });
  const calls = Array.from({ length: total }, () => client.getblockcount());
  const settled = Promise.allSettled(calls);
  let answered = 0;
  while (answered < total) {
    // Wait until the cap is full (or everything left is in flight).
    while (held.length < Math.min(cap, total - answered)) {
      await arrival.promise;
      arrival = Promise.withResolvers<void>();
    }
    assert.ok(server.inFlight <= cap);
    assert.equal(held.length, Math.min(cap, total - answered));
    held.shift()?.();
    answered++;
  }
  assert.deepEqual(
    (await settled).map((r) => r.status === "fulfilled" ? r.value : r.reason),
    Array(total).fill(177),
  );
  assert.equal(server.maxInFlight, cap);
  assert.equal(server.requests, total);
});

Deno.test("EvrmoreRPCClient retries only read-only methods when the work queue is full", async () => {
  assert.ok(READ_ONLY_METHODS.has("getblockcount"));
  assert.ok(!READ_ONLY_METHODS.has("sendtoaddress"));
  await using server = await startFixtureRpcServer();
  let failures = 2;
  server.intercept = () => {
    if (failures <= 0) return undefined;
    failures--;
    return {
      status: 500,
      body: "Work queue depth exceeded",
      headers: { "Content-Type": "text/html; charset=ISO-8859-1" },
    };
  };
  await using client = clientFor(server, { retryDelay: 1, retries: 3 });
  assert.equal(await client.getblockcount(), 177);
  assert.equal(server.requests, 3);

  failures = 2;
  const error = await client.sendtoaddress(
    "n1BurnXXXXXXXXXXXXXXXXXXXXXXU1qejP",
    1,
  )
    .then(() => assert.fail("expected ConnectionError"), (e: unknown) => e);
  assert.ok(error instanceof ConnectionError);
  assert.match(error.message, /Work queue depth exceeded/);
  assert.equal(server.requests, 4);

  // Retries run out.
  failures = 10;
  await using once = clientFor(server, { retryDelay: 1, retries: 1 });
  await assert.rejects(once.getblockcount(), /Work queue depth exceeded/);
  assert.equal(server.requests, 6);
});

Deno.test("EvrmoreRPCClient retries read-only methods after a dropped connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let accepted = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      accepted++;
      conn.close();
    }
  })();
  const client = new EvrmoreRPCClient({
    url: `http://127.0.0.1:${port}/`,
    user: "u",
    password: "p",
    env: false,
    retries: 2,
    retryDelay: 1,
  });
  await assert.rejects(client.getblockcount(), ConnectionError);
  assert.equal(accepted, 3);
  await assert.rejects(
    client.sendtoaddress("n1BurnXXXXXXXXXXXXXXXXXXXXXXU1qejP", 1),
    ConnectionError,
  );
  assert.equal(accepted, 4);
  await client.close();
  listener.close();
  await accepting;
});

Deno.test("EvrmoreRPCClient.batch() returns each call's result or error in order", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  const results = await client.batch([
    { method: "getblockcount" },
    { method: "nosuchmethod", params: [] },
    { method: "getblockhash", params: ["x"] },
    { method: "getblockhash", params: [0] },
    { method: "getblock", params: ["00".repeat(32)] },
    { method: "getassetdata", params: ["NOSUCHASSET"] },
  ]);
  assert.equal(results.length, 6);
  assert.deepEqual(results[0], { result: 177 });
  const codes = [results[1], results[2], results[4]].map((r) =>
    r?.error instanceof RpcError ? r.error.code : undefined
  );
  assert.deepEqual(codes, [-32601, -1, -5]);
  assert.equal(
    results[1]?.error?.message,
    "Cannot call nosuchmethod: Method not found",
  );
  assert.equal((results[4]?.error as RpcError).method, "getblock");
  assert.match(String(results[3]?.result), /^[0-9a-f]{64}$/);
  assert.deepEqual(results[5], { result: null });
  // One HTTP request, in the node's batch format.
  assert.equal(server.requests, 1);
  assert.deepEqual(server.calls.map((c) => c.method), [
    "getblockcount",
    "nosuchmethod",
    "getblockhash",
    "getblockhash",
    "getblock",
    "getassetdata",
  ]);
  // The node answers [] for [].
  assert.deepEqual(await client.batch([]), []);
  assert.equal(server.requests, 2);
});

Deno.test("EvrmoreRPCClient.batch() validates each typed answer on its own", async () => {
  await using server = await startFixtureRpcServer();
  server.setAnswer("getbestblockhash", [], {
    status: 200,
    body: '{"result":"nothex","error":null,"id":1}',
  });
  await using client = clientFor(server);
  const [count, best] = await client.batch([
    { method: "getblockcount" },
    { method: "getbestblockhash" },
  ]);
  assert.deepEqual(count, { result: 177 });
  assert.ok(best?.error instanceof RpcValidationError);
});

Deno.test("EvrmoreRPCClient turns garbage answers into errors", async () => {
  await using server = await startFixtureRpcServer();
  await using client = clientFor(server);
  const answers = [
    {
      status: 200,
      body: "<html>not json</html>",
      pattern: /is not JSON \(HTTP 200\)/,
    },
    {
      status: 200,
      body: "",
      pattern: /is not JSON \(HTTP 200\): an empty body/,
    },
    { status: 200, body: '{"foo":1}', pattern: /is not a JSON-RPC reply/ },
    { status: 200, body: "[1,2]", pattern: /is not a JSON-RPC reply/ },
    { status: 502, body: "Bad Gateway", pattern: /is not JSON \(HTTP 502\)/ },
    { status: 404, body: "", pattern: /HTTP 404 \(check the URL path\)/ },
  ];
  for (const { status, body, pattern } of answers) {
    server.intercept = () => ({ status, body });
    const error = await client.call("getblockcount").then(
      () => assert.fail(`expected an error for ${body}`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, pattern);
  }
  server.intercept = () => ({
    status: 500,
    body: '{"result":null,"error":"boom","id":1}',
  });
  await assert.rejects(client.call("getblockcount"), (e: unknown) => {
    assert.ok(e instanceof RpcError);
    assert.match(e.message, /malformed error/);
    return true;
  });
  server.intercept = () => ({ status: 200, body: '{"error":null}' });
  await assert.rejects(
    client.batch([{ method: "getblockcount" }]),
    ConnectionError,
  );
});

Deno.test("EvrmoreRPCClient sends the node's JSON-RPC 1.0 body to the URL path, wallet included", async () => {
  await using server = await startFixtureRpcServer();
  const bodies: string[] = [];
  const paths: string[] = [];
  server.onRequest = ({ body, request }) => {
    bodies.push(body);
    paths.push(new URL(request.url).pathname);
  };
  await using client = clientFor(server, { wallet: "wallet.dat" });
  assert.equal((await client.config()).url, `${server.url}wallet/wallet.dat`);
  await client.listassets(undefined, true);
  await client.getblockhash(1);
  const first = JSON.parse(bodies[0] ?? "");
  assert.deepEqual(Object.keys(first), ["jsonrpc", "id", "method", "params"]);
  assert.equal(first.jsonrpc, "1.0");
  assert.equal(first.method, "listassets");
  // An omitted parameter before a given one is sent as the node's default.
  assert.deepEqual(first.params, ["*", true]);
  assert.deepEqual(JSON.parse(bodies[1] ?? "").params, [1]);
  assert.notEqual(JSON.parse(bodies[1] ?? "").id, first.id);
  assert.deepEqual(paths, ["/wallet/wallet.dat", "/wallet/wallet.dat"]);

  await using pathClient = clientFor(server, {
    url: `${server.url}wallet/other`,
  });
  await pathClient.getblockcount();
  assert.equal(paths.at(-1), "/wallet/other");
});

Deno.test("EvrmoreRPCClient.close() is idempotent and rejects pending and later calls", async () => {
  await using server = await startFixtureRpcServer();
  const arrived = Promise.withResolvers<void>();
  server.intercept = async ({ closed }) => {
    arrived.resolve();
    await closed;
    return undefined;
  };
  const client = clientFor(server);
  const pending = client.getblockcount();
  await arrived.promise;
  await client.close();
  await client[Symbol.asyncDispose]();
  assert.equal(client.closed, true);
  await assert.rejects(pending, (e: unknown) => {
    assert.ok(e instanceof ConnectionError);
    assert.equal(e.message, "Cannot call getblockcount: the client was closed");
    return true;
  });
  await assert.rejects(client.getblockcount(), /the client was closed/);
  await assert.rejects(client.batch([]), /the client was closed/);
  await server.close();
});

Deno.test("EvrmoreRPCClient rejects bad arguments with TypeError and RangeError", async () => {
  assert.throws(() => new EvrmoreRPCClient({ maxConcurrency: 0 }), RangeError);
  assert.throws(() => new EvrmoreRPCClient({ timeout: -1 }), RangeError);
  await using client = new EvrmoreRPCClient({ env: false });
  await assert.rejects(client.call(""), TypeError);
  await assert.rejects(
    client.call("getblock", "x" as unknown as unknown[]),
    TypeError,
  );
  await assert.rejects(
    client.batch([{ method: 1 as unknown as string }]),
    TypeError,
  );
});

/** A throwaway CA and a 127.0.0.1 certificate it signed, made with openssl; undefined without openssl. */
async function makeTls(): Promise<
  { ca: string; cert: string; key: string } | undefined
> {
  const dir = await Deno.makeTempDir({ prefix: "evr_rpc_tls_" });
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  };
  try {
    const ec = [
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
    ];
    await run([
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "1",
      "-subj",
      "/CN=evr test CA",
    ]);
    await run([
      "req",
      ...ec,
      "-keyout",
      "key.pem",
      "-out",
      "req.csr",
      "-subj",
      "/CN=127.0.0.1",
    ]);
    await Deno.writeTextFile(
      `${dir}/ext.cnf`,
      "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    );
    await run([
      "x509",
      "-req",
      "-in",
      "req.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "cert.pem",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
    ]);
    return {
      ca: await Deno.readTextFile(`${dir}/ca.pem`),
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("EvrmoreRPCClient calls an https node trusted through caCerts", async (t) => {
  const tls = await makeTls();
  if (tls === undefined) {
    await t.step({ name: "openssl not installed", ignore: true, fn: () => {} });
    return;
  }
  await using server = await startFixtureRpcServer({
    tls: { cert: tls.cert, key: tls.key },
  });
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  await using client = clientFor(server, { caCerts: [tls.ca] });
  assert.equal(await client.getblockcount(), 177);
  assert.equal(
    (await client.batch([{ method: "getblockcount" }]))[0]?.result,
    177,
  );
  // Without the CA the certificate is refused: a ConnectionError naming the URL.
  await using untrusted = clientFor(server, { retries: 0 });
  await assert.rejects(untrusted.getblockcount(), (e: unknown) => {
    assert.ok(e instanceof ConnectionError);
    assert.ok(e.message.startsWith(`Cannot connect to ${server.url}: `));
    return true;
  });
  assert.throws(
    () => new EvrmoreRPCClient({ caCerts: "pem" as unknown as string[] }),
    TypeError,
  );
});
