/**
 * Pure decoding and encoding of Evrmore data: raw transactions and blocks
 * into the node's JSON (`decoderawtransaction`, `getblock <hash> 2`),
 * Bitcoin serialization, hashes, addresses and asset scripts.
 *
 * @module
 */

export type { Network } from "../network.ts";
export {
  ByteReader,
  type ByteReaderOptions,
  bytesToHex,
  bytesToReversedHex,
  ByteWriter,
  hexToBytes,
  MAX_COMPACT_SIZE,
  reversedHexToBytes,
} from "./_bytes.ts";
export { hash160, sha256, sha256d } from "./_hash.ts";
export {
  type AddressType,
  base58CheckDecode,
  base58CheckEncode,
  base58Decode,
  base58Encode,
  decodeAddress,
  type DecodedAddress,
  encodeAddress,
  type EncodeAddressOptions,
} from "./_base58.ts";
export {
  decodeBlock,
  decodeBlockHeader,
  decodeScript,
  type DecodeScriptOptions,
  decodeTransaction,
  difficultyFromBits,
} from "./_decode.ts";
export { UNINITIALISED_EXPIRE_TIME } from "./_script.ts";
export { parseTransaction, serializeTransaction, txid, wtxid } from "./_tx.ts";
export {
  blockHash,
  type BlockNetworkOptions,
  merkleRoot,
  parseBlock,
  serializeBlock,
  serializeBlockHeader,
} from "./_block.ts";
export {
  addressScript,
  type AssetDestination,
  type AssetIssueOperation,
  type AssetOperation,
  type AssetOwnerOperation,
  type AssetReissueOperation,
  assetScript,
  type AssetTransferOperation,
  type GlobalRestrictionOptions,
  globalRestrictionScript,
  heightPush,
  type NullAssetTagOptions,
  nullAssetTagScript,
  p2pkhScript,
  p2shScript,
  pushData,
  verifierScript,
  witnessCommitment,
  witnessCommitmentScript,
} from "./_script_build.ts";
export type {
  DecodeBlockOptions,
  DecodedBlock,
  DecodedBlockHeader,
  DecodedTransaction,
  DecodeTransactionOptions,
  RawBlock,
  RawBlockHeader,
  RawInput,
  RawOutput,
  RawTransaction,
  ScriptAsset,
  ScriptPubKey,
  TransactionInput,
  TransactionOutput,
} from "./types.ts";
