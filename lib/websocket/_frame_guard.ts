/**
 * Inspects the bytes a WebSocket client sends (after the HTTP upgrade) and
 * reads each frame header as it passes, without buffering payloads. Tells,
 * as soon as a header announces it, that a message is larger than the
 * limit — also a fragmented one, whose fragments are added up — or that the
 * client broke the protocol. A byte-forwarding layer in front of Deno's
 * WebSocket can then close the connection with 1009 before anything large
 * is buffered (Deno buffers whole messages up to 64 MiB before handing them
 * over).
 *
 * @module
 */

/** What {@linkcode FrameGuard.feed} concluded. */
export type FrameVerdict =
  | { kind: "ok" }
  | {
    /** A message is, or will be, larger than the limit: close with 1009. */
    kind: "too_big";
    /** The message length known so far (announced by headers). */
    length: number;
  }
  | {
    /** The client broke RFC 6455: close with 1002. */
    kind: "protocol_error";
    /** What was wrong. */
    reason: string;
  }
  | {
    /** The client sent a close frame; later bytes are ignored. */
    kind: "closed";
  };

/** Options of {@linkcode FrameGuard}. */
export interface FrameGuardOptions {
  /** Largest message (all its fragments) in bytes. Default 65 536. */
  maxMessageBytes?: number;
  /** Whether frames must be masked (client to server: yes). Default true. */
  requireMask?: boolean;
}

const OK: FrameVerdict = { kind: "ok" };

/**
 * Follows the frame boundaries of one direction of a WebSocket connection.
 * Once it returns anything but `ok`, it keeps returning that.
 *
 * @example
 * ```ts
 * import { FrameGuard } from "./_frame_guard.ts";
 * const guard = new FrameGuard({ maxMessageBytes: 65536 });
 * // A masked binary frame header announcing 60 MiB: caught at 14 bytes.
 * const header = new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0x03, 0xc0, 0, 0, 1, 2, 3, 4]);
 * console.log(guard.feed(header)); // { kind: "too_big", length: 62914560 }
 * ```
 */
export class FrameGuard {
  #max: number;
  #requireMask: boolean;
  /** Header bytes collected so far (at most 14). */
  #header = new Uint8Array(14);
  #headerLength = 0;
  /** Payload bytes of the current frame still to pass. */
  #remaining = 0;
  /** Length of the fragmented data message in progress, or -1. */
  #message = -1;
  #verdict: FrameVerdict = OK;

  /** @throws {RangeError} When `maxMessageBytes` is not a positive integer. */
  constructor(options: FrameGuardOptions = {}) {
    const max = options.maxMessageBytes ?? 65_536;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(
        `Cannot create FrameGuard: maxMessageBytes must be a positive integer, got ${max}`,
      );
    }
    this.#max = max;
    this.#requireMask = options.requireMask ?? true;
  }

  /** The verdict so far. */
  get verdict(): FrameVerdict {
    return this.#verdict;
  }

  /** Reads `bytes`, the next bytes the client sent; returns the verdict so far. */
  feed(bytes: Uint8Array): FrameVerdict {
    if (this.#verdict.kind !== "ok") return this.#verdict;
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      if (this.#remaining > 0) {
        const skip = Math.min(this.#remaining, n - i);
        this.#remaining -= skip;
        i += skip;
        continue;
      }
      // Collect header bytes until the header is complete.
      const need = this.#headerNeed();
      const take = Math.min(need - this.#headerLength, n - i);
      this.#header.set(bytes.subarray(i, i + take), this.#headerLength);
      this.#headerLength += take;
      i += take;
      if (this.#headerLength < this.#headerNeed()) continue;
      const verdict = this.#onHeader();
      this.#headerLength = 0;
      if (verdict.kind !== "ok") return this.#verdict = verdict;
    }
    return OK;
  }

  /** Header length known from the bytes collected so far. */
  #headerNeed(): number {
    if (this.#headerLength < 2) return 2;
    const b1 = this.#header[1]!;
    const len7 = b1 & 0x7f;
    const mask = (b1 & 0x80) !== 0 ? 4 : 0;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + mask;
  }

  #onHeader(): FrameVerdict {
    const h = this.#header;
    const b0 = h[0]!, b1 = h[1]!;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) {
      return protocolError("reserved bits set (no extension was agreed)");
    }
    if (this.#requireMask && (b1 & 0x80) === 0) {
      return protocolError("client frame not masked");
    }
    let length = b1 & 0x7f;
    if (length === 126) {
      length = (h[2]! << 8) | h[3]!;
    } else if (length === 127) {
      if ((h[2]! & 0x80) !== 0) {
        return protocolError("64-bit length with top bit set");
      }
      // Upper 32 bits: anything non-zero is far past any sane limit.
      const high = ((h[2]! << 24) >>> 0) + (h[3]! << 16) + (h[4]! << 8) + h[5]!;
      const low = ((h[6]! << 24) >>> 0) + (h[7]! << 16) + (h[8]! << 8) + h[9]!;
      length = high * 2 ** 32 + low;
    }
    if (opcode >= 8) {
      if (opcode > 10) {
        return protocolError(`reserved control opcode ${opcode}`);
      }
      if (!fin) return protocolError("fragmented control frame");
      if (length > 125) {
        return protocolError("control frame longer than 125 bytes");
      }
      this.#remaining = length;
      if (opcode === 8) {
        // Close: whatever follows its payload is ignored.
        this.#remaining = 0;
        return { kind: "closed" };
      }
      return OK;
    }
    if (opcode === 0) {
      if (this.#message < 0) {
        return protocolError("continuation without a message");
      }
      this.#message += length;
    } else if (opcode === 1 || opcode === 2) {
      if (this.#message >= 0) {
        return protocolError("new message inside a fragmented one");
      }
      this.#message = length;
    } else {
      return protocolError(`reserved data opcode ${opcode}`);
    }
    if (this.#message > this.#max) {
      return { kind: "too_big", length: this.#message };
    }
    this.#remaining = length;
    if (fin) this.#message = -1;
    return OK;
  }
}

function protocolError(reason: string): FrameVerdict {
  return { kind: "protocol_error", reason };
}

/**
 * An unmasked (server to client) close frame with `code` and a `reason` of
 * at most 123 UTF-8 bytes (cut if longer).
 *
 * @example
 * ```ts
 * import { encodeCloseFrame } from "./_frame_guard.ts";
 * console.log(encodeCloseFrame(1009, "message_too_large").length); // 21
 * ```
 */
export function encodeCloseFrame(code: number, reason = ""): Uint8Array {
  if (!Number.isInteger(code) || code < 1000 || code > 4999) {
    throw new RangeError(`Cannot encode close frame: bad code ${code}`);
  }
  let text = new TextEncoder().encode(reason);
  if (text.length > 123) {
    // Cut on a character boundary.
    let end = 123;
    while (end > 0 && (text[end]! & 0xc0) === 0x80) end--;
    text = text.subarray(0, end);
  }
  const frame = new Uint8Array(4 + text.length);
  frame[0] = 0x88;
  frame[1] = 2 + text.length;
  frame[2] = code >> 8;
  frame[3] = code & 0xff;
  frame.set(text, 4);
  return frame;
}

/**
 * An unmasked text frame (server to client) carrying `text`.
 *
 * @example
 * ```ts
 * import { encodeTextFrame } from "./_frame_guard.ts";
 * console.log(encodeTextFrame("hi")); // Uint8Array(4) [ 129, 2, 104, 105 ]
 * ```
 */
export function encodeTextFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const extra = payload.length < 126 ? 0 : payload.length < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + extra + payload.length);
  frame[0] = 0x81;
  if (extra === 0) frame[1] = payload.length;
  else if (extra === 2) {
    frame[1] = 126;
    frame[2] = payload.length >> 8;
    frame[3] = payload.length & 0xff;
  } else {
    frame[1] = 127;
    let n = payload.length;
    for (let k = 9; k >= 2; k--) {
      frame[k] = n % 256;
      n = Math.floor(n / 256);
    }
  }
  frame.set(payload, 2 + extra);
  return frame;
}
