/**
 * The load measurements of `rpc_bench.ts` (see `_rpc_load.ts`) against a
 * real node: set `EVR_RPC_URL` (with `EVR_RPC_USER` / `EVR_RPC_PASSWORD`,
 * or credentials in the URL). Without `EVR_RPC_URL` it says so and exits 0.
 *
 * Run: `EVR_RPC_URL=http://user:pass@127.0.0.1:18443/ deno run -A bench/rpc_node_bench.ts`
 *
 * Only `getblockcount` is called (read-only, cheap for the node).
 * `RPC_NODE_BENCH_ROUNDS` sets the rounds of 100 concurrent calls (default
 * 50).
 *
 * @module
 */

import { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import { measureLoad, printLoad } from "./_rpc_load.ts";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

const url = env("EVR_RPC_URL");
if (url === undefined || url === "") {
  console.log(
    "rpc_node_bench: EVR_RPC_URL is not set, nothing to measure (set it, with EVR_RPC_USER and EVR_RPC_PASSWORD, to run against a real node)",
  );
} else {
  // Resolve the URL and credentials as the client does (env, URL userinfo).
  await using probe = new EvrmoreRPCClient({ url });
  const config = await probe.config();
  const parsed = new URL(url);
  const user = env("EVR_RPC_USER") ?? decodeURIComponent(parsed.username);
  const password = env("EVR_RPC_PASSWORD") ??
    decodeURIComponent(parsed.password);
  const rounds = Number(env("RPC_NODE_BENCH_ROUNDS") ?? "50");
  const report = await measureLoad({ url: config.url, user, password }, {
    rounds: Number.isFinite(rounds) && rounds > 0 ? rounds : 50,
    sequential: 1000,
  });
  printLoad(`Under load: the node at ${config.url}`, report);
}
