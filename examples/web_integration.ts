/**
 * Web integration: a `Deno.serve` app that serves a page at `/` and relays
 * the Evrmore WebSocket server's events to the browser over `/ws`.
 *
 * Run the demo server in one terminal, this example in another, then open
 * http://localhost:8000/:
 *
 * ```sh
 * deno task demo
 * deno run -A examples/web_integration.ts
 * ```
 *
 * Environment: `EVR_WS_URI` (the Evrmore WebSocket server, default
 * `ws://localhost:8765`), `EVR_WEB_HOST` (default `localhost`) and
 * `EVR_WEB_PORT` (default 8000; 0 picks a free port).
 *
 * @module
 */

import { EvrmoreWebSocketClient } from "@evrmore/rpc/client";

const uri = Deno.env.get("EVR_WS_URI") ?? "ws://localhost:8765";

// HTML for a simple WebSocket client.
const html = `<!DOCTYPE html>
<html>
  <head>
    <title>Evrmore WebSocket Client</title>
  </head>
  <body>
    <h1>Evrmore WebSocket Client</h1>
    <div id="messages"></div>
    <script>
      const ws = new WebSocket("ws://" + location.host + "/ws");
      ws.onmessage = (event) => {
        const message = document.createElement("p");
        message.textContent = event.data;
        document.getElementById("messages").appendChild(message);
      };
    </script>
  </body>
</html>
`;

/** The browsers connected to `/ws`. */
const browsers = new Set<WebSocket>();
/** One relay per browser, awaited on shutdown. */
const relays = new Set<Promise<void>>();

/** Forwards messages from the Evrmore WebSocket server to one browser. */
async function relay(browser: WebSocket): Promise<void> {
  // Create a client of the Evrmore WebSocket server for this browser.
  await using client = new EvrmoreWebSocketClient({ uri });
  // When the browser goes away, disconnecting ends the loop below.
  browser.addEventListener("close", () => client.disconnect());
  try {
    // Connect to the Evrmore WebSocket server and subscribe to topics.
    await client.connect();
    await client.subscribe("blocks");
    await client.subscribe("transactions");

    // Forward messages to the browser.
    for await (const message of client) {
      const data = "data" in message ? message.data : message;
      browser.send(`${message.type}: ${JSON.stringify(data)}`);
    }
  } catch (error) {
    // The browser left while connecting, or the Evrmore server is gone.
    if (browser.readyState === WebSocket.OPEN) {
      console.error(`Error: ${(error as Error).message}`);
    }
  } finally {
    if (browser.readyState === WebSocket.OPEN) browser.close();
  }
}

const server = Deno.serve({
  hostname: Deno.env.get("EVR_WEB_HOST") ?? "localhost",
  port: Number(Deno.env.get("EVR_WEB_PORT") ?? 8000),
  onListen: ({ hostname, port }) => {
    console.log(`Listening on http://${hostname}:${port}/`);
  },
}, (request) => {
  const { pathname } = new URL(request.url);
  if (pathname === "/") {
    return new Response(html, {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  }
  if (pathname === "/ws") {
    const { socket, response } = Deno.upgradeWebSocket(request);
    browsers.add(socket);
    socket.addEventListener("close", () => browsers.delete(socket));
    // Start relaying once the browser's socket is open.
    socket.addEventListener("open", () => {
      const task = relay(socket).finally(() => relays.delete(task));
      relays.add(task);
    });
    return response;
  }
  return new Response("Not found\n", { status: 404 });
});

// Run until Ctrl+C or SIGTERM, then close the browsers' sockets (which
// disconnects their relays) and stop the HTTP server.
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
for (const browser of browsers) browser.close(1001, "Server shutting down");
await Promise.all(relays);
await server.shutdown();
console.log("Web server stopped");
