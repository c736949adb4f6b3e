/**
 * The `cli.ts` tool: output, `-named`, parameter conversion, node errors on
 * one stderr line with exit code 1, bad flags.
 *
 * @module
 */

import assert from "node:assert/strict";
import { main } from "../cli.ts";
import { convertNamedParams, convertParams } from "../lib/rpc/_cli_params.ts";
import { startFixtureRpcServer } from "./_rpc_fixture_server.ts";

const GENESIS =
  "5177b521d358ee45b83abbe2597a01511846c1bb3c08c14dc762a4649a7d2fc9";
const BLOCK1 =
  "0dd9d3e2f97f0a3bfc35acfd4f8105fd60c8a70171f007abede6de52d857f716";

async function run(
  args: string[],
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    log: (line) => out.push(line),
    error: (line) => err.push(line),
    env: false,
  });
  return { code, out, err };
}

Deno.test("cli converts parameters like evrmore-cli: JSON where the node's CLI expects it, else strings", () => {
  assert.deepEqual(convertParams("getblockhash", ["0"]), [0]);
  assert.deepEqual(convertParams("getblock", ["00ff", "2"]), ["00ff", 2]);
  assert.deepEqual(convertParams("getrawtransaction", ["ab", "true"]), [
    "ab",
    true,
  ]);
  // A string parameter stays a string even when it looks like JSON.
  assert.deepEqual(convertParams("getassetdata", ["123"]), ["123"]);
  assert.deepEqual(convertParams("nosuchmethod", ["1", "true"]), [
    "1",
    "true",
  ]);
  assert.deepEqual(
    convertParams("getaddressbalance", ['{"addresses":["EXa"]}', "true"]),
    [{ addresses: ["EXa"] }, true],
  );
  assert.deepEqual(
    convertNamedParams("getblock", ["blockhash=00ff", "verbosity=2"]),
    { blockhash: "00ff", verbosity: 2 },
  );
  assert.throws(() => convertParams("getblockhash", ["zero"]), SyntaxError);
  assert.throws(() => convertParams("getblockhash", ["1,2"]), SyntaxError);
  assert.throws(() => convertNamedParams("getblockhash", ["0"]), SyntaxError);
});

Deno.test("cli prints a string result bare and an object as indented JSON", async () => {
  await using server = await startFixtureRpcServer();
  const node = [
    "--rpc-url",
    server.url,
    "--rpc-user",
    server.user,
    "--rpc-password",
    server.password,
  ];
  const hash = await run([...node, "getblockhash", "0"]);
  assert.deepEqual(hash, { code: 0, out: [GENESIS], err: [] });
  const block = await run([...node, "getblock", BLOCK1, "2"]);
  assert.equal(block.code, 0);
  assert.deepEqual(block.err, []);
  const printed = JSON.parse(block.out.join("\n"));
  assert.equal(printed.hash, BLOCK1);
  assert.equal(typeof printed.tx[0], "object", "verbosity 2 sent as a number");
  assert.match(block.out[0] ?? "", /^\{\n {2}"/);
  assert.deepEqual(
    server.calls.at(-1),
    { method: "getblock", params: [BLOCK1, 2], path: "/" },
  );
  // --rpc-url=value works too; a number prints as JSON.
  const count = await run([
    `--rpc-url=${server.url}`,
    `--rpc-user=${server.user}`,
    `--rpc-password=${server.password}`,
    "getblockcount",
  ]);
  assert.deepEqual(count, { code: 0, out: ["177"], err: [] });
});

Deno.test("cli -named sends parameters by name", async () => {
  await using server = await startFixtureRpcServer();
  let body = "";
  server.onRequest = (info) => (body = info.body);
  const result = await run([
    "--rpc-url",
    `http://${server.user}:${server.password}@127.0.0.1:${server.port}/`,
    "-named",
    "getblockhash",
    "height=0",
  ]);
  assert.deepEqual(result, { code: 0, out: [GENESIS], err: [] });
  assert.deepEqual(JSON.parse(body).params, { height: 0 });
});

Deno.test("cli prints a node error as one stderr line naming the code and exits 1", async () => {
  await using server = await startFixtureRpcServer();
  const result = await run([
    "--rpc-url",
    server.url,
    "--rpc-user",
    server.user,
    "--rpc-password",
    server.password,
    "getblockhash",
    "999999",
  ]);
  assert.deepEqual(result, {
    code: 1,
    out: [],
    err: [
      "Cannot call getblockhash: Block height out of range (error code: -8)",
    ],
  });
  // Unreachable node: one line too, naming the URL.
  const down = await run(["--rpc-url", "http://127.0.0.1:9/", "getblockcount"]);
  assert.equal(down.code, 1);
  assert.equal(down.err.length, 1);
  assert.match(down.err[0] ?? "", /127\.0\.0\.1:9/);
});

Deno.test("cli rejects a bad flag, a bad network and a missing method with exit code 2", async () => {
  const bad = await run(["--bogus", "getblockcount"]);
  assert.equal(bad.code, 2);
  assert.deepEqual(bad.out, []);
  assert.equal(bad.err.length, 1);
  assert.match(bad.err[0] ?? "", /^Cannot parse arguments: .*--bogus/);
  const net = await run(["--network", "moon", "getblockcount"]);
  assert.equal(net.code, 2);
  assert.match(net.err[0] ?? "", /^Cannot use network/);
  const none = await run(["--network", "regtest"]);
  assert.equal(none.code, 2);
  assert.match(none.err[0] ?? "", /no method given/);
  const json = await run(["getblockhash", "zero"]);
  assert.equal(json.code, 2);
  assert.match(json.err[0] ?? "", /as JSON/);
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out[0] ?? "", /^Usage: deno task rpc/);
});

Deno.test("cli as `deno task rpc`: exit code 1, one stderr line, no stack", async () => {
  await using server = await startFixtureRpcServer();
  const root = new URL("../", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "rpc", "getblockhash", "999999"],
    cwd: root,
    env: {
      EVR_RPC_URL: server.url,
      EVR_RPC_USER: server.user,
      EVR_RPC_PASSWORD: server.password,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 1);
  assert.equal(new TextDecoder().decode(output.stdout), "");
  assert.equal(
    stderr,
    "Cannot call getblockhash: Block height out of range (error code: -8)\n",
  );
});
