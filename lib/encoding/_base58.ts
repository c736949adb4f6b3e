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
  // Big-endian 24-bit limbs of the number (a leading short limb first).
  const body = n - zeros;
  const limbCount = Math.ceil(body / 3);
  const limbs = limbCount <= LIMBS.length ? LIMBS : new Int32Array(limbCount);
  let i = zeros;
  let l = 0;
  const head = body % 3;
  if (head === 1) limbs[l++] = bytes[i++]!;
  else if (head === 2) {
    limbs[l++] = (bytes[i]! << 8) | bytes[i + 1]!;
    i += 2;
  }
  for (; i < n; i += 3) {
    limbs[l++] = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
  }
  return limbsToBase58(limbs, limbCount, zeros);
}

/** 58^4: four Base58 digits per division pass over 24-bit limbs. */
const DIV = 11316496;
const INV_DIV = 1 / DIV;
/** ceil(2^32 / 58) / 2^32 (both steps exact in doubles). */
const INV58 = 74051161 / 4294967296;
const LIMBS = new Int32Array(64);
const DIGITS = new Uint8Array(256);
/** Char codes of the alphabet. */
const CODES = new Uint8Array(58);
for (let i = 0; i < 58; i++) CODES[i] = ALPHABET.charCodeAt(i);
/**
 * Reused char-code arrays by length, for `String.fromCharCode.apply` (a
 * packed array of small integers is its fastest argument form in V8).
 */
const TEXT: number[][] = [];
for (let i = 0; i <= 64; i++) TEXT.push(new Array<number>(i).fill(0));

/**
 * Base58 of the number in big-endian 24-bit `limbs` (destroyed), after
 * `zeros` "1"s. Every division stays below 2^53, so it is exact in doubles.
 */
function limbsToBase58(
  limbs: Int32Array,
  limbCount: number,
  zeros: number,
): string {
  const maxDigits = Math.ceil(limbCount * 24 / 5.857) + 8;
  const digits = maxDigits <= DIGITS.length
    ? DIGITS
    : new Uint8Array(maxDigits);
  let count = 0;
  let start = 0;
  while (start < limbCount && limbs[start] === 0) start++;
  while (start < limbCount) {
    let rem = 0;
    for (let k = start; k < limbCount; k++) {
      // cur < 58^4 * 2^24 < 2^48: the quotient from the reciprocal is off
      // by at most one, and the remainder fixes it exactly.
      const cur = rem * 16777216 + limbs[k]!;
      let q = Math.floor(cur * INV_DIV);
      rem = cur - q * DIV;
      if (rem < 0) {
        q--;
        rem += DIV;
      } else if (rem >= DIV) {
        q++;
        rem -= DIV;
      }
      limbs[k] = q;
    }
    while (start < limbCount && limbs[start] === 0) start++;
    // Four digits of the remainder, low first: rem < 2^24, so
    // floor(rem / 58) = floor(rem * ceil(2^32 / 58) / 2^32) exactly.
    let q = Math.floor(rem * INV58);
    digits[count++] = rem - q * 58;
    rem = q;
    q = Math.floor(rem * INV58);
    digits[count++] = rem - q * 58;
    rem = q;
    q = Math.floor(rem * INV58);
    digits[count++] = rem - q * 58;
    digits[count++] = q;
  }
  while (count > 0 && digits[count - 1] === 0) count--;
  const len = zeros + count;
  const text = len < TEXT.length ? TEXT[len]! : new Array<number>(len).fill(0);
  for (let z = 0; z < zeros; z++) text[z] = 49; // "1"
  for (let d = 0; d < count; d++) {
    text[zeros + d] = CODES[digits[count - 1 - d]!]!;
  }
  return String.fromCharCode.apply(null, text);
}

/**
 * Base58 of the 25-byte address payload `prefix ‖ src[at..at+20) ‖
 * checksum` (checksum big-endian in an int32), without building the
 * payload bytes.
 *
 * @param prefix Version byte.
 * @param src Bytes holding the 20-byte hash.
 * @param at Offset of the hash.
 * @param checksum The 4 checksum bytes as a big-endian int32.
 * @returns The address text.
 */
export function base58Address(
  prefix: number,
  src: Uint8Array,
  at: number,
  checksum: number,
): string {
  const l = LIMBS;
  // 25 bytes = 1 + 8 * 3.
  l[0] = prefix;
  l[1] = (src[at]! << 16) | (src[at + 1]! << 8) | src[at + 2]!;
  l[2] = (src[at + 3]! << 16) | (src[at + 4]! << 8) | src[at + 5]!;
  l[3] = (src[at + 6]! << 16) | (src[at + 7]! << 8) | src[at + 8]!;
  l[4] = (src[at + 9]! << 16) | (src[at + 10]! << 8) | src[at + 11]!;
  l[5] = (src[at + 12]! << 16) | (src[at + 13]! << 8) | src[at + 14]!;
  l[6] = (src[at + 15]! << 16) | (src[at + 16]! << 8) | src[at + 17]!;
  l[7] = (src[at + 18]! << 16) | (src[at + 19]! << 8) | (checksum >>> 24);
  l[8] = checksum & 0xffffff;
  if (prefix !== 0) return limbsToBase58(l, 9, 0);
  // A zero version byte is a leading "1": take the general path.
  const payload = new Uint8Array(25);
  payload[0] = prefix;
  payload.set(src.subarray(at, at + 20), 1);
  payload[21] = checksum >>> 24;
  payload[22] = checksum >>> 16;
  payload[23] = checksum >>> 8;
  payload[24] = checksum;
  return base58Encode(payload);
}

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
