/**
 * JSON-RPC client of an Evrmore node: configuration discovery
 * (options, environment, `evrmore.conf`, `.cookie`), one typed method per
 * node command, validated answers for the reads the system relies on,
 * batches, a concurrency cap with priority lanes, automatic batching under
 * load, single-flight of identical reads and retries of read-only calls.
 *
 * @example
 * ```ts
 * import { EvrmoreRPCClient } from "@evrmore/rpc";
 *
 * await using client = new EvrmoreRPCClient({ network: "regtest" });
 * const tip = () => client.getbestblockhash();
 * console.log(typeof tip); // "function"
 * ```
 *
 * @module
 */

export { EvrmoreRPCClient } from "./_client.ts";
export { EvrmoreRPCMethods } from "./_methods.ts";
export { READ_ONLY_METHODS } from "./_read_only.ts";
export {
  RpcValidationError,
  type RpcValidationErrorOptions,
} from "./_errors.ts";
export type {
  AssetData,
  AssetListEntry,
  BlockchainInfo,
  BlockHeaderInfo,
  BlockInfo,
  BlockInfoVerbose,
  EvrmoreRPCClientOptions,
  MempoolEntry,
  MempoolInfo,
  NetworkInfo,
  NetworkInfoNetwork,
  RawTransactionInfo,
  RawTransactionInputInfo,
  RawTransactionOutputInfo,
  RpcBatchCall,
  RpcBatchResult,
  RpcCallOptions,
  RpcConfigSources,
  RpcParams,
  RpcPriority,
  RpcResolvedConfig,
  RpcSettingOrigin,
  RpcSettingSource,
} from "./_types.ts";

// Shared contracts referenced by the types above, re-exported so this entry
// documents completely on its own (same symbols as in the root mod.ts).
export type { Network } from "../network.ts";
export type {
  DecodedBlock,
  DecodedTransaction,
  ScriptAsset,
  ScriptPubKey,
  TransactionInput,
  TransactionOutput,
} from "../encoding/types.ts";
export {
  DecodeError,
  type DecodeErrorOptions,
  EvrmoreError,
  type EvrmoreErrorOptions,
} from "../errors.ts";
