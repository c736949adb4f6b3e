/**
 * Basic client: print new blocks and transactions as they arrive.
 *
 * Run the demo server in one terminal, this example in another:
 *
 * ```sh
 * deno task demo
 * deno run -A examples/basic_client.ts
 * ```
 *
 * Environment: `EVR_WS_URI` (default `ws://localhost:8765`),
 * `EVR_EXAMPLE_MESSAGES` (stop after that many messages; default never).
 *
 * @module
 */

import { EvrmoreWebSocketClient } from "@evrmore/rpc/client";
import { connectOrExit } from "./_connect.ts";

const uri = Deno.env.get("EVR_WS_URI") ?? "ws://localhost:8765";
const maxMessages = Number(Deno.env.get("EVR_EXAMPLE_MESSAGES") ?? Infinity);

// Create a WebSocket client (`await using` disconnects it when we are done).
await using client = new EvrmoreWebSocketClient({ uri });

// Connect to the WebSocket server.
await connectOrExit(client);

// Subscribe to block and transaction notifications.
await client.subscribe("blocks");
await client.subscribe("transactions");

// Process incoming messages: `message.data` is typed by `message.type`.
let received = 0;
for await (const message of client) {
  if (message.type === "block") {
    const block = message.data;
    console.log(`New block: ${block.hash} (height: ${block.height})`);
  } else if (message.type === "transaction") {
    const tx = message.data;
    console.log(`New transaction: ${tx.txid}`);
  }
  if (++received >= maxMessages) break;
}
