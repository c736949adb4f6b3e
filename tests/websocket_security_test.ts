/**
 * `EvrmoreWebSocketServer` hardening: tokens (header, subprotocol, query),
 * origins, per-client message rate limits, per-IP connection caps, and the
 * client's `token` option.
 */

import assert from "node:assert/strict";
import { EvrmoreWebSocketClient } from "../lib/websocket/mod.ts";
import {
  FakeRpc,
  FakeZmq,
  handshake,
  harness,
  open,
  ping,
} from "./_ws_hardening_helpers.ts";
import { EvrmoreWebSocketServer } from "../lib/websocket/mod.ts";
import { RateLimiter } from "../lib/websocket/_security.ts";

const TOKEN = "s3cret-Token_1.~";

function assertJsonError(
  result: { status: number; headers: Headers; body: string },
  status: number,
  code: string,
): void {
  assert.equal(result.status, status, result.body);
  assert.match(result.headers.get("content-type") ?? "", /application\/json/);
  const body = JSON.parse(result.body);
  assert.equal(body.type, "error");
  assert.equal(body.code, code);
  assert.match(body.message, /^Cannot connect: /);
  assert.ok(!result.body.includes(TOKEN), "the token is never echoed");
}

// ---------------------------------------------------------------------------
// Tokens

Deno.test("authToken: 401 JSON without a token, or with a wrong one by header, subprotocol or query", async () => {
  await using h = await harness({ authToken: TOKEN });
  const wrong = `${TOKEN}x`;
  const cases: Array<{ path?: string; headers?: Record<string, string> }> = [
    {},
    { headers: { Authorization: `Bearer ${wrong}` } },
    { headers: { Authorization: `Basic ${btoa(`user:${TOKEN}`)}` } },
    {
      headers: { "Sec-WebSocket-Protocol": `evrmore, evrmore.token.${wrong}` },
    },
    { headers: { "Sec-WebSocket-Protocol": `evrmore` } },
    { path: `/?token=${wrong}` },
    { path: `/?token=` },
    { path: `/?tok=${TOKEN}` },
  ];
  for (const request of cases) {
    const result = await handshake(h.port, request);
    assertJsonError(result, 401, "unauthorized");
    assert.match(result.headers.get("www-authenticate") ?? "", /^Bearer/);
  }
  assert.equal(h.server.stats.clients, 0);
  // A WebSocket without the token cannot open.
  await assert.rejects(open(`ws://127.0.0.1:${h.port}/`));
});

Deno.test("authToken: the right token by header, subprotocol or query upgrades (101)", async () => {
  await using h = await harness({ authToken: TOKEN });
  const byHeader = await handshake(h.port, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(byHeader.status, 101);
  assert.equal(byHeader.headers.get("sec-websocket-protocol"), null);

  const byProtocol = await handshake(h.port, {
    headers: { "Sec-WebSocket-Protocol": `evrmore, evrmore.token.${TOKEN}` },
  });
  assert.equal(byProtocol.status, 101);
  // "evrmore" is echoed, not the token.
  assert.equal(byProtocol.headers.get("sec-websocket-protocol"), "evrmore");

  const byQuery = await handshake(h.port, {
    path: `/?token=${encodeURIComponent(TOKEN)}`,
  });
  assert.equal(byQuery.status, 101);
});

Deno.test("authToken: real WebSockets with the subprotocol or the query are served", async () => {
  await using h = await harness({ authToken: TOKEN });
  const viaProtocol = await open(`ws://127.0.0.1:${h.port}/`, [
    "evrmore",
    `evrmore.token.${TOKEN}`,
  ]);
  assert.equal(viaProtocol.ws.protocol, "evrmore");
  await ping(viaProtocol, "a");
  // Only the token subprotocol offered: it is the one echoed (browsers
  // fail a handshake that answers none of the offered subprotocols).
  const tokenOnly = await open(`ws://127.0.0.1:${h.port}/`, [
    `evrmore.token.${TOKEN}`,
  ]);
  assert.equal(tokenOnly.ws.protocol, `evrmore.token.${TOKEN}`);
  await ping(tokenOnly, "b");
  const viaQuery = await open(
    `ws://127.0.0.1:${h.port}/?token=${encodeURIComponent(TOKEN)}`,
  );
  await ping(viaQuery, "c");
  await viaProtocol.close();
  await tokenOnly.close();
  await viaQuery.close();
});

Deno.test("authToken: EvrmoreWebSocketClient's token option works end to end", async () => {
  await using h = await harness({ authToken: TOKEN });
  await using client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${h.port}`,
    token: TOKEN,
    reconnect: false,
    pingInterval: null,
  });
  await client.connect();
  await client.subscribe("blocks");
  assert.equal(await client.command("getblockcount"), 170);
  assert.ok(!client.uri.includes(TOKEN), "the token stays out of the URI");

  await using wrong = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${h.port}`,
    token: "wrong",
    reconnect: false,
    pingInterval: null,
  });
  await assert.rejects(wrong.connect());
});

Deno.test("authToken: a client token is harmless when the server has none", async () => {
  await using h = await harness();
  await using client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${h.port}`,
    token: TOKEN,
    reconnect: false,
    pingInterval: null,
  });
  await client.connect();
  assert.equal(await client.command("getblockcount"), 170);
  // And without any protocol offered, none is answered (unchanged behaviour).
  const plain = await handshake(h.port);
  assert.equal(plain.status, 101);
  assert.equal(plain.headers.get("sec-websocket-protocol"), null);
});

Deno.test("authenticate: the hook decides, sync or async, after the token", async () => {
  const seen: string[] = [];
  await using h = await harness({
    authenticate: async (request) => {
      seen.push(new URL(request.url).pathname);
      await Promise.resolve();
      return request.headers.get("x-user") === "alice";
    },
  });
  assertJsonError(
    await handshake(h.port, { headers: { "X-User": "bob" } }),
    401,
    "unauthorized",
  );
  assert.equal(
    (await handshake(h.port, { headers: { "X-User": "alice" } })).status,
    101,
  );
  assert.deepEqual(seen, ["/", "/"]);

  await using both = await harness({
    authToken: TOKEN,
    authenticate: () => {
      throw new Error("boom");
    },
  });
  assertJsonError(
    await handshake(both.port, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    }),
    401,
    "unauthorized",
  );
  assert.equal(both.errors.length, 1, "a throwing hook is reported");
});

Deno.test("authToken: /metrics requires it too, /health stays open", async () => {
  await using h = await harness({ authToken: TOKEN });
  const base = `http://127.0.0.1:${h.port}`;
  const denied = await fetch(`${base}/metrics`);
  assert.equal(denied.status, 401);
  assert.equal((await denied.json()).code, "unauthorized");
  const allowed = await fetch(`${base}/metrics`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(allowed.status, 200);
  assert.match(await allowed.text(), /evrmore_ws_auth_failures_total 1\n/);
  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).status, "ok");
});

// ---------------------------------------------------------------------------
// Origins

Deno.test("allowedOrigins: 403 JSON for another origin; listed origins and no Origin pass", async () => {
  await using h = await harness({
    allowedOrigins: ["https://example.com", "http://localhost:3000/"],
  });
  assertJsonError(
    await handshake(h.port, { headers: { Origin: "https://evil.example" } }),
    403,
    "origin_not_allowed",
  );
  assertJsonError(
    await handshake(h.port, { headers: { Origin: "http://example.com" } }),
    403,
    "origin_not_allowed",
  );
  assertJsonError(
    await handshake(h.port, { headers: { Origin: "null" } }),
    403,
    "origin_not_allowed",
  );
  for (
    const origin of ["https://example.com", "http://localhost:3000"]
  ) {
    const result = await handshake(h.port, { headers: { Origin: origin } });
    assert.equal(result.status, 101, origin);
  }
  assert.equal((await handshake(h.port)).status, 101, "no Origin: allowed");
});

Deno.test('allowedOrigins: default and "*" allow every origin', async () => {
  await using open1 = await harness();
  assert.equal(
    (await handshake(open1.port, { headers: { Origin: "https://any.site" } }))
      .status,
    101,
  );
  await using star = await harness({ allowedOrigins: ["*"] });
  assert.equal(
    (await handshake(star.port, { headers: { Origin: "https://any.site" } }))
      .status,
    101,
  );
});

Deno.test("origin is checked before the token", async () => {
  await using h = await harness({
    authToken: TOKEN,
    allowedOrigins: ["https://example.com"],
  });
  assertJsonError(
    await handshake(h.port, {
      headers: {
        Origin: "https://evil.example",
        Authorization: `Bearer ${TOKEN}`,
      },
    }),
    403,
    "origin_not_allowed",
  );
  assert.equal(
    (await handshake(h.port, {
      headers: {
        Origin: "https://example.com",
        Authorization: `Bearer ${TOKEN}`,
      },
    })).status,
    101,
  );
});

// ---------------------------------------------------------------------------
// Limits

Deno.test("maxMessagesPerSecond: over the limit is answered rate_limited (with id); others are still served", async () => {
  await using h = await harness({ maxMessagesPerSecond: 1, messageBurst: 3 });
  const url = `ws://127.0.0.1:${h.port}/`;
  const noisy = await open(url);
  const quiet = await open(url);
  for (let i = 0; i < 6; i++) noisy.send({ action: "ping", id: i });
  const answers = [];
  for (let i = 0; i < 6; i++) answers.push(await noisy.next());
  assert.deepEqual(answers.slice(0, 3), [
    { type: "pong", data: {}, id: 0 },
    { type: "pong", data: {}, id: 1 },
    { type: "pong", data: {}, id: 2 },
  ]);
  for (const [i, answer] of answers.slice(3).entries()) {
    assert.equal(answer.type, "error");
    assert.equal(answer.code, "rate_limited");
    assert.equal(answer.id, i + 3);
    assert.match(String(answer.message), /^Cannot handle message: /);
  }
  assert.equal(noisy.ws.readyState, WebSocket.OPEN, "still connected");
  // The other client has its own allowance.
  await ping(quiet, "q1");
  quiet.send({ command: "getblockcount", id: "c" });
  assert.deepEqual(await quiet.next(), {
    type: "result",
    command: "getblockcount",
    data: 170,
    id: "c",
  });
  await noisy.close();
  await quiet.close();
});

Deno.test("maxMessagesPerSecond: a client that goes on far over the limit is closed with 1008", async () => {
  await using h = await harness({ maxMessagesPerSecond: 1, messageBurst: 1 });
  const url = `ws://127.0.0.1:${h.port}/`;
  const abusive = await open(url);
  const other = await open(url);
  // 1 accepted, then 10 refusals of patience, then the close.
  for (let i = 0; i < 12; i++) abusive.send({ action: "ping" });
  const event = await abusive.closed;
  assert.equal(event.code, 1008);
  assert.equal(event.reason, "Rate limit exceeded");
  // A flood: Deno drops a connection that keeps sending once the server
  // started the close handshake, so the client may see 1006 instead.
  const flood = await open(url);
  for (let i = 0; i < 200; i++) flood.send({ action: "ping" });
  await flood.closed;
  await ping(other, "still-served");
  assert.match(h.server.metrics(), /\nevrmore_ws_rate_limit_closed_total 2\n/);
  await other.close();
});

Deno.test("maxMessagesPerSecond: null turns the limit off", async () => {
  await using h = await harness({ maxMessagesPerSecond: null });
  const socket = await open(`ws://127.0.0.1:${h.port}/`);
  for (let i = 0; i < 500; i++) socket.send({ action: "ping", id: i });
  for (let i = 0; i < 500; i++) {
    assert.deepEqual(await socket.next(), { type: "pong", data: {}, id: i });
  }
  await socket.close();
});

Deno.test("RateLimiter: refills at the rate, up to the burst; patience is 10 × the rate", () => {
  const limiter = new RateLimiter(2, 2, 0);
  assert.equal(limiter.take(0), "ok");
  assert.equal(limiter.take(0), "ok");
  assert.equal(limiter.take(0), "limited");
  assert.equal(limiter.take(500), "ok"); // one token back after 0.5 s
  assert.equal(limiter.take(500), "limited");
  const strict = new RateLimiter(1, 1, 0);
  assert.equal(strict.take(0), "ok");
  const verdicts = Array.from({ length: 11 }, () => strict.take(0));
  assert.deepEqual(verdicts.slice(0, 10), Array(10).fill("limited"));
  assert.equal(verdicts[10], "abusive");
});

Deno.test("maxClientsPerIp: one more connection from the address gets 429 JSON", async () => {
  await using h = await harness({ maxClientsPerIp: 2 });
  const url = `ws://127.0.0.1:${h.port}/`;
  const a = await open(url);
  const b = await open(url);
  assertJsonError(await handshake(h.port), 429, "too_many_connections");
  await a.close();
  await b.close();
});

Deno.test("constructor: bad security options are TypeError / RangeError", () => {
  const base = { rpcClient: new FakeRpc(), zmqClient: new FakeZmq() };
  for (const authToken of ["", "has space", "é", "a/b=", "x".repeat(1025)]) {
    assert.throws(
      () => new EvrmoreWebSocketServer({ ...base, authToken }),
      (error: Error) =>
        error instanceof TypeError &&
        /^Cannot create server: authToken /.test(error.message),
      authToken,
    );
  }
  for (
    const origin of ["example.com", "https://example.com/path", "ftp://"]
  ) {
    assert.throws(
      () => new EvrmoreWebSocketServer({ ...base, allowedOrigins: [origin] }),
      TypeError,
      origin,
    );
  }
  assert.throws(
    () =>
      new EvrmoreWebSocketServer({
        ...base,
        allowedOrigins: "https://a.b" as unknown as string[],
      }),
    TypeError,
  );
  for (const maxMessagesPerSecond of [-1, Infinity, NaN]) {
    assert.throws(
      () => new EvrmoreWebSocketServer({ ...base, maxMessagesPerSecond }),
      RangeError,
    );
  }
  assert.throws(
    () => new EvrmoreWebSocketServer({ ...base, messageBurst: 0 }),
    RangeError,
  );
  assert.throws(
    () => new EvrmoreWebSocketServer({ ...base, maxClientsPerIp: -1 }),
    RangeError,
  );
  assert.throws(
    () => new EvrmoreWebSocketClient({ token: "has space" }),
    (error: Error) =>
      error instanceof TypeError &&
      /^Cannot create client: token /.test(error.message),
  );
});
