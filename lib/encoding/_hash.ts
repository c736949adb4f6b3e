/**
 * Hash functions (node:crypto).
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  jsSha256,
  jsSha256d,
  jsSha256d3Into,
  jsSha256dInto,
  jsSha256dParts,
  jsSha256Of32Into,
} from "./_sha256.ts";

/**
 * Below this many bytes the TypeScript SHA-256 beats `node:crypto`, whose
 * per-call cost dominates short messages.
 */
const SMALL = 512;

function toU8(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * SHA-256 of bytes.
 *
 * @example
 * ```ts
 * import { sha256, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(sha256(new Uint8Array())).slice(0, 8)); // "e3b0c442"
 * ```
 *
 * @param bytes The data.
 * @returns The 32-byte digest.
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= SMALL) return jsSha256(bytes);
  return toU8(createHash("sha256").update(bytes).digest());
}

/**
 * Double SHA-256 of bytes (transaction ids, block hashes, checksums), in
 * internal byte order; reverse it for the display form.
 *
 * @example
 * ```ts
 * import { sha256d, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(sha256d(new Uint8Array())).slice(0, 8)); // "5df6e0e2"
 * ```
 *
 * @param bytes The data.
 * @returns The 32-byte digest.
 */
export function sha256d(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= SMALL) return jsSha256d(bytes);
  return jsSha256(toU8(createHash("sha256").update(bytes).digest()));
}

/**
 * Double SHA-256 over several byte ranges hashed as one message.
 *
 * @param parts The ranges, in order.
 * @returns The 32-byte digest.
 */
export function sha256dParts(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  if (total <= SMALL) return jsSha256dParts(parts);
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return jsSha256(toU8(h.digest()));
}

/**
 * RIPEMD-160 of SHA-256 (public key hashes, script hashes).
 *
 * @example
 * ```ts
 * import { hash160, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(hash160(new Uint8Array())).slice(0, 8)); // "b472a266"
 * ```
 *
 * @param bytes The data.
 * @returns The 20-byte digest.
 */
export function hash160(bytes: Uint8Array): Uint8Array {
  return toU8(createHash("ripemd160").update(sha256(bytes)).digest());
}

/**
 * SHA-256d of `data[start..end)` into `out` (32 bytes), avoiding
 * allocations for short ranges.
 *
 * @param data The bytes.
 * @param start First byte.
 * @param end End (exclusive).
 * @param out Receives the digest, internal order.
 */
export function sha256dInto(
  data: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
): void {
  if (end - start <= SMALL) {
    jsSha256dInto(data, start, end, out);
    return;
  }
  const first = createHash("sha256").update(data.subarray(start, end)).digest();
  jsSha256Of32Into(toU8(first), out);
}

/**
 * SHA-256d of `data[a0..a1) ‖ data[b0..b1) ‖ data[c0..c1)` into `out` (32
 * bytes), without copying: the txid of a segwit transaction.
 *
 * @param data The bytes.
 * @param a0 Start of the first range.
 * @param a1 End of the first range.
 * @param b0 Start of the second range.
 * @param b1 End of the second range.
 * @param c0 Start of the third range.
 * @param c1 End of the third range.
 * @param out Receives the digest, internal order.
 */
export function sha256d3Into(
  data: Uint8Array,
  a0: number,
  a1: number,
  b0: number,
  b1: number,
  c0: number,
  c1: number,
  out: Uint8Array,
): void {
  if ((a1 - a0) + (b1 - b0) + (c1 - c0) <= SMALL) {
    jsSha256d3Into(data, a0, a1, b0, b1, c0, c1, out);
    return;
  }
  const first = createHash("sha256")
    .update(data.subarray(a0, a1))
    .update(data.subarray(b0, b1))
    .update(data.subarray(c0, c1))
    .digest();
  jsSha256Of32Into(toU8(first), out);
}
