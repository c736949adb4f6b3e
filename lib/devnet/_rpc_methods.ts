/**
 * The devnet's RPC methods: answers built by decoding the stored bytes with
 * the encoding layer, plus the chain context the node adds, in the node's
 * field order and number formats.
 *
 * @module
 */

import {
  bytesToHex,
  decodeBlock,
  type DecodedTransaction,
  decodeTransaction,
  hexToBytes,
  UNINITIALISED_EXPIRE_TIME,
} from "../encoding/mod.ts";
import {
  type BlockEntry,
  COIN,
  type DevnetChain,
  type TxEntry,
} from "./_chain.ts";
import { amount, RawJson } from "./_json.ts";
import { type RpcCall, RpcMethodError } from "./_rpc_server.ts";

/** Difficulty of bits 0x207fffff, as the node prints it. */
export const DIFFICULTY = 4.656542373906925e-10;
/** The node's uninitialised `expire_time` of issue/reissue outputs (above 2^53). */
const EXPIRE_QUIRK = new RawJson("8387847183396104704");

/** Hooks into the devnet the chain does not own. */
export interface MethodContext {
  /** The chain. */
  chain: DevnetChain;
  /** When the devnet started (ms since the epoch), for `uptime`. */
  startedAt: number;
  /** Runs an operation in the devnet's queue. */
  run<T>(operation: () => Promise<T>): Promise<T>;
}

interface MethodSpec {
  usage: string;
  params: string[];
  min: number;
  wallet?: boolean;
  handler: (ctx: MethodContext, p: unknown[]) => unknown;
}

function misc(message: string): RpcMethodError {
  return new RpcMethodError(-1, message);
}

function int(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw misc("JSON value is not an integer as expected");
  }
  return value;
}

function str(value: unknown): string {
  if (typeof value !== "string") {
    throw misc("JSON value is not a string as expected");
  }
  return value;
}

function bool(value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw misc("JSON value is not a boolean as expected");
  }
  return value;
}

const given = (value: unknown) => value !== undefined && value !== null;

/** The node's `AmountFromValue`: a number or numeric string to satoshis. */
function sat(value: unknown): bigint {
  if (typeof value !== "number" && typeof value !== "string") {
    throw new RpcMethodError(-3, "Amount is not a number or string");
  }
  const text = String(value);
  const number = Number(text);
  if (text.trim() === "" || !Number.isFinite(number)) {
    throw new RpcMethodError(-3, "Invalid amount");
  }
  if (number < 0 || number > 21_000_000_000) {
    throw new RpcMethodError(-3, `Invalid amount (3): ${text}`);
  }
  const [whole = "0", frac = ""] = number.toFixed(8).split(".");
  return BigInt(whole) * COIN + BigInt(frac.padEnd(8, "0"));
}

/** Blocks to generate: the devnet caps one call at 10000 (the node has no cap). */
function blockCount(value: unknown): number {
  const count = int(value);
  if (count > 10_000) {
    throw new RpcMethodError(
      -8,
      "Cannot generate more than 10000 blocks in one call on the devnet",
    );
  }
  return Math.max(0, count);
}

function walletTxid(txid: string): string[] {
  return [txid];
}

// ------------------------------------------------------------ JSON views

function formatScript(spk: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spk)) {
    if (k === "asset" && v && typeof v === "object") {
      const asset: Record<string, unknown> = {};
      const a = v as Record<string, unknown>;
      for (const [ak, av] of Object.entries(a)) {
        if (ak === "amountSat") continue;
        if (ak === "amount" && typeof a.amountSat === "bigint") {
          asset[ak] = amount(a.amountSat);
        } else if (
          ak === "expire_time" &&
          (spk.type === "new_asset" || spk.type === "reissue_asset")
        ) {
          asset[ak] = EXPIRE_QUIRK;
        } else {
          asset[ak] = av;
        }
      }
      out[k] = asset;
    } else {
      out[k] = v;
    }
  }
  return out;
}

interface TxContext {
  /** Add the address-index fields (vin value/address, vout spent info, valueSat). */
  indexFields?: boolean;
  /** The block containing the transaction. */
  block?: BlockEntry;
}

function formatTx(
  ctx: MethodContext,
  decoded: DecodedTransaction,
  options: TxContext = {},
): Record<string, unknown> {
  const { chain } = ctx;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(decoded)) {
    if (k === "vin") {
      out.vin = decoded.vin.map((input) => {
        const item: Record<string, unknown> = { ...input };
        if (options.indexFields && input.txid !== undefined) {
          const prev = chain.outputOf(input.txid, input.vout ?? 0);
          if (prev) {
            item.value = amount(prev.value);
            item.valueSat = Number(prev.value);
            if (prev.address !== undefined) item.address = prev.address;
          }
        }
        return item;
      });
    } else if (k === "vout") {
      out.vout = decoded.vout.map((output) => {
        const valueSat = output.valueSat ??
          BigInt(Math.round(output.value * 1e8));
        const item: Record<string, unknown> = {};
        for (const [ok, ov] of Object.entries(output)) {
          if (ok === "valueSat") continue;
          if (ok === "value") item.value = amount(valueSat);
          else if (ok === "scriptPubKey") {
            item.scriptPubKey = formatScript(ov as Record<string, unknown>);
          } else item[ok] = ov;
        }
        if (options.indexFields) {
          const spent = chain.spentInfo(decoded.txid, output.n) ??
            mempoolSpend(chain, decoded.txid, output.n);
          if (spent) {
            item.spentTxId = spent.txid;
            item.spentIndex = spent.index;
            item.spentHeight = spent.height;
          }
          item.valueSat = Number(valueSat);
        }
        return item;
      });
    } else {
      out[k] = v;
    }
  }
  return out;
}

function mempoolSpend(
  chain: DevnetChain,
  txid: string,
  vout: number,
): { txid: string; index: number; height: number } | undefined {
  for (const entry of chain.mempool) {
    const index = entry.tx.raw.inputs.findIndex((input) =>
      input.txid === txid && input.vout === vout
    );
    if (index >= 0) return { txid: entry.tx.txid, index, height: -1 };
  }
  return undefined;
}

function decodeTx(tx: TxEntry): DecodedTransaction {
  return decodeTransaction(tx.bytes, {
    network: "regtest",
    valueSat: true,
    // The node prints uninitialised memory there; the devnet a fixed value.
    uninitialisedExpireTime: UNINITIALISED_EXPIRE_TIME,
  });
}

function chainwork(height: number): string {
  return ((height + 1) * 2).toString(16).padStart(64, "0");
}

function confirmations(chain: DevnetChain, block: BlockEntry): number {
  return block.active ? chain.height - block.height + 1 : -1;
}

function nextHash(chain: DevnetChain, block: BlockEntry): string | undefined {
  return block.active ? chain.blockAt(block.height + 1)?.hash : undefined;
}

function blockJson(
  ctx: MethodContext,
  block: BlockEntry,
  verbosity: number,
): Record<string, unknown> {
  const { chain } = ctx;
  const decoded = decodeBlock(block.bytes, {
    network: "regtest",
    valueSat: true,
    uninitialisedExpireTime: UNINITIALISED_EXPIRE_TIME,
    height: block.height,
  });
  const prev = block.height > 0 ? block.header.prevHash : undefined;
  return {
    hash: block.hash,
    confirmations: confirmations(chain, block),
    strippedsize: decoded.strippedsize,
    size: decoded.size,
    weight: decoded.weight,
    height: block.height,
    version: decoded.version,
    versionHex: decoded.versionHex,
    merkleroot: decoded.merkleroot,
    tx: verbosity >= 2
      ? decoded.tx.map((tx) => formatTx(ctx, tx))
      : decoded.tx.map((tx) => tx.txid),
    time: decoded.time,
    mediantime: chain.medianTime(block),
    nonce: decoded.nonce,
    bits: decoded.bits,
    difficulty: decoded.difficulty,
    chainwork: chainwork(block.height),
    headerhash: decoded.headerhash,
    mixhash: decoded.mixhash,
    nonce64: decoded.nonce64,
    previousblockhash: prev,
    nextblockhash: nextHash(chain, block),
  };
}

function headerJson(
  ctx: MethodContext,
  block: BlockEntry,
): Record<string, unknown> {
  const { chain } = ctx;
  return {
    hash: block.hash,
    confirmations: confirmations(chain, block),
    height: block.height,
    version: block.header.version,
    versionHex: (block.header.version >>> 0).toString(16).padStart(8, "0"),
    merkleroot: block.header.merkleRoot,
    time: block.header.time,
    mediantime: chain.medianTime(block),
    nonce: block.header.nonce,
    bits: block.header.bits.toString(16).padStart(8, "0"),
    difficulty: DIFFICULTY,
    chainwork: chainwork(block.height),
    previousblockhash: block.height > 0 ? block.header.prevHash : undefined,
    nextblockhash: nextHash(ctx.chain, block),
  };
}

function findBlock(chain: DevnetChain, hash: unknown): BlockEntry {
  const block = chain.blockByHash(str(hash).toLowerCase());
  if (!block) throw new RpcMethodError(-5, "Block not found");
  return block;
}

function parseHash(value: unknown, name: string): string {
  const text = str(value);
  if (!/^[0-9a-fA-F]*$/.test(text)) {
    throw new RpcMethodError(
      -8,
      `${name} must be hexadecimal string (not '${text}')`,
    );
  }
  if (text.length !== 64) {
    throw new RpcMethodError(
      -8,
      `${name} must be of length 64 (not ${text.length}, for '${text}')`,
    );
  }
  return text.toLowerCase();
}

function rawTransactionJson(
  ctx: MethodContext,
  txid: string,
  verbose: boolean,
): unknown {
  const { chain } = ctx;
  const mempool = chain.mempoolEntry(txid);
  const confirmed = mempool ? undefined : chain.confirmedTx(txid);
  const tx = mempool?.tx ?? confirmed?.tx;
  if (!tx) {
    throw new RpcMethodError(
      -5,
      "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
    );
  }
  if (!verbose) return bytesToHex(tx.bytes);
  const out = formatTx(ctx, decodeTx(tx), { indexFields: true });
  out.hex = bytesToHex(tx.bytes);
  if (confirmed) {
    const block = confirmed.block;
    out.blockhash = block.hash;
    out.height = block.height;
    out.confirmations = confirmations(chain, block);
    out.time = block.header.time;
    out.blocktime = block.header.time;
  }
  return out;
}

function mempoolEntryJson(
  ctx: MethodContext,
  txid: string,
): Record<string, unknown> {
  const { chain } = ctx;
  const entry = chain.mempoolEntry(txid)!;
  const all = chain.mempool;
  const byId = new Map(all.map((e) => [e.tx.txid, e]));
  const parents = (id: string) =>
    [...new Set(byId.get(id)!.tx.raw.inputs.map((i) => i.txid))].filter((p) =>
      byId.has(p)
    );
  const closure = (start: string, next: (id: string) => string[]) => {
    const seen = new Set<string>([start]);
    const stack = [start];
    while (stack.length) {
      for (const id of next(stack.pop()!)) {
        if (!seen.has(id)) {
          seen.add(id);
          stack.push(id);
        }
      }
    }
    return [...seen].map((id) => byId.get(id)!);
  };
  const children = (id: string) =>
    all.filter((e) => e.tx.raw.inputs.some((i) => i.txid === id)).map((e) =>
      e.tx.txid
    );
  const ancestors = closure(txid, parents);
  const descendants = closure(txid, children);
  const sum = (
    list: typeof all,
    f: (e: (typeof all)[number]) => number | bigint,
  ) => list.reduce((s, e) => s + BigInt(f(e)), 0n);
  return {
    size: entry.tx.vsize,
    fee: amount(entry.fee),
    modifiedfee: amount(entry.fee),
    time: entry.time,
    height: entry.height,
    descendantcount: descendants.length,
    descendantsize: Number(sum(descendants, (e) => e.tx.vsize)),
    descendantfees: Number(sum(descendants, (e) => e.fee)),
    ancestorcount: ancestors.length,
    ancestorsize: Number(sum(ancestors, (e) => e.tx.vsize)),
    ancestorfees: Number(sum(ancestors, (e) => e.fee)),
    wtxid: entry.tx.wtxid,
    depends: parents(txid),
  };
}

function assetJson(
  ctx: MethodContext,
  name: string,
  listing: boolean,
): Record<string, unknown> | null {
  const meta = ctx.chain.asset(name);
  if (!meta) return null;
  const hashKey = meta.ipfsHash && /^[0-9a-f]{64}$/.test(meta.ipfsHash)
    ? "txid_hash"
    : "ipfs_hash";
  return {
    name: meta.name,
    amount: amount(meta.amount, meta.units),
    units: meta.units,
    reissuable: meta.reissuable ? 1 : 0,
    has_ipfs: meta.ipfsHash ? 1 : 0,
    block_height: listing ? meta.blockHeight : undefined,
    blockhash: listing ? meta.blockHash : undefined,
    [hashKey]: meta.ipfsHash,
  };
}

/** The node's order of asset database keys: by length, then bytes. */
function assetOrder(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function matches(pattern: string, name: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return name.startsWith(pattern.slice(0, -1));
  return name === pattern;
}

const NETWORK_INFO = {
  version: 1000500,
  subversion: "/Evrmore:1.0.5/",
  protocolversion: 70029,
  localservices: "000000000000000d",
  localrelay: true,
  timeoffset: 0,
  networkactive: true,
  connections: 0,
  networks: ["ipv4", "ipv6", "onion"].map((name) => ({
    name,
    limited: name === "onion",
    reachable: name !== "onion",
    proxy: "",
    proxy_randomize_credentials: false,
  })),
  relayfee: new RawJson("0.01000000"),
  incrementalfee: new RawJson("0.00001000"),
  localaddresses: [],
  warnings: "",
};

// ---------------------------------------------------------------- table

const METHODS: Record<string, MethodSpec> = {
  getblockchaininfo: {
    usage: "getblockchaininfo",
    params: [],
    min: 0,
    handler: ({ chain }) => {
      let size = 0;
      for (let h = 0; h <= chain.height; h++) {
        size += chain.blockAt(h)!.bytes.length;
      }
      return {
        chain: "regtest",
        blocks: chain.height,
        headers: chain.height,
        bestblockhash: chain.tip.hash,
        difficulty: DIFFICULTY,
        difficulty_algorithm: "DGW-180",
        mediantime: chain.medianTime(chain.tip),
        verificationprogress: 1,
        chainwork: chainwork(chain.height),
        size_on_disk: size,
        pruned: false,
        softforks: [],
        bip9_softforks: {},
        warnings: "",
      };
    },
  },
  getblockcount: {
    usage: "getblockcount",
    params: [],
    min: 0,
    handler: ({ chain }) => chain.height,
  },
  getbestblockhash: {
    usage: "getbestblockhash",
    params: [],
    min: 0,
    handler: ({ chain }) => chain.tip.hash,
  },
  getdifficulty: {
    usage: "getdifficulty",
    params: [],
    min: 0,
    handler: () => DIFFICULTY,
  },
  getblockhash: {
    usage: "getblockhash height",
    params: ["height"],
    min: 1,
    handler: ({ chain }, [height]) => {
      const h = int(height);
      if (h < 0 || h > chain.height) {
        throw new RpcMethodError(-8, "Block height out of range");
      }
      return chain.blockAt(h)!.hash;
    },
  },
  getblock: {
    usage: 'getblock "blockhash" ( verbosity ) ',
    params: ["blockhash", "verbosity|verbose"],
    min: 1,
    handler: (ctx, [hash, verbosity]) => {
      let level = 1;
      if (given(verbosity)) {
        level = typeof verbosity === "number"
          ? int(verbosity)
          : bool(verbosity)
          ? 1
          : 0;
      }
      const block = findBlock(ctx.chain, hash);
      if (level <= 0) return bytesToHex(block.bytes);
      return blockJson(ctx, block, level);
    },
  },
  getblockheader: {
    usage: 'getblockheader "hash" ( verbose )',
    params: ["blockhash", "verbose"],
    min: 1,
    handler: (ctx, [hash, verbose]) => {
      const v = given(verbose) ? bool(verbose) : true;
      const block = findBlock(ctx.chain, hash);
      if (!v) return bytesToHex(ctx.chain.headerBytes(block));
      return headerJson(ctx, block);
    },
  },
  getrawtransaction: {
    usage: 'getrawtransaction "txid" ( verbose )',
    params: ["txid", "verbose"],
    min: 1,
    handler: (ctx, [txid, verbose]) => {
      const id = parseHash(txid, "parameter 1");
      let v = false;
      if (given(verbose)) {
        if (typeof verbose === "number") v = verbose !== 0;
        else if (typeof verbose === "boolean") v = verbose;
        else {
          throw new RpcMethodError(
            -3,
            "Invalid type provided. Verbose parameter must be a boolean.",
          );
        }
      }
      return rawTransactionJson(ctx, id, v);
    },
  },
  decoderawtransaction: {
    usage: 'decoderawtransaction "hexstring"',
    params: ["hexstring"],
    min: 1,
    handler: (ctx, [hex]) => {
      let decoded: DecodedTransaction;
      try {
        decoded = decodeTransaction(hexToBytes(str(hex)), {
          network: "regtest",
          valueSat: true,
          uninitialisedExpireTime: UNINITIALISED_EXPIRE_TIME,
        });
      } catch (error) {
        if (error instanceof RpcMethodError) throw error;
        throw new RpcMethodError(-22, "TX decode failed");
      }
      const { hex: _hex, ...rest } = decoded;
      return formatTx(ctx, rest);
    },
  },
  sendrawtransaction: {
    usage: 'sendrawtransaction "hexstring" ( allowhighfees )',
    params: ["hexstring", "allowhighfees"],
    min: 1,
    handler: (ctx, [hex]) => {
      let bytes: Uint8Array;
      try {
        bytes = hexToBytes(str(hex));
      } catch (error) {
        if (error instanceof RpcMethodError) throw error;
        throw new RpcMethodError(-22, "TX decode failed");
      }
      return ctx.run(() => ctx.chain.acceptRaw(bytes));
    },
  },
  decodeblock: {
    usage: 'decodeblock "blockhex"',
    params: ["blockhex"],
    min: 1,
    handler: (ctx, [hex]) => {
      let decoded: ReturnType<typeof decodeBlock>;
      try {
        decoded = decodeBlock(hexToBytes(str(hex)), {
          network: "regtest",
          valueSat: true,
          uninitialisedExpireTime: UNINITIALISED_EXPIRE_TIME,
          height: 0,
        });
      } catch (error) {
        if (error instanceof RpcMethodError) throw error;
        throw new RpcMethodError(-22, "Block decode failed");
      }
      return {
        hash: decoded.hash,
        strippedsize: decoded.strippedsize,
        size: decoded.size,
        weight: decoded.weight,
        height: 0,
        version: decoded.version,
        versionHex: decoded.versionHex,
        merkleroot: decoded.merkleroot,
        tx: decoded.tx.map((tx) => formatTx(ctx, tx)),
        time: decoded.time,
        nonce: decoded.nonce,
        bits: decoded.bits,
        headerhash: decoded.headerhash,
        mixhash: decoded.mixhash,
        nonce64: decoded.nonce64,
      };
    },
  },
  getmempoolinfo: {
    usage: "getmempoolinfo",
    params: [],
    min: 0,
    handler: ({ chain }) => {
      const entries = chain.mempool;
      const bytes = entries.reduce((sum, e) => sum + e.tx.vsize, 0);
      return {
        size: entries.length,
        bytes,
        usage: entries.length === 0
          ? 64
          : 64 + entries.length * 896 + bytes * 1,
        maxmempool: 300000000,
        mempoolminfee: new RawJson("0.00000000"),
      };
    },
  },
  getrawmempool: {
    usage: "getrawmempool ( verbose )",
    params: ["verbose"],
    min: 0,
    handler: (ctx, [verbose]) => {
      const v = given(verbose) ? bool(verbose) : false;
      const ids = ctx.chain.mempool.map((e) => e.tx.txid);
      if (!v) return ids;
      return Object.fromEntries(
        ids.map((id) => [id, mempoolEntryJson(ctx, id)]),
      );
    },
  },
  getmempoolentry: {
    usage: "getmempoolentry txid",
    params: ["txid"],
    min: 1,
    handler: (ctx, [txid]) => {
      const id = parseHash(txid, "parameter 1");
      if (!ctx.chain.mempoolEntry(id)) {
        throw new RpcMethodError(-5, "Transaction not in mempool");
      }
      return mempoolEntryJson(ctx, id);
    },
  },
  getnetworkinfo: {
    usage: "getnetworkinfo",
    params: [],
    min: 0,
    handler: () => NETWORK_INFO,
  },
  generate: {
    usage: "generate nblocks ( maxtries )",
    params: ["nblocks", "maxtries"],
    min: 1,
    wallet: true,
    handler: (ctx, [n]) => {
      const count = blockCount(n);
      return ctx.run(async () => {
        const hashes: string[] = [];
        for (let i = 0; i < count; i++) {
          hashes.push(await ctx.chain.mineBlock());
        }
        return hashes;
      });
    },
  },
  generatetoaddress: {
    usage: "generatetoaddress nblocks address (maxtries)",
    params: ["nblocks", "address", "maxtries"],
    min: 2,
    handler: (ctx, [n, address]) => {
      const count = blockCount(n);
      let script: Uint8Array;
      try {
        script = ctx.chain.scriptOf(str(address));
      } catch (error) {
        if (error instanceof RpcMethodError && error.code === -1) throw error;
        throw new RpcMethodError(-5, "Error: Invalid address");
      }
      return ctx.run(async () => {
        const hashes: string[] = [];
        for (let i = 0; i < count; i++) {
          hashes.push(await ctx.chain.mineBlock(script));
        }
        return hashes;
      });
    },
  },
  getnewaddress: {
    usage: 'getnewaddress ( "account" )',
    params: ["account"],
    min: 0,
    wallet: true,
    handler: (ctx) => ctx.run(() => Promise.resolve(ctx.chain.newAddress())),
  },
  getbalance: {
    usage: 'getbalance ( "account" minconf include_watchonly )',
    params: ["account", "minconf", "include_watchonly"],
    min: 0,
    wallet: true,
    handler: ({ chain }) => amount(chain.balance()),
  },
  sendtoaddress: {
    usage:
      'sendtoaddress "address" amount ( "comment" "comment_to" subtractfeefromamount replaceable conf_target "estimate_mode")',
    params: [
      "address",
      "amount",
      "comment",
      "comment_to",
      "subtractfeefromamount",
      "replaceable",
      "conf_target",
      "estimate_mode",
    ],
    min: 2,
    wallet: true,
    handler: (ctx, [address, value, , , subtract]) => {
      const to = str(address);
      ctx.chain.checkAddress(to);
      const amountSat = sat(value);
      if (amountSat <= 0n) {
        throw new RpcMethodError(-3, "Invalid amount for send");
      }
      const sub = given(subtract) ? bool(subtract) : false;
      return ctx.run(() => ctx.chain.sendToAddress(to, amountSat, sub));
    },
  },
  issue: {
    usage:
      'issue "asset_name" qty "( to_address )" "( change_address )" ( units ) ( reissuable ) ( has_ipfs ) "( ipfs_hash )"',
    params: [
      "asset_name",
      "qty",
      "to_address",
      "change_address",
      "units",
      "reissuable",
      "has_ipfs",
      "ipfs_hash",
    ],
    min: 1,
    wallet: true,
    handler: (
      ctx,
      [name, qty, to, change, units, reissuable, hasIpfs, ipfs],
    ) => {
      const assetName = str(name);
      const unique = assetName.includes("#");
      const options = {
        name: assetName,
        amount: given(qty) ? sat(qty) : COIN,
        units: given(units) ? int(units) : 0,
        reissuable: given(reissuable) ? bool(reissuable) : !unique,
        ...(given(to) && str(to) !== "" ? { toAddress: str(to) } : {}),
        ...(given(change) && str(change) !== ""
          ? { changeAddress: str(change) }
          : {}),
        ...(given(hasIpfs) && bool(hasIpfs) && given(ipfs)
          ? { ipfsHash: str(ipfs) }
          : {}),
      };
      return ctx.run(() => ctx.chain.issue(options)).then(walletTxid);
    },
  },
  issueunique: {
    usage:
      'issueunique "root_name" [asset_tags] ( [ipfs_hashes] ) "( to_address )" "( change_address )"',
    params: [
      "root_name",
      "asset_tags",
      "ipfs_hashes",
      "to_address",
      "change_address",
    ],
    min: 2,
    wallet: true,
    handler: (ctx, [root, tags, hashes, to, change]) => {
      const rootName = str(root);
      if (!Array.isArray(tags)) {
        throw new RpcMethodError(-3, "Expected type array, got " + typeof tags);
      }
      const ipfs = Array.isArray(hashes) ? hashes.map(str) : [];
      return ctx.run(() =>
        ctx.chain.issueUnique({
          root: rootName,
          tags: tags.map(str),
          ipfsHashes: ipfs,
          ...(given(to) && str(to) !== "" ? { toAddress: str(to) } : {}),
          ...(given(change) && str(change) !== ""
            ? { changeAddress: str(change) }
            : {}),
        })
      ).then(walletTxid);
    },
  },
  transfer: {
    usage:
      'transfer "asset_name" qty "to_address" "message" expire_time "change_address" "asset_change_address"',
    params: [
      "asset_name",
      "qty",
      "to_address",
      "message",
      "expire_time",
      "change_address",
      "asset_change_address",
    ],
    min: 3,
    wallet: true,
    handler: (ctx, [name, qty, to, message, expire, change]) => {
      const options = {
        name: str(name),
        amount: sat(qty),
        toAddress: str(to),
        ...(given(message) && str(message) !== ""
          ? { message: str(message) }
          : {}),
        ...(given(expire) && int(expire) !== 0
          ? { expireTime: BigInt(int(expire)) }
          : {}),
        ...(given(change) && str(change) !== ""
          ? { changeAddress: str(change) }
          : {}),
      };
      return ctx.run(() => ctx.chain.transfer(options)).then(walletTxid);
    },
  },
  reissue: {
    usage:
      'reissue "asset_name" qty "to_address" "change_address" ( reissuable ) ( new_units) "( new_ipfs )" ',
    params: [
      "asset_name",
      "qty",
      "to_address",
      "change_address",
      "reissuable",
      "new_units",
      "new_ipfs",
    ],
    min: 3,
    wallet: true,
    handler: (ctx, [name, qty, to, change, reissuable, units, ipfs]) => {
      const options = {
        name: str(name),
        amount: sat(qty),
        ...(given(to) && str(to) !== "" ? { toAddress: str(to) } : {}),
        ...(given(change) && str(change) !== ""
          ? { changeAddress: str(change) }
          : {}),
        ...(given(reissuable) ? { reissuable: bool(reissuable) } : {}),
        ...(given(units) ? { units: int(units) } : {}),
        ...(given(ipfs) && str(ipfs) !== "" ? { ipfsHash: str(ipfs) } : {}),
      };
      return ctx.run(() => ctx.chain.reissue(options)).then(walletTxid);
    },
  },
  sendmessage: {
    usage: 'sendmessage "channel_name" "ipfs_hash" (expire_time)',
    params: ["channel_name", "ipfs_hash", "expire_time"],
    min: 2,
    wallet: true,
    handler: (ctx, [channel, ipfs, expire]) => {
      const name = str(channel);
      const hash = str(ipfs);
      const expireTime = given(expire) ? BigInt(int(expire)) : 0n;
      return ctx.run(() => ctx.chain.sendMessage(name, hash, expireTime)).then(
        walletTxid,
      );
    },
  },
  listassets: {
    usage: 'listassets "( asset )" ( verbose ) ( count ) ( start )',
    params: ["asset", "verbose", "count", "start"],
    min: 0,
    handler: (ctx, [pattern, verbose, count, start]) => {
      const filter = given(pattern) ? str(pattern) : "*";
      const v = given(verbose) ? bool(verbose) : false;
      let names = ctx.chain.assets.map((a) => a.name).filter((n) =>
        !n.endsWith("!") && matches(filter, n)
      ).sort(assetOrder);
      const from = given(start) ? int(start) : 0;
      const max = given(count) ? int(count) : names.length;
      names = names.slice(from < 0 ? Math.max(0, names.length + from) : from)
        .slice(0, max);
      if (!v) return names;
      return Object.fromEntries(names.map((n) => [n, assetJson(ctx, n, true)]));
    },
  },
  getassetdata: {
    usage: 'getassetdata "asset_name"',
    params: ["asset_name"],
    min: 1,
    handler: (ctx, [name]) => assetJson(ctx, str(name), false),
  },
  listaddressesbyasset: {
    usage: 'listaddressesbyasset "asset_name" (onlytotal) (count) (start)',
    params: ["asset_name", "onlytotal", "count", "start"],
    min: 1,
    handler: (ctx, [name, onlyTotal]) => {
      const assetName = str(name);
      const holders = [...ctx.chain.assetHolders(assetName)].sort(([a], [b]) =>
        a < b ? -1 : 1
      );
      if (given(onlyTotal) && bool(onlyTotal)) return holders.length;
      const units = assetName.endsWith("!")
        ? 0
        : ctx.chain.asset(assetName)?.units ?? 8;
      return Object.fromEntries(holders.map(([a, v]) => [a, amount(v, units)]));
    },
  },
  getmininginfo: {
    usage: "getmininginfo",
    params: [],
    min: 0,
    handler: ({ chain }) => ({
      blocks: chain.height,
      currentblockweight: 4000,
      currentblocktx: 0,
      difficulty: DIFFICULTY,
      networkhashps: 12,
      hashespersec: 0,
      pooledtx: chain.mempool.length,
      chain: "regtest",
      warnings: "",
    }),
  },
  getchaintips: {
    usage: "getchaintips",
    params: [],
    min: 0,
    handler: ({ chain }) => [
      {
        height: chain.height,
        hash: chain.tip.hash,
        branchlen: 0,
        status: "active",
      },
      ...chain.staleTips().map((tip) => {
        let fork = tip;
        while (!fork.active) fork = chain.blockByHash(fork.header.prevHash)!;
        return {
          height: tip.height,
          hash: tip.hash,
          branchlen: tip.height - fork.height,
          status: "valid-fork",
        };
      }),
    ],
  },
  getconnectioncount: {
    usage: "getconnectioncount",
    params: [],
    min: 0,
    handler: () => 0,
  },
  uptime: {
    usage: "uptime",
    params: [],
    min: 0,
    handler: (ctx) => Math.floor((Date.now() - ctx.startedAt) / 1000),
  },
  estimatesmartfee: {
    usage: 'estimatesmartfee conf_target ("estimate_mode")',
    params: ["conf_target", "estimate_mode"],
    min: 1,
    handler: (_ctx, [target]) => {
      int(target);
      return { feerate: new RawJson("0.01001927"), blocks: 2 };
    },
  },
  validateaddress: {
    usage: 'validateaddress "address"',
    params: ["address"],
    min: 1,
    handler: ({ chain }, [address]) => {
      const text = str(address);
      let script: Uint8Array;
      try {
        script = chain.scriptOf(text);
      } catch {
        return { isvalid: false };
      }
      const pubkey = chain.publicKeyOf(text);
      return {
        isvalid: true,
        address: text,
        scriptPubKey: bytesToHex(script),
        ismine: pubkey !== undefined,
        iswatchonly: false,
        isscript: script[0] === 0xa9,
        ...(pubkey
          ? { pubkey: bytesToHex(pubkey), iscompressed: true, account: "" }
          : {}),
      };
    },
  },
  listmyassets: {
    usage: 'listmyassets "( asset )" ( verbose ) ( count ) ( start ) (confs) ',
    params: ["asset", "verbose", "count", "start", "confs"],
    min: 0,
    wallet: true,
    handler: (ctx, [pattern, verbose]) => {
      const filter = given(pattern) ? str(pattern) : "*";
      const v = given(verbose) ? bool(verbose) : false;
      const owned = [...ctx.chain.walletAssets()]
        .filter(([name]) => matches(filter, name))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const unitsOf = (name: string) =>
        name.endsWith("!") ? 0 : ctx.chain.asset(name)?.units ?? 0;
      return Object.fromEntries(owned.map(([name, outs]) => {
        const units = unitsOf(name);
        const balance = amount(outs.reduce((s, o) => s + o.amount, 0n), units);
        if (!v) return [name, balance];
        return [name, {
          balance,
          outpoints: outs.map((o) => ({
            txid: o.txid,
            vout: o.vout,
            amount: amount(o.amount, units),
          })),
        }];
      }));
    },
  },
  help: {
    usage: 'help ( "command" )',
    params: ["command"],
    min: 0,
    handler: (_ctx, [command]) => {
      if (!given(command)) {
        return Object.values(METHODS).map((m) => m.usage.trim()).sort().join(
          "\n",
        );
      }
      const spec = METHODS[str(command)];
      if (!spec) return `help: unknown command: ${str(command)}`;
      return spec.usage;
    },
  },
};

/** Names of the methods the devnet answers. */
export const METHOD_NAMES: readonly string[] = Object.freeze(
  Object.keys(METHODS),
);

/** Runs one JSON-RPC call against the devnet. */
export async function dispatch(
  ctx: MethodContext,
  call: RpcCall,
): Promise<unknown> {
  const spec = Object.hasOwn(METHODS, call.method)
    ? METHODS[call.method]
    : undefined;
  if (!spec) throw new RpcMethodError(-32601, "Method not found");
  if (
    spec.wallet && call.wallet !== undefined && call.wallet !== "wallet.dat"
  ) {
    throw new RpcMethodError(
      -18,
      "Requested wallet does not exist or is not loaded",
    );
  }
  let params: unknown[];
  if (Array.isArray(call.params)) {
    params = call.params;
  } else {
    params = [];
    for (const [name, value] of Object.entries(call.params)) {
      const index = spec.params.findIndex((names) =>
        names.split("|").includes(name)
      );
      if (index < 0) {
        throw new RpcMethodError(-8, `Unknown named parameter ${name}`);
      }
      params[index] = value;
    }
    for (let i = 0; i < params.length; i++) params[i] ??= null;
  }
  if (params.length < spec.min || params.length > spec.params.length) {
    throw misc(spec.usage);
  }
  return await spec.handler(ctx, params);
}
