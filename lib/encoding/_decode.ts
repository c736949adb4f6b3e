/**
 * Raw transactions and blocks into the node's JSON.
 *
 * @module
 */

import type { Network } from "../network.ts";
import { NETWORKS } from "../network.ts";
import { ByteReader, bytesToReversedHex, reversedHexAt } from "./_bytes.ts";
import { readHeader } from "./_block.ts";
import { sha256d as sha256dView, sha256d3Into, sha256dInto } from "./_hash.ts";
import { headerHashes } from "./_block.ts";
import {
  amountToNumber,
  coinbaseHeight,
  decodeScriptRpcJson,
  type ScriptJsonOptions,
  scriptPubKeyJson,
  scriptToAsm,
} from "./_script.ts";
import { inputBytes, readTxLayout, TxLayout } from "./_tx.ts";
import type {
  DecodeBlockOptions,
  DecodedBlock,
  DecodedBlockHeader,
  DecodedTransaction,
  DecodeTransactionOptions,
  ScriptPubKey,
  TransactionInput,
  TransactionOutput,
} from "./types.ts";

const DIGEST = new Uint8Array(32);

function checkNetwork(network: Network | undefined): Network {
  const n = network ?? "main";
  if (NETWORKS[n] === undefined) {
    throw new TypeError(
      `Cannot decode: unknown network ${JSON.stringify(network)}`,
    );
  }
  return n;
}

const LAYOUT = new TxLayout();

function u32At(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

let valueView: DataView | undefined;

/** The exact 64-bit value at `o` (only for amounts beyond 2^53). */
function i64At(b: Uint8Array, o: number): bigint {
  if (valueView === undefined || valueView.buffer !== b.buffer) {
    valueView = new DataView(b.buffer);
  }
  return valueView.getBigInt64(b.byteOffset + o, true);
}

/**
 * One transaction of `bytes`, laid out in `L`, as the node's JSON.
 *
 * Each script's hex is one native conversion, and the data pushed in its
 * `asm` are slices of that string. Slices are never taken of anything
 * larger (the transaction's or block's hex): V8's sliced strings keep
 * their parent alive, and a caller keeping one `scriptPubKey.hex` per
 * output must not keep whole blocks.
 */
function decodeLayout(
  bytes: Uint8Array,
  L: TxLayout,
  opts: ScriptJsonOptions,
  withHex: boolean,
): DecodedTransaction {
  const start = L.start, end = L.end;
  const size = end - start;
  const stripped = L.strippedSize();
  const digest = DIGEST;
  let txid: string;
  let hash: string;
  if (L.witness) {
    sha256d3Into(
      bytes,
      start,
      start + 4,
      L.bodyStart,
      L.bodyEnd,
      end - 4,
      end,
      digest,
    );
    txid = reversedHexAt(digest, 0, 32);
    sha256dInto(bytes, start, end, digest);
    hash = reversedHexAt(digest, 0, 32);
  } else {
    sha256dInto(bytes, start, end, digest);
    txid = hash = reversedHexAt(digest, 0, 32);
  }
  const nIn = L.inputs;
  const inAt = L.inAt, sigAt = L.sigAt, sigLen = L.sigLen;
  let coinbase = false;
  if (nIn === 1 && u32At(bytes, inAt[0]! + 32) === 0xffffffff) {
    coinbase = true;
    const o = inAt[0]!;
    for (let k = 0; k < 32; k++) {
      if (bytes[o + k] !== 0) {
        coinbase = false;
        break;
      }
    }
  }
  const vin: TransactionInput[] = new Array(nIn);
  for (let i = 0; i < nIn; i++) {
    const at = sigAt[i]!, len = sigLen[i]!;
    const script = bytes.subarray(at, at + len);
    const scriptHex = script.toHex();
    const sequence = u32At(bytes, at + len);
    if (coinbase) {
      vin[i] = { coinbase: scriptHex, sequence };
      continue;
    }
    const o = inAt[i]!;
    const scriptSig = {
      asm: scriptToAsm(script, true, scriptHex),
      hex: scriptHex,
    };
    const count = L.witCount[i]!;
    if (count > 0) {
      const items: string[] = new Array(count);
      const first = L.witFirst[i]!;
      for (let j = 0; j < count; j++) {
        const w = L.witAt[first + j]!;
        items[j] = bytes.subarray(w, w + L.witLen[first + j]!).toHex();
      }
      vin[i] = {
        txid: reversedHexAt(bytes, o, 32),
        vout: u32At(bytes, o + 32),
        scriptSig,
        txinwitness: items,
        sequence,
      };
    } else {
      vin[i] = {
        txid: reversedHexAt(bytes, o, 32),
        vout: u32At(bytes, o + 32),
        scriptSig,
        sequence,
      };
    }
  }
  const nOut = L.outputs;
  const outAt = L.outAt, spkAt = L.spkAt, spkLen = L.spkLen;
  const vout: TransactionOutput[] = new Array(nOut);
  const exact = opts.exact;
  for (let i = 0; i < nOut; i++) {
    const at = spkAt[i]!;
    const scriptPubKey = scriptPubKeyJson(
      bytes.subarray(at, at + spkLen[i]!),
      opts,
    );
    // The amount as a number when exact in a double (|hi| < 2^21), as
    // `Number(bigint) / 1e8` would give it.
    const o = outAt[i]!;
    const lo = u32At(bytes, o);
    const hi = bytes[o + 4]! | (bytes[o + 5]! << 8) | (bytes[o + 6]! << 16) |
      (bytes[o + 7]! << 24);
    const safe = hi >= -0x200000 && hi < 0x200000;
    const sat = hi * 0x100000000 + lo;
    if (exact) {
      const big = safe ? BigInt(sat) : i64At(bytes, o);
      vout[i] = {
        value: safe ? sat / 1e8 : amountToNumber(big),
        n: i,
        scriptPubKey,
        valueSat: big,
      };
    } else {
      vout[i] = {
        value: safe ? sat / 1e8 : amountToNumber(i64At(bytes, o)),
        n: i,
        scriptPubKey,
      };
    }
  }
  const vsize = Math.floor((stripped * 3 + size + 3) / 4);
  if (withHex) {
    return {
      txid,
      hash,
      version: L.version,
      size,
      vsize,
      locktime: L.locktime,
      vin,
      vout,
      hex: bytes.subarray(start, end).toHex(),
    };
  }
  return {
    txid,
    hash,
    version: L.version,
    size,
    vsize,
    locktime: L.locktime,
    vin,
    vout,
  };
}

/**
 * Decodes a raw transaction into exactly what the node's
 * `decoderawtransaction` returns (key order included).
 *
 * Amounts (`value`, asset `amount`) are read as exact 1e-8 integers and
 * converted once, so each equals what `JSON.parse` makes of the node's
 * decimal. With `valueSat: true`, outputs also carry `valueSat` and assets
 * `amountSat` (exact bigints), and 64-bit fields that can exceed 2^53
 * (`expire_time`) are bigints.
 *
 * The `expire_time` quirk: on every issue, owner and reissue output the
 * node prints uninitialised memory as `expire_time` (8387847183396104704 in
 * one capture, 5809257366854866000 in another). We omit the field by
 * default; `uninitialisedExpireTime` prints a given value instead (for
 * deep-equality with a given capture).
 *
 * @example
 * ```ts
 * import { decodeTransaction } from "@evrmore/rpc";
 *
 * const hex = "0200000001" + "00".repeat(32) + "ffffffff" + "0151" + "ffffffff" +
 *   "01" + "00e1f50500000000" + "1976a914" + "00".repeat(20) + "88ac" + "00000000";
 * const tx = decodeTransaction(hex, { network: "regtest" });
 * console.log(tx.vout[0]!.value); // 1
 * console.log(tx.vin[0]!.coinbase); // "51"
 * ```
 *
 * @param raw The raw transaction, as bytes or hex.
 * @param options Network (address prefixes, default "main") and `valueSat`.
 * @returns The decoded transaction.
 * @throws {DecodeError} On malformed input, with the byte offset.
 */
export function decodeTransaction(
  raw: Uint8Array | string,
  options?: DecodeTransactionOptions,
): DecodedTransaction {
  const bytes = inputBytes(raw, "transaction");
  const network = checkNetwork(options?.network);
  const r = new ByteReader(bytes, { what: "transaction" });
  readTxLayout(r, LAYOUT);
  r.assertEnd();
  return decodeLayout(
    bytes,
    LAYOUT,
    {
      network,
      exact: options?.valueSat === true,
      uninitialisedExpireTime: options?.uninitialisedExpireTime,
    },
    false,
  );
}

/**
 * Difficulty from compact bits, computed as the node does (`GetDifficulty`)
 * and rounded to the 16 significant digits its JSON prints.
 *
 * @example
 * ```ts
 * import { difficultyFromBits } from "@evrmore/rpc";
 *
 * console.log(difficultyFromBits(0x1e00ffff)); // 0.00390625
 * console.log(difficultyFromBits(0x207fffff)); // 4.656542373906925e-10
 * ```
 *
 * @param bits The compact target.
 * @returns The difficulty.
 */
export function difficultyFromBits(bits: number): number {
  let shift = (bits >>> 24) & 0xff;
  let diff = 0x0000ffff / (bits & 0x00ffffff);
  while (shift < 29) {
    diff *= 256.0;
    shift++;
  }
  while (shift > 29) {
    diff /= 256.0;
    shift--;
  }
  // The node's UniValue prints doubles with 16 significant digits.
  return Number(diff.toPrecision(16));
}

/**
 * The node's `headerhash` for an 80-byte header: SHA-256d of version..bits
 * followed by its (unserialized, zero) nHeight in place of the nonce.
 */
function regtestHeaderHash(header: Uint8Array): Uint8Array {
  const copy = header.slice(0, 80);
  copy[76] =
    copy[77] =
    copy[78] =
    copy[79] =
      0;
  return sha256dView(copy);
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, "0");
}

/**
 * Decodes a raw block into what the node's `getblock <hash> 2` returns, for
 * every field the bytes determine; each transaction carries `hex`.
 *
 * Fields that need chain context appear only when given as options:
 * `confirmations`, `mediantime`, `chainwork`, `nextblockhash`. `height`
 * comes from the header on mainnet (120-byte EvrProgPoW headers), from the
 * coinbase's BIP34 push elsewhere (0 when the previous hash is all zeros),
 * and `options.height` overrides both. `previousblockhash` is omitted when
 * the previous hash is all zeros (genesis). `headerhash`, `mixhash` and
 * `nonce64` are present on every network; on 80-byte headers `headerhash`
 * is, as the node computes it, SHA-256d of the header with its nonce
 * replaced by the zero nHeight (equal to `hash` only when the nonce is 0),
 * `mixhash` is zeros and `nonce64` is 0. `difficulty` is rounded to the
 * 16 significant digits the node prints. `nonce64` is a number (as `JSON.parse` reads
 * the node's output) unless `valueSat: true`, which makes it an exact bigint.
 *
 * @example
 * ```ts
 * import { decodeBlock, serializeBlock } from "@evrmore/rpc";
 *
 * const bytes = serializeBlock({
 *   header: {
 *     version: 0x30000000, prevHash: "11".repeat(32), merkleRoot: "00".repeat(32),
 *     time: 1700000000, bits: 0x207fffff, nonce: 1,
 *   },
 *   transactions: [],
 * });
 * const block = decodeBlock(bytes, { network: "regtest", height: 5 });
 * console.log(block.height, block.versionHex, block.bits); // 5 "30000000" "207fffff"
 * ```
 *
 * @param raw The raw block, as bytes or hex.
 * @param options Network (default "main"), `valueSat`, and chain context.
 * @returns The decoded block.
 * @throws {DecodeError} On malformed input, with the byte offset.
 */
export function decodeBlock(
  raw: Uint8Array | string,
  options?: DecodeBlockOptions,
): DecodedBlock {
  const bytes = inputBytes(raw, "block");
  const network = checkNetwork(options?.network);
  const exact = options?.valueSat === true;
  // Header, then each transaction parsed and decoded in turn: the parsed
  // form dies young instead of living (and being copied by the GC) until
  // the whole block is read. Errors are the parser's, at the same offsets.
  const r = new ByteReader(bytes, { what: "block" });
  const header = readHeader(r, NETWORKS[network].progpowHeader);
  const headerBytes = bytes.subarray(0, r.offset);
  const count = r.readCount(60);
  const opts: ScriptJsonOptions = {
    network,
    exact,
    uninitialisedExpireTime: options?.uninitialisedExpireTime,
  };
  const tx: DecodedTransaction[] = new Array(count);
  let stripped = bytes.length;
  let coinbaseSig: Uint8Array | undefined;
  const L = LAYOUT;
  for (let i = 0; i < count; i++) {
    readTxLayout(r, L);
    if (i === 0 && L.inputs > 0) {
      coinbaseSig = bytes.subarray(L.sigAt[0]!, L.sigAt[0]! + L.sigLen[0]!);
    }
    stripped -= (L.end - L.start) - L.strippedSize();
    tx[i] = decodeLayout(bytes, L, opts, true);
  }
  r.assertEnd();
  const progpow = headerBytes.length === 120;
  const { hash, headerHash } = progpow ? headerHashes(headerBytes) : {
    hash: sha256dView(headerBytes),
    headerHash: regtestHeaderHash(headerBytes),
  };
  let height: number | undefined = options?.height;
  if (height === undefined) {
    if (progpow) height = header.height ?? 0;
    else if (/^0+$/.test(header.prevHash)) height = 0;
    else {
      const cb = coinbaseSig;
      height = cb === undefined ? undefined : coinbaseHeight(cb);
    }
  }
  const out = {
    hash: bytesToReversedHex(hash),
  } as DecodedBlock;
  if (options?.confirmations !== undefined) {
    out.confirmations = options.confirmations;
  }
  out.strippedsize = stripped;
  out.size = bytes.length;
  out.weight = stripped * 3 + bytes.length;
  if (height !== undefined) out.height = height;
  out.version = header.version;
  out.versionHex = hex8(header.version);
  out.merkleroot = header.merkleRoot;
  out.tx = tx;
  out.time = header.time;
  if (options?.mediantime !== undefined) out.mediantime = options.mediantime;
  out.nonce = header.nonce;
  out.bits = hex8(header.bits);
  out.difficulty = difficultyFromBits(header.bits);
  if (options?.chainwork !== undefined) out.chainwork = options.chainwork;
  out.headerhash = bytesToReversedHex(headerHash);
  out.mixhash = header.mixHash ?? "0".repeat(64);
  const nonce64 = header.nonce64 ?? 0n;
  out.nonce64 = exact ? nonce64 : Number(nonce64);
  if (!/^0+$/.test(header.prevHash)) out.previousblockhash = header.prevHash;
  if (options?.nextblockhash !== undefined) {
    out.nextblockhash = options.nextblockhash;
  }
  return out;
}

/**
 * Decodes a raw block header (80 bytes, or 120 on mainnet; a whole block is
 * accepted too, its transactions ignored) into what the node's
 * `getblockheader <hash> true` returns for the fields the bytes determine.
 *
 * `height` comes from the header on mainnet and otherwise only from
 * `options.height`; `confirmations`, `mediantime`, `chainwork` and
 * `nextblockhash` appear only when given as options.
 *
 * @example
 * ```ts
 * import { decodeBlockHeader, serializeBlockHeader } from "@evrmore/rpc";
 *
 * const header = serializeBlockHeader({
 *   version: 0x30000000, prevHash: "11".repeat(32), merkleRoot: "00".repeat(32),
 *   time: 1700000000, bits: 0x207fffff, nonce: 1,
 * });
 * const json = decodeBlockHeader(header, { network: "regtest", height: 9 });
 * console.log(json.height, json.previousblockhash === "11".repeat(32)); // 9 true
 * ```
 *
 * @param raw Header (or block) bytes, or hex.
 * @param options Network (default "main") and chain context.
 * @returns The decoded header.
 * @throws {DecodeError} When the bytes are too short for a header.
 */
export function decodeBlockHeader(
  raw: Uint8Array | string,
  options?: DecodeBlockOptions,
): DecodedBlockHeader {
  const bytes = inputBytes(raw, "block header");
  const network = checkNetwork(options?.network);
  const progpow = NETWORKS[network].progpowHeader;
  const r = new ByteReader(bytes, { what: "block header" });
  const header = readHeader(r, progpow);
  const headerBytes = bytes.subarray(0, r.offset);
  const hash = progpow
    ? headerHashes(headerBytes).hash
    : sha256dView(headerBytes);
  const out = { hash: bytesToReversedHex(hash) } as DecodedBlockHeader;
  if (options?.confirmations !== undefined) {
    out.confirmations = options.confirmations;
  }
  const height = options?.height ?? (progpow ? header.height : undefined);
  if (height !== undefined) out.height = height;
  out.version = header.version;
  out.versionHex = hex8(header.version);
  out.merkleroot = header.merkleRoot;
  out.time = header.time;
  if (options?.mediantime !== undefined) out.mediantime = options.mediantime;
  out.nonce = header.nonce;
  out.bits = hex8(header.bits);
  out.difficulty = difficultyFromBits(header.bits);
  if (options?.chainwork !== undefined) out.chainwork = options.chainwork;
  if (!/^0+$/.test(header.prevHash)) out.previousblockhash = header.prevHash;
  if (options?.nextblockhash !== undefined) {
    out.nextblockhash = options.nextblockhash;
  }
  return out;
}

/** Options of {@linkcode decodeScript}. */
export interface DecodeScriptOptions {
  /** Network whose address prefixes to use (default "main"). */
  network?: Network;
  /** Exact bigints for amounts (`amountSat`) and `expire_time` (default false). */
  valueSat?: boolean;
  /**
   * What to print as `expire_time` on issue, owner and reissue scripts,
   * where the node prints uninitialised memory; default: omitted. See
   * `DecodeTransactionOptions.uninitialisedExpireTime`.
   */
  uninitialisedExpireTime?: bigint;
  /**
   * "scriptPubKey" (default): the `scriptPubKey` object of
   * `decoderawtransaction` (with `hex`). "decodescript": the node's
   * `decodescript` answer (no `hex`; `p2sh`, and top-level `asset_name`,
   * `amount`, ... for asset scripts).
   */
  format?: "scriptPubKey" | "decodescript";
}

/**
 * Decodes a script as the node prints it.
 *
 * @example
 * ```ts
 * import { decodeScript } from "@evrmore/rpc";
 *
 * const spk = decodeScript("76a914043221054d49c157fc65a58e0f37c0c63513a23788ac", {
 *   network: "regtest",
 * });
 * console.log(spk.type, spk.addresses); // "pubkeyhash" [ "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe" ]
 * ```
 *
 * @param script The script, as bytes or hex.
 * @param options Network, exactness and output format.
 * @returns The node's JSON for the script.
 * @throws {DecodeError} On bad hex, or (format "decodescript") an asset
 * script that does not deserialize.
 */
export function decodeScript(
  script: Uint8Array | string,
  options?: DecodeScriptOptions,
): ScriptPubKey {
  const bytes = inputBytes(script, "script");
  const opts = {
    network: checkNetwork(options?.network),
    exact: options?.valueSat === true,
    uninitialisedExpireTime: options?.uninitialisedExpireTime,
  };
  if (options?.format === "decodescript") {
    return decodeScriptRpcJson(bytes, opts) as ScriptPubKey;
  }
  return scriptPubKeyJson(bytes, opts);
}
