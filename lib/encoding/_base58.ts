/**
 * Base58 and Base58Check, and Evrmore addresses.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { type Network, NETWORKS } from "../network.ts";
import { sha256d } from "./_hash.ts";

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const ALPHABET_MAP = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  ALPHABET_MAP[ALPHABET.charCodeAt(i)] = i;
}

/**
 * Encodes bytes as Base58 (no checksum).
 *
 * @example
 * ```ts
 * import { base58Encode } from "@evrmore/rpc";
 *
 * console.log(base58Encode(new Uint8Array([0, 0, 1]))); // "112"
 * ```
 *
 * @param bytes The bytes.
 * @returns Base58 text.
 */
export function base58Encode(bytes: Uint8Array): string {
  const n = bytes.length;
  let zeros = 0;
  while (zeros < n && bytes[zeros] === 0) zeros++;
  // Big-endian 16-bit limbs of the number (a leading odd byte on its own).
  const body = n - zeros;
  const limbCount = (body + 1) >> 1;
  const limbs = limbCount <= LIMBS.length ? LIMBS : new Float64Array(limbCount);
  let i = zeros;
  let l = 0;
  if (body & 1) limbs[l++] = bytes[i++]!;
  for (; i < n; i += 2) limbs[l++] = (bytes[i]! << 8) | bytes[i + 1]!;
  // Divide by 58^5 repeatedly; each remainder gives five digits (low first).
  const maxDigits = (body * 138 / 100 | 0) + 6;
  const digits = maxDigits <= DIGITS.length
    ? DIGITS
    : new Uint8Array(maxDigits);
  let count = 0;
  let start = 0;
  while (start < limbCount) {
    let rem = 0;
    for (let k = start; k < limbCount; k++) {
      const cur = rem * 65536 + limbs[k]!;
      const q = Math.floor(cur / 656356768);
      rem = cur - q * 656356768;
      limbs[k] = q;
    }
    while (start < limbCount && limbs[start] === 0) start++;
    for (let d = 0; d < 5; d++) {
      const q = Math.floor(rem / 58);
      digits[count++] = rem - q * 58;
      rem = q;
    }
  }
  while (count > 0 && digits[count - 1] === 0) count--;
  let out = zeros > 0 ? "1".repeat(zeros) : "";
  for (let d = count - 1; d >= 0; d--) out += ALPHABET[digits[d]!];
  return out;
}

const LIMBS = new Float64Array(64);
const DIGITS = new Uint8Array(200);

/**
 * Decodes Base58 text (no checksum).
 *
 * @example
 * ```ts
 * import { base58Decode } from "@evrmore/rpc";
 *
 * console.log(base58Decode("112")); // Uint8Array(3) [ 0, 0, 1 ]
 * ```
 *
 * @param text Base58 text.
 * @returns The bytes.
 * @throws {DecodeError} On a character outside the alphabet.
 */
export function base58Decode(text: string): Uint8Array {
  if (typeof text !== "string") {
    throw new TypeError("Cannot decode base58: expected a string");
  }
  if (text.length > 1000) {
    throw new DecodeError("Cannot decode base58: text too long", { offset: 0 });
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  const size = (((text.length - zeros) * 733) / 1000 | 0) + 1;
  const b256 = new Uint8Array(size);
  let length = 0;
  for (let i = zeros; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? ALPHABET_MAP[c]! : -1;
    if (v < 0) {
      throw new DecodeError(
        `Cannot decode base58: invalid character at position ${i}`,
        { offset: i },
      );
    }
    let carry = v;
    let j = 0;
    for (let k = size - 1; (carry !== 0 || j < length) && k >= 0; k--, j++) {
      carry += 58 * b256[k]!;
      b256[k] = carry % 256;
      carry = (carry / 256) | 0;
    }
    length = j;
  }
  let it = size - length;
  while (it < size && b256[it] === 0) it++;
  const out = new Uint8Array(zeros + (size - it));
  out.set(b256.subarray(it), zeros);
  return out;
}

/**
 * Encodes bytes as Base58Check (4-byte double-SHA-256 checksum appended).
 *
 * @example
 * ```ts
 * import { base58CheckEncode } from "@evrmore/rpc";
 *
 * console.log(base58CheckEncode(new Uint8Array([0])).length > 0); // true
 * ```
 *
 * @param payload The payload (version byte included).
 * @returns Base58Check text.
 */
export function base58CheckEncode(payload: Uint8Array): string {
  const full = new Uint8Array(payload.length + 4);
  full.set(payload);
  full.set(sha256d(payload).subarray(0, 4), payload.length);
  return base58Encode(full);
}

/**
 * Decodes Base58Check text and verifies its checksum.
 *
 * @example
 * ```ts
 * import { base58CheckDecode, base58CheckEncode } from "@evrmore/rpc";
 *
 * console.log(base58CheckDecode(base58CheckEncode(new Uint8Array([7])))); // Uint8Array(1) [ 7 ]
 * ```
 *
 * @param text Base58Check text.
 * @returns The payload without the checksum.
 * @throws {DecodeError} On bad characters, short input or a wrong checksum.
 */
export function base58CheckDecode(text: string): Uint8Array {
  const full = base58Decode(text);
  if (full.length < 4) {
    throw new DecodeError("Cannot decode base58check: too short", {
      offset: full.length,
    });
  }
  const payload = full.subarray(0, full.length - 4);
  const sum = sha256d(payload);
  for (let i = 0; i < 4; i++) {
    if (sum[i] !== full[payload.length + i]) {
      throw new DecodeError("Cannot decode base58check: bad checksum", {
        offset: payload.length,
      });
    }
  }
  return payload;
}

/** Kind of address: pay to public key hash or pay to script hash. */
export type AddressType = "pubkeyhash" | "scripthash";

/** Options of {@linkcode encodeAddress}. */
export interface EncodeAddressOptions {
  /** Network whose prefix to use (default "main"). */
  network?: Network;
  /** Address kind (default "pubkeyhash"). */
  type?: AddressType;
}

/** A decoded address. */
export interface DecodedAddress {
  /** The 20-byte hash. */
  hash: Uint8Array;
  /** Address kind. */
  type: AddressType;
  /**
   * Network of the prefix: "main" or "test" (regtest shares testnet's
   * prefixes, so regtest addresses decode as "test").
   */
  network: Network;
}

/**
 * Encodes a 20-byte hash as a Base58Check address.
 *
 * @example
 * ```ts
 * import { encodeAddress, hexToBytes } from "@evrmore/rpc";
 *
 * const hash = hexToBytes("043221054d49c157fc65a58e0f37c0c63513a237");
 * console.log(encodeAddress(hash, { network: "regtest" })); // "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe"
 * ```
 *
 * @param hash The 20-byte public key hash or script hash.
 * @param options Network and address kind.
 * @returns The address.
 * @throws {TypeError} When the hash is not 20 bytes.
 */
export function encodeAddress(
  hash: Uint8Array,
  options?: EncodeAddressOptions,
): string {
  if (!(hash instanceof Uint8Array) || hash.length !== 20) {
    throw new TypeError("Cannot encode address: hash must be 20 bytes");
  }
  const params = NETWORKS[options?.network ?? "main"];
  if (params === undefined) {
    throw new TypeError(
      `Cannot encode address: unknown network ${String(options?.network)}`,
    );
  }
  const payload = new Uint8Array(21);
  payload[0] = (options?.type ?? "pubkeyhash") === "scripthash"
    ? params.scriptHashPrefix
    : params.pubkeyHashPrefix;
  payload.set(hash, 1);
  return base58CheckEncode(payload);
}

/**
 * Decodes a Base58Check address into its hash, kind and network.
 *
 * @example
 * ```ts
 * import { decodeAddress } from "@evrmore/rpc";
 *
 * const { type, network } = decodeAddress("mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe");
 * console.log(type, network); // "pubkeyhash" "test"
 * ```
 *
 * @param address The address.
 * @returns Hash, kind and network.
 * @throws {DecodeError} On bad Base58Check, wrong length or an unknown prefix.
 */
export function decodeAddress(address: string): DecodedAddress {
  const payload = base58CheckDecode(address);
  if (payload.length !== 21) {
    throw new DecodeError(
      `Cannot decode address: payload is ${payload.length} bytes, expected 21`,
      { offset: 0 },
    );
  }
  const prefix = payload[0]!;
  const hash = payload.slice(1);
  const main = NETWORKS.main, test = NETWORKS.test;
  if (prefix === main.pubkeyHashPrefix) {
    return { hash, type: "pubkeyhash", network: "main" };
  }
  if (prefix === main.scriptHashPrefix) {
    return { hash, type: "scripthash", network: "main" };
  }
  if (prefix === test.pubkeyHashPrefix) {
    return { hash, type: "pubkeyhash", network: "test" };
  }
  if (prefix === test.scriptHashPrefix) {
    return { hash, type: "scripthash", network: "test" };
  }
  throw new DecodeError(`Cannot decode address: unknown prefix ${prefix}`, {
    offset: 0,
  });
}
