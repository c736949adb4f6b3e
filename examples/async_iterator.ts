/**
 * Process messages with `for await`, until Ctrl+C.
 *
 * Run the demo server in one terminal, this example in another:
 *
 * ```sh
 * deno task demo
 * deno run -A examples/async_iterator.ts
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

const client = new EvrmoreWebSocketClient({ uri });
await connectOrExit(client);
await client.subscribe("blocks");
await client.subscribe("transactions");

// Ctrl+C disconnects, which ends the `for await` loop below.
const onInterrupt = () => void client.disconnect();
Deno.addSignalListener("SIGINT", onInterrupt);

try {
  // Process messages using `for await`.
  let received = 0;
  for await (const message of client) {
    console.log(`Received message: ${message.type}`);

    // Process the message based on its type (which types `message.data`).
    if (message.type === "block") {
      const block = message.data;
      console.log(`New block: ${block.hash} (height: ${block.height})`);
    } else if (message.type === "transaction") {
      const tx = message.data;
      console.log(`New transaction: ${tx.txid}`);
    }
    if (++received >= maxMessages) break;
  }
} finally {
  Deno.removeSignalListener("SIGINT", onInterrupt);
  // Disconnect (a no-op after Ctrl+C).
  await client.disconnect();
}
