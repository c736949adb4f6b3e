/**
 * Runs the fixture JSON-RPC server (`tests/_rpc_fixture_server.ts`) in its
 * own process for `bench/rpc_bench.ts`: prints one JSON line
 * `{ "url", "user", "password" }` on stdout once listening, and stops when
 * its stdin closes (so it never outlives the bench).
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read bench/_rpc_server_process.ts`
 *
 * @module
 */

import { startFixtureRpcServer } from "../tests/_rpc_fixture_server.ts";

const server = await startFixtureRpcServer();
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
