/**
 * Shared helpers of the WebSocket security and metrics tests: stand-ins for
 * the node's clients, a raw HTTP handshake (to read status codes a
 * `WebSocket` hides) and a small message-queue client.
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

/** A started server on 127.0.0.1, port 0, with fakes; disposed by `await using`. */
export interface Harness {
  server: EvrmoreWebSocketServer<FakeRpc>;
  zmq: FakeZmq;
  errors: Error[];
  port: number;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a server with the fakes and the given options. */
export async function harness(
  options: Partial<EvrmoreWebSocketServerOptions<FakeRpc>> = {},
): Promise<Harness> {
  const zmq = new FakeZmq();
  const errors: Error[] = [];
  const server = new EvrmoreWebSocketServer<FakeRpc>({
    rpcClient: new FakeRpc(),
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
    zmq,
    errors,
    port: server.port,
    [Symbol.asyncDispose]: () => server.stop(),
  };
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

/** A WebSocket with a message queue. */
export interface TestSocket {
  ws: WebSocket;
  next(): Promise<Record<string, unknown>>;
  send(message: unknown): void;
  closed: Promise<CloseEvent>;
  close(): Promise<void>;
}

/** Opens a WebSocket (optionally with subprotocols) and queues its messages. */
export async function open(
  url: string,
  protocols?: string[],
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
  return {
    ws,
    closed,
    next() {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error("no message within 10 s"));
        }, 10_000);
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
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      await closed;
    },
  };
}

/** Sends a ping with an id and checks the pong. */
export async function ping(socket: TestSocket, id: string): Promise<void> {
  socket.send({ action: "ping", id });
  assert.deepEqual(await socket.next(), { type: "pong", id });
}
