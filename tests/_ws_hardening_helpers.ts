/**
 * Shared helpers of the WebSocket tests: stand-ins for the node's clients, a
 * raw HTTP handshake (to read status codes a `WebSocket` hides), a masked
 * client frame for raw TCP connections and a small message-queue client.
 */

import assert from "node:assert/strict";
import {
  EvrmoreWebSocketServer,
  type EvrmoreWebSocketServerOptions,
  type WebSocketServerRpc,
  type WebSocketServerZmq,
  type WebSocketServerZmqEvents,
} from "../lib/websocket/mod.ts";

type Handler = (event: never) => void | Promise<void>;

/** A ZMQ client stand-in: `emit()` drives notifications. */
export class FakeZmq implements WebSocketServerZmq {
  handlers = new Map<string, Set<Handler>>();
  starts = 0;

  on<E extends keyof WebSocketServerZmqEvents>(
    event: E,
    handler: (event: WebSocketServerZmqEvents[E]) => void | Promise<void>,
  ): () => void {
    let set = this.handlers.get(event);
    if (set === undefined) this.handlers.set(event, set = new Set());
    set.add(handler as Handler);
    return () => set.delete(handler as Handler);
  }

  start(): Promise<void> {
    this.starts++;
    return Promise.resolve();
  }

  emit<E extends keyof WebSocketServerZmqEvents>(
    event: E,
    value: WebSocketServerZmqEvents[E],
  ): void {
    for (const handler of this.handlers.get(event) ?? []) {
      void (handler as (v: unknown) => void)(value);
    }
  }

  get listenerCount(): number {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }
}

/** An RPC client stand-in: `getblockcount` answers 170, the rest fail. */
export class FakeRpc implements WebSocketServerRpc {
  call(method: string): Promise<unknown> {
    if (method === "getblockcount") return Promise.resolve(170);
    return Promise.reject(new TypeError(`Cannot call ${method}: not faked`));
  }

  getmempoolinfo(): Promise<{ size: number; bytes: number; usage: number }> {
    return Promise.resolve({ size: 0, bytes: 0, usage: 0 });
  }
}

/**
 * A started server on 127.0.0.1, port 0, without pings, over do-nothing
 * stand-ins for the node: every RPC call answers `answer`, the ZMQ client
 * never notifies; errors are dropped unless `options.onError` says.
 */
export async function stubServer(
  options: Partial<EvrmoreWebSocketServerOptions> = {},
  { answer = null }: { answer?: unknown } = {},
): Promise<EvrmoreWebSocketServer> {
  const server = new EvrmoreWebSocketServer({
    rpcClient: {
      call: () => Promise.resolve(answer),
      getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
    },
    zmqClient: { on: () => () => {}, start: () => Promise.resolve() },
    host: "127.0.0.1",
    port: 0,
    pingInterval: null,
    onError: () => {},
    ...options,
  });
  await server.start();
  return server;
}

/** A started server on 127.0.0.1, port 0, with fakes; disposed by `await using`. */
export interface Harness<R extends WebSocketServerRpc = FakeRpc> {
  server: EvrmoreWebSocketServer<R>;
  rpc: R;
  zmq: FakeZmq;
  errors: Error[];
  port: number;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a server over `rpc` and a `FakeZmq`, without pings, collecting its
 * errors, with the given options on top.
 */
export async function harnessWith<R extends WebSocketServerRpc>(
  rpc: R,
  options: Partial<EvrmoreWebSocketServerOptions<R>> = {},
): Promise<Harness<R>> {
  const zmq = new FakeZmq();
  const errors: Error[] = [];
  const server = new EvrmoreWebSocketServer<R>({
    rpcClient: rpc,
    zmqClient: zmq,
    host: "127.0.0.1",
    port: 0,
    pingInterval: null,
    onError: (error) => errors.push(error),
    ...options,
  });
  await server.start();
  return {
    server,
    rpc,
    zmq,
    errors,
    port: server.port,
    [Symbol.asyncDispose]: () => server.stop(),
  };
}

/** Starts a server with the fakes and the given options. */
export function harness(
  options: Partial<EvrmoreWebSocketServerOptions<FakeRpc>> = {},
): Promise<Harness> {
  return harnessWith(new FakeRpc(), options);
}

/** What a raw handshake got back. */
export interface HandshakeResult {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Sends a WebSocket upgrade request over a plain TCP connection and reads
 * the status line, headers and (for non-101 answers) the body; then closes.
 */
export async function handshake(
  port: number,
  { path = "/", headers = {} }: {
    path?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<HandshakeResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      "",
      "",
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n")));
    const decoder = new TextDecoder();
    let text = "";
    const buffer = new Uint8Array(4096);
    while (true) {
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const [statusLine = "", ...headerLines] = text.slice(0, end).split(
          "\r\n",
        );
        const status = Number(statusLine.split(" ")[1]);
        const out = new Headers();
        for (const line of headerLines) {
          const colon = line.indexOf(":");
          out.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
        }
        if (status === 101) return { status, headers: out, body: "" };
        const length = Number(out.get("content-length") ?? "0");
        const bodyStart = end + 4;
        if (
          new TextEncoder().encode(text.slice(bodyStart)).length >= length
        ) {
          return { status, headers: out, body: text.slice(bodyStart) };
        }
      }
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`connection closed after: ${text}`);
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
  } finally {
    conn.close();
  }
}

/** One masked client text frame (payload under 126 bytes), for raw TCP sockets. */
export function maskedTextFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  assert.ok(payload.length < 126);
  const mask = [1, 2, 3, 4];
  const frame = new Uint8Array(2 + 4 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  frame.set(mask, 2);
  for (let i = 0; i < payload.length; i++) {
    frame[6 + i] = payload[i]! ^ mask[i % 4]!;
  }
  return frame;
}

/**
 * Completes a WebSocket handshake over a raw TCP connection (checking the
 * 101), then subscribes to `topic` with one masked frame and reads nothing
 * more: a client that never reads.
 */
export async function upgradeAndSubscribe(
  conn: Deno.Conn,
  topic: string,
): Promise<void> {
  await conn.write(new TextEncoder().encode(
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  const head = new Uint8Array(1024);
  const n = await conn.read(head);
  assert.ok(
    n !== null &&
      new TextDecoder().decode(head.subarray(0, n)).startsWith(
        "HTTP/1.1 101",
      ),
  );
  await conn.write(
    maskedTextFrame(JSON.stringify({ action: "subscribe", topic })),
  );
}

/** A WebSocket with a message queue. */
export interface TestSocket {
  ws: WebSocket;
  /** The next message; rejects after `timeoutMs` (default: `open()`'s). */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  send(message: unknown): void;
  sendText(text: string): void;
  /** Sends a ping and collects every message received before the pong. */
  drain(): Promise<Array<Record<string, unknown>>>;
  closed: Promise<CloseEvent>;
  close(): Promise<void>;
}

/**
 * Opens a WebSocket (optionally with subprotocols) and queues its messages;
 * `next()` waits `timeoutMs` (10 s unless told) for one. The server's
 * `welcome` is skipped unless `welcome` is true.
 */
export async function open(
  url: string,
  protocols?: string[],
  { timeoutMs: defaultTimeoutMs = 10_000, welcome = false }: {
    timeoutMs?: number;
    welcome?: boolean;
  } = {},
): Promise<TestSocket> {
  const ws = protocols === undefined
    ? new WebSocket(url)
    : new WebSocket(url, protocols);
  const queue: Array<Record<string, unknown>> = [];
  const waiters: Array<(m: Record<string, unknown>) => void> = [];
  const closed = new Promise<CloseEvent>((resolve) =>
    ws.addEventListener("close", resolve, { once: true })
  );
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data as string);
    if (message?.type === "welcome" && !welcome) return;
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(message);
    else queue.push(message);
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener(
      "error",
      () => reject(new Error(`cannot connect to ${url}`)),
      { once: true },
    );
  });
  let drainId = 0;
  const socket: TestSocket = {
    ws,
    closed,
    next(timeoutMs = defaultTimeoutMs) {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no message within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (message: Record<string, unknown>) => {
          clearTimeout(timer);
          resolve(message);
        };
        waiters.push(done);
      });
    },
    send(message) {
      ws.send(JSON.stringify(message));
    },
    sendText(text) {
      ws.send(text);
    },
    async drain() {
      const id = `drain-${drainId++}`;
      socket.send({ action: "ping", id });
      const out: Array<Record<string, unknown>> = [];
      while (true) {
        const message = await socket.next();
        if (message.type === "pong" && message.id === id) return out;
        out.push(message);
      }
    },
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      await closed;
    },
  };
  return socket;
}

/** Sends a ping with an id and checks the pong. */
export async function ping(socket: TestSocket, id: string): Promise<void> {
  socket.send({ action: "ping", id });
  assert.deepEqual(await socket.next(), { type: "pong", data: {}, id });
}

/** Polls `condition` every 10 ms; rejects naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
