/**
 * Types of the decoding layer: the node's JSON for transactions and blocks
 * (what `decoderawtransaction` and `getblock <hash> 2` print), and the raw
 * structures that serialize to the exact bytes.
 *
 * @module
 */

import type { Network } from "../network.ts";

/** The `asset` object of an asset output's `scriptPubKey`, as the node prints it. */
export interface ScriptAsset {
  /** Asset name, for example `MYASSET`, `MYASSET/SUB`, `MYASSET!`, `#KYC`, `$RESTRICTED`. */
  name: string;
  /** Amount in whole units, the node's decimal as `JSON.parse` reads it. */
  amount: number;
  /** Exact amount in 1e-8 units; present only with the `valueSat` decode option (last key). */
  amountSat?: bigint;
  /** Decimal places (issue and reissue only). */
  units?: number;
  /** 1 when more can be issued later (issue and reissue only). */
  reissuable?: number;
  /** IPFS (`Qm...`) or txid hash attached (issue, reissue and transfer messages). */
  ipfs_hash?: string;
  /**
   * Message expiry (transfer), or the node's uninitialised value on issue,
   * owner and reissue outputs: the node prints `8387847183396104704`, which
   * `JSON.parse` reads as `8387847183396104000`. By default this is that
   * number (so results deep-equal the parsed node JSON); with the `valueSat`
   * decode option it is the exact bigint `8387847183396104704n` (and a
   * transfer's expiry is a bigint too).
   */
  expire_time?: number | bigint;
  /** Other fields the node prints for some script kinds. */
  [key: string]: unknown;
}

/** A `scriptPubKey` (or decoded script) as the node prints it. */
export interface ScriptPubKey {
  /** Script in the node's assembly notation. */
  asm: string;
  /** Script bytes as hex. */
  hex: string;
  /** Number of signatures required, when the node prints it. */
  reqSigs?: number;
  /** Script type: `pubkeyhash`, `scripthash`, `nulldata`, `new_asset`, `transfer_asset`, ... */
  type: string;
  /** The asset carried by the output, for asset scripts. */
  asset?: ScriptAsset;
  /** Addresses paid, when the node prints them. */
  addresses?: string[];
  /** Other fields the node prints for some script kinds (null-asset data). */
  [key: string]: unknown;
}

/** A transaction input as the node prints it. */
export interface TransactionInput {
  /** Coinbase script hex (coinbase inputs only). */
  coinbase?: string;
  /** Spent transaction id (non-coinbase inputs). */
  txid?: string;
  /** Spent output index (non-coinbase inputs). */
  vout?: number;
  /** Unlocking script (non-coinbase inputs). */
  scriptSig?: { asm: string; hex: string };
  /** Witness stack items as hex, when present. */
  txinwitness?: string[];
  /** Input sequence number. */
  sequence: number;
}

/** A transaction output as the node prints it. */
export interface TransactionOutput {
  /** Value in EVR, the node's decimal as `JSON.parse` reads it. */
  value: number;
  /** Exact value in satoshis; present only with the `valueSat` decode option. */
  valueSat?: bigint;
  /** Output index. */
  n: number;
  /** The locking script. */
  scriptPubKey: ScriptPubKey;
}

/** A decoded transaction: exactly what `decoderawtransaction` returns. */
export interface DecodedTransaction {
  /** Transaction id (double SHA-256 of the non-witness serialization, display order). */
  txid: string;
  /** Witness transaction id (double SHA-256 of the full serialization). */
  hash: string;
  /** Transaction version. */
  version: number;
  /** Serialized size in bytes, witness included. */
  size: number;
  /** Virtual size in bytes. */
  vsize: number;
  /** Lock time. */
  locktime: number;
  /** Inputs. */
  vin: TransactionInput[];
  /** Outputs. */
  vout: TransactionOutput[];
  /** Raw hex, present in `getblock` verbosity 2 and `getrawtransaction` verbose answers. */
  hex?: string;
}

/** A decoded block: what `getblock <hash> 2` returns, for the fields the bytes determine. */
export interface DecodedBlock {
  /** Block hash (SHA-256d of the header, or EvrProgPoW's final hash on mainnet). */
  hash: string;
  /** Confirmations (chain context: only when given as an option). */
  confirmations?: number;
  /** Size without witness data. */
  strippedsize: number;
  /** Full serialized size. */
  size: number;
  /** Block weight. */
  weight: number;
  /** Height: from the header on mainnet, the coinbase (BIP34) or an option elsewhere. */
  height: number;
  /** Block version. */
  version: number;
  /** Block version as 8 hex digits. */
  versionHex: string;
  /** Merkle root. */
  merkleroot: string;
  /** The decoded transactions. */
  tx: DecodedTransaction[];
  /** Block time. */
  time: number;
  /** Median time past (chain context: only when given as an option). */
  mediantime?: number;
  /** Header nonce (32-bit). */
  nonce: number;
  /** Compact difficulty target as hex. */
  bits: string;
  /** Difficulty computed from `bits`. */
  difficulty: number;
  /** Total chain work (chain context: only when given as an option). */
  chainwork?: string;
  /**
   * SHA-256d of version..bits plus the header's nHeight: the first 80 bytes
   * of a 120-byte header; on 80-byte headers the nonce is replaced by the
   * zero nHeight, as the node computes it.
   */
  headerhash: string;
  /** EvrProgPoW mix hash (zero on 80-byte headers). */
  mixhash: string;
  /**
   * EvrProgPoW 64-bit nonce (0 on 80-byte headers): a number as
   * `JSON.parse` reads the node's value, or an exact bigint with `valueSat`.
   */
  nonce64: number | bigint;
  /** Previous block hash (absent on genesis). */
  previousblockhash?: string;
  /** Next block hash (chain context: only when given as an option). */
  nextblockhash?: string;
}

/** Options of `decodeTransaction`. */
export interface DecodeTransactionOptions {
  /** Network whose address prefixes to use (default `"main"`). */
  network?: Network;
  /**
   * Exact mode (default false): outputs also carry `valueSat` and assets
   * `amountSat` (exact 1e-8 integers as bigint), and 64-bit fields that may
   * exceed 2^53 are exact bigints: asset `expire_time`, block `nonce64`.
   * Without it every number equals what `JSON.parse` makes of the node's
   * JSON.
   */
  valueSat?: boolean;
  /**
   * What to print as `expire_time` on issue, owner and reissue outputs,
   * where the node prints uninitialised memory (a value that differs
   * between node processes). Default: nothing, the field is omitted (we do
   * not invent a value). Pass the value of a given capture (for example
   * {@linkcode UNINITIALISED_EXPIRE_TIME}, that of this package's fixtures)
   * to deep-equal it; it is a number unless `valueSat` is set.
   */
  uninitialisedExpireTime?: bigint;
}

/** Options of `decodeBlock`: the network, and the chain context the bytes cannot give. */
export interface DecodeBlockOptions extends DecodeTransactionOptions {
  /** Height, when the bytes cannot give it (80-byte headers with no BIP34 coinbase). */
  height?: number;
  /** Confirmations to report. */
  confirmations?: number;
  /** Median time past to report. */
  mediantime?: number;
  /** Chain work to report. */
  chainwork?: string;
  /** Hash of the next block to report. */
  nextblockhash?: string;
}

/** A transaction input in raw form. */
export interface RawInput {
  /** Spent transaction id, in display (RPC) hex order. */
  txid: string;
  /** Spent output index (0xffffffff for coinbase). */
  vout: number;
  /** Unlocking script bytes (the coinbase script for coinbase inputs). */
  scriptSig: Uint8Array;
  /** Sequence number. */
  sequence: number;
  /** Witness stack items (empty when none). */
  witness: Uint8Array[];
}

/** A transaction output in raw form. */
export interface RawOutput {
  /** Value in satoshis (1e-8 EVR). */
  value: bigint;
  /** Locking script bytes. */
  script: Uint8Array;
}

/** A transaction in raw form: serializes to the exact bytes it was parsed from. */
export interface RawTransaction {
  /** Transaction version. */
  version: number;
  /** Inputs. */
  inputs: RawInput[];
  /** Outputs. */
  outputs: RawOutput[];
  /** Lock time. */
  locktime: number;
}

/** A block header in raw form (80 bytes, or 120 on mainnet). */
export interface RawBlockHeader {
  /** Block version. */
  version: number;
  /** Previous block hash, display order hex. */
  prevHash: string;
  /** Merkle root, display order hex. */
  merkleRoot: string;
  /** Block time. */
  time: number;
  /** Compact target. */
  bits: number;
  /** 32-bit nonce (80-byte headers). */
  nonce: number;
  /** Height (120-byte headers only). */
  height?: number;
  /** 64-bit nonce (120-byte headers only). */
  nonce64?: bigint;
  /** Mix hash, display order hex (120-byte headers only). */
  mixHash?: string;
}

/** A block in raw form. */
export interface RawBlock {
  /** The header. */
  header: RawBlockHeader;
  /** The transactions, coinbase first. */
  transactions: RawTransaction[];
}

/** A decoded block header: what `getblockheader <hash> true` returns, for the fields the bytes determine. */
export interface DecodedBlockHeader {
  /** Block hash. */
  hash: string;
  /** Confirmations (chain context: only when given as an option). */
  confirmations?: number;
  /** Height: from the header on mainnet, else only when given as an option. */
  height?: number;
  /** Block version. */
  version: number;
  /** Block version as 8 hex digits. */
  versionHex: string;
  /** Merkle root. */
  merkleroot: string;
  /** Block time. */
  time: number;
  /** Median time past (chain context: only when given as an option). */
  mediantime?: number;
  /** Header nonce (32-bit; 0 on 120-byte headers). */
  nonce: number;
  /** Compact difficulty target as hex. */
  bits: string;
  /** Difficulty computed from `bits`. */
  difficulty: number;
  /** Total chain work (chain context: only when given as an option). */
  chainwork?: string;
  /** Previous block hash (absent on genesis). */
  previousblockhash?: string;
  /** Next block hash (chain context: only when given as an option). */
  nextblockhash?: string;
}
