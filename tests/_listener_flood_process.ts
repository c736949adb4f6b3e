/**
 * A `GuardedListener` in front of a `Deno.serve` that sends `tick <n>` to
 * every WebSocket client each 50 ms, for `websocket_listener_test.ts` to run
 * under a low open-file limit (`prlimit`). Prints `{ "port" }` once
 * listening; stops when stdin closes.
 *
 * @module
 */

import { GuardedListener } from "../lib/websocket/_listener.ts";

const dir = await Deno.makeTempDir();
const path = `${dir}/inner.sock`;
const sockets = new Set<WebSocket>();
const ready = Promise.withResolvers<void>();
const inner = Deno.serve({ path, onListen: () => ready.resolve() }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => sockets.add(socket);
  socket.onclose = () => sockets.delete(socket);
  return response;
});
await ready.promise;
const front = new GuardedListener({
  port: 0,
  upstream: { path },
  handshakeTimeoutMs: Number(Deno.args[0] ?? 500),
  maxDescriptors: Number(Deno.args[1] ?? 64),
});
let tick = 0;
const timer = setInterval(() => {
  tick++;
  for (const s of sockets) {
    if (s.readyState === WebSocket.OPEN) s.send(`tick ${tick}`);
  }
}, 50);
console.log(JSON.stringify({ port: front.addr.port }));
for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
clearInterval(timer);
await front.close();
await inner.shutdown();
await Deno.remove(dir, { recursive: true });
Deno.exit(0);
