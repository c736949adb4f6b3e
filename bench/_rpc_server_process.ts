/**
 * Runs the fixture JSON-RPC server (`tests/_rpc_fixture_server.ts`) in its
 * own process for `bench/rpc_bench.ts`: prints one JSON line
 * `{ "url", "user", "password" }` on stdout once listening, and stops when
 * its stdin closes (so it never outlives the bench).
 *
 * With `--work-queue N` it refuses requests beyond N in flight with HTTP 500
 * "Work queue depth exceeded", as the node does (`-rpcworkqueue`, 16).
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read bench/_rpc_server_process.ts [--work-queue 16]`
 *
 * @module
 */

import { startFixtureRpcServer } from "../tests/_rpc_fixture_server.ts";

const flag = Deno.args.indexOf("--work-queue");
const workQueue = flag === -1 ? undefined : Number(Deno.args[flag + 1]);
const server = await startFixtureRpcServer(
  workQueue === undefined ? {} : { workQueue },
);
console.log(JSON.stringify({
  url: server.url,
  user: server.user,
  password: server.password,
}));
// Wait for EOF on stdin: the bench closed it, or exited.
for await (const _chunk of Deno.stdin.readable) {
  // ignore input
}
await server.close();
Deno.exit(0);
