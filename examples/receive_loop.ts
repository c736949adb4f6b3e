/**
 * Receive messages one at a time with `receive()`, until Ctrl+C.
 *
 * Run the demo server in one terminal, this example in another:
 *
 * ```sh
 * deno task demo
 * deno run -A examples/receive_loop.ts
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

// Ctrl+C aborts the receive() that is waiting.
const interrupted = new AbortController();
const onInterrupt = () => interrupted.abort();
Deno.addSignalListener("SIGINT", onInterrupt);

try {
  // Receive a single message.
  const message = await client.receive({ signal: interrupted.signal });
  console.log(`Received message: ${message.type}`);

  // Receive messages in a loop.
  for (let received = 1; received < maxMessages; received++) {
    const message = await client.receive({ signal: interrupted.signal });
    console.log(`Received message: ${message.type}`);
  }
} catch (error) {
  // Handle cancellation; anything else is a real error.
  if (!interrupted.signal.aborted) throw error;
  console.log("Interrupted");
} finally {
  Deno.removeSignalListener("SIGINT", onInterrupt);
  // Disconnect.
  await client.disconnect();
}
