/**
 * EvrProgPoW "hash without verification": the block hash of a 120-byte
 * Evrmore mainnet header, as computed by the node's `CBlockHeader::GetHash()`.
 *
 * The node hashes mainnet headers with ProgPoW 0.9.4's final Keccak-f[800]
 * step only (no DAG): one permutation absorbs (header_hash, nonce64) padded
 * with the ASCII words of `"EVRMORE-PROGPOW"`, and a second one absorbs the
 * first 8 words of that result plus the header's mix_hash, padded with the
 * first 9 of those words. The first 8 output words form the block hash.
 *
 * Byte order, with "internal" meaning the order bytes have in the serialized
 * header and in a raw SHA-256d output (Bitcoin's `uint256` storage order) and
 * "display" meaning the reversed order the node prints as hex:
 * - the node turns both the header hash and the mix hash into display order
 *   before loading them as eight little-endian 32-bit words;
 * - the nonce is loaded as two words, low half first;
 * - the output words are written little-endian, which is the display order,
 *   so the internal-order hash is that byte string reversed.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Low 32 bits of the Keccak round constants; Keccak-f[800] has 22 rounds. */
const ROUND_CONSTANTS = new Uint32Array([
  0x00000001,
  0x00008082,
  0x0000808a,
  0x80008000,
  0x0000808b,
  0x80000001,
  0x80008081,
  0x00008009,
  0x0000008a,
  0x00000088,
  0x80008009,
  0x8000000a,
  0x8000808b,
  0x0000008b,
  0x00008089,
  0x00008003,
  0x00008002,
  0x00000080,
  0x0000800a,
  0x8000000a,
  0x80008081,
  0x00008080,
]);

/** Evrmore's padding words: the characters of "EVRMORE-PROGPOW", one per word. */
const EVRMORE_PADDING = new Uint32Array(
  Array.from("EVRMORE-PROGPOW", (c) => c.charCodeAt(0)),
);

/**
 * Rho/pi tables built from the Keccak definitions: lane (x, y) moves to lane
 * (y, 2x + 3y) and is rotated by the triangular number ((t + 1)(t + 2) / 2) mod
 * 32, where t counts steps along the pi walk starting at (1, 0).
 */
const PI_DEST = new Uint8Array(25);
const RHO = new Uint8Array(25);
{
  for (let x = 0; x < 5; x++) {
    for (let y = 0; y < 5; y++) {
      PI_DEST[x + 5 * y] = y + 5 * ((2 * x + 3 * y) % 5);
    }
  }
  let x = 1;
  let y = 0;
  for (let t = 0; t < 24; t++) {
    RHO[x + 5 * y] = (((t + 1) * (t + 2)) / 2) % 32;
    const nx = y;
    y = (2 * x + 3 * y) % 5;
    x = nx;
  }
}

const scratchB = new Uint32Array(25);
const scratchC = new Uint32Array(5);

/** In-place Keccak-f[800] permutation of a 25-word state. */
function keccakF800(a: Uint32Array): void {
  const b = scratchB;
  const c = scratchC;
  for (let round = 0; round < 22; round++) {
    // Theta.
    for (let x = 0; x < 5; x++) {
      c[x] = a[x]! ^ a[x + 5]! ^ a[x + 10]! ^ a[x + 15]! ^ a[x + 20]!;
    }
    for (let x = 0; x < 5; x++) {
      const left = c[(x + 4) % 5]!;
      const right = c[(x + 1) % 5]!;
      const d = left ^ ((right << 1) | (right >>> 31));
      a[x] = a[x]! ^ d;
      a[x + 5] = a[x + 5]! ^ d;
      a[x + 10] = a[x + 10]! ^ d;
      a[x + 15] = a[x + 15]! ^ d;
      a[x + 20] = a[x + 20]! ^ d;
    }
    // Rho and pi.
    for (let i = 0; i < 25; i++) {
      const v = a[i]!;
      const r = RHO[i]!;
      b[PI_DEST[i]!] = r === 0 ? v : (v << r) | (v >>> (32 - r));
    }
    // Chi.
    for (let row = 0; row < 25; row += 5) {
      const b0 = b[row]!;
      const b1 = b[row + 1]!;
      const b2 = b[row + 2]!;
      const b3 = b[row + 3]!;
      const b4 = b[row + 4]!;
      a[row] = b0 ^ (~b1 & b2);
      a[row + 1] = b1 ^ (~b2 & b3);
      a[row + 2] = b2 ^ (~b3 & b4);
      a[row + 3] = b3 ^ (~b4 & b0);
      a[row + 4] = b4 ^ (~b0 & b1);
    }
    // Iota.
    a[0] = a[0]! ^ ROUND_CONSTANTS[round]!;
  }
}

/** Reads 32 internal-order bytes as the node's eight display-order LE words. */
function loadDisplayWords(
  state: Uint32Array,
  offset: number,
  bytes: Uint8Array,
): void {
  // Display byte i is internal byte 31 - i; word w holds display bytes 4w..4w+3.
  for (let w = 0; w < 8; w++) {
    const e = 31 - 4 * w;
    state[offset + w] = (bytes[e]! | (bytes[e - 1]! << 8) |
      (bytes[e - 2]! << 16) | (bytes[e - 3]! << 24)) >>> 0;
  }
}

const MAX_U64 = (1n << 64n) - 1n;

function checkBytes(name: string, value: unknown, length: number): void {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot compute EvrProgPoW hash: ${name} must be a Uint8Array`,
    );
  }
  if (value.length !== length) {
    throw new RangeError(
      `Cannot compute EvrProgPoW hash: ${name} must be ${length} bytes, got ${value.length}`,
    );
  }
}

/**
 * Computes the EvrProgPoW block hash from its three inputs, exactly as the
 * Evrmore node's `CBlockHeader::GetHash()` does for mainnet headers
 * (`progpow::hash_no_verify`, which needs no DAG).
 *
 * All byte arrays are in internal order (the order of a serialized header):
 * - `headerHash`: the raw 32-byte SHA-256d output of the header's first 80
 *   bytes (version through nHeight), not reversed;
 * - `mixHash`: the header's last 32 bytes (offset 88) as stored;
 * - the result: 32 bytes in internal order, i.e. the order of a block hash
 *   inside a serialized header's `hashPrevBlock`; reverse it for the display
 *   hex the node prints (such as `0000007b11d0...3b05`).
 *
 * `nonce64` is the header's nNonce64 as a bigint (the header stores it
 * little-endian at offset 80).
 *
 * @param headerHash SHA-256d of the first 80 header bytes, internal order.
 * @param nonce64 The 64-bit nonce, `0n <= nonce64 < 2n ** 64n`.
 * @param mixHash The header's mix_hash, internal order.
 * @returns The 32-byte block hash, internal order.
 * @throws {TypeError} If an argument has the wrong type.
 * @throws {RangeError} If a byte array is not 32 bytes or the nonce is out of range.
 *
 * @example Hash the mainnet genesis header
 * ```ts
 * import { evrprogpowHash } from "./_progpow.ts";
 *
 * const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));
 * // headerhash 26a7d11a...476b (display order), reversed to internal order.
 * const headerHash = hex(
 *   "26a7d11a694d2ced42bc8defef310946e53b99ad0fbdcd7171450df3959c476b",
 * ).reverse();
 * const hash = evrprogpowHash(headerHash, 1777396n, new Uint8Array(32));
 * const display = Array.from(hash.reverse(), (b) => b.toString(16).padStart(2, "0")).join("");
 * if (display !== "0000007b11d0481b2420a7c656ef76775d54ab5b29ee7ea250bc768535693b05") {
 *   throw new Error("unexpected hash");
 * }
 * ```
 */
export function evrprogpowHash(
  headerHash: Uint8Array,
  nonce64: bigint,
  mixHash: Uint8Array,
): Uint8Array {
  checkBytes("headerHash", headerHash, 32);
  checkBytes("mixHash", mixHash, 32);
  if (typeof nonce64 !== "bigint") {
    throw new TypeError(
      "Cannot compute EvrProgPoW hash: nonce64 must be a bigint",
    );
  }
  if (nonce64 < 0n || nonce64 > MAX_U64) {
    throw new RangeError(
      `Cannot compute EvrProgPoW hash: nonce64 must be a u64, got ${nonce64}`,
    );
  }

  // First permutation: header hash, nonce (low word first), 15 padding words.
  const state = new Uint32Array(25);
  loadDisplayWords(state, 0, headerHash);
  state[8] = Number(nonce64 & 0xffffffffn);
  state[9] = Number(nonce64 >> 32n);
  state.set(EVRMORE_PADDING, 10);
  keccakF800(state);

  // Second permutation: 8 carried words, mix hash, first 9 padding words.
  state.fill(0, 8);
  loadDisplayWords(state, 8, mixHash);
  state.set(EVRMORE_PADDING.subarray(0, 9), 16);
  keccakF800(state);

  // Words written little-endian give display order; reverse into internal.
  const out = new Uint8Array(32);
  for (let w = 0; w < 8; w++) {
    const v = state[w]!;
    const e = 31 - 4 * w;
    out[e] = v & 0xff;
    out[e - 1] = (v >>> 8) & 0xff;
    out[e - 2] = (v >>> 16) & 0xff;
    out[e - 3] = v >>> 24;
  }
  return out;
}

/** The hash fields the node prints for a mainnet block header. */
export interface MainnetHeaderHashes {
  /** Block hash, display hex (`hash` in `getblockheader`). */
  hash: string;
  /** SHA-256d of the first 80 header bytes, display hex (`headerhash`). */
  headerhash: string;
  /** The header's mix_hash, display hex (`mixhash`). */
  mixhash: string;
  /** The header's nNonce64 (`nonce64`; may exceed `Number.MAX_SAFE_INTEGER`). */
  nonce64: bigint;
  /** The header's nHeight field. */
  height: number;
}

function sha256d(bytes: Uint8Array): Uint8Array {
  const first = createHash("sha256").update(bytes).digest();
  return new Uint8Array(createHash("sha256").update(first).digest());
}

function displayHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = bytes.length - 1; i >= 0; i--) {
    s += bytes[i]!.toString(16).padStart(2, "0");
  }
  return s;
}

/**
 * Computes the hash fields of a 120-byte Evrmore mainnet header (version,
 * prev, merkle, time, bits, nHeight u32, nNonce64 u64, mix_hash), formatted
 * as the node's JSON prints `hash`, `headerhash`, `mixhash`, `nonce64` and
 * `height`: hashes as lowercase display-order (byte-reversed) hex.
 *
 * @param header120 The serialized 120-byte header.
 * @returns The node's hash fields for this header.
 * @throws {TypeError} If `header120` is not a Uint8Array.
 * @throws {RangeError} If `header120` is not exactly 120 bytes.
 *
 * @example Hash fields of an all-zero header
 * ```ts
 * import { mainnetHeaderHashes } from "./_progpow.ts";
 *
 * const fields = mainnetHeaderHashes(new Uint8Array(120));
 * if (fields.nonce64 !== 0n || fields.height !== 0 || fields.hash.length !== 64) {
 *   throw new Error("unexpected fields");
 * }
 * ```
 */
export function mainnetHeaderHashes(
  header120: Uint8Array,
): MainnetHeaderHashes {
  if (!(header120 instanceof Uint8Array)) {
    throw new TypeError(
      "Cannot hash mainnet header: header120 must be a Uint8Array",
    );
  }
  if (header120.length !== 120) {
    throw new RangeError(
      `Cannot hash mainnet header: expected 120 bytes, got ${header120.length}`,
    );
  }
  const view = new DataView(
    header120.buffer,
    header120.byteOffset,
    header120.byteLength,
  );
  const headerHash = sha256d(header120.subarray(0, 80));
  const height = view.getUint32(76, true);
  const nonce64 = view.getBigUint64(80, true);
  const mixHash = header120.subarray(88, 120);
  return {
    hash: displayHex(evrprogpowHash(headerHash, nonce64, mixHash)),
    headerhash: displayHex(headerHash),
    mixhash: displayHex(mixHash),
    nonce64,
    height,
  };
}
