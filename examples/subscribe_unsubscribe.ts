/**
 * Subscribe to topics, receive some messages, unsubscribe from one topic,
 * receive some more.
 *
 * Run the demo server in one terminal, this example in another:
 *
 * ```sh
 * deno task demo
 * deno run -A examples/subscribe_unsubscribe.ts
 * ```
 *
 * Environment: `EVR_WS_URI` (default `ws://localhost:8765`),
 * `EVR_EXAMPLE_MESSAGES` (messages per phase; default 10, then 5).
 *
 * @module
 */

import { EvrmoreWebSocketClient } from "@evrmore/rpc/client";
import { connectOrExit } from "./_connect.ts";

const uri = Deno.env.get("EVR_WS_URI") ?? "ws://localhost:8765";
const limit = Deno.env.get("EVR_EXAMPLE_MESSAGES");

await using client = new EvrmoreWebSocketClient({ uri });
await connectOrExit(client);

// Subscribe to topics: each call resolves once the server has confirmed.
await client.subscribe("blocks");
await client.subscribe("transactions");
await client.subscribe("assets");

// Process messages for a while.
for (let i = 0; i < Number(limit ?? 10); i++) {
  const message = await client.receive();
  console.log(`Received message: ${message.type}`);
}

// Unsubscribe from a topic. Messages already received stay queued, so a
// few transactions may still come out of receive() below.
await client.unsubscribe("transactions");
console.log("Unsubscribed from transactions");

// Process more messages.
for (let i = 0; i < Number(limit ?? 5); i++) {
  const message = await client.receive();
  console.log(`Received message: ${message.type}`);
}

// `await using` disconnects the client here.
