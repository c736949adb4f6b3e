/**
 * Basic server: push a node's blocks, transactions, asset operations and
 * mempool changes to WebSocket clients, until Ctrl+C or SIGTERM.
 *
 * It needs a node: evrmored with `-zmqpubrawtx`, `-zmqpubrawblock` and
 * `-zmqpubhashblock` (or `deno run -A examples/devnet.ts`, which prints the
 * settings of an embedded one). `deno task demo` does all of this in one
 * command; to run this example instead:
 *
 * ```sh
 * deno run -A examples/basic_server.ts
 * deno run -A examples/basic_client.ts   # in another terminal
 * ```
 *
 * Environment: the RPC client's usual settings (`EVR_RPC_URL`,
 * `EVR_RPC_USER`, `EVR_RPC_PASSWORD`, else `evrmore.conf` and `.cookie`);
 * `EVR_ZMQ_ADDRESS` (default `tcp://127.0.0.1:28332`); `EVR_WS_HOST`
 * (default `localhost`) and `EVR_WS_PORT` (default 8765; 0 picks a free port).
 *
 * @module
 */

import {
  EvrmoreRPCClient,
  EvrmoreWebSocketServer,
  EvrmoreZMQClient,
  parseNetwork,
} from "@evrmore/rpc";

// Create the RPC client (settings from the environment or evrmore.conf).
await using rpcClient = new EvrmoreRPCClient();

// Create the ZMQ client, for the node's network (it decodes blocks locally).
const { chain } = await rpcClient.getblockchaininfo();
await using zmqClient = new EvrmoreZMQClient({
  address: Deno.env.get("EVR_ZMQ_ADDRESS") ?? "tcp://127.0.0.1:28332",
  network: parseNetwork(chain),
});

// Create the WebSocket server.
const server = new EvrmoreWebSocketServer({
  rpcClient,
  zmqClient,
  host: Deno.env.get("EVR_WS_HOST") ?? "localhost",
  port: Number(Deno.env.get("EVR_WS_PORT") ?? 8765),
});

// Start the server (this starts the ZMQ client too).
await server.start();
console.log(`WebSocket server started on ws://${server.host}:${server.port}`);

// Keep the server running until interrupted.
await untilSignal();

// Stop the server (`await using` then closes the ZMQ and RPC clients).
await server.stop();
console.log("WebSocket server stopped");

/** Resolves on Ctrl+C (SIGINT) or SIGTERM. */
function untilSignal(): Promise<void> {
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  return new Promise((resolve) => {
    const stop = () => {
      for (const signal of signals) Deno.removeSignalListener(signal, stop);
      resolve();
    };
    for (const signal of signals) Deno.addSignalListener(signal, stop);
  });
}
