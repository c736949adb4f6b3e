/**
 * Connect to the server, stay connected for a while, disconnect.
 *
 * Run the demo server in one terminal, this example in another:
 *
 * ```sh
 * deno task demo
 * deno run -A examples/connect_disconnect.ts
 * ```
 *
 * Environment: `EVR_WS_URI` (default `ws://localhost:8765`),
 * `EVR_EXAMPLE_SECONDS` (how long to stay connected; default 60).
 *
 * @module
 */

import { EvrmoreWebSocketClient } from "@evrmore/rpc/client";
import { connectOrExit } from "./_connect.ts";

const uri = Deno.env.get("EVR_WS_URI") ?? "ws://localhost:8765";
const seconds = Number(Deno.env.get("EVR_EXAMPLE_SECONDS") ?? 60);

// Create a client (the defaults: ws://localhost:8765, ping every 20 s).
const client = new EvrmoreWebSocketClient({ uri });

// Connect to the server.
await connectOrExit(client);
console.log("Connected to WebSocket server");

// Keep connected for a while: the client pings the server meanwhile, and
// would reconnect by itself if the connection dropped.
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));

// Disconnect.
await client.disconnect();
console.log("Disconnected from WebSocket server");
