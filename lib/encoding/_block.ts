/**
 * Block headers and blocks: parsing, serialization, hashes, merkle root.
 *
 * @module
 */

import type { Network } from "../network.ts";
import { NETWORKS } from "../network.ts";
import {
  ByteReader,
  bytesToReversedHex,
  ByteWriter,
  reversedHexToBytes,
} from "./_bytes.ts";
import { sha256d } from "./_hash.ts";
import { evrprogpowHash } from "./_progpow.ts";
import { readTransaction, writeTransaction } from "./_tx.ts";
import { inputBytes } from "./_tx.ts";
import type { RawBlock, RawBlockHeader } from "./types.ts";

/** Options naming the network of a block or header. */
export interface BlockNetworkOptions {
  /** Network (default "main": 120-byte EvrProgPoW headers). */
  network?: Network;
}

function networkParams(network: Network | undefined) {
  const params = NETWORKS[network ?? "main"];
  if (params === undefined) {
    throw new TypeError(`Cannot use network ${String(network)}`);
  }
  return params;
}

/**
 * Header length on a network: 120 on mainnet, 80 elsewhere.
 *
 * @param network The network.
 * @returns Header size in bytes.
 */
export function headerSize(network: Network | undefined): number {
  return networkParams(network).progpowHeader ? 120 : 80;
}

/**
 * Reads a header at the reader's offset.
 *
 * @param r The reader.
 * @param progpow Whether it is a 120-byte header.
 * @returns The header.
 */
export function readHeader(r: ByteReader, progpow: boolean): RawBlockHeader {
  r.need(progpow ? 120 : 80);
  const version = r.readI32LE();
  const prevHash = r.readHashHex();
  const merkleRoot = r.readHashHex();
  const time = r.readU32LE();
  const bits = r.readU32LE();
  if (!progpow) {
    const nonce = r.readU32LE();
    return { version, prevHash, merkleRoot, time, bits, nonce };
  }
  const height = r.readU32LE();
  const nonce64 = r.readU64LE();
  const mixHash = r.readHashHex();
  return {
    version,
    prevHash,
    merkleRoot,
    time,
    bits,
    nonce: 0,
    height,
    nonce64,
    mixHash,
  };
}

function isProgpowHeader(h: RawBlockHeader): boolean {
  return h.nonce64 !== undefined || h.mixHash !== undefined ||
    h.height !== undefined;
}

function writeHeader(w: ByteWriter, h: RawBlockHeader): void {
  w.writeI32LE(h.version);
  w.writeHashHex(h.prevHash);
  w.writeHashHex(h.merkleRoot);
  w.writeU32LE(h.time);
  w.writeU32LE(h.bits);
  if (isProgpowHeader(h)) {
    w.writeU32LE(h.height ?? 0);
    w.writeU64LE(h.nonce64 ?? 0n);
    w.writeHashHex(h.mixHash ?? "0".repeat(64));
  } else {
    w.writeU32LE(h.nonce);
  }
}

/**
 * Serializes a block header: 120 bytes when it has `height`, `nonce64` or
 * `mixHash` (mainnet EvrProgPoW), else the classic 80 bytes.
 *
 * @example
 * ```ts
 * import { serializeBlockHeader } from "@evrmore/rpc";
 *
 * const header = serializeBlockHeader({
 *   version: 0x30000000,
 *   prevHash: "00".repeat(32),
 *   merkleRoot: "00".repeat(32),
 *   time: 0,
 *   bits: 0x207fffff,
 *   nonce: 0,
 * });
 * console.log(header.length); // 80
 * ```
 *
 * @param header The header.
 * @returns The serialized header.
 */
export function serializeBlockHeader(header: RawBlockHeader): Uint8Array {
  const w = new ByteWriter(120);
  writeHeader(w, header);
  return w.toBytes();
}

/**
 * Parses a serialized block.
 *
 * @example
 * ```ts
 * import { parseBlock, serializeBlock, serializeBlockHeader } from "@evrmore/rpc";
 *
 * const header = serializeBlockHeader({
 *   version: 1, prevHash: "00".repeat(32), merkleRoot: "00".repeat(32),
 *   time: 0, bits: 0x207fffff, nonce: 0,
 * });
 * const bytes = new Uint8Array([...header, 0]);
 * const block = parseBlock(bytes, { network: "regtest" });
 * console.log(block.transactions.length, serializeBlock(block).length); // 0 81
 * ```
 *
 * @param bytes The raw block, as bytes or hex.
 * @param options The network (default "main", 120-byte headers).
 * @returns The block.
 * @throws {DecodeError} On truncated, malformed or trailing data.
 */
export function parseBlock(
  bytes: Uint8Array | string,
  options?: BlockNetworkOptions,
): RawBlock {
  const data = inputBytes(bytes, "block");
  const progpow = networkParams(options?.network).progpowHeader;
  const r = new ByteReader(data, { what: "block" });
  const header = readHeader(r, progpow);
  const n = r.readCount(60);
  const transactions = new Array(n);
  for (let i = 0; i < n; i++) transactions[i] = readTransaction(r);
  r.assertEnd();
  return { header, transactions };
}

/**
 * Serializes a block (header, transaction count, transactions with witness).
 *
 * @example
 * ```ts
 * import { serializeBlock } from "@evrmore/rpc";
 *
 * const bytes = serializeBlock({
 *   header: {
 *     version: 1, prevHash: "00".repeat(32), merkleRoot: "00".repeat(32),
 *     time: 0, bits: 0x207fffff, nonce: 0,
 *   },
 *   transactions: [],
 * });
 * console.log(bytes.length); // 81
 * ```
 *
 * @param block The block.
 * @returns The serialized bytes.
 */
export function serializeBlock(block: RawBlock): Uint8Array {
  const w = new ByteWriter(1024);
  writeHeader(w, block.header);
  w.writeCompactSize(block.transactions.length);
  for (const tx of block.transactions) writeTransaction(w, tx, true);
  return w.toBytes();
}

/**
 * Block hash from serialized header bytes, internal order.
 *
 * @param headerBytes 80 or 120 header bytes.
 * @returns The hash and the SHA-256d of the first 80 bytes, internal order.
 */
export function headerHashes(
  headerBytes: Uint8Array,
): { hash: Uint8Array; headerHash: Uint8Array } {
  const headerHash = sha256d(headerBytes.subarray(0, 80));
  if (headerBytes.length < 120) return { hash: headerHash, headerHash };
  const dv = new DataView(
    headerBytes.buffer,
    headerBytes.byteOffset,
    headerBytes.byteLength,
  );
  const nonce64 = dv.getBigUint64(80, true);
  const hash = evrprogpowHash(
    headerHash,
    nonce64,
    headerBytes.subarray(88, 120),
  );
  return { hash, headerHash };
}

/**
 * Block hash as the node prints it: SHA-256d of the 80-byte header on
 * regtest and testnet, EvrProgPoW's final hash of the 120-byte header on
 * mainnet.
 *
 * @example
 * ```ts
 * import { blockHash } from "@evrmore/rpc";
 *
 * const hash = blockHash({
 *   version: 1, prevHash: "00".repeat(32), merkleRoot: "00".repeat(32),
 *   time: 0, bits: 0x207fffff, nonce: 0,
 * }, "regtest");
 * console.log(hash.length); // 64
 * ```
 *
 * @param header The header.
 * @param network The network (default "main").
 * @returns The hash in display hex.
 */
export function blockHash(header: RawBlockHeader, network?: Network): string {
  const progpow = networkParams(network).progpowHeader;
  const w = new ByteWriter(120);
  w.writeI32LE(header.version);
  w.writeHashHex(header.prevHash);
  w.writeHashHex(header.merkleRoot);
  w.writeU32LE(header.time);
  w.writeU32LE(header.bits);
  if (progpow) {
    w.writeU32LE(header.height ?? 0);
    w.writeU64LE(header.nonce64 ?? 0n);
    w.writeHashHex(header.mixHash ?? "0".repeat(64));
  } else {
    w.writeU32LE(header.nonce);
  }
  return bytesToReversedHex(headerHashes(w.toBytes()).hash);
}

/**
 * Merkle root of 32-byte hashes in internal order (the node's algorithm,
 * duplicating the last hash of odd levels).
 *
 * @param hashes The leaf hashes, internal order.
 * @returns The root, internal order (32 zero bytes when empty).
 */
export function merkleRootBytes(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return new Uint8Array(32);
  let level = hashes.slice();
  const pair = new Uint8Array(64);
  while (level.length > 1) {
    const next: Uint8Array[] = new Array((level.length + 1) >> 1);
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i]!;
      const b = level[i + 1] ?? a;
      pair.set(a, 0);
      pair.set(b, 32);
      next[i >> 1] = sha256d(pair);
    }
    level = next;
  }
  return level[0]!;
}

/**
 * Merkle root of transaction ids, as in a block header.
 *
 * @example
 * ```ts
 * import { merkleRoot } from "@evrmore/rpc";
 *
 * const id = "c191c775b10d2af1fcccb4121095b2a018f1bee84fa5efb568fcddd383969262";
 * console.log(merkleRoot([id]) === id); // true
 * ```
 *
 * @param txids Transaction ids in display hex, block order.
 * @returns The merkle root in display hex.
 */
export function merkleRoot(txids: readonly string[]): string {
  return bytesToReversedHex(merkleRootBytes(txids.map(reversedHexToBytes)));
}
