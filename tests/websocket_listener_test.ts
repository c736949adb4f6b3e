import assert from "node:assert/strict";
import net from "node:net";
import {
  GuardedListener,
  type ListenerRejection,
  PEER_HEADER,
  rewriteHead,
} from "../lib/websocket/_listener.ts";

/** An inner Deno.serve on a Unix socket: echoes WebSocket messages, answers HTTP with the peer header. */
async function stack(options: {
  handshakeTimeoutMs?: number;
  maxPendingPerAddress?: number;
  maxPending?: number;
  maxMessageBytes?: number;
  penaltyMs?: number;
} = {}) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/inner.sock`;
  const listening = Promise.withResolvers<void>();
  const inner = Deno.serve(
    { path, onListen: () => listening.resolve() },
    (req) => {
      if (req.headers.get("upgrade") === "websocket") {
        const { socket, response } = Deno.upgradeWebSocket(req);
        socket.onmessage = (e) =>
          socket.send(
            typeof e.data === "string"
              ? e.data
              : `binary ${(e.data as ArrayBuffer).byteLength}`,
          );
        return response;
      }
      return Response.json({
        peer: req.headers.get(PEER_HEADER),
        connection: req.headers.get("connection"),
      });
    },
  );
  await listening.promise;
  const rejections: ListenerRejection[] = [];
  const rejected = new EventTarget();
  const front = new GuardedListener({
    port: 0,
    upstream: { path },
    ...options,
    onReject: (reason) => {
      rejections.push(reason);
      rejected.dispatchEvent(new Event(reason));
    },
  });
  const port = front.addr.port;
  return {
    port,
    front,
    rejections,
    nextRejection: (reason: ListenerRejection) =>
      new Promise<void>((resolve) =>
        rejected.addEventListener(reason, () => resolve(), { once: true })
      ),
    async [Symbol.asyncDispose]() {
      await front.close();
      await inner.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function openWs(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => reject(new Error((e as ErrorEvent).message));
  });
}

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve) =>
    ws.addEventListener("message", (e) => resolve(e.data), { once: true })
  );
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) =>
    ws.addEventListener("close", (e) => resolve(e.code), { once: true })
  );
}

/** Resolves when the server closes `conn` (read gives EOF or fails). */
async function serverCloses(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(1024);
  while ((await conn.read(buf).catch(() => null)) !== null) { /* drain */ }
}

Deno.test("rewriteHead() sets the peer, drops a forged one, and closes plain HTTP", () => {
  const plain = rewriteHead(
    "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nX-Evrmore-Peer: 6.6.6.6",
    "192.0.2.1",
  );
  assert.deepEqual(plain, {
    head:
      "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-evrmore-peer: 192.0.2.1\r\n\r\n",
    upgrade: false,
  });
  const ws = rewriteHead(
    "GET / HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade",
    "::1",
  );
  assert.equal(ws?.upgrade, true);
  assert.match(ws!.head, /Connection: Upgrade\r\n/);
  assert.equal(rewriteHead("GET / HTTP/2.0", "::1"), undefined);
  assert.equal(rewriteHead("GET / HTTP/1.1\r\nHost: a b", "::1"), undefined);
  assert.equal(
    rewriteHead("GET / HTTP/1.1\r\nHost: a\r\nHost: b", "::1"),
    undefined,
  );
  assert.equal(
    rewriteHead("GET / HTTP/1.1\r\nHost: [::1]:8765", "::1")?.upgrade,
    false,
  );
  assert.equal(rewriteHead("hello", "::1"), undefined);
  assert.equal(
    rewriteHead("GET / HTTP/1.1\r\nno colon here", "::1"),
    undefined,
  );
});

Deno.test("GuardedListener closes a connection that sends nothing or half a head", async () => {
  await using s = await stack({ handshakeTimeoutMs: 200 });
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  const half = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  await half.write(
    new TextEncoder().encode(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n",
    ),
  );
  await Promise.all([serverCloses(silent), serverCloses(half)]);
  silent.close();
  half.close();
  assert.deepEqual(s.rejections, ["handshake_timeout", "handshake_timeout"]);
  assert.equal(s.front.stats.pending, 0);
});

Deno.test("GuardedListener caps pending handshakes per address", async () => {
  await using s = await stack({ maxPendingPerAddress: 3 });
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < 3; i++) {
    conns.push(await Deno.connect({ hostname: "127.0.0.1", port: s.port }));
  }
  const refused = s.nextRejection("too_many_pending_per_address");
  const fourth = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  await refused;
  await serverCloses(fourth);
  fourth.close();
  // Another address is still served while 127.0.0.1 is at its cap.
  const text = await requestFrom(
    "127.0.0.2",
    s.port,
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.match(text, /^HTTP\/1\.1 200/);
  assert.match(text, /"peer":"127\.0\.0\.2"/);
  for (const c of conns) c.close();
});

Deno.test("GuardedListener caps pending handshakes in total", async () => {
  await using s = await stack({ maxPending: 2, maxPendingPerAddress: 100 });
  const a = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  const b = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  const refused = s.nextRejection("too_many_pending");
  const c = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  await refused;
  await serverCloses(c);
  for (const conn of [a, b, c]) conn.close();
});

/** Sends `request` from local address `from` (a second client address) and reads the whole answer. */
function requestFrom(
  from: string,
  port: number,
  request: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: from });
    const chunks: Uint8Array[] = [];
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on(
      "close",
      () => resolve(new TextDecoder().decode(concatBytes(chunks))),
    );
  });
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    parts.push(buf.slice(0, n));
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("GuardedListener forwards HTTP with the real peer and Connection: close", async () => {
  await using s = await stack();
  const response = await fetch(`http://127.0.0.1:${s.port}/`, {
    headers: { [PEER_HEADER]: "6.6.6.6" },
  });
  assert.deepEqual(await response.json(), {
    peer: "127.0.0.1",
    connection: "close",
  });
  const bad = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  await bad.write(new TextEncoder().encode("NONSENSE\r\n\r\n"));
  assert.match(new TextDecoder().decode(await readAll(bad)), /^HTTP\/1\.1 400/);
  bad.close();
  assert.deepEqual(s.rejections, ["bad_request"]);
});

Deno.test("GuardedListener answers 431 to an endless head", async () => {
  await using s = await stack();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  const line = new TextEncoder().encode(
    "X-Filler: " + "a".repeat(1000) + "\r\n",
  );
  await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
  for (let i = 0; i < 20; i++) {
    if (!(await conn.write(line).then(() => true, () => false))) break;
  }
  assert.match(
    new TextDecoder().decode(await readAll(conn)),
    /^HTTP\/1\.1 431/,
  );
  conn.close();
  assert.deepEqual(s.rejections, ["head_too_large"]);
});

Deno.test("GuardedListener passes WebSocket messages both ways", async () => {
  await using s = await stack();
  const ws = await openWs(s.port);
  const text = nextMessage(ws);
  ws.send("hello");
  assert.equal(await text, "hello");
  const bin = nextMessage(ws);
  ws.send(new Uint8Array(65_536)); // exactly the limit
  assert.equal(await bin, "binary 65536");
  const done = closed(ws);
  ws.close(1000);
  assert.equal(await done, 1000);
  assert.deepEqual(s.rejections, []);
});

Deno.test("GuardedListener closes with 1009 on the first oversized message of any kind", async () => {
  // No penalty here: the test's clients all come from 127.0.0.1.
  await using s = await stack({ maxMessageBytes: 1000, penaltyMs: 0 });
  for (const big of [new Uint8Array(5_000_000), "x".repeat(1001)]) {
    const ws = await openWs(s.port);
    const code = closed(ws);
    const rejected = s.nextRejection("message_too_large");
    ws.send(big);
    await rejected;
    assert.equal(await code, 1009);
  }
  // Honest clients are still served.
  const ws = await openWs(s.port);
  const echo = nextMessage(ws);
  ws.send("still here");
  assert.equal(await echo, "still here");
  const done = closed(ws);
  ws.close();
  await done;
});

async function hasPrlimit(): Promise<boolean> {
  try {
    await new Deno.Command("prlimit", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "GuardedListener survives a flood larger than the open-file limit",
  ignore: Deno.build.os !== "linux" || !(await hasPrlimit()),
  async fn() {
    const child = new Deno.Command("prlimit", {
      args: [
        "--nofile=128:128",
        Deno.execPath(),
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        new URL("./_listener_flood_process.ts", import.meta.url).pathname,
        "500", // handshake deadline (ms)
        "64", // descriptors the front may hold, of 128
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await lines.read();
    const { port } = JSON.parse(first.value ?? "{}");
    assert.equal(typeof port, "number", first.value);
    const honest = await openWs(port);
    let ticks = 0;
    honest.onmessage = () => ticks++;
    // 300 idle connections from 300 addresses: more than the 128 descriptors.
    const flood: net.Socket[] = [];
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        new Promise<void>((resolve) => {
          const socket = net.connect({
            host: "127.0.0.1",
            port,
            localAddress: `127.0.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`,
          });
          socket.on("connect", () => resolve());
          socket.on("error", () => resolve());
          socket.on("close", () => resolve());
          flood.push(socket);
        })),
    );
    // The flood is cut by the handshake deadline; a new client gets in.
    const ticksDuringFlood = ticks;
    let late: WebSocket | undefined;
    for (let attempt = 0; late === undefined && attempt < 100; attempt++) {
      late = await openWs(port).catch(() => undefined);
      if (late === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    if (late === undefined) {
      try {
        child.kill();
      } catch { /* gone */ }
      await child.status;
      const stderr = await new Response(child.stderr).text();
      assert.fail(
        `a new client could not connect after the flood: ${
          JSON.stringify(await child.status)
        } ${stderr}`,
      );
    }
    const lateTick = nextMessage(late);
    assert.match(String(await lateTick), /^tick \d+$/);
    // The honest client kept receiving all along.
    const before = ticks;
    await nextMessage(honest);
    assert.ok(ticks > before && ticks > ticksDuringFlood);
    assert.equal(honest.readyState, WebSocket.OPEN);
    for (const s of flood) s.destroy();
    for (const ws of [honest, late]) {
      const done = closed(ws);
      ws.close();
      await done;
    }
    await child.stdin.close();
    await lines.cancel();
    const status = await child.status;
    const stderr = await new Response(child.stderr).text();
    assert.equal(status.code, 0, stderr);
  },
});

Deno.test("GuardedListener refuses an address for a while after it sent an oversized message", async () => {
  await using s = await stack({ maxMessageBytes: 1000, penaltyMs: 60_000 });
  const ws = await openWs(s.port);
  const code = closed(ws);
  const rejected = s.nextRejection("message_too_large");
  ws.send("x".repeat(1001));
  await rejected;
  assert.equal(await code, 1009);
  // The same address again: closed at once, before any handshake.
  const penalized = s.nextRejection("penalized");
  await assert.rejects(openWs(s.port));
  await penalized;
});
