/**
 * Zod schemas of the read answers the system relies on, built from the
 * node's captured answers (fixtures `rpc/`, `blocks/`, `txs/`). Internal:
 * the public API exposes our own interfaces only.
 *
 * Objects are loose (extra fields pass through): nodes with `-addressindex`
 * or `-spentindex` add fields, and newer nodes may add more.
 *
 * `expire_time` of `new_asset`/`reissue_asset` outputs is the node's
 * uninitialised 8387847183396104704, above 2^53: `JSON.parse` reads it as
 * 8387847183396104000 and the schemas accept any finite number there.
 *
 * @module
 */

import { z } from "zod";

const hash = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 hex digits");
const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/, "expected hex bytes");
const int = z.number().int();
const count = z.number().int().nonnegative();

const scriptAsset = z.looseObject({
  name: z.string(),
  amount: z.number(),
  units: int.optional(),
  reissuable: int.optional(),
  ipfs_hash: z.string().optional(),
  message: z.string().optional(),
  expire_time: z.number().optional(),
});

const scriptPubKey = z.looseObject({
  asm: z.string(),
  hex,
  reqSigs: int.optional(),
  type: z.string(),
  addresses: z.array(z.string()).optional(),
  asset: scriptAsset.optional(),
  asset_data: z.looseObject({}).optional(),
});

const vin = z.looseObject({
  coinbase: hex.optional(),
  txid: hash.optional(),
  vout: count.optional(),
  scriptSig: z.looseObject({ asm: z.string(), hex }).optional(),
  txinwitness: z.array(hex).optional(),
  sequence: count,
  value: z.number().optional(),
  valueSat: int.optional(),
  address: z.string().optional(),
});

const vout = z.looseObject({
  value: z.number(),
  n: count,
  scriptPubKey,
  valueSat: int.optional(),
  spentTxId: hash.optional(),
  spentIndex: count.optional(),
  spentHeight: count.optional(),
});

/** `decoderawtransaction`, and each transaction of `getblock` verbosity 2. */
export const decodedTransaction = z.looseObject({
  txid: hash,
  hash,
  version: int,
  size: count,
  vsize: count,
  locktime: count,
  vin: z.array(vin),
  vout: z.array(vout),
  hex: hex.optional(),
});

/** `getrawtransaction <txid> 1`. */
export const rawTransactionInfo = decodedTransaction.extend({
  hex,
  blockhash: hash.optional(),
  height: int.optional(),
  confirmations: count.optional(),
  time: count.optional(),
  blocktime: count.optional(),
});

const blockBase = z.looseObject({
  hash,
  confirmations: int,
  strippedsize: count,
  size: count,
  weight: count,
  height: count,
  version: int,
  versionHex: z.string().regex(/^[0-9a-f]{8}$/, "expected 8 hex digits"),
  merkleroot: hash,
  time: count,
  mediantime: count,
  nonce: count,
  bits: z.string().regex(/^[0-9a-f]{8}$/, "expected 8 hex digits"),
  difficulty: z.number(),
  chainwork: hash,
  headerhash: hash,
  mixhash: hash,
  nonce64: z.number().nonnegative(),
  previousblockhash: hash.optional(),
  nextblockhash: hash.optional(),
});

/** `getblock <hash> 1`. */
export const blockInfo = blockBase.extend({ tx: z.array(hash) });

/** `getblock <hash> 2`. */
export const blockInfoVerbose = blockBase.extend({
  tx: z.array(decodedTransaction),
});

/** `getblockheader <hash> true`. */
export const blockHeaderInfo = z.looseObject({
  hash,
  confirmations: int,
  height: count,
  version: int,
  versionHex: z.string(),
  merkleroot: hash,
  time: count,
  mediantime: count,
  nonce: count,
  bits: z.string(),
  difficulty: z.number(),
  chainwork: hash,
  previousblockhash: hash.optional(),
  nextblockhash: hash.optional(),
});

/** `getblockchaininfo`. */
export const blockchainInfo = z.looseObject({
  chain: z.string(),
  blocks: count,
  headers: count,
  bestblockhash: hash,
  difficulty: z.number(),
  difficulty_algorithm: z.string().optional(),
  mediantime: count,
  verificationprogress: z.number(),
  chainwork: hash,
  size_on_disk: count.optional(),
  pruned: z.boolean(),
  softforks: z.array(z.unknown()),
  bip9_softforks: z.record(z.string(), z.unknown()),
  warnings: z.string(),
});

/** `getmempoolinfo`. */
export const mempoolInfo = z.looseObject({
  size: count,
  bytes: count,
  usage: count,
  maxmempool: count,
  mempoolminfee: z.number(),
});

/** `getmempoolentry`, and each entry of `getrawmempool true`. */
export const mempoolEntry = z.looseObject({
  size: count,
  fee: z.number(),
  modifiedfee: z.number(),
  time: count,
  height: count,
  descendantcount: count,
  descendantsize: count,
  descendantfees: z.number(),
  ancestorcount: count,
  ancestorsize: count,
  ancestorfees: z.number(),
  wtxid: hash,
  depends: z.array(hash),
});

/** `getnetworkinfo`. */
export const networkInfo = z.looseObject({
  version: count,
  subversion: z.string(),
  protocolversion: count,
  localservices: z.string(),
  localrelay: z.boolean(),
  timeoffset: int,
  networkactive: z.boolean(),
  connections: count,
  networks: z.array(z.looseObject({
    name: z.string(),
    limited: z.boolean(),
    reachable: z.boolean(),
    proxy: z.string(),
    proxy_randomize_credentials: z.boolean(),
  })),
  relayfee: z.number(),
  incrementalfee: z.number(),
  localaddresses: z.array(z.unknown()),
  warnings: z.string(),
});

/** `getassetdata` (null for an unknown asset). */
export const assetData = z.looseObject({
  name: z.string(),
  amount: z.number(),
  units: count,
  reissuable: count,
  has_ipfs: count,
  ipfs_hash: z.string().optional(),
  txid_hash: z.string().optional(),
  verifier_string: z.string().optional(),
});

/** Each entry of `listassets <filter> true`. */
export const assetListEntry = assetData.extend({
  block_height: count,
  blockhash: hash,
});

const stringArray = z.array(z.string());
const hashArray = z.array(hash);

function isTrue(value: unknown): boolean {
  return value === true || (typeof value === "number" && value !== 0);
}

/**
 * The schema of a method's answer for the given parameters, or `undefined`
 * when the answer is not validated.
 */
export function resultSchema(
  method: string,
  params: readonly unknown[],
): z.ZodType | undefined {
  switch (method) {
    case "getblockchaininfo":
      return blockchainInfo;
    case "getblockcount":
      return count;
    case "getbestblockhash":
    case "getblockhash":
      return hash;
    case "getblock": {
      const verbosity = params[1];
      if (verbosity === undefined || verbosity === 1 || verbosity === true) {
        return blockInfo;
      }
      if (verbosity === 0 || verbosity === false) return hex;
      if (verbosity === 2) return blockInfoVerbose;
      return undefined;
    }
    case "getblockheader":
      return params[1] === false ? hex : blockHeaderInfo;
    case "getrawtransaction":
      return isTrue(params[1]) ? rawTransactionInfo : hex;
    case "decoderawtransaction":
      return decodedTransaction;
    case "getmempoolinfo":
      return mempoolInfo;
    case "getmempoolentry":
      return mempoolEntry;
    case "getrawmempool":
      return isTrue(params[0]) ? z.record(hash, mempoolEntry) : hashArray;
    case "getnetworkinfo":
      return networkInfo;
    case "listassets":
      return isTrue(params[1])
        ? z.record(z.string(), assetListEntry)
        : stringArray;
    case "getassetdata":
      return assetData.nullable();
    case "listaddressesbyasset":
      return isTrue(params[1]) ? count : z.record(z.string(), z.number());
    default:
      return undefined;
  }
}

/** Formats a zod issue path as `tx[0].vout[1].value`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(result)" : out;
}

/** The outcome of {@linkcode validateResult}. */
export type ValidationOutcome =
  | { ok: true; value: unknown }
  | { ok: false; field: string; detail: string };

/** Validates an answer against a schema, naming the first failing field. */
export function validateResult(
  schema: z.ZodType,
  value: unknown,
): ValidationOutcome {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    field: formatPath(issue?.path ?? []),
    detail: issue?.message ?? "invalid",
  };
}
