/**
 * The attackers of `bench/hostile_bench.ts`: raw TCP clients (`node:net`,
 * the only Deno socket API that binds a chosen source address, here
 * 127.0.x.y) that misbehave in the ways issue 8 lists. Each attack runs
 * until its deadline, counts what it did and what the server did to it,
 * and registers every socket in an {@linkcode Arena} that destroys them
 * all, whatever happened.
 *
 * @module
 */

import net from "node:net";
import type { Buffer } from "node:buffer";

/** The `getblock` hash the attackers ask for (the server's big block). */
export const BIG_BLOCK_HASH: string = "00000000a1b2c3d4".repeat(4);

/** Every socket of a scenario, destroyed by `close()`. */
export class Arena {
  #sockets = new Set<net.Socket>();
  #signal: AbortSignal;

  /** @param signal Aborted at the scenario's end. */
  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  /** Whether the scenario is over. */
  get over(): boolean {
    return this.#signal.aborted;
  }

  /** Resolves when the scenario is over. */
  get ended(): Promise<void> {
    if (this.#signal.aborted) return Promise.resolve();
    return new Promise((resolve) =>
      this.#signal.addEventListener("abort", () => resolve(), { once: true })
    );
  }

  /** Connects from `localAddress`; resolves once connected. */
  connect(port: number, localAddress: string): Promise<net.Socket> {
    const { promise, resolve, reject } = Promise.withResolvers<net.Socket>();
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    this.#sockets.add(socket);
    socket.once("close", () => {
      this.#sockets.delete(socket);
      reject(new Error("Cannot connect: closed")); // destroyed while connecting
    });
    socket.once("connect", () => resolve(socket));
    socket.once("error", (error) => {
      this.#sockets.delete(socket);
      reject(error);
    });
    // A later error (reset by the server) must not be unhandled.
    socket.on("error", () => {});
    return promise;
  }

  /** Destroys every socket. */
  close(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}

/** What an attack did. */
export interface AttackStats {
  /** Connections made. */
  connections: number;
  /** Connections that failed or that the server closed before the end. */
  cut: number;
  /** Bytes written (accepted by the kernel). */
  bytesOut: number;
  /** Bytes the server sent back. */
  bytesIn: number;
  /** Messages (commands, frames) sent. */
  messages: number;
}

function stats(): AttackStats {
  return { connections: 0, cut: 0, bytesOut: 0, bytesIn: 0, messages: 0 };
}

/** Adds `b` into `a`. */
export function addStats(a: AttackStats, b: AttackStats): AttackStats {
  for (const key of Object.keys(a) as Array<keyof AttackStats>) {
    a[key] += b[key];
  }
  return a;
}

/** `127.<net>.<host>`, host 1–250. */
export function address(net: number, host: number): string {
  return `127.0.${net}.${1 + (Math.floor(host) % 250)}`;
}

const UPGRADE = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Sec-WebSocket-Version: 13\r\n\r\n";

/** Sends the WebSocket handshake; resolves on `101`, rejects otherwise. */
function upgrade(socket: net.Socket): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  let head = "";
  const onData = (chunk: Buffer) => {
    head += chunk.toString("latin1");
    if (!head.includes("\r\n\r\n")) return;
    socket.off("data", onData);
    if (head.startsWith("HTTP/1.1 101")) resolve();
    else reject(new Error(head.split("\r\n")[0]));
  };
  socket.on("data", onData);
  socket.once("close", () => reject(new Error("closed in the handshake")));
  socket.write(UPGRADE);
  return promise;
}

/**
 * The header of a masked client frame (`opcode` 1: text) of `length`
 * payload bytes, with the all-zero mask key, so the payload goes as is.
 */
export function frameHeader(length: number, opcode = 1): Uint8Array {
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = new Uint8Array(2 + extra + 4);
  header[0] = 0x80 | opcode;
  if (extra === 0) header[1] = 0x80 | length;
  else if (extra === 2) {
    header[1] = 0x80 | 126;
    new DataView(header.buffer).setUint16(2, length);
  } else {
    header[1] = 0x80 | 127;
    new DataView(header.buffer).setBigUint64(2, BigInt(length));
  }
  return header; // mask key: the last 4 bytes, zero
}

/** One masked text frame holding `text`. */
export function textFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const frame = new Uint8Array(
    frameHeader(payload.length).length +
      payload.length,
  );
  const header = frameHeader(payload.length);
  frame.set(header);
  frame.set(payload, header.length);
  return frame;
}

/** Writes, waiting for `drain` when the socket's buffer is full. */
function write(socket: net.Socket, bytes: Uint8Array): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(false);
  if (socket.write(bytes)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    socket.on("drain", onDrain);
    socket.on("close", onClose);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when the socket closes or the scenario ends; `true` if closed first. */
function closedBeforeEnd(arena: Arena, socket: net.Socket): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return Promise.race([
    new Promise<boolean>((r) => socket.once("close", () => r(!arena.over))),
    arena.ended.then(() => false),
  ]);
}

/**
 * (a) `idle` connections that never send a byte and `partial` that send
 * half an HTTP request, 10 per source address, held to the end.
 */
export async function slowloris(
  arena: Arena,
  port: number,
  { idle, partial, net }: { idle: number; partial: number; net: number },
): Promise<AttackStats> {
  const s = stats();
  const one = async (i: number) => {
    const half = i >= idle;
    let socket: net.Socket;
    try {
      socket = await arena.connect(port, address(net + (half ? 1 : 0), i / 10));
    } catch {
      s.cut++;
      return;
    }
    s.connections++;
    if (half) {
      socket.write(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n",
      );
      s.bytesOut += 55;
    }
    socket.on("data", (chunk: Buffer) => s.bytesIn += chunk.length);
    if (await closedBeforeEnd(arena, socket)) s.cut++;
  };
  await Promise.all(Array.from({ length: idle + partial }, (_, i) => one(i)));
  return s;
}

/**
 * A client loop: connect from `from`, upgrade, run `body`, and again
 * after the server cuts it, until the scenario ends.
 */
async function persistent(
  arena: Arena,
  port: number,
  from: string,
  s: AttackStats,
  body: (socket: net.Socket) => Promise<void>,
): Promise<void> {
  while (!arena.over) {
    let socket: net.Socket;
    try {
      socket = await arena.connect(port, from);
      s.connections++;
      socket.on("data", (chunk: Buffer) => s.bytesIn += chunk.length);
      await upgrade(socket);
    } catch {
      if (arena.over) break;
      s.cut++;
      await sleep(50); // refused (429, 503): try again a little later
      continue;
    }
    await body(socket);
    if (!arena.over) s.cut++;
    socket.destroy();
  }
}

/**
 * (b) `clients` that each announce a `megabytes` MiB text frame after the
 * handshake and stream its payload (1 MiB writes of zeros), again and
 * again: the guard should cut them at the header.
 */
export async function hugeFrames(
  arena: Arena,
  port: number,
  { clients, megabytes, net }: {
    clients: number;
    megabytes: number;
    net: number;
  },
): Promise<AttackStats> {
  const s = stats();
  const chunk = new Uint8Array(1 << 20);
  await Promise.all(
    Array.from(
      { length: clients },
      (_, i) =>
        persistent(arena, port, address(net, i), s, async (socket) => {
          s.messages++;
          if (!await write(socket, frameHeader(megabytes << 20))) {
            return;
          }
          for (let m = 0; m < megabytes && !arena.over; m++) {
            if (!await write(socket, chunk)) return;
            s.bytesOut += chunk.length;
          }
          await closedBeforeEnd(arena, socket);
        }),
    ),
  );
  return s;
}

/**
 * (c) `clients` that send `{"command":"getblock","params":[hash,2]}`
 * `perSecond` times a second and never read (the socket is paused, so the
 * replies pile up in the kernel and then in the server's send buffer).
 */
export async function neverRead(
  arena: Arena,
  port: number,
  { clients, perSecond, hash, net }: {
    clients: number;
    perSecond: number;
    hash: string;
    net: number;
  },
): Promise<AttackStats> {
  const s = stats();
  const frame = textFrame(
    JSON.stringify({ command: "getblock", params: [hash, 2] }),
  );
  await Promise.all(
    Array.from(
      { length: clients },
      (_, i) =>
        persistent(arena, port, address(net, i / 10), s, async (socket) => {
          socket.removeAllListeners("data");
          socket.pause();
          while (!arena.over && !socket.destroyed) {
            if (!await write(socket, frame)) {
              return;
            }
            s.messages++;
            s.bytesOut += frame.length;
            await sleep(1000 / perSecond);
          }
        }),
    ),
  );
  return s;
}

/**
 * (d) `clients` that each send `perSecond` `getblockcount` commands a
 * second (in batches every 50 ms) and read the replies.
 */
export async function commandFlood(
  arena: Arena,
  port: number,
  { clients, perSecond, net }: {
    clients: number;
    perSecond: number;
    net: number;
  },
): Promise<AttackStats> {
  const s = stats();
  const batch = Math.max(1, Math.round(perSecond / 20));
  const frame = textFrame(JSON.stringify({ command: "getblockcount" }));
  const frames = new Uint8Array(frame.length * batch);
  for (let i = 0; i < batch; i++) frames.set(frame, i * frame.length);
  await Promise.all(
    Array.from(
      { length: clients },
      (_, i) =>
        persistent(arena, port, address(net, i), s, async (socket) => {
          let next = performance.now();
          while (!arena.over && !socket.destroyed) {
            if (!await write(socket, frames)) {
              return;
            }
            s.messages += batch;
            s.bytesOut += frames.length;
            next += 50;
            await sleep(Math.max(0, next - performance.now()));
          }
        }),
    ),
  );
  return s;
}

/**
 * (e) Connections opened and closed at once from one address, `parallel`
 * at a time, `total` at most, until the scenario ends.
 */
export async function connectionFlood(
  arena: Arena,
  port: number,
  { total, parallel, net }: { total: number; parallel: number; net: number },
): Promise<AttackStats> {
  const s = stats();
  const from = address(net, 0);
  let started = 0;
  const worker = async () => {
    while (!arena.over && started < total) {
      started++;
      try {
        const socket = await arena.connect(port, from);
        s.connections++;
        socket.destroy();
      } catch {
        s.cut++;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return s;
}
