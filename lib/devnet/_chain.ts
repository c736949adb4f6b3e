/**
 * The devnet's chain: blocks, UTXO set, mempool, assets and wallet, built
 * from real serialized transactions and blocks (encoded with the project's
 * encoding layer, signed with real secp256k1 keys).
 *
 * @module
 */

import {
  assetScript,
  base58Encode,
  blockHash,
  ByteReader,
  bytesToHex,
  decodeAddress,
  encodeAddress,
  hash160,
  heightPush,
  hexToBytes,
  merkleRoot,
  p2pkhScript,
  parseTransaction,
  pushData,
  type RawBlockHeader,
  type RawOutput,
  type RawTransaction,
  serializeBlock,
  serializeBlockHeader,
  serializeTransaction,
  txid as txidOf,
  witnessCommitment,
  witnessCommitmentScript,
  wtxid as wtxidOf,
} from "../encoding/mod.ts";
import { assetHashBytes } from "../encoding/_script_build.ts";
import type { ZMQTopic } from "../zmq/types.ts";
import { WalletKey } from "./_keys.ts";
import { RpcMethodError } from "./_rpc_server.ts";

/** EVR in satoshis. */
export const COIN = 100_000_000n;
/** The regtest block subsidy before the first halving. */
export const SUBSIDY = 2778n * COIN;
/** Regtest halving interval. */
export const HALVING_INTERVAL = 150;
/** Regtest compact target. */
export const BITS = 0x207fffff;
/** Version of every block after genesis. */
export const BLOCK_VERSION = 0x30000000;
/** Wallet fee rate, satoshis per 1000 bytes (the fixture node's smart-fee estimate). */
export const FEE_RATE = 1_001_927n;
/** Smallest change output the wallet creates (below it goes to the fee). */
const DUST = 546_000n;
/** Depth a coinbase output needs before the wallet spends it. */
const COINBASE_MATURITY = 101;
/** Sighash type ALL. */
const SIGHASH_ALL = 1;

/** The node's regtest burn addresses and amounts. */
export const BURN = {
  issue: { address: "n1issueAssetXXXXXXXXXXXXXXXXWdnemQ", amount: 500n * COIN },
  reissue: {
    address: "n1ReissueAssetXXXXXXXXXXXXXXWG9NLd",
    amount: 100n * COIN,
  },
  sub: { address: "n1issueSubAssetXXXXXXXXXXXXXbNiH6v", amount: 100n * COIN },
  unique: {
    address: "n1issueUniqueAssetXXXXXXXXXXS4695i",
    amount: 5n * COIN,
  },
  channel: {
    address: "n1issueMsgChanneLAssetXXXXXXT2PBdD",
    amount: 100n * COIN,
  },
} as const;

/** A stored transaction. */
export interface TxEntry {
  /** Raw structure. */
  raw: RawTransaction;
  /** Full serialization (with witness). */
  bytes: Uint8Array;
  /** Transaction id. */
  txid: string;
  /** Witness transaction id. */
  wtxid: string;
  /** Size in bytes. */
  size: number;
  /** Virtual size. */
  vsize: number;
}

/** A stored block. */
export interface BlockEntry {
  /** Block hash. */
  hash: string;
  /** Height. */
  height: number;
  /** Header. */
  header: RawBlockHeader;
  /** Serialized block. */
  bytes: Uint8Array;
  /** Transactions, coinbase first. */
  txs: TxEntry[];
  /** Whether the block is on the active chain. */
  active: boolean;
}

/** Asset carried by an output. */
export interface OutputAsset {
  /** Operation kind. */
  kind: "issue" | "owner" | "transfer" | "reissue";
  /** Asset name. */
  name: string;
  /** Amount in 1e-8 units. */
  amount: bigint;
  /** Units (issue; reissue: -1 = unchanged). */
  units?: number;
  /** Reissuable flag (issue/reissue). */
  reissuable?: boolean;
  /** IPFS hash or txid (issue/reissue). */
  ipfsHash?: string;
  /** Message (transfer). */
  message?: string;
  /** Message expiry (transfer). */
  expireTime?: bigint;
}

/** What an output script pays to. */
export interface OutputInfo {
  /** Value in satoshis. */
  value: bigint;
  /** Script bytes. */
  script: Uint8Array;
  /** Paid address, when the script has one. */
  address?: string;
  /** Asset carried. */
  asset?: OutputAsset;
}

/** An unspent output. */
export interface Coin extends OutputInfo {
  /** Funding transaction. */
  txid: string;
  /** Output index. */
  vout: number;
  /** Height of the funding block (0 in the mempool). */
  height: number;
  /** Whether it is a coinbase output. */
  coinbase: boolean;
}

/** A mempool entry. */
export interface MempoolEntry {
  /** The transaction. */
  tx: TxEntry;
  /** Entry time (Unix seconds). */
  time: number;
  /** Chain height at entry. */
  height: number;
  /** Fee in satoshis. */
  fee: bigint;
  /** Made by the devnet wallet (its outputs may be spent unconfirmed). */
  fromWallet: boolean;
}

/** Metadata of an asset. */
export interface AssetMeta {
  /** Name. */
  name: string;
  /** Total supply in 1e-8 units. */
  amount: bigint;
  /** Units. */
  units: number;
  /** Reissuable. */
  reissuable: boolean;
  /** IPFS hash or txid. */
  ipfsHash?: string;
  /** Height of the issuing block. */
  blockHeight: number;
  /** Hash of the issuing block. */
  blockHash: string;
}

/** Where a spent output went. */
export interface SpentInfo {
  /** Spending transaction. */
  txid: string;
  /** Input index. */
  index: number;
  /** Height of the spending block. */
  height: number;
}

/** Callback publishing a ZMQ message. */
export type Publish = (topic: ZMQTopic, body: Uint8Array) => Promise<void>;

const key = (txid: string, vout: number) => `${txid}:${vout}`;

function reverseHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[bytes.length - 1 - i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return bytes;
}

function hashBelowTarget(hash: string): boolean {
  // bits 0x207fffff: target 0x7fffff << 232; compare as big-endian numbers.
  return hash < "7fffff";
}

/** Makes a transaction entry from its raw form. */
export function entryOf(raw: RawTransaction): TxEntry {
  const bytes = serializeTransaction(raw);
  const stripped = serializeTransaction({
    ...raw,
    inputs: raw.inputs.map((input) => ({ ...input, witness: [] })),
  });
  const weight = stripped.length * 3 + bytes.length;
  return {
    raw,
    bytes,
    txid: txidOf(raw),
    wtxid: wtxidOf(raw),
    size: bytes.length,
    vsize: Math.ceil(weight / 4),
  };
}

function readAsset(payload: Uint8Array): OutputAsset | undefined {
  if (
    payload.length < 4 || payload[0] !== 0x65 || payload[1] !== 0x76 ||
    payload[2] !== 0x72
  ) return undefined;
  const type = payload[3];
  const r = new ByteReader(payload.subarray(4));
  const name = new TextDecoder().decode(r.readVarBytes());
  const hashText = (bytes: Uint8Array) =>
    bytes[0] === 0x54 ? bytesToHex(bytes.subarray(2)) : base58Encode(bytes);
  switch (type) {
    case 0x6f:
      return { kind: "owner", name, amount: COIN };
    case 0x71: {
      const amount = r.readI64LE();
      const units = r.readU8();
      const reissuable = r.readU8() === 1;
      const hasIpfs = r.readU8() === 1;
      const asset: OutputAsset = {
        kind: "issue",
        name,
        amount,
        units,
        reissuable,
      };
      if (hasIpfs && r.remaining >= 34) {
        asset.ipfsHash = hashText(r.readBytes(34));
      }
      return asset;
    }
    case 0x72: {
      const amount = r.readI64LE();
      const units = r.readU8();
      const reissuable = r.readU8() === 1;
      const asset: OutputAsset = {
        kind: "reissue",
        name,
        amount,
        units: units === 0xff ? -1 : units,
        reissuable,
      };
      if (r.remaining >= 34) asset.ipfsHash = hashText(r.readBytes(34));
      return asset;
    }
    case 0x74: {
      const amount = r.readI64LE();
      const asset: OutputAsset = { kind: "transfer", name, amount };
      if (r.remaining >= 34) {
        asset.message = hashText(r.readBytes(34));
        if (r.remaining >= 8) asset.expireTime = r.readI64LE();
      }
      return asset;
    }
  }
  return undefined;
}

/** Reads the address and asset of an output script (the kinds the devnet makes). */
export function outputInfo(value: bigint, script: Uint8Array): OutputInfo {
  const info: OutputInfo = { value, script };
  let base = 0;
  if (
    script.length >= 25 && script[0] === 0x76 && script[1] === 0xa9 &&
    script[2] === 0x14 && script[23] === 0x88 && script[24] === 0xac
  ) {
    info.address = encodeAddress(script.subarray(3, 23), {
      network: "regtest",
    });
    base = 25;
  } else if (
    script.length >= 23 && script[0] === 0xa9 && script[1] === 0x14 &&
    script[22] === 0x87
  ) {
    info.address = encodeAddress(script.subarray(2, 22), {
      network: "regtest",
      type: "scripthash",
    });
    base = 23;
  } else if (
    script.length === 35 && script[0] === 0x21 && script[34] === 0xac
  ) {
    info.address = encodeAddress(hash160(script.subarray(1, 34)), {
      network: "regtest",
    });
    return info;
  } else {
    return info;
  }
  if (script.length > base + 2 && script[base] === 0xc0) {
    const op = script[base + 1]!;
    let start = base + 2, length = op;
    if (op === 0x4c) {
      length = script[base + 2]!;
      start = base + 3;
    }
    try {
      const asset = readAsset(script.subarray(start, start + length));
      if (asset) info.asset = asset;
    } catch {
      // Not an asset payload the devnet understands: a plain output.
    }
  }
  return info;
}

/** Checks an asset name the way the node does (the forms the devnet issues). */
export function assetNameError(name: string): string | undefined {
  const part = /^[A-Z0-9]([A-Z0-9._]*[A-Z0-9])?$/;
  const invalid =
    "Name contains invalid characters (Valid characters are: A-Z 0-9 _ .) (special characters can't be the first or last characters)";
  const root = name.split(/[/#~]/)[0]!;
  if (!part.test(root) || /[._]{2}/.test(root)) return invalid;
  if (root.length < 3) return "Name must be contain at least 3 characters";
  if (name.length > 32) return "Name is greater than max length of 32";
  const sub = name.slice(root.length);
  for (const piece of sub.split("/").slice(1)) {
    const clean = piece.split(/[#~]/)[0]!;
    if (!part.test(clean) || /[._]{2}/.test(clean)) return invalid;
  }
  const tag = /#(.*)$/.exec(name)?.[1];
  if (tag !== undefined && !/^[-A-Za-z0-9@$%&*()[\]{}_.?:]+$/.test(tag)) {
    return "Unique name contains invalid characters (Valid characters are: A-Z a-z 0-9 @ $ % & * ( ) [ ] { } _ . ? : -)";
  }
  return undefined;
}

/** Checks an IPFS hash (`Qm...`) or 64-hex txid; throws the node-style -8 error. */
export function checkHash(hash: string | undefined): void {
  if (hash === undefined || hash === "") return;
  try {
    assetHashBytes(hash);
  } catch {
    throw new RpcMethodError(-8, `Invalid IPFS/Txid hash: ${hash}`);
  }
}

/** Options of a wallet transaction. */
interface WalletTxOptions {
  /** EVR outputs (payments and burns); change is inserted among them. */
  recipients: RawOutput[];
  /** Asset outputs appended after the EVR outputs. */
  appended: RawOutput[];
  /** Asset amounts to take from the wallet (asset change goes to the change address). */
  assetInputs?: { name: string; amount: bigint }[];
  /** Where EVR and asset change go (default: a new address). */
  changeAddress?: string;
  /** Subtract the fee from the first recipient instead of adding it. */
  subtractFee?: boolean;
}

/** Options of {@linkcode DevnetChain}. */
export interface DevnetChainOptions {
  /** Publishes ZMQ messages. */
  publish: Publish;
  /** Unix time in seconds (default: the clock). */
  now?: () => number;
}

/** The chain state machine. */
export class DevnetChain {
  #publish: Publish;
  #now: () => number;
  #blocks: BlockEntry[] = [];
  #byHash = new Map<string, BlockEntry>();
  #txIndex = new Map<string, { tx: TxEntry; block: BlockEntry }>();
  #utxo = new Map<string, Coin>();
  #spent = new Map<string, SpentInfo>();
  #assets = new Map<string, AssetMeta>();
  #mempool = new Map<string, MempoolEntry>();
  #keys = new Map<string, WalletKey>();
  #channels = new Set<string>();

  /**
   * Creates a chain holding only a genesis block.
   *
   * @param options Publisher and clock.
   */
  constructor(options: DevnetChainOptions) {
    this.#publish = options.publish;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#connectState(this.#makeGenesis());
  }

  // ---------------------------------------------------------------- reads

  /** Height of the tip. */
  get height(): number {
    return this.#blocks.length - 1;
  }

  /** The tip block. */
  get tip(): BlockEntry {
    return this.#blocks[this.#blocks.length - 1]!;
  }

  /** Block at a height of the active chain. */
  blockAt(height: number): BlockEntry | undefined {
    return this.#blocks[height];
  }

  /** Block by hash (active or stale). */
  blockByHash(hash: string): BlockEntry | undefined {
    return this.#byHash.get(hash);
  }

  /** A confirmed transaction and its block. */
  confirmedTx(txid: string): { tx: TxEntry; block: BlockEntry } | undefined {
    return this.#txIndex.get(txid);
  }

  /** A mempool entry. */
  mempoolEntry(txid: string): MempoolEntry | undefined {
    return this.#mempool.get(txid);
  }

  /** The mempool, in entry order. */
  get mempool(): MempoolEntry[] {
    return [...this.#mempool.values()];
  }

  /** Where an output was spent (confirmed spends only). */
  spentInfo(txid: string, vout: number): SpentInfo | undefined {
    return this.#spent.get(key(txid, vout));
  }

  /** The output a confirmed or mempool transaction created. */
  outputOf(txid: string, vout: number): OutputInfo | undefined {
    const tx = this.#txIndex.get(txid)?.tx ?? this.#mempool.get(txid)?.tx;
    const output = tx?.raw.outputs[vout];
    return output ? outputInfo(output.value, output.script) : undefined;
  }

  /** All assets, in issue order. */
  get assets(): AssetMeta[] {
    return [...this.#assets.values()];
  }

  /** An asset's metadata. */
  asset(name: string): AssetMeta | undefined {
    return this.#assets.get(name);
  }

  /** Confirmed balances of an asset per address, in 1e-8 units. */
  assetHolders(name: string): Map<string, bigint> {
    const holders = new Map<string, bigint>();
    for (const coin of this.#utxo.values()) {
      if (coin.asset?.name !== name || coin.address === undefined) continue;
      holders.set(
        coin.address,
        (holders.get(coin.address) ?? 0n) + coin.asset.amount,
      );
    }
    return holders;
  }

  /** Median time past of a block. */
  medianTime(block: BlockEntry): number {
    const times: number[] = [];
    for (let h = block.height; h >= 0 && h > block.height - 11; h--) {
      const b = block.active ? this.#blocks[h] : undefined;
      times.push((b ?? block).header.time);
      if (!block.active) break;
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  }

  /** Compressed public key of a wallet address, if the wallet has it. */
  publicKeyOf(address: string): Uint8Array | undefined {
    return this.#keys.get(address)?.publicKey;
  }

  /** The wallet's spendable asset outputs (mempool included), by asset name. */
  walletAssets(): Map<
    string,
    { txid: string; vout: number; amount: bigint }[]
  > {
    const assets = new Map<
      string,
      { txid: string; vout: number; amount: bigint }[]
    >();
    for (const coin of this.#walletCoins()) {
      if (!coin.asset) continue;
      const list = assets.get(coin.asset.name) ?? [];
      list.push({
        txid: coin.txid,
        vout: coin.vout,
        amount: coin.asset.amount,
      });
      assets.set(coin.asset.name, list);
    }
    return assets;
  }

  /** Stale blocks that no other stale block builds on (fork tips). */
  staleTips(): BlockEntry[] {
    const stale = [...this.#byHash.values()].filter((b) => !b.active);
    const parents = new Set(stale.map((b) => b.header.prevHash));
    return stale.filter((b) => !parents.has(b.hash));
  }

  /** Whether an address belongs to the wallet. */
  isMine(address: string): boolean {
    return this.#keys.has(address);
  }

  /** Confirmed, mature EVR balance of the wallet. */
  balance(): bigint {
    let total = 0n;
    for (const coin of this.#walletCoins()) {
      if (!coin.asset && coin.height > 0) total += coin.value;
    }
    return total;
  }

  /** The wallet's spendable amount of an asset (mempool included). */
  assetBalance(name: string): bigint {
    let total = 0n;
    for (const coin of this.#walletCoins()) {
      if (coin.asset?.name === name) total += coin.asset.amount;
    }
    return total;
  }

  // --------------------------------------------------------------- wallet

  /** A new wallet address. */
  newAddress(): string {
    const walletKey = new WalletKey();
    const address = encodeAddress(hash160(walletKey.publicKey), {
      network: "regtest",
    });
    this.#keys.set(address, walletKey);
    return address;
  }

  #newKeyScriptP2PK(): Uint8Array {
    const address = this.newAddress();
    const walletKey = this.#keys.get(address)!;
    return Uint8Array.of(0x21, ...walletKey.publicKey, 0xac);
  }

  *#walletCoins(): Generator<Coin> {
    const spentInMempool = new Set<string>();
    for (const entry of this.#mempool.values()) {
      for (const input of entry.tx.raw.inputs) {
        spentInMempool.add(key(input.txid, input.vout));
      }
    }
    const tip = this.height;
    for (const coin of this.#utxo.values()) {
      if (coin.address === undefined || !this.#keys.has(coin.address)) continue;
      if (spentInMempool.has(key(coin.txid, coin.vout))) continue;
      if (coin.coinbase && tip - coin.height + 1 < COINBASE_MATURITY) continue;
      yield coin;
    }
    for (const entry of this.#mempool.values()) {
      if (!entry.fromWallet) continue;
      for (let vout = 0; vout < entry.tx.raw.outputs.length; vout++) {
        if (spentInMempool.has(key(entry.tx.txid, vout))) continue;
        const output = entry.tx.raw.outputs[vout]!;
        const info = outputInfo(output.value, output.script);
        if (info.address === undefined || !this.#keys.has(info.address)) {
          continue;
        }
        yield {
          ...info,
          txid: entry.tx.txid,
          vout,
          height: 0,
          coinbase: false,
        };
      }
    }
  }

  #sign(raw: RawTransaction, coins: Coin[]): void {
    raw.inputs.forEach((input, index) => {
      const coin = coins[index]!;
      const walletKey = this.#keys.get(coin.address!)!;
      const preimage = serializeTransaction({
        ...raw,
        inputs: raw.inputs.map((other, i) => ({
          ...other,
          scriptSig: i === index ? coin.script : new Uint8Array(0),
          witness: [],
        })),
      });
      const full = new Uint8Array(preimage.length + 4);
      full.set(preimage);
      new DataView(full.buffer).setUint32(preimage.length, SIGHASH_ALL, true);
      const signature = Uint8Array.of(
        ...walletKey.signDoubleSha256(full),
        SIGHASH_ALL,
      );
      const p2pk = coin.script.length === 35 && coin.script[0] === 0x21;
      input.scriptSig = p2pk ? pushData(signature) : Uint8Array.of(
        ...pushData(signature),
        ...pushData(walletKey.publicKey),
      );
    });
  }

  /** Builds, signs and accepts a wallet transaction; returns its txid. */
  async #walletTx(options: WalletTxOptions): Promise<string> {
    const coins = [...this.#walletCoins()];
    const chosen: Coin[] = [];
    const appended = [...options.appended];
    const changeAddress = options.changeAddress ?? this.newAddress();
    // Asset inputs first.
    for (const need of options.assetInputs ?? []) {
      let have = 0n;
      for (const coin of coins) {
        if (have >= need.amount) break;
        if (coin.asset?.name !== need.name || chosen.includes(coin)) continue;
        chosen.push(coin);
        have += coin.asset.amount;
      }
      if (have < need.amount) {
        throw new RpcMethodError(-25, "Insufficient asset funds");
      }
      if (have > need.amount) {
        appended.push({
          value: 0n,
          script: assetScript(changeAddress, {
            kind: "transfer",
            name: need.name,
            amount: have - need.amount,
          }),
        });
      }
    }
    const evrCoins = coins
      .filter((coin) => !coin.asset && !chosen.includes(coin))
      .sort((a, b) => (a.value < b.value ? 1 : a.value > b.value ? -1 : 0));
    const target = options.recipients.reduce((sum, o) => sum + o.value, 0n);
    const evrIn = () =>
      chosen.reduce((sum, coin) => sum + (coin.asset ? 0n : coin.value), 0n);
    // The node sizes inputs with 72-byte dummy signatures.
    const dummyOf = (coin: Coin) =>
      new Uint8Array(
        coin.script.length === 35 && coin.script[0] === 0x21 ? 73 : 107,
      );
    const build = (change: bigint | undefined, position: number) => {
      const outputs = [...options.recipients];
      if (change !== undefined) {
        outputs.splice(position, 0, {
          value: change,
          script: p2pkhScript(decodeAddress(changeAddress).hash),
        });
      }
      outputs.push(...appended);
      const raw: RawTransaction = {
        version: 2,
        inputs: chosen.map((coin) => ({
          txid: coin.txid,
          vout: coin.vout,
          scriptSig: dummyOf(coin),
          sequence: 0xfffffffe,
          witness: [],
        })),
        outputs,
        locktime: this.height,
      };
      return raw;
    };
    const position = Math.floor(
      Math.random() * (options.recipients.length + 1),
    );
    for (;;) {
      const size = serializeTransaction(build(0n, position)).length;
      const fee = BigInt(size) * FEE_RATE / 1000n;
      const needed = options.subtractFee ? target : target + fee;
      if (evrIn() >= needed) {
        let change = evrIn() - needed;
        const recipients = options.recipients;
        if (options.subtractFee && recipients[0]) {
          recipients[0] = {
            ...recipients[0],
            value: recipients[0].value - fee,
          };
          if (recipients[0].value <= 0n) {
            throw new RpcMethodError(
              -6,
              "The transaction amount is too small to pay the fee",
            );
          }
        }
        const raw = change >= DUST
          ? build(change, position)
          : build(undefined, 0);
        if (change < DUST) change = 0n;
        this.#sign(raw, chosen);
        return await this.#accept(entryOf(raw), true);
      }
      const next = evrCoins.shift();
      if (!next) throw new RpcMethodError(-6, "Insufficient funds");
      chosen.push(next);
    }
  }

  // ---------------------------------------------------------- operations

  /** Sends EVR to an address (sendtoaddress). */
  sendToAddress(
    address: string,
    amount: bigint,
    subtractFee = false,
  ): Promise<string> {
    return this.#walletTx({
      recipients: [{ value: amount, script: this.#scriptOf(address) }],
      appended: [],
      subtractFee,
    });
  }

  #scriptOf(address: string): Uint8Array {
    try {
      const decoded = decodeAddress(address);
      if (decoded.network !== "test") throw new Error("wrong network");
      return decoded.type === "scripthash"
        ? Uint8Array.of(0xa9, 0x14, ...decoded.hash, 0x87)
        : p2pkhScript(decoded.hash);
    } catch {
      throw new RpcMethodError(-5, "Invalid address");
    }
  }

  /** Checks an address; throws the node's -5 error when invalid. */
  checkAddress(address: string, message = "Invalid address"): void {
    try {
      this.#scriptOf(address);
    } catch {
      throw new RpcMethodError(-5, message);
    }
  }

  /** Issues a root, sub, unique or channel asset (issue/issueunique). */
  issue(options: {
    name: string;
    amount: bigint;
    toAddress?: string;
    changeAddress?: string;
    units: number;
    reissuable: boolean;
    ipfsHash?: string;
  }): Promise<string> {
    const { name } = options;
    checkHash(options.ipfsHash);
    const error = assetNameError(name);
    if (error) {
      throw new RpcMethodError(
        -8,
        `Invalid asset name: ${name}\nError: ${error}`,
      );
    }
    if (this.#assets.has(name) || this.#pendingAssetNames().has(name)) {
      throw new RpcMethodError(
        -8,
        `Invalid parameter: asset_name '${name}' has already been used`,
      );
    }
    const unique = name.includes("#");
    const channel = name.includes("~");
    const sub = !unique && !channel && name.includes("/");
    const parent = unique || channel
      ? name.split(/[#~]/)[0]!
      : sub
      ? name.slice(0, name.lastIndexOf("/"))
      : undefined;
    if (parent !== undefined && !this.#assets.has(parent)) {
      throw new RpcMethodError(
        -8,
        `Invalid parameter: parent asset '${parent}' doesn't exist`,
      );
    }
    if (
      (unique || channel) &&
      (options.amount !== COIN || options.units !== 0 || options.reissuable)
    ) {
      throw new RpcMethodError(
        -8,
        `Invalid parameters for issuing a ${
          unique ? "unique" : "message channel"
        } asset: qty must be 1, units 0 and reissuable false`,
      );
    }
    if (options.units < 0 || options.units > 8) {
      throw new RpcMethodError(-8, "Units must be between 0 and 8");
    }
    if (options.amount <= 0n || options.amount > 21_000_000_000n * COIN) {
      throw new RpcMethodError(
        -8,
        "Invalid amount: must be between 1 and 21 billion",
      );
    }
    if (options.amount % 10n ** BigInt(8 - options.units) !== 0n) {
      throw new RpcMethodError(
        -8,
        "Invalid parameter: amount must be divisible by the smaller unit assigned to the asset",
      );
    }
    const to = options.toAddress ?? this.newAddress();
    this.checkAddress(to, `Invalid address: ${to}`);
    const changeAddress = options.changeAddress ?? this.newAddress();
    const burn = unique
      ? BURN.unique
      : channel
      ? BURN.channel
      : sub
      ? BURN.sub
      : BURN.issue;
    const appended: RawOutput[] = [];
    const assetInputs: { name: string; amount: bigint }[] = [];
    if (parent !== undefined) {
      assetInputs.push({ name: `${parent}!`, amount: COIN });
      appended.push({
        value: 0n,
        script: assetScript(changeAddress, {
          kind: "transfer",
          name: `${parent}!`,
          amount: COIN,
        }),
      });
    }
    if (!unique && !channel) {
      appended.push({
        value: 0n,
        script: assetScript(to, { kind: "owner", name: `${name}!` }),
      });
    }
    appended.push({
      value: 0n,
      script: assetScript(to, {
        kind: "issue",
        name,
        amount: options.amount,
        units: options.units,
        reissuable: options.reissuable,
        ...(options.ipfsHash ? { ipfsHash: options.ipfsHash } : {}),
      }),
    });
    if (!unique) this.#channels.add(channel ? name : `${name}!`);
    return this.#walletTx({
      recipients: [{
        value: burn.amount,
        script: this.#scriptOf(burn.address),
      }],
      appended,
      assetInputs,
      changeAddress,
    });
  }

  /** Issues unique assets `ROOT#tag` in one transaction (issueunique). */
  issueUnique(options: {
    root: string;
    tags: string[];
    ipfsHashes?: string[];
    toAddress?: string;
    changeAddress?: string;
  }): Promise<string> {
    const { root, tags } = options;
    options.ipfsHashes?.forEach(checkHash);
    if (!this.#assets.has(root)) {
      throw new RpcMethodError(
        -8,
        `Invalid parameter: parent asset '${root}' doesn't exist`,
      );
    }
    if (tags.length === 0) {
      throw new RpcMethodError(-8, "Invalid parameter: asset_tags is empty");
    }
    const to = options.toAddress ?? this.newAddress();
    this.checkAddress(to, `Invalid address: ${to}`);
    const changeAddress = options.changeAddress ?? this.newAddress();
    const pending = this.#pendingAssetNames();
    const appended: RawOutput[] = [{
      value: 0n,
      script: assetScript(changeAddress, {
        kind: "transfer",
        name: `${root}!`,
        amount: COIN,
      }),
    }];
    tags.forEach((tag, i) => {
      const name = `${root}#${tag}`;
      const error = assetNameError(name);
      if (error) {
        throw new RpcMethodError(
          -8,
          `Invalid asset name: ${name}\nError: ${error}`,
        );
      }
      if (this.#assets.has(name) || pending.has(name)) {
        throw new RpcMethodError(
          -8,
          `Invalid parameter: asset_name '${name}' has already been used`,
        );
      }
      const ipfsHash = options.ipfsHashes?.[i];
      appended.push({
        value: 0n,
        script: assetScript(to, {
          kind: "issue",
          name,
          amount: COIN,
          units: 0,
          reissuable: false,
          ...(ipfsHash ? { ipfsHash } : {}),
        }),
      });
    });
    return this.#walletTx({
      recipients: [{
        value: BURN.unique.amount * BigInt(tags.length),
        script: this.#scriptOf(BURN.unique.address),
      }],
      appended,
      assetInputs: [{ name: `${root}!`, amount: COIN }],
      changeAddress,
    });
  }

  #pendingAssetNames(): Set<string> {
    const names = new Set<string>();
    for (const entry of this.#mempool.values()) {
      for (const output of entry.tx.raw.outputs) {
        const info = outputInfo(output.value, output.script);
        if (info.asset?.kind === "issue") names.add(info.asset.name);
      }
    }
    return names;
  }

  /** Transfers an asset (transfer), optionally with a message. */
  transfer(options: {
    name: string;
    amount: bigint;
    toAddress: string;
    message?: string;
    expireTime?: bigint;
    changeAddress?: string;
  }): Promise<string> {
    this.checkAddress(
      options.toAddress,
      `Invalid address: ${options.toAddress}`,
    );
    checkHash(options.message);
    if (options.amount <= 0n) {
      throw new RpcMethodError(-8, "Invalid amount: must be greater than 0");
    }
    const meta = this.#assets.get(options.name);
    const units = options.name.endsWith("!") ? 0 : meta?.units ?? 8;
    if (options.amount % 10n ** BigInt(8 - units) !== 0n) {
      throw new RpcMethodError(
        -8,
        "Invalid parameter: amount must be divisible by the smaller unit assigned to the asset",
      );
    }
    if (this.assetBalance(options.name) < options.amount) {
      throw new RpcMethodError(-25, "Insufficient asset funds");
    }
    const changeAddress = options.changeAddress ?? this.newAddress();
    return this.#walletTx({
      recipients: [],
      appended: [{
        value: 0n,
        script: assetScript(options.toAddress, {
          kind: "transfer",
          name: options.name,
          amount: options.amount,
          ...(options.message ? { message: options.message } : {}),
          ...(options.expireTime ? { expireTime: options.expireTime } : {}),
        }),
      }],
      assetInputs: [{ name: options.name, amount: options.amount }],
      changeAddress,
    });
  }

  /** Reissues more of an asset (reissue). */
  reissue(options: {
    name: string;
    amount: bigint;
    toAddress?: string;
    changeAddress?: string;
    reissuable?: boolean;
    units?: number;
    ipfsHash?: string;
  }): Promise<string> {
    checkHash(options.ipfsHash);
    const meta = this.#assets.get(options.name);
    if (!meta) {
      throw new RpcMethodError(
        -8,
        `Invalid parameter: asset '${options.name}' doesn't exist`,
      );
    }
    if (!meta.reissuable) {
      throw new RpcMethodError(
        -8,
        "Unable to reissue asset: reissuable is set to false",
      );
    }
    if (this.assetBalance(`${options.name}!`) < COIN) {
      throw new RpcMethodError(
        -8,
        `Wallet doesn't have the ownership token for the asset: ${options.name}`,
      );
    }
    const units = options.units ?? -1;
    if (units !== -1 && (units < meta.units || units > 8)) {
      throw new RpcMethodError(-8, "Units must be between current units and 8");
    }
    const effectiveUnits = units === -1 ? meta.units : units;
    if (
      options.amount < 0n ||
      options.amount % 10n ** BigInt(8 - effectiveUnits) !== 0n
    ) {
      throw new RpcMethodError(
        -8,
        "Invalid parameter: amount must be divisible by the smaller unit assigned to the asset",
      );
    }
    const to = options.toAddress ?? this.newAddress();
    this.checkAddress(to, `Invalid address: ${to}`);
    const changeAddress = options.changeAddress ?? this.newAddress();
    return this.#walletTx({
      recipients: [
        {
          value: BURN.reissue.amount,
          script: this.#scriptOf(BURN.reissue.address),
        },
        {
          value: 0n,
          script: assetScript(changeAddress, {
            kind: "transfer",
            name: `${options.name}!`,
            amount: COIN,
          }),
        },
      ],
      appended: [{
        value: 0n,
        script: assetScript(to, {
          kind: "reissue",
          name: options.name,
          amount: options.amount,
          units,
          reissuable: options.reissuable ?? true,
          ...(options.ipfsHash ? { ipfsHash: options.ipfsHash } : {}),
        }),
      }],
      assetInputs: [{ name: `${options.name}!`, amount: COIN }],
      changeAddress,
    });
  }

  /** Sends a message on an owned channel (sendmessage): transfers the token to itself. */
  sendMessage(
    channel: string,
    message: string,
    expireTime = 0n,
  ): Promise<string> {
    checkHash(message);
    if (this.assetBalance(channel) < COIN) {
      throw new RpcMethodError(
        -8,
        `Wallet doesn't own the asset: ${channel}`,
      );
    }
    const to = this.newAddress();
    this.#channels.add(channel);
    return this.#walletTx({
      recipients: [],
      appended: [{
        value: 0n,
        script: assetScript(to, {
          kind: "transfer",
          name: channel,
          amount: COIN,
          message,
          ...(expireTime ? { expireTime } : {}),
        }),
      }],
      assetInputs: [{ name: channel, amount: COIN }],
    });
  }

  /** Accepts a raw transaction from `sendrawtransaction`. */
  acceptRaw(bytes: Uint8Array): Promise<string> {
    let raw: RawTransaction;
    try {
      raw = parseTransaction(bytes);
    } catch {
      throw new RpcMethodError(-22, "TX decode failed");
    }
    const entry = entryOf(raw);
    if (this.#mempool.has(entry.txid)) return Promise.resolve(entry.txid);
    if (this.#txIndex.has(entry.txid)) {
      throw new RpcMethodError(-27, "transaction already in block chain");
    }
    return this.#accept(entry, false);
  }

  /** Validates inputs and adds a transaction to the mempool; publishes it. */
  async #accept(entry: TxEntry, fromWallet: boolean): Promise<string> {
    const fee = this.#checkInputs(entry);
    this.#mempool.set(entry.txid, {
      tx: entry,
      time: this.#now(),
      height: this.height,
      fee,
      fromWallet,
    });
    await this.#publishTx(entry);
    return entry.txid;
  }

  /** Returns the fee; throws the node's errors for missing or spent inputs. */
  #checkInputs(entry: TxEntry, ignore?: Set<string>): bigint {
    if (entry.raw.inputs.length === 0 || entry.raw.outputs.length === 0) {
      throw new RpcMethodError(-26, "16: bad-txns-vin-empty");
    }
    const spentInMempool = new Set<string>();
    for (const other of this.#mempool.values()) {
      if (ignore?.has(other.tx.txid)) continue;
      for (const input of other.tx.raw.inputs) {
        spentInMempool.add(key(input.txid, input.vout));
      }
    }
    let valueIn = 0n;
    for (const input of entry.raw.inputs) {
      const k = key(input.txid, input.vout);
      if (spentInMempool.has(k)) {
        throw new RpcMethodError(-26, "18: txn-mempool-conflict");
      }
      const coin = this.#utxo.get(k);
      if (coin) {
        if (coin.coinbase && this.height + 1 - coin.height < 100) {
          throw new RpcMethodError(
            -26,
            "16: bad-txns-premature-spend-of-coinbase",
          );
        }
        valueIn += coin.value;
        continue;
      }
      const parent = this.#mempool.get(input.txid);
      const output = parent?.tx.raw.outputs[input.vout];
      if (!output || ignore?.has(input.txid)) {
        throw new RpcMethodError(-25, "Missing inputs");
      }
      valueIn += output.value;
    }
    const valueOut = entry.raw.outputs.reduce((sum, o) => sum + o.value, 0n);
    if (valueIn < valueOut) {
      throw new RpcMethodError(-26, "16: bad-txns-in-belowout");
    }
    return valueIn - valueOut;
  }

  async #publishTx(entry: TxEntry): Promise<void> {
    await this.#publish("hashtx", hexToBytes(entry.txid));
    await this.#publish("rawtx", entry.bytes);
  }

  // -------------------------------------------------------------- mining

  #makeGenesis(): BlockEntry {
    const message = new TextEncoder().encode(
      "@evrmore/rpc devnet: an in-process regtest chain",
    );
    const coinbase: RawTransaction = {
      version: 1,
      inputs: [{
        txid: "0".repeat(64),
        vout: 0xffffffff,
        scriptSig: Uint8Array.of(
          ...pushData(Uint8Array.of(0xff, 0xff, 0x00, 0x1d)),
          ...pushData(Uint8Array.of(4)),
          ...pushData(message),
        ),
        sequence: 0xffffffff,
        witness: [],
      }],
      outputs: [{
        value: 5000n * COIN,
        script: Uint8Array.of(0x21, ...new WalletKey().publicKey, 0xac),
      }],
      locktime: 0,
    };
    return this.#makeBlock([entryOf(coinbase)], {
      version: 4,
      prevHash: "0".repeat(64),
      time: 1667074564,
      height: 0,
    });
  }

  #makeBlock(
    txs: TxEntry[],
    h: { version: number; prevHash: string; time: number; height: number },
  ): BlockEntry {
    const header: RawBlockHeader = {
      version: h.version,
      prevHash: h.prevHash,
      merkleRoot: merkleRoot(txs.map((tx) => tx.txid)),
      time: h.time,
      bits: BITS,
      nonce: 0,
    };
    let hash = blockHash(header, "regtest");
    while (!hashBelowTarget(hash)) {
      header.nonce++;
      hash = blockHash(header, "regtest");
    }
    const bytes = serializeBlock({
      header,
      transactions: txs.map((t) => t.raw),
    });
    return { hash, height: h.height, header, bytes, txs, active: true };
  }

  /** Header bytes of a block. */
  headerBytes(block: BlockEntry): Uint8Array {
    return serializeBlockHeader(block.header);
  }

  /** Orders mempool transactions like the node's block assembler (fee rate, parents first). */
  #blockTemplateTxs(): MempoolEntry[] {
    const entries = [...this.#mempool.values()].sort((a, b) => {
      const fa = a.fee * BigInt(b.tx.vsize), fb = b.fee * BigInt(a.tx.vsize);
      if (fa !== fb) return fa > fb ? -1 : 1;
      const ia = bytesToHex(reverseHex(a.tx.txid)),
        ib = bytesToHex(reverseHex(b.tx.txid));
      return ia < ib ? -1 : 1;
    });
    const done = new Set<string>();
    const ordered: MempoolEntry[] = [];
    while (ordered.length < entries.length) {
      const before = ordered.length;
      for (const entry of entries) {
        if (done.has(entry.tx.txid)) continue;
        const ready = entry.tx.raw.inputs.every((input) =>
          !this.#mempool.has(input.txid) || done.has(input.txid)
        );
        if (!ready) continue;
        done.add(entry.tx.txid);
        ordered.push(entry);
        break;
      }
      if (ordered.length === before) break;
    }
    return ordered;
  }

  /**
   * Mines one block with every mempool transaction.
   *
   * @param payTo Coinbase script (default: P2PK of a new wallet key, like `generate`).
   */
  async mineBlock(
    payTo?: Uint8Array,
    publish = true,
    time?: number,
  ): Promise<string> {
    const height = this.height + 1;
    const template = this.#blockTemplateTxs();
    const fees = template.reduce((sum, entry) => sum + entry.fee, 0n);
    const subsidy = SUBSIDY >> BigInt(Math.floor(height / HALVING_INTERVAL));
    const txs = template.map((entry) => entry.tx);
    const commitment = witnessCommitment([
      "0".repeat(64),
      ...txs.map((t) => t.wtxid),
    ]);
    const coinbase: RawTransaction = {
      version: 2,
      inputs: [{
        txid: "0".repeat(64),
        vout: 0xffffffff,
        scriptSig: Uint8Array.of(
          ...heightPush(height),
          ...pushData(Uint8Array.of(1)),
        ),
        sequence: 0xffffffff,
        witness: [new Uint8Array(32)],
      }],
      outputs: [
        { value: subsidy + fees, script: payTo ?? this.#newKeyScriptP2PK() },
        { value: 0n, script: witnessCommitmentScript(commitment) },
      ],
      locktime: 0,
    };
    const mtp = this.medianTime(this.tip);
    const block = this.#makeBlock([entryOf(coinbase), ...txs], {
      version: BLOCK_VERSION,
      prevHash: this.tip.hash,
      time: Math.max(time ?? this.#now(), mtp + 1),
      height,
    });
    for (const tx of txs) this.#mempool.delete(tx.txid);
    await this.#connect(block, publish);
    return block.hash;
  }

  /** Script paying an address (for generatetoaddress). */
  scriptOf(address: string): Uint8Array {
    return this.#scriptOf(address);
  }

  #connectState(block: BlockEntry): string[] {
    block.active = true;
    this.#blocks.push(block);
    this.#byHash.set(block.hash, block);
    return this.#apply(block);
  }

  async #connect(block: BlockEntry, publish: boolean): Promise<void> {
    const messages = this.#connectState(block);
    if (!publish) return;
    for (const message of messages) {
      await this.#publish("rawmessage", new TextEncoder().encode(message));
    }
    for (const tx of block.txs) await this.#publishTx(tx);
    await this.#publish("hashblock", hexToBytes(block.hash));
    await this.#publish("rawblock", block.bytes);
  }

  /** Applies a block to the UTXO set and asset table; returns rawmessage bodies. */
  #apply(block: BlockEntry): string[] {
    const messages: string[] = [];
    block.txs.forEach((tx, position) => {
      if (block.height === 0) return; // the genesis coinbase is not spendable
      const coinbase = position === 0;
      if (!coinbase) {
        tx.raw.inputs.forEach((input, index) => {
          const k = key(input.txid, input.vout);
          this.#utxo.delete(k);
          this.#spent.set(k, { txid: tx.txid, index, height: block.height });
        });
      }
      this.#txIndex.set(tx.txid, { tx, block });
      tx.raw.outputs.forEach((output, vout) => {
        const info = outputInfo(output.value, output.script);
        if (output.script[0] === 0x6a) return; // OP_RETURN: unspendable
        this.#utxo.set(key(tx.txid, vout), {
          ...info,
          txid: tx.txid,
          vout,
          height: block.height,
          coinbase,
        });
        const asset = info.asset;
        if (!asset) return;
        if (asset.kind === "issue" || asset.kind === "owner") {
          this.#assets.set(asset.name, {
            name: asset.name,
            amount: asset.amount,
            units: asset.units ?? 0,
            reissuable: asset.reissuable ?? false,
            ...(asset.ipfsHash ? { ipfsHash: asset.ipfsHash } : {}),
            blockHeight: block.height,
            blockHash: block.hash,
          });
        } else if (asset.kind === "reissue") {
          const meta = this.#assets.get(asset.name);
          if (meta) {
            meta.amount += asset.amount;
            if (asset.units !== undefined && asset.units >= 0) {
              meta.units = asset.units;
            }
            meta.reissuable = asset.reissuable ?? meta.reissuable;
            if (asset.ipfsHash) meta.ipfsHash = asset.ipfsHash;
          }
        } else if (
          asset.kind === "transfer" && asset.message &&
          this.#channels.has(asset.name)
        ) {
          messages.push(
            `{"blockheight": ${block.height}, "assetname": ${
              JSON.stringify(asset.name)
            }, "ipfshash": ${JSON.stringify(asset.message)}, "expiretime": ${
              asset.expireTime ?? 0n
            }}`,
          );
        }
      });
    });
    return messages;
  }

  /**
   * Disconnects the last `depth` blocks (their transactions go back to the
   * mempool and are published again, as the node re-accepts them), then
   * mines `depth + 1` replacement blocks.
   */
  async reorg(depth: number): Promise<string[]> {
    if (!Number.isInteger(depth) || depth < 1 || depth > this.height) {
      throw new RangeError(
        `Cannot reorganize ${depth} blocks: expected 1..${this.height}`,
      );
    }
    const removed = this.#blocks.splice(this.#blocks.length - depth, depth);
    const returned: TxEntry[] = [];
    for (const block of removed) {
      block.active = false;
      returned.push(...block.txs.slice(1));
    }
    const pending = [...this.#mempool.values()];
    this.#mempool.clear();
    // Rebuild the chain state from genesis.
    this.#utxo.clear();
    this.#spent.clear();
    this.#txIndex.clear();
    this.#assets.clear();
    for (const block of this.#blocks) this.#apply(block);
    for (const tx of returned) {
      try {
        const fee = this.#checkInputs(tx);
        this.#mempool.set(tx.txid, {
          tx,
          time: this.#now(),
          height: this.height,
          fee,
          fromWallet: true,
        });
        await this.#publishTx(tx);
      } catch {
        // Conflicts with the new chain (e.g. spends a disconnected coinbase).
      }
    }
    for (const entry of pending) {
      try {
        entry.fee = this.#checkInputs(entry.tx);
        this.#mempool.set(entry.tx.txid, entry);
      } catch {
        // Dropped: its inputs are gone.
      }
    }
    const hashes: string[] = [];
    for (let i = 0; i <= depth; i++) hashes.push(await this.mineBlock());
    return hashes;
  }
}
