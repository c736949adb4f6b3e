/**
 * Turning server messages into WebSocket text: JSON with bigints written as
 * numbers, the UTF-8 length without encoding, and message ids.
 *
 * Internal and pure.
 *
 * @module
 */

import type { WebSocketMessageId } from "./types.ts";

/** Adds a request's `id` to its answer, when it had one. */
export function withId<T extends object>(
  message: T,
  id: WebSocketMessageId | undefined,
): T & { id?: WebSocketMessageId } {
  return id === undefined ? message : { ...message, id };
}

function bigintReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== "bigint") return value;
  const raw = (JSON as { rawJSON?: (text: string) => unknown }).rawJSON;
  return raw === undefined ? value.toString() : raw(value.toString());
}

/** JSON text of a message; bigints become JSON numbers with every digit. */
export function serialize(message: object): string {
  // V8's replacer-free fast path first: a replacer is a JS call per value.
  // Only a bigint (or a cycle, which fails again) reaches the slow path.
  try {
    return JSON.stringify(message);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(message, bigintReplacer);
  }
}

/** The UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // 4 bytes for 2 units.
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Closes a socket, ignoring one that is closing already. */
export function closeQuietly(
  socket: WebSocket,
  code: number,
  reason: string,
): void {
  try {
    socket.close(code, reason);
  } catch {
    // Already closing.
  }
}
