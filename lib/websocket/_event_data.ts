/**
 * The `data` of the events the server pushes, built from decoded blocks and
 * transactions (or the node's RPC answers): pure functions, no I/O.
 *
 * Internal.
 *
 * @module
 */

import type { DecodedBlock, DecodedTransaction } from "../encoding/types.ts";
import type {
  AssetEventData,
  AssetEventType,
  BlockData,
  MempoolData,
  TransactionData,
} from "./types.ts";
import { BlockDataSchema, MempoolDataSchema } from "./_schemas.ts";

// ---------------------------------------------------------------------------
// Building server messages

/** The block message data of a decoded block. */
export function blockData(block: DecodedBlock): BlockData {
  return {
    hash: block.hash,
    height: block.height,
    time: block.time,
    tx_count: block.tx.length,
    size: block.size,
  };
}

/**
 * The block message data of a `getblock <hash> 1` answer, or `undefined`
 * when the answer lacks a field.
 */
export function blockDataFromRpc(result: unknown): BlockData | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const r = result as Record<string, unknown>;
  const txCount = typeof r.nTx === "number"
    ? r.nTx
    : Array.isArray(r.tx)
    ? r.tx.length
    : undefined;
  const data = {
    hash: r.hash,
    height: r.height,
    time: r.time,
    tx_count: txCount,
    size: r.size,
  };
  const parsed = BlockDataSchema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

/** The transaction message data of a decoded transaction. */
export function transactionData(tx: DecodedTransaction): TransactionData {
  return {
    txid: tx.txid,
    size: tx.size,
    vsize: tx.vsize,
    version: tx.version,
    locktime: tx.locktime,
    vin_count: tx.vin.length,
    vout_count: tx.vout.length,
  };
}

/**
 * The asset event type of an output, from its `scriptPubKey` type and asset
 * name, or `undefined` for an output that carries no asset amount.
 */
export function assetEventType(
  scriptType: string,
  name: string,
): AssetEventType | undefined {
  switch (scriptType) {
    case "new_asset":
      return name.endsWith("!") ? "owner" : "issue";
    case "reissue_asset":
      return "reissue";
    case "transfer_asset":
      return "transfer";
    default:
      return undefined;
  }
}

/** One asset data per asset output of a decoded transaction, in output order. */
export function assetEvents(tx: DecodedTransaction): AssetEventData[] {
  return assetOutputs(tx).map((output) => output.data);
}

/** An asset event with the addresses its output pays (for filters). */
export interface AssetOutput {
  /** The asset message data. */
  data: AssetEventData;
  /** The output's `scriptPubKey.addresses` (empty when none). */
  addresses: readonly string[];
}

const NO_ADDRESSES: readonly string[] = Object.freeze([]);

/**
 * One asset event per asset output of a decoded transaction, in output
 * order, with the addresses each output pays.
 */
export function assetOutputs(tx: DecodedTransaction): AssetOutput[] {
  const events: AssetOutput[] = [];
  for (const output of tx.vout) {
    const script = output.scriptPubKey;
    const asset = script?.asset;
    if (asset === undefined || typeof asset.name !== "string") continue;
    const type = assetEventType(script.type, asset.name);
    if (type === undefined || typeof asset.amount !== "number") continue;
    events.push({
      data: {
        txid: tx.txid,
        asset: asset.name,
        amount: asset.amount,
        type,
      },
      addresses: Array.isArray(script.addresses)
        ? script.addresses
        : NO_ADDRESSES,
    });
  }
  return events;
}

/**
 * The addresses a decoded transaction's outputs pay (inputs are not
 * included: their addresses would need the spent outputs).
 */
export function outputAddresses(tx: DecodedTransaction): string[] {
  const out = new Set<string>();
  for (const output of tx.vout) {
    const addresses = output.scriptPubKey?.addresses;
    if (!Array.isArray(addresses)) continue;
    for (const address of addresses) out.add(address);
  }
  return [...out];
}

/**
 * The mempool message data of a `getmempoolinfo` answer, or `undefined` when
 * the answer lacks a field.
 */
export function mempoolData(info: unknown): MempoolData | undefined {
  if (typeof info !== "object" || info === null) return undefined;
  const r = info as Record<string, unknown>;
  const parsed = MempoolDataSchema.safeParse({
    size: r.size,
    bytes: r.bytes,
    usage: r.usage,
  });
  return parsed.success ? parsed.data : undefined;
}
