/**
 * A TCP front for the server's `Deno.serve`, which has no handshake
 * deadline and stops accepting for good when file descriptors run out.
 * This front owns the accept loop and the first bytes of every connection:
 *
 * - `accept()` errors (EMFILE under a flood) are survived with a short
 *   back-off; accepting resumes as soon as descriptors are free again.
 * - A connection must deliver its whole request head within
 *   `handshakeTimeoutMs` (default 10 s) and `maxHeadBytes`, else it is
 *   closed; pending handshakes are capped in total and per address.
 * - The head is forwarded, with the peer address in `X-Evrmore-Peer`
 *   (any such header from the client is dropped), to the real server on a
 *   Unix socket; plain HTTP requests are forwarded with `Connection: close`.
 * - After a `101 Switching Protocols`, every client frame header is read by
 *   a {@linkcode FrameGuard}: the first message larger than
 *   `maxMessageBytes` closes the connection with 1009 before Deno buffers
 *   it; a protocol error closes with 1002.
 *
 * Cost: three descriptors per client instead of one, and one copy of each
 * byte through JavaScript (see `bench/listener_bench.ts`).
 *
 * @module
 */

import {
  encodeCloseFrame,
  encodeTextFrame,
  FrameGuard,
} from "./_frame_guard.ts";

/** The header carrying the TCP peer's address to the inner server. */
export const PEER_HEADER = "x-evrmore-peer";

/** Why {@linkcode GuardedListener} closed a connection. */
export type ListenerRejection =
  | "handshake_timeout"
  | "head_too_large"
  | "bad_request"
  | "too_many_pending"
  | "too_many_connections"
  | "too_many_pending_per_address"
  | "upstream_unavailable"
  | "message_too_large"
  | "protocol_error"
  | "penalized";

/** Options of {@linkcode GuardedListener}. */
export interface GuardedListenerOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Port; 0 picks a free one. Default 8765. */
  port?: number;
  /**
   * Where the inner `Deno.serve` listens: a Unix socket path, or a
   * loopback TCP address.
   */
  upstream: { path: string } | { hostname: string; port: number };
  /**
   * A secret written before the peer address in `X-Evrmore-Peer`, so the
   * inner server can tell the front's requests from direct ones (when it
   * listens on loopback TCP). Default: none.
   */
  peerSecret?: string;
  /** PEM certificate and key: accept TLS (`wss://`, `https://`). */
  tls?: { cert: string; key: string };
  /** Set `SO_REUSEPORT` (Linux). Default false. */
  reusePort?: boolean;
  /** Milliseconds to deliver the whole request head. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** Largest request head in bytes. Default 16 384. */
  maxHeadBytes?: number;
  /** Connections still sending their head, in total. Default 1024. */
  maxPending?: number;
  /** Connections still sending their head, per peer address. Default 16. */
  maxPendingPerAddress?: number;
  /**
   * Descriptors the front may hold: one per connection still sending its
   * head, three per forwarded connection (client, and both ends of the
   * Unix socket). Past it, new connections are accepted and closed at once.
   * Keep it below the open-file limit with room for the runtime, the node's
   * sockets and the one descriptor an accept-and-close needs (see
   * `planClients()` in `_fd_limit.ts`): Deno cannot survive running out —
   * `Deno.serve` stops accepting for good, and the runtime panics when it
   * needs a descriptor for a signal handler. Default 4096.
   */
  maxDescriptors?: number;
  /** Largest WebSocket message from a client, in bytes. Default 65 536. */
  maxMessageBytes?: number;
  /**
   * Milliseconds an address that sent an oversized or invalid frame is
   * refused afterwards (0: never). Default 10 000.
   */
  penaltyMs?: number;
  /** Addresses never refused that way (trusted proxies: they carry many clients). */
  exempt?: (peer: string) => boolean;
  /** Milliseconds to wait after a failed `accept()`. Default 100. */
  acceptBackoffMs?: number;
  /** Told about every connection closed by the front (for metrics and logs). */
  onReject?: (reason: ListenerRejection, peer: string) => void;
  /** Told about `accept()` errors (rate-limit the logging). */
  onAcceptError?: (error: unknown) => void;
}

/** Counters of a {@linkcode GuardedListener}. */
export interface GuardedListenerStats {
  /** Connections still sending their head. */
  pending: number;
  /** Connections forwarded to the inner server and open. */
  open: number;
  /** `accept()` calls that failed. */
  acceptErrors: number;
}

const HEAD_END = new Uint8Array([13, 10, 13, 10]);

function indexOfHeadEnd(buf: Uint8Array, length: number, from: number): number {
  for (let i = Math.max(0, from - 3); i + 3 < length; i++) {
    if (
      buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 &&
      buf[i + 3] === 10
    ) return i;
  }
  return -1;
}

/**
 * Rewrites a request head for the inner server: drops any `X-Evrmore-Peer`,
 * adds the real one, and for a request that is not a WebSocket upgrade
 * replaces `Connection` with `close`. Returns `undefined` when the head is
 * not an HTTP/1.x request, or has several `Host` lines or one that is not
 * a valid host.
 */
export function rewriteHead(
  head: string,
  peer: string,
): { head: string; upgrade: boolean } | undefined {
  const lines = head.split("\r\n");
  const requestLine = lines[0] ?? "";
  if (!/^[A-Z]{1,16} \S+ HTTP\/1\.[01]$/.test(requestLine)) return undefined;
  let upgrade = false;
  let hosts = 0;
  const kept: string[] = [requestLine];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === PEER_HEADER) continue;
    if (name === "host") {
      // Deno.serve turns `Host: a b` into the URL "http://a b/", which
      // `new URL()` then refuses: refuse it here, as one 400.
      if (hosts++ > 0 || !URL.canParse(`http://${value}/`)) return undefined;
    }
    if (name === "upgrade" && value.toLowerCase() === "websocket") {
      upgrade = true;
    }
    if (name === "connection") continue; // set below
    kept.push(line);
  }
  kept.push(upgrade ? "Connection: Upgrade" : "Connection: close");
  kept.push(`${PEER_HEADER}: ${peer}`);
  return { head: kept.join("\r\n") + "\r\n\r\n", upgrade };
}

/**
 * Accepts TCP connections, enforces the handshake deadline and caps, and
 * forwards each connection to an inner `Deno.serve` on a Unix socket.
 *
 * @example
 * ```ts ignore
 * import { GuardedListener, PEER_HEADER } from "./_listener.ts";
 * const path = await Deno.makeTempFile() + ".sock";
 * const inner = Deno.serve({ path, onListen() {} }, (req) => {
 *   const peer = req.headers.get(PEER_HEADER); // the real client address
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   socket.onmessage = (e) => socket.send(e.data);
 *   return response;
 * });
 * const front = new GuardedListener({ port: 8765, upstream: { path } });
 * ```
 */
export class GuardedListener {
  #listener: Deno.Listener;
  #options: Required<
    Omit<
      GuardedListenerOptions,
      | "onReject"
      | "onAcceptError"
      | "tls"
      | "peerSecret"
      | "reusePort"
      | "exempt"
    >
  >;
  #peerPrefix: string;
  #onReject: (reason: ListenerRejection, peer: string) => void;
  #onAcceptError: (error: unknown) => void;
  #exempt: (peer: string) => boolean;
  #pending = 0;
  #pendingByPeer = new Map<string, number>();
  #open = new Set<Deno.Conn>();
  #acceptErrors = 0;
  /** Addresses refused until a time (ms), after an oversized or bad frame. */
  #penalties = new Map<string, number>();
  #closed = false;
  #loop: Promise<void>;

  /** Starts listening. @throws {Deno.errors.AddrInUse} and other bind errors. */
  constructor(options: GuardedListenerOptions) {
    this.#options = {
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 8765,
      upstream: options.upstream,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      maxHeadBytes: options.maxHeadBytes ?? 16_384,
      maxPending: options.maxPending ?? 1024,
      maxPendingPerAddress: options.maxPendingPerAddress ?? 16,
      maxMessageBytes: options.maxMessageBytes ?? 65_536,
      maxDescriptors: options.maxDescriptors ?? 4096,
      acceptBackoffMs: options.acceptBackoffMs ?? 100,
      penaltyMs: options.penaltyMs ?? PENALTY_MS,
    };
    this.#onReject = options.onReject ?? (() => {});
    this.#onAcceptError = options.onAcceptError ?? (() => {});
    this.#exempt = options.exempt ?? (() => false);
    this.#peerPrefix = options.peerSecret === undefined
      ? ""
      : `${options.peerSecret} `;
    const address = {
      hostname: this.#options.hostname,
      port: this.#options.port,
      ...(options.reusePort ? { reusePort: true } : {}),
    };
    this.#listener = options.tls === undefined
      ? Deno.listen(address)
      : Deno.listenTls({ ...address, ...options.tls });
    this.#loop = this.#acceptLoop();
  }

  /** The address listened on. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /** Current counters. */
  get stats(): GuardedListenerStats {
    return {
      pending: this.#pending,
      open: this.#open.size,
      acceptErrors: this.#acceptErrors,
    };
  }

  /** Stops accepting and closes every connection (idempotent). */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#listener.close();
      } catch { /* already closed */ }
      for (const conn of this.#open) closeQuietly(conn);
    }
    await this.#loop;
  }

  /** Same as {@linkcode GuardedListener.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * An address that just sent an oversized or invalid frame may not connect
   * again for a while (its next connections are closed at once), so that a
   * client cannot make the server read huge frames in a loop.
   */
  #penalize(peer: string): void {
    if (this.#options.penaltyMs <= 0 || this.#exempt(peer)) return;
    const penalties = this.#penalties;
    penalties.delete(peer);
    penalties.set(peer, Date.now() + this.#options.penaltyMs);
    if (penalties.size > MAX_PENALTIES) {
      const oldest = penalties.keys().next().value;
      if (oldest !== undefined) penalties.delete(oldest);
    }
  }

  #penalized(peer: string): boolean {
    const until = this.#penalties.get(peer);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.#penalties.delete(peer);
    return false;
  }

  /** Descriptors held: pending connections, and three per forwarded one. */
  #descriptors(): number {
    return this.#pending + 3 * (this.#open.size - this.#pending);
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed) return;
        this.#acceptErrors++;
        this.#onAcceptError(error);
        await new Promise((r) => setTimeout(r, this.#options.acceptBackoffMs));
        continue;
      }
      this.#handle(conn).catch(() => closeQuietly(conn));
    }
  }

  async #handle(conn: Deno.Conn): Promise<void> {
    const peer = (conn.remoteAddr as Deno.NetAddr).hostname;
    const o = this.#options;
    if (this.#penalized(peer)) {
      this.#onReject("penalized", peer);
      return closeQuietly(conn);
    }
    if (this.#descriptors() + 1 > o.maxDescriptors) {
      this.#onReject("too_many_connections", peer);
      return closeQuietly(conn);
    }
    if (this.#pending >= o.maxPending) {
      this.#onReject("too_many_pending", peer);
      return closeQuietly(conn);
    }
    const perPeer = this.#pendingByPeer.get(peer) ?? 0;
    if (perPeer >= o.maxPendingPerAddress) {
      this.#onReject("too_many_pending_per_address", peer);
      return closeQuietly(conn);
    }
    this.#pending++;
    this.#pendingByPeer.set(peer, perPeer + 1);
    this.#open.add(conn);
    let upstream: Deno.Conn | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      closeQuietly(conn);
    }, o.handshakeTimeoutMs);
    let head: { head: string; upgrade: boolean } | undefined;
    let rest: Uint8Array;
    try {
      const buf = new Uint8Array(o.maxHeadBytes + 4);
      let length = 0;
      let end = -1;
      while (end === -1) {
        if (length >= buf.length) {
          this.#onReject("head_too_large", peer);
          await writeQuietly(
            conn,
            "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
          );
          return;
        }
        const n = await conn.read(buf.subarray(length)).catch(() => null);
        if (n === null) {
          if (timedOut) this.#onReject("handshake_timeout", peer);
          return;
        }
        length += n;
        end = indexOfHeadEnd(buf, length, length - n);
      }
      head = rewriteHead(
        new TextDecoder("latin1").decode(buf.subarray(0, end)),
        this.#peerPrefix + peer,
      );
      rest = buf.slice(end + HEAD_END.length, length);
      if (head === undefined) {
        this.#onReject("bad_request", peer);
        await writeQuietly(
          conn,
          "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        );
        return;
      }
      try {
        const target = o.upstream;
        upstream = await ("path" in target
          ? Deno.connect({ transport: "unix", path: target.path })
          : Deno.connect({ hostname: target.hostname, port: target.port }));
      } catch {
        this.#onReject("upstream_unavailable", peer);
        await writeQuietly(
          conn,
          "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        );
        return;
      }
    } finally {
      clearTimeout(timer);
      this.#pending--;
      const left = (this.#pendingByPeer.get(peer) ?? 1) - 1;
      if (left === 0) this.#pendingByPeer.delete(peer);
      else this.#pendingByPeer.set(peer, left);
      if (upstream === undefined) {
        this.#open.delete(conn);
        closeQuietly(conn);
      }
    }
    if (timedOut) {
      this.#open.delete(conn);
      closeQuietly(upstream);
      return;
    }
    try {
      await upstream.write(new TextEncoder().encode(head.head));
      if (rest.length > 0) await upstream.write(rest); // a request body
      await this.#pump(conn, upstream, head.upgrade, peer);
    } finally {
      this.#open.delete(conn);
      closeQuietly(conn);
      closeQuietly(upstream);
    }
  }

  async #pump(
    client: Deno.Conn,
    upstream: Deno.Conn,
    upgrade: boolean,
    peer: string,
  ): Promise<void> {
    const guard = upgrade
      ? new FrameGuard({ maxMessageBytes: this.#options.maxMessageBytes })
      : undefined;
    let stop = false;
    let draining = false;
    const frames = upgrade ? new FrameBoundary() : undefined;
    const down = (async () => {
      const buf = new Uint8Array(DOWN_BUFFER);
      for (;;) {
        const n = await upstream.read(buf).catch(() => null);
        if (n === null || stop) break;
        if (!(await writeAll(client, buf.subarray(0, n)))) break;
        frames?.feed(buf.subarray(0, n));
      }
      stop = true;
      if (!draining) closeQuietly(client);
    })();
    const up = (async () => {
      const buf = new Uint8Array(UP_BUFFER);
      for (;;) {
        const n = await client.read(buf).catch(() => null);
        if (n === null || stop) break;
        const chunk = buf.subarray(0, n);
        if (guard !== undefined) {
          const verdict = guard.feed(chunk);
          if (verdict.kind === "too_big" || verdict.kind === "protocol_error") {
            const tooBig = verdict.kind === "too_big";
            this.#onReject(
              tooBig ? "message_too_large" : "protocol_error",
              peer,
            );
            this.#penalize(peer);
            stop = true;
            draining = true;
            closeQuietly(upstream);
            // Frames go out only between the server's frames: wait (a
            // little) for the copy from the server to stop.
            let timer: ReturnType<typeof setTimeout> | undefined;
            await Promise.race([
              down,
              new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_MS))),
            ]);
            clearTimeout(timer);
            if (frames?.atBoundary) {
              const code = tooBig ? "message_too_large" : "invalid_message";
              await writeAll(
                client,
                encodeTextFrame(JSON.stringify({
                  type: "error",
                  code,
                  message: tooBig
                    ? `Cannot handle message: longer than ${this.#options.maxMessageBytes} bytes`
                    : "Cannot handle message: not a valid WebSocket frame",
                  data: { code },
                })),
              );
              await writeAll(
                client,
                encodeCloseFrame(
                  tooBig ? 1009 : 1002,
                  tooBig ? "message_too_large" : "protocol_error",
                ),
              );
            }
            await drainThenClose(client, DRAIN_MS);
            break;
          }
        }
        if (!(await writeAll(upstream, chunk))) break;
      }
      stop = true;
      closeQuietly(upstream);
    })();
    await Promise.all([down, up]);
  }
}

/**
 * Follows the frames the server sends (unmasked), to tell whether the
 * bytes copied so far end between two frames.
 */
class FrameBoundary {
  /** Bytes of the HTTP response's closing CRLFCRLF seen (4: the frames began). */
  #headEnd = 0;
  /** Header bytes collected of the frame being read. */
  #header = new Uint8Array(14);
  #have = 0;
  /** Payload bytes of the current frame still to come (-1: in a header). */
  #left = -1;

  get atBoundary(): boolean {
    return this.#headEnd === 4 && this.#left <= 0 && this.#have === 0;
  }

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (this.#headEnd < 4 && i < chunk.length) {
      const byte = chunk[i++];
      const want = this.#headEnd % 2 === 0 ? 13 : 10;
      this.#headEnd = byte === want ? this.#headEnd + 1 : byte === 13 ? 1 : 0;
    }
    while (i < chunk.length) {
      if (this.#left > 0) {
        const take = Math.min(this.#left, chunk.length - i);
        this.#left -= take;
        i += take;
        continue;
      }
      this.#header[this.#have++] = chunk[i++]!;
      if (this.#have < 2) continue;
      const h = this.#header;
      const len7 = h[1]! & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) +
        ((h[1]! & 0x80) !== 0 ? 4 : 0);
      if (this.#have < need) continue;
      let length = len7;
      if (len7 === 126) length = (h[2]! << 8) | h[3]!;
      else if (len7 === 127) {
        length = 0;
        for (let k = 2; k < 10; k++) length = length * 256 + h[k]!;
      }
      this.#have = 0;
      this.#left = length;
    }
  }
}

/** How long an address that sent an oversized or invalid frame is refused. */
const PENALTY_MS = 10_000;
/** Addresses remembered for that at most (the oldest forgotten first). */
const MAX_PENALTIES = 10_000;

/** Bytes read at once from the server (its messages) and from a client (small requests). */
const DOWN_BUFFER = 32 * 1024;
const UP_BUFFER = 8 * 1024;

/**
 * Bytes to read (and discard) at most after a close frame: enough for a
 * client to finish sending a message a few MiB over the limit and read its
 * 1009; one still pushing a huge frame after that is cut off.
 */
const DRAIN_BYTES = 8 * 1024 * 1024;

/** Milliseconds to keep reading (and discarding) after a close frame. */
const DRAIN_MS = 1000;

/**
 * Half-closes `conn` and discards what it still sends for up to `ms`, so
 * the peer reads the close frame before the socket goes (closing with
 * unread input would reset the connection and lose the frame).
 */
async function drainThenClose(conn: Deno.Conn, ms: number): Promise<void> {
  try {
    await conn.closeWrite();
  } catch { /* gone */ }
  const timer = setTimeout(() => closeQuietly(conn), ms);
  const buf = new Uint8Array(64 * 1024);
  // Bounded in bytes too: a client still pushing a huge frame is cut off.
  let left = DRAIN_BYTES;
  while (left > 0) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    left -= n;
  }
  clearTimeout(timer);
  closeQuietly(conn);
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    let at = 0;
    while (at < bytes.length) at += await conn.write(bytes.subarray(at));
    return true;
  } catch {
    return false;
  }
}

async function writeQuietly(conn: Deno.Conn, text: string): Promise<void> {
  await writeAll(conn, new TextEncoder().encode(text));
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch { /* already closed */ }
}
