/**
 * Script builders: P2PKH/P2SH, Evrmore asset scripts, null-asset data,
 * BIP34 height pushes and the segwit witness commitment.
 *
 * @module
 */

import { ByteWriter, reversedHexToBytes } from "./_bytes.ts";
import { base58Decode, decodeAddress } from "./_base58.ts";
import { sha256dParts } from "./_hash.ts";
import { merkleRootBytes } from "./_block.ts";
import { hexToBytes } from "./_bytes.ts";

const OP_DUP = 0x76;
const OP_HASH160 = 0xa9;
const OP_EQUALVERIFY = 0x88;
const OP_EQUAL = 0x87;
const OP_CHECKSIG = 0xac;
const OP_RETURN = 0x6a;
const OP_DROP = 0x75;
const OP_RESERVED = 0x50;
const OP_EVR_ASSET = 0xc0;

function check20(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== 20) {
    throw new TypeError(`Cannot build ${what}: hash must be 20 bytes`);
  }
}

/**
 * Appends a data push the way the node's `CScript << vector` does.
 *
 * @param w The writer.
 * @param data The data.
 */
export function writePush(w: ByteWriter, data: Uint8Array): void {
  const n = data.length;
  if (n < 0x4c) w.writeU8(n);
  else if (n <= 0xff) w.writeU8(0x4c).writeU8(n);
  else if (n <= 0xffff) w.writeU8(0x4d).writeU16LE(n);
  else w.writeU8(0x4e).writeU32LE(n);
  w.writeBytes(data);
}

/**
 * A data push as script bytes (opcode + data), as `CScript << vector` writes it.
 *
 * @example
 * ```ts
 * import { pushData, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(pushData(new Uint8Array([1, 2])))); // "020102"
 * ```
 *
 * @param data The data.
 * @returns The push.
 */
export function pushData(data: Uint8Array): Uint8Array {
  const w = new ByteWriter(data.length + 5);
  writePush(w, data);
  return w.toBytes();
}

/**
 * Pay-to-public-key-hash script: `OP_DUP OP_HASH160 <hash> OP_EQUALVERIFY OP_CHECKSIG`.
 *
 * @example
 * ```ts
 * import { p2pkhScript, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(p2pkhScript(new Uint8Array(20))).slice(0, 6)); // "76a914"
 * ```
 *
 * @param hash160 The 20-byte public key hash.
 * @returns The 25-byte script.
 * @throws {TypeError} When the hash is not 20 bytes.
 */
export function p2pkhScript(hash160: Uint8Array): Uint8Array {
  check20(hash160, "P2PKH script");
  const s = new Uint8Array(25);
  s[0] = OP_DUP;
  s[1] = OP_HASH160;
  s[2] = 20;
  s.set(hash160, 3);
  s[23] = OP_EQUALVERIFY;
  s[24] = OP_CHECKSIG;
  return s;
}

/**
 * Pay-to-script-hash script: `OP_HASH160 <hash> OP_EQUAL`.
 *
 * @example
 * ```ts
 * import { p2shScript } from "@evrmore/rpc";
 *
 * console.log(p2shScript(new Uint8Array(20)).length); // 23
 * ```
 *
 * @param hash160 The 20-byte script hash.
 * @returns The 23-byte script.
 * @throws {TypeError} When the hash is not 20 bytes.
 */
export function p2shScript(hash160: Uint8Array): Uint8Array {
  check20(hash160, "P2SH script");
  const s = new Uint8Array(23);
  s[0] = OP_HASH160;
  s[1] = 20;
  s.set(hash160, 2);
  s[22] = OP_EQUAL;
  return s;
}

/**
 * The locking script paying an address (P2PKH or P2SH).
 *
 * @example
 * ```ts
 * import { addressScript, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(addressScript("mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe")));
 * // "76a914043221054d49c157fc65a58e0f37c0c63513a23788ac"
 * ```
 *
 * @param address A Base58Check address of any network.
 * @returns The script.
 * @throws {DecodeError} When the address does not decode.
 */
export function addressScript(address: string): Uint8Array {
  const { hash, type } = decodeAddress(address);
  return type === "scripthash" ? p2shScript(hash) : p2pkhScript(hash);
}

/** Where an asset output pays: an address, or a P2PKH/P2SH script. */
export type AssetDestination = string | Uint8Array;

function destinationScript(destination: AssetDestination): Uint8Array {
  if (typeof destination === "string") return addressScript(destination);
  if (destination instanceof Uint8Array) return destination;
  throw new TypeError(
    "Cannot build asset script: destination must be an address or a script",
  );
}

/** Issue a new asset (`q`). */
export interface AssetIssueOperation {
  /** Operation kind. */
  kind: "issue";
  /** Asset name (`ROOT`, `ROOT/SUB`, `ROOT#tag`, `ROOT~chan`, `#QUAL`, `$RESTR`). */
  name: string;
  /** Amount in 1e-8 units (whatever the asset's `units`). */
  amount: bigint | number;
  /** Decimal places 0..8 (default 0). */
  units?: number;
  /** Whether more can be issued later (default false). */
  reissuable?: boolean;
  /** IPFS hash (`Qm...`) or 64-hex txid to attach. */
  ipfsHash?: string;
}

/** Issue the owner token of an asset (`o`). */
export interface AssetOwnerOperation {
  /** Operation kind. */
  kind: "owner";
  /** Owner token name, ending in `!`. */
  name: string;
}

/** Transfer an asset (`t`), optionally with a message. */
export interface AssetTransferOperation {
  /** Operation kind. */
  kind: "transfer";
  /** Asset name. */
  name: string;
  /** Amount in 1e-8 units. */
  amount: bigint | number;
  /** IPFS hash (`Qm...`) or 64-hex txid message. */
  message?: string;
  /** Message expiry (Unix time); written only when non-zero and a message is present. */
  expireTime?: bigint | number;
}

/** Reissue an asset (`r`). */
export interface AssetReissueOperation {
  /** Operation kind. */
  kind: "reissue";
  /** Asset name. */
  name: string;
  /** Additional amount in 1e-8 units. */
  amount: bigint | number;
  /** New decimal places, or -1 to keep them (default -1). */
  units?: number;
  /** Whether it stays reissuable (default true). */
  reissuable?: boolean;
  /** New IPFS hash (`Qm...`) or 64-hex txid. */
  ipfsHash?: string;
}

/** Any asset operation carried by an asset output. */
export type AssetOperation =
  | AssetIssueOperation
  | AssetOwnerOperation
  | AssetTransferOperation
  | AssetReissueOperation;

const textEncoder = new TextEncoder();

function writeString(w: ByteWriter, s: string): void {
  w.writeVarBytes(textEncoder.encode(s));
}

/**
 * The 34 bytes an asset script carries for an IPFS hash (`Qm...`) or a
 * 64-hex txid.
 *
 * @param hash The hash text.
 * @returns The bytes.
 * @throws {TypeError} When it is neither.
 * @throws {DecodeError} When it is not valid Base58.
 */
export function assetHashBytes(hash: string): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(hash)) {
    const out = new Uint8Array(34);
    out[0] = 0x54;
    out[1] = 0x20;
    out.set(hexToBytes(hash), 2);
    return out;
  }
  const decoded = base58Decode(hash);
  if (decoded.length !== 34 || decoded[0] !== 0x12 || decoded[1] !== 0x20) {
    throw new TypeError(
      `Cannot build asset script: ${
        JSON.stringify(hash)
      } is neither an IPFS hash (Qm...) nor a 64-hex txid`,
    );
  }
  return decoded;
}

function amountOf(v: bigint | number): bigint {
  if (typeof v === "number" && !Number.isSafeInteger(v)) {
    throw new RangeError(
      `Cannot build asset script: amount ${v} is not an integer`,
    );
  }
  return BigInt(v);
}

/**
 * Serialized payload of an asset operation (what follows `"evr"` and the type byte).
 *
 * @param op The operation.
 * @returns Type byte and payload.
 */
export function assetPayload(op: AssetOperation): Uint8Array {
  const w = new ByteWriter(96);
  w.writeBytes(textEncoder.encode("evr"));
  switch (op.kind) {
    case "issue": {
      w.writeU8(0x71);
      writeString(w, op.name);
      w.writeI64LE(amountOf(op.amount));
      w.writeU8((op.units ?? 0) & 0xff);
      w.writeU8(op.reissuable ? 1 : 0);
      if (op.ipfsHash !== undefined && op.ipfsHash !== "") {
        w.writeU8(1);
        w.writeBytes(assetHashBytes(op.ipfsHash));
      } else {
        w.writeU8(0);
      }
      break;
    }
    case "owner":
      w.writeU8(0x6f);
      writeString(w, op.name);
      break;
    case "transfer": {
      w.writeU8(0x74);
      writeString(w, op.name);
      w.writeI64LE(amountOf(op.amount));
      if (op.message !== undefined && op.message !== "") {
        w.writeBytes(assetHashBytes(op.message));
        const expire = BigInt(op.expireTime ?? 0);
        if (expire !== 0n) w.writeI64LE(expire);
      }
      break;
    }
    case "reissue": {
      w.writeU8(0x72);
      writeString(w, op.name);
      w.writeI64LE(amountOf(op.amount));
      w.writeU8((op.units ?? -1) & 0xff);
      w.writeU8((op.reissuable ?? true) ? 1 : 0);
      if (op.ipfsHash !== undefined && op.ipfsHash !== "") {
        w.writeBytes(assetHashBytes(op.ipfsHash));
      }
      break;
    }
    default:
      throw new TypeError(
        `Cannot build asset script: unknown operation ${
          JSON.stringify((op as { kind?: unknown }).kind)
        }`,
      );
  }
  return w.toBytes();
}

/**
 * An asset output script: the destination's P2PKH/P2SH script, then
 * `OP_EVR_ASSET <push "evr" + type + payload> OP_DROP`.
 *
 * @example Transfer 10.5 MYASSET
 * ```ts
 * import { assetScript, bytesToHex } from "@evrmore/rpc";
 *
 * const script = assetScript("mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe", {
 *   kind: "transfer",
 *   name: "MYASSET",
 *   amount: 1_050_000_000n,
 * });
 * console.log(bytesToHex(script));
 * // "76a914043221054d49c157fc65a58e0f37c0c63513a23788acc01465767274074d59415353455480ba953e0000000075"
 * ```
 *
 * @param destination Address, or P2PKH/P2SH script, receiving the asset.
 * @param operation What the output does: issue, owner, transfer or reissue.
 * @returns The script.
 * @throws {TypeError} On a bad destination, operation or hash.
 */
export function assetScript(
  destination: AssetDestination,
  operation: AssetOperation,
): Uint8Array {
  const base = destinationScript(destination);
  const payload = assetPayload(operation);
  const w = new ByteWriter(base.length + payload.length + 8);
  w.writeBytes(base);
  w.writeU8(OP_EVR_ASSET);
  writePush(w, payload);
  w.writeU8(OP_DROP);
  return w.toBytes();
}

/** Options of {@linkcode nullAssetTagScript}. */
export interface NullAssetTagOptions {
  /** Qualifier (`#KYC`) or restricted asset (`$ASSET`) name. */
  name: string;
  /** 1 adds the tag / freezes the address, 0 removes / unfreezes (default 1). */
  flag?: number;
}

/**
 * Null-asset data tagging or freezing one address:
 * `OP_EVR_ASSET <20-byte hash> <push: name, int8 flag>`.
 *
 * @example
 * ```ts
 * import { nullAssetTagScript, bytesToHex } from "@evrmore/rpc";
 *
 * const script = nullAssetTagScript("mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe", { name: "#KYC" });
 * console.log(bytesToHex(script));
 * // "c014043221054d49c157fc65a58e0f37c0c63513a2370604234b594301"
 * ```
 *
 * @param address Address (or its 20-byte hash) tagged or frozen.
 * @param options Asset name and flag.
 * @returns The script (its output carries value 0).
 */
export function nullAssetTagScript(
  address: string | Uint8Array,
  options: NullAssetTagOptions,
): Uint8Array {
  const hash = typeof address === "string"
    ? decodeAddress(address).hash
    : address;
  check20(hash, "null-asset tag script");
  const data = new ByteWriter(48);
  writeString(data, options.name);
  data.writeU8((options.flag ?? 1) & 0xff);
  const w = new ByteWriter(64);
  w.writeU8(OP_EVR_ASSET);
  writePush(w, hash);
  writePush(w, data.toBytes());
  return w.toBytes();
}

/** Options of {@linkcode globalRestrictionScript}. */
export interface GlobalRestrictionOptions {
  /** 1 freezes every address, 0 unfreezes (default 1). */
  flag?: number;
}

/**
 * Null-asset data freezing a restricted asset everywhere:
 * `OP_EVR_ASSET OP_RESERVED OP_RESERVED <push: "$NAME", int8 flag>`.
 *
 * @example
 * ```ts
 * import { globalRestrictionScript, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(globalRestrictionScript("$MYASSET", { flag: 1 })));
 * // "c050500a08244d59415353455401"
 * ```
 *
 * @param name Restricted asset name (`$NAME`).
 * @param options The flag.
 * @returns The script.
 */
export function globalRestrictionScript(
  name: string,
  options?: GlobalRestrictionOptions,
): Uint8Array {
  const data = new ByteWriter(48);
  writeString(data, name);
  data.writeU8((options?.flag ?? 1) & 0xff);
  const w = new ByteWriter(64);
  w.writeU8(OP_EVR_ASSET).writeU8(OP_RESERVED).writeU8(OP_RESERVED);
  writePush(w, data.toBytes());
  return w.toBytes();
}

/**
 * Null-asset data carrying a restricted asset's verifier string:
 * `OP_EVR_ASSET OP_RESERVED <push: verifier>`.
 *
 * @example
 * ```ts
 * import { verifierScript, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(verifierScript("KYC"))); // "c05004034b5943"
 * ```
 *
 * @param verifier The verifier string, for example `KYC & !BANNED`.
 * @returns The script.
 */
export function verifierScript(verifier: string): Uint8Array {
  const data = new ByteWriter(48);
  writeString(data, verifier);
  const w = new ByteWriter(64);
  w.writeU8(OP_EVR_ASSET).writeU8(OP_RESERVED);
  writePush(w, data.toBytes());
  return w.toBytes();
}

/**
 * The BIP34 height push that starts a coinbase script (`CScript() << height`):
 * `OP_0` for 0, `OP_1`..`OP_16` for 1..16, else a minimal number push.
 *
 * @example
 * ```ts
 * import { heightPush, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(heightPush(162))); // "02a200"
 * console.log(bytesToHex(heightPush(1))); // "51"
 * ```
 *
 * @param height Block height.
 * @returns The push.
 * @throws {RangeError} On a negative or non-integer height.
 */
export function heightPush(height: number): Uint8Array {
  if (!Number.isSafeInteger(height) || height < 0) {
    throw new RangeError(
      `Cannot encode height ${height}: not a non-negative integer`,
    );
  }
  if (height === 0) return new Uint8Array([0]);
  if (height <= 16) return new Uint8Array([0x50 + height]);
  const bytes: number[] = [];
  let v = height;
  while (v > 0) {
    bytes.push(v & 0xff);
    v = Math.floor(v / 256);
  }
  if (bytes[bytes.length - 1]! & 0x80) bytes.push(0);
  return pushData(new Uint8Array(bytes));
}

/**
 * The segwit witness commitment of a block: SHA-256d of the witness merkle
 * root (coinbase wtxid taken as zero) and the 32-byte reserved value.
 *
 * @example
 * ```ts
 * import { witnessCommitment } from "@evrmore/rpc";
 *
 * console.log(witnessCommitment(["00".repeat(32)]).length); // 32
 * ```
 *
 * @param wtxids The block's wtxids (display hex), coinbase first (its value is ignored).
 * @param reserved The coinbase witness reserved value (default 32 zero bytes).
 * @returns The 32-byte commitment.
 */
export function witnessCommitment(
  wtxids: readonly string[],
  reserved: Uint8Array = new Uint8Array(32),
): Uint8Array {
  const leaves = wtxids.map((id, i) =>
    i === 0 ? new Uint8Array(32) : reversedHexToBytes(id)
  );
  return sha256dParts([merkleRootBytes(leaves), reserved]);
}

/**
 * The coinbase output script committing to the witnesses:
 * `OP_RETURN <aa21a9ed + commitment>`.
 *
 * @example
 * ```ts
 * import { witnessCommitmentScript, bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(witnessCommitmentScript(new Uint8Array(32))).slice(0, 12)); // "6a24aa21a9ed"
 * ```
 *
 * @param commitment The 32-byte commitment ({@linkcode witnessCommitment}).
 * @returns The 38-byte script.
 */
export function witnessCommitmentScript(commitment: Uint8Array): Uint8Array {
  if (!(commitment instanceof Uint8Array) || commitment.length !== 32) {
    throw new TypeError("Cannot build witness commitment: expected 32 bytes");
  }
  const s = new Uint8Array(38);
  s[0] = OP_RETURN;
  s[1] = 0x24;
  s.set([0xaa, 0x21, 0xa9, 0xed], 2);
  s.set(commitment, 6);
  return s;
}
