/**
 * Transaction parsing and serialization (Bitcoin format with BIP144
 * segwit marker/flag and witnesses).
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import {
  ByteReader,
  bytesToReversedHex,
  ByteWriter,
  hexDecodeError,
  readerError,
} from "./_bytes.ts";
import { sha256d } from "./_hash.ts";
import type { RawInput, RawOutput, RawTransaction } from "./types.ts";

const EMPTY_WITNESS: Uint8Array[] = [];

function readInputs(r: ByteReader, n: number): RawInput[] {
  const inputs: RawInput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const txid = r.readHashHex();
    const vout = r.readU32LE();
    const scriptSig = r.readVarBytes();
    const sequence = r.readU32LE();
    inputs[i] = { txid, vout, scriptSig, sequence, witness: EMPTY_WITNESS };
  }
  return inputs;
}

function readOutputs(r: ByteReader): RawOutput[] {
  const n = r.readCount(9);
  const outputs: RawOutput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const value = r.readI64LE();
    const script = r.readVarBytes();
    outputs[i] = { value, script };
  }
  return outputs;
}

/**
 * Reads one transaction at the reader's offset, as the node's
 * `UnserializeTransaction` does (witness serialization allowed).
 *
 * @param r The reader.
 * @returns The transaction.
 */
export function readTransaction(r: ByteReader): RawTransaction {
  const version = r.readI32LE();
  let bodyStart = r.offset;
  let inputs = readInputs(r, r.readCount(41));
  let outputs: RawOutput[];
  let flags = 0;
  if (inputs.length === 0) {
    flags = r.readU8();
    if (flags !== 0) {
      bodyStart = r.offset;
      inputs = readInputs(r, r.readCount(41));
      outputs = readOutputs(r);
    } else {
      outputs = [];
    }
  } else {
    outputs = readOutputs(r);
  }
  if (flags & 1) {
    flags ^= 1;
    let any = false;
    for (const input of inputs) {
      const n = r.readCount(1);
      if (n === 0) continue;
      const stack: Uint8Array[] = new Array(n);
      for (let j = 0; j < n; j++) stack[j] = r.readVarBytes();
      input.witness = stack;
      any = true;
    }
    if (!any) throw readerError(r, "superfluous witness record");
  }
  if (flags) {
    throw readerError(r, "unknown transaction optional data", bodyStart - 1);
  }
  const locktime = r.readU32LE();
  return { version, inputs, outputs, locktime };
}

function toBytes(input: Uint8Array | string, what: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (typeof input === "string") {
    try {
      return Uint8Array.fromHex(input);
    } catch (cause) {
      const error = hexDecodeError(input, what);
      throw new DecodeError(error.message, {
        offset: error.offset ?? 0,
        cause,
      });
    }
  }
  throw new TypeError(
    `Cannot decode ${what}: expected a Uint8Array or hex string`,
  );
}

/**
 * Converts hex or bytes input to bytes.
 *
 * @param input Hex text or bytes.
 * @param what What is decoded, for messages.
 * @returns The bytes.
 */
export function inputBytes(
  input: Uint8Array | string,
  what: string,
): Uint8Array {
  return toBytes(input, what);
}

/**
 * Parses a serialized transaction (with or without witness data).
 *
 * @example
 * ```ts
 * import { bytesToHex, parseTransaction, serializeTransaction } from "@evrmore/rpc";
 *
 * const hex = "0200000001" + "00".repeat(32) + "ffffffff" + "0151" + "ffffffff" +
 *   "01" + "00e1f50500000000" + "1976a914" + "00".repeat(20) + "88ac" + "00000000";
 * const tx = parseTransaction(hex);
 * console.log(tx.outputs[0]!.value); // 100000000n
 * console.log(bytesToHex(serializeTransaction(tx)) === hex); // true
 * ```
 *
 * @param bytes The raw transaction, as bytes or hex.
 * @returns The transaction; scripts and witness items are views of the input.
 * @throws {DecodeError} On truncated, malformed or trailing data; `offset` says where.
 */
export function parseTransaction(bytes: Uint8Array | string): RawTransaction {
  const data = toBytes(bytes, "transaction");
  const r = new ByteReader(data, { what: "transaction" });
  const tx = readTransaction(r);
  r.assertEnd();
  return tx;
}

function hasWitness(tx: RawTransaction): boolean {
  for (const input of tx.inputs) {
    if (input.witness.length > 0) return true;
  }
  return false;
}

/**
 * Writes a transaction to a writer.
 *
 * @param w The writer.
 * @param tx The transaction.
 * @param withWitness Whether to include witness data (when any input has some).
 */
export function writeTransaction(
  w: ByteWriter,
  tx: RawTransaction,
  withWitness = true,
): void {
  const witness = withWitness && hasWitness(tx);
  w.writeI32LE(tx.version);
  if (witness) w.writeU8(0).writeU8(1);
  w.writeCompactSize(tx.inputs.length);
  for (const input of tx.inputs) {
    w.writeHashHex(input.txid);
    w.writeU32LE(input.vout);
    w.writeVarBytes(input.scriptSig);
    w.writeU32LE(input.sequence);
  }
  w.writeCompactSize(tx.outputs.length);
  for (const output of tx.outputs) {
    w.writeI64LE(output.value);
    w.writeVarBytes(output.script);
  }
  if (witness) {
    for (const input of tx.inputs) {
      w.writeCompactSize(input.witness.length);
      for (const item of input.witness) w.writeVarBytes(item);
    }
  }
  w.writeU32LE(tx.locktime);
}

/**
 * Serializes a transaction; uses the segwit marker, flag and witnesses
 * when any input has witness data.
 *
 * @example
 * ```ts
 * import { serializeTransaction } from "@evrmore/rpc";
 *
 * const bytes = serializeTransaction({ version: 2, inputs: [], outputs: [], locktime: 0 });
 * console.log(bytes.length); // 10
 * ```
 *
 * @param tx The transaction.
 * @returns The serialized bytes.
 */
export function serializeTransaction(tx: RawTransaction): Uint8Array {
  const w = new ByteWriter(512);
  writeTransaction(w, tx, true);
  return w.toBytes();
}

/**
 * Transaction id: double SHA-256 of the serialization without witness data,
 * in display order.
 *
 * @example
 * ```ts
 * import { txid } from "@evrmore/rpc";
 *
 * console.log(txid({ version: 2, inputs: [], outputs: [], locktime: 0 }).length); // 64
 * ```
 *
 * @param tx The transaction.
 * @returns The txid hex.
 */
export function txid(tx: RawTransaction): string {
  const w = new ByteWriter(512);
  writeTransaction(w, tx, false);
  return bytesToReversedHex(sha256d(w.toBytes()));
}

/**
 * Witness transaction id (the node's `hash` field): double SHA-256 of the
 * full serialization, in display order; equals the txid without witness data.
 *
 * @example
 * ```ts
 * import { txid, wtxid } from "@evrmore/rpc";
 *
 * const tx = { version: 2, inputs: [], outputs: [], locktime: 0 };
 * console.log(wtxid(tx) === txid(tx)); // true
 * ```
 *
 * @param tx The transaction.
 * @returns The wtxid hex.
 */
export function wtxid(tx: RawTransaction): string {
  return bytesToReversedHex(sha256d(serializeTransaction(tx)));
}

// ---------------------------------------------------------------------------
// Layout-only reading, for the decoders

/**
 * Where the parts of one transaction lie in its source bytes: filled by
 * {@linkcode readTxLayout} into reused typed arrays, so decoding a block
 * allocates no intermediate objects (no RawInput/RawOutput, no bigints;
 * scripts are viewed only while decoded). One shared instance: decoding
 * is synchronous and never re-entered.
 */
export class TxLayout {
  /** Offset of the first byte. */
  start = 0;
  /** Offset after the last byte. */
  end = 0;
  /** Where the inputs begin (after version, or after marker/flag). */
  bodyStart = 0;
  /** Offset after the outputs. */
  bodyEnd = 0;
  /** Whether the bytes use the witness serialization. */
  witness = false;
  /** The version field. */
  version = 0;
  /** The lock time field. */
  locktime = 0;
  /** Number of inputs. */
  inputs = 0;
  /** Number of outputs. */
  outputs = 0;
  /** Per input: offset of the previous txid (vout follows it). */
  inAt: Float64Array = new Float64Array(16);
  /** Per input: offset of the scriptSig (the sequence follows it). */
  sigAt: Float64Array = new Float64Array(16);
  /** Per input: scriptSig length. */
  sigLen: Float64Array = new Float64Array(16);
  /** Per input: index of its first witness item in `witAt`/`witLen`. */
  witFirst: Float64Array = new Float64Array(16);
  /** Per input: number of witness items. */
  witCount: Float64Array = new Float64Array(16);
  /** Witness items of all inputs: offsets. */
  witAt: Float64Array = new Float64Array(16);
  /** Witness items of all inputs: lengths. */
  witLen: Float64Array = new Float64Array(16);
  /** Per output: offset of the 8-byte value (the script follows). */
  outAt: Float64Array = new Float64Array(16);
  /** Per output: offset of the script. */
  spkAt: Float64Array = new Float64Array(16);
  /** Per output: script length. */
  spkLen: Float64Array = new Float64Array(16);

  /**
   * Size without the witness serialization (marker, flag, witnesses).
   *
   * @returns The stripped size in bytes.
   */
  strippedSize(): number {
    return this.witness
      ? 8 + (this.bodyEnd - this.bodyStart)
      : this.end - this.start;
  }
}

function grow(a: Float64Array, n: number): Float64Array {
  if (n <= a.length) return a;
  let cap = a.length * 2;
  while (cap < n) cap *= 2;
  const next = new Float64Array(cap);
  next.set(a);
  return next;
}

/** `ByteReader.readVarBytes` without making the view; returns the length. */
function skipVarBytes(r: ByteReader): number {
  const start = r.offset;
  const n = r.readCompactSize();
  if (n > r.bytes.length - r.offset) {
    throw readerError(
      r,
      `length ${n} exceeds the ${r.bytes.length - r.offset} bytes left`,
      start,
    );
  }
  r.offset += n;
  return n;
}

function layoutInputs(r: ByteReader, L: TxLayout, n: number): void {
  L.inputs = n;
  if (n > L.inAt.length) {
    L.inAt = grow(L.inAt, n);
    L.sigAt = grow(L.sigAt, n);
    L.sigLen = grow(L.sigLen, n);
    L.witFirst = grow(L.witFirst, n);
    L.witCount = grow(L.witCount, n);
  }
  const inAt = L.inAt, sigAt = L.sigAt, sigLen = L.sigLen;
  const witCount = L.witCount;
  for (let i = 0; i < n; i++) {
    const o = r.offset;
    if (o + 32 > r.bytes.length) r.need(32);
    r.offset = o + 32;
    inAt[i] = o;
    r.readU32LE();
    const len = skipVarBytes(r);
    sigAt[i] = r.offset - len;
    sigLen[i] = len;
    r.readU32LE();
    witCount[i] = 0;
  }
}

function layoutOutputs(r: ByteReader, L: TxLayout): void {
  const n = r.readCount(9);
  L.outputs = n;
  if (n > L.outAt.length) {
    L.outAt = grow(L.outAt, n);
    L.spkAt = grow(L.spkAt, n);
    L.spkLen = grow(L.spkLen, n);
  }
  const outAt = L.outAt, spkAt = L.spkAt, spkLen = L.spkLen;
  for (let i = 0; i < n; i++) {
    r.need(8);
    outAt[i] = r.offset;
    r.offset += 8;
    const len = skipVarBytes(r);
    spkAt[i] = r.offset - len;
    spkLen[i] = len;
  }
}

/**
 * Reads one transaction's layout at the reader's offset, with exactly the
 * checks (and errors, at the same offsets) of {@linkcode readTransaction}.
 *
 * @param r The reader.
 * @param L Receives the layout.
 */
export function readTxLayout(r: ByteReader, L: TxLayout): void {
  const start = r.offset;
  L.start = start;
  L.version = r.readI32LE();
  let bodyStart = r.offset;
  layoutInputs(r, L, r.readCount(41));
  let flags = 0;
  if (L.inputs === 0) {
    flags = r.readU8();
    if (flags !== 0) {
      bodyStart = r.offset;
      layoutInputs(r, L, r.readCount(41));
      layoutOutputs(r, L);
    } else {
      L.outputs = 0;
    }
  } else {
    layoutOutputs(r, L);
  }
  L.bodyStart = bodyStart;
  L.bodyEnd = r.offset;
  L.witness = false;
  if (flags & 1) {
    flags ^= 1;
    L.witness = true;
    let any = false;
    let items = 0;
    for (let i = 0; i < L.inputs; i++) {
      const n = r.readCount(1);
      L.witFirst[i] = items;
      L.witCount[i] = n;
      if (n === 0) continue;
      if (items + n > L.witAt.length) {
        L.witAt = grow(L.witAt, items + n);
        L.witLen = grow(L.witLen, items + n);
      }
      for (let j = 0; j < n; j++) {
        const len = skipVarBytes(r);
        L.witAt[items] = r.offset - len;
        L.witLen[items] = len;
        items++;
      }
      any = true;
    }
    if (!any) throw readerError(r, "superfluous witness record");
  }
  if (flags) {
    throw readerError(r, "unknown transaction optional data", bodyStart - 1);
  }
  L.locktime = r.readU32LE();
  L.end = r.offset;
}
