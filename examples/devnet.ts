/**
 * Run the embedded devnet (an in-process stand-in for a regtest evrmored),
 * mining a block every few seconds, and print the settings the server
 * examples read, until Ctrl+C or SIGTERM.
 *
 * ```sh
 * deno run -A examples/devnet.ts
 * # then paste the printed `export` lines into another terminal and run
 * deno run -A examples/basic_server.ts
 * ```
 *
 * Environment: `EVR_DEVNET_RPC_PORT` (default 18443), `EVR_DEVNET_ZMQ_PORT`
 * (default 28332), `EVR_DEVNET_BLOCK_SECONDS` (default 5).
 *
 * @module
 */

import { EvrmoreDevnet } from "@evrmore/rpc/devnet";

await using devnet = new EvrmoreDevnet({
  rpcPort: Number(Deno.env.get("EVR_DEVNET_RPC_PORT") ?? 18443),
  zmqPort: Number(Deno.env.get("EVR_DEVNET_ZMQ_PORT") ?? 28332),
});
await devnet.start();

// Blocks every few seconds, with payments and asset operations in between.
const seconds = Number(Deno.env.get("EVR_DEVNET_BLOCK_SECONDS") ?? 5);
devnet.startAutoMine({ intervalMs: seconds * 1000 });

console.log(`export EVR_RPC_URL=${devnet.rpcUrl}`);
console.log(`export EVR_RPC_USER=${devnet.rpcUser}`);
console.log(`export EVR_RPC_PASSWORD=${devnet.rpcPassword}`);
console.log(`export EVR_ZMQ_ADDRESS=${devnet.zmqAddress}`);
console.log(`Devnet running at height ${devnet.height} (Ctrl+C to stop)`);

const signals: Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM"];
await new Promise<void>((resolve) => {
  const stop = () => {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    resolve();
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
});
console.log("Stopping the devnet");
