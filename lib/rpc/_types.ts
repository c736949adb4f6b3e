/**
 * Public types of the JSON-RPC client: options, configuration report and the
 * result shapes of the read methods the system relies on.
 *
 * @module
 */

import type { Network } from "../network.ts";
import type {
  DecodedBlock,
  DecodedTransaction,
  TransactionInput,
  TransactionOutput,
} from "../encoding/types.ts";

/** Options of {@linkcode EvrmoreRPCClient}; each one overrides the environment and `evrmore.conf`. */
export interface EvrmoreRPCClientOptions {
  /**
   * Full node URL, for example `http://127.0.0.1:8819/` or
   * `https://node.example/wallet/main`. The path is kept. Credentials in the
   * URL (`http://user:pass@host/`) are taken as `user`/`password`.
   */
  url?: string;
  /** Host used when no `url` is given (default `rpcconnect` from `evrmore.conf`, else `127.0.0.1`). */
  host?: string;
  /** Port used when no `url` is given (default `rpcport` from `evrmore.conf`, else the network's port). */
  port?: number;
  /** RPC user name (`rpcuser`). */
  user?: string;
  /** RPC password (`rpcpassword`). */
  password?: string;
  /** Network; selects the default port and the cookie's subfolder (default from `evrmore.conf`, else `"main"`). */
  network?: Network;
  /** Base data dir holding `evrmore.conf` (default: the node's per-OS data dir). */
  datadir?: string;
  /** Path of the configuration file; when given, it must exist. */
  conf?: string;
  /** Path of the `.cookie` file (default `<datadir>/<network subdir>/.cookie`). */
  cookieFile?: string;
  /** Wallet name: calls go to `/wallet/<name>`. */
  wallet?: string;
  /** Per-call timeout in milliseconds (default 30000). */
  timeout?: number;
  /** Most calls in flight at once; the rest wait in a queue (default 8, below the node's work queue of 16). */
  maxConcurrency?: number;
  /** Retries of read-only calls after a connection failure or a full work queue (default 3). */
  retries?: number;
  /** First retry delay in milliseconds, doubled each time, with full jitter (default 100). */
  retryDelay?: number;
  /** Validate the answers of the typed read methods (default true). */
  validate?: boolean;
  /**
   * Automatic batching (default true): while `maxConcurrency` requests are
   * in flight, calls that would wait leave together as one JSON-RPC batch
   * when a slot frees, each caller still getting its own result or error.
   * Below the cap nothing changes (no timer, no added latency).
   */
  batching?: boolean;
  /** Most calls in one automatic batch (default 100). */
  maxBatchSize?: number;
  /**
   * Single-flight (default true): identical read-only calls (same method,
   * params, priority and timeout) in flight at once share one request.
   * Can also be turned off per call.
   */
  singleFlight?: boolean;
  /** Default priority lane of this client's calls (default `"normal"`). */
  priority?: RpcPriority;
  /**
   * Most calls waiting per priority lane (default 10000); a call beyond it
   * rejects at once with `QueueFullError`.
   */
  maxQueueSize?: number;
  /** Read environment variables (`EVR_RPC_*`, `EVR_DATADIR`, `EVR_NETWORK`) (default true). */
  env?: boolean;
  /**
   * Extra trusted CA certificates (PEM) for an `https:` node with a private
   * certificate. The client then holds its own HTTP connection pool, released
   * by `close()`.
   */
  caCerts?: string[];
}

/**
 * A priority lane of the client's queue: `"high"` calls (a server's own
 * block fetch, backfill, mempool reads) leave before any waiting
 * `"normal"` call.
 */
export type RpcPriority = "high" | "normal";

/** Options of a single call. */
export interface RpcCallOptions {
  /** Aborts the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Timeout of this call in milliseconds (default: the client's `timeout`). */
  timeout?: number;
  /** Priority lane while waiting behind the cap (default: the client's `priority`). */
  priority?: RpcPriority;
  /** Share an identical read-only call in flight (default: the client's `singleFlight`). */
  singleFlight?: boolean;
}

/** Parameters of a call: positional (an array) or named (an object). */
export type RpcParams = unknown[] | Record<string, unknown>;

/**
 * Where a setting came from:
 * `"options"` (constructor), `"env"` (an environment variable),
 * `"conf"` (`evrmore.conf`), `"cookie"` (the `.cookie` file), `"default"`
 * (built in), or `"none"` (not set anywhere).
 */
export type RpcSettingOrigin =
  | "options"
  | "env"
  | "conf"
  | "cookie"
  | "default"
  | "none";

/** The origin of one setting, with the variable or file it was read from. */
export interface RpcSettingSource {
  /** The kind of source. */
  origin: RpcSettingOrigin;
  /** Human-readable detail: the variable name or file path, for example `"env EVR_RPC_USER"`. */
  detail: string;
}

/** The sources of each resolved setting. */
export interface RpcConfigSources {
  /** Source of the URL (or of its host and port). */
  url: RpcSettingSource;
  /** Source of the user name. */
  user: RpcSettingSource;
  /** Source of the password (the password itself is never reported). */
  password: RpcSettingSource;
  /** Source of the network. */
  network: RpcSettingSource;
}

/** The resolved configuration of a client, without the password. */
export interface RpcResolvedConfig {
  /** The URL calls are posted to. */
  url: string;
  /** The user name, or `undefined` when no credentials were found. */
  user: string | undefined;
  /** The network. */
  network: Network;
  /** The configuration file that was read, if any. */
  confFile: string | undefined;
  /** The cookie file that was read, if any. */
  cookieFile: string | undefined;
  /** Where each setting came from. */
  sources: RpcConfigSources;
}

/** One call of a {@linkcode EvrmoreRPCClient.batch}. */
export interface RpcBatchCall {
  /** The RPC method. */
  method: string;
  /** Positional parameters (default none). */
  params?: unknown[];
}

/** The outcome of one call of a batch: a `result`, or an `error`. */
export type RpcBatchResult<T = unknown> =
  | { result: T; error?: undefined }
  | { result?: undefined; error: Error };

/** `getblockchaininfo`. */
export interface BlockchainInfo {
  /** `"main"`, `"test"` or `"regtest"`. */
  chain: string;
  /** Height of the best validated block. */
  blocks: number;
  /** Height of the best known header. */
  headers: number;
  /** Hash of the best block. */
  bestblockhash: string;
  /** Current difficulty. */
  difficulty: number;
  /** Difficulty algorithm, for example `"DGW-180"`. */
  difficulty_algorithm?: string;
  /** Median time past of the tip. */
  mediantime: number;
  /** Estimated verification progress, 0 to 1. */
  verificationprogress: number;
  /** Total chain work as hex. */
  chainwork: string;
  /** Size of block and undo files on disk. */
  size_on_disk?: number;
  /** Whether the node prunes. */
  pruned: boolean;
  /** Soft fork states. */
  softforks: unknown[];
  /** BIP9 soft fork states. */
  bip9_softforks: Record<string, unknown>;
  /** Node warnings. */
  warnings: string;
  /** Other fields. */
  [key: string]: unknown;
}

/** `getmempoolinfo`. */
export interface MempoolInfo {
  /** Number of transactions. */
  size: number;
  /** Sum of transaction sizes. */
  bytes: number;
  /** Memory usage. */
  usage: number;
  /** Maximum memory usage. */
  maxmempool: number;
  /** Minimum fee rate (EVR/kB) to enter the mempool. */
  mempoolminfee: number;
  /** Other fields. */
  [key: string]: unknown;
}

/** One entry of `getrawmempool true` (and `getmempoolentry`). */
export interface MempoolEntry {
  /** Virtual size. */
  size: number;
  /** Fee in EVR. */
  fee: number;
  /** Fee with deltas, in EVR. */
  modifiedfee: number;
  /** Entry time. */
  time: number;
  /** Block height when entering. */
  height: number;
  /** Number of in-mempool descendants, itself included. */
  descendantcount: number;
  /** Virtual size of descendants, itself included. */
  descendantsize: number;
  /** Modified fees of descendants, in satoshis. */
  descendantfees: number;
  /** Number of in-mempool ancestors, itself included. */
  ancestorcount: number;
  /** Virtual size of ancestors, itself included. */
  ancestorsize: number;
  /** Modified fees of ancestors, in satoshis. */
  ancestorfees: number;
  /** Witness transaction id. */
  wtxid: string;
  /** Unconfirmed parents. */
  depends: string[];
  /** Other fields. */
  [key: string]: unknown;
}

/** A network of `getnetworkinfo`. */
export interface NetworkInfoNetwork {
  /** `ipv4`, `ipv6` or `onion`. */
  name: string;
  /** Whether limited by `-onlynet`. */
  limited: boolean;
  /** Whether reachable. */
  reachable: boolean;
  /** Proxy used. */
  proxy: string;
  /** Whether proxy credentials are randomized. */
  proxy_randomize_credentials: boolean;
}

/** `getnetworkinfo`. */
export interface NetworkInfo {
  /** Node version, for example 1000500. */
  version: number;
  /** User agent, for example `/Evrmore:1.0.5/`. */
  subversion: string;
  /** P2P protocol version. */
  protocolversion: number;
  /** Offered services as hex. */
  localservices: string;
  /** Whether transactions are relayed. */
  localrelay: boolean;
  /** Time offset. */
  timeoffset: number;
  /** Whether P2P networking is on. */
  networkactive: boolean;
  /** Number of peers. */
  connections: number;
  /** Networks. */
  networks: NetworkInfoNetwork[];
  /** Minimum relay fee (EVR/kB). */
  relayfee: number;
  /** Incremental fee (EVR/kB). */
  incrementalfee: number;
  /** Local addresses. */
  localaddresses: unknown[];
  /** Node warnings. */
  warnings: string;
  /** Other fields. */
  [key: string]: unknown;
}

/** `getblockheader <hash> true`. */
export interface BlockHeaderInfo {
  /** Block hash. */
  hash: string;
  /** Confirmations, -1 when off the main chain. */
  confirmations: number;
  /** Height. */
  height: number;
  /** Version. */
  version: number;
  /** Version as 8 hex digits. */
  versionHex: string;
  /** Merkle root. */
  merkleroot: string;
  /** Block time. */
  time: number;
  /** Median time past. */
  mediantime: number;
  /** 32-bit nonce. */
  nonce: number;
  /** Compact target as hex. */
  bits: string;
  /** Difficulty. */
  difficulty: number;
  /** Chain work as hex. */
  chainwork: string;
  /** Previous block hash (absent on genesis). */
  previousblockhash?: string;
  /** Next block hash (absent on the tip). */
  nextblockhash?: string;
  /** Other fields (`headerhash`, `mixhash`, `nonce64` on some networks). */
  [key: string]: unknown;
}

/** `getblock <hash> 1`: the block with transaction ids. */
export interface BlockInfo extends Omit<DecodedBlock, "tx"> {
  /** Confirmations, -1 when off the main chain. */
  confirmations: number;
  /** Median time past. */
  mediantime: number;
  /** Chain work as hex. */
  chainwork: string;
  /** Transaction ids. */
  tx: string[];
}

/** `getblock <hash> 2`: the block with decoded transactions. */
export interface BlockInfoVerbose extends Omit<DecodedBlock, "tx"> {
  /** Confirmations, -1 when off the main chain. */
  confirmations: number;
  /** Median time past. */
  mediantime: number;
  /** Chain work as hex. */
  chainwork: string;
  /** Decoded transactions, each with its `hex`. */
  tx: DecodedTransaction[];
}

/** An input of a verbose `getrawtransaction` answer (address index fields when the node has `-addressindex`). */
export interface RawTransactionInputInfo extends TransactionInput {
  /** Value of the spent output in EVR (address index). */
  value?: number;
  /** Value of the spent output in satoshis (address index). */
  valueSat?: number;
  /** Address of the spent output (address index). */
  address?: string;
}

/** An output of a verbose `getrawtransaction` answer (spent index fields when the node has `-spentindex`). */
export interface RawTransactionOutputInfo
  extends Omit<TransactionOutput, "valueSat"> {
  /** Value in satoshis (address index). */
  valueSat?: number;
  /** Spending transaction (spent index). */
  spentTxId?: string;
  /** Spending input index (spent index). */
  spentIndex?: number;
  /** Height of the spending transaction (spent index). */
  spentHeight?: number;
}

/** `getrawtransaction <txid> 1`: the decoded transaction plus chain context. */
export interface RawTransactionInfo
  extends Omit<DecodedTransaction, "vin" | "vout" | "hex"> {
  /** Inputs. */
  vin: RawTransactionInputInfo[];
  /** Outputs. */
  vout: RawTransactionOutputInfo[];
  /** Raw hex. */
  hex: string;
  /** Containing block (absent while in the mempool). */
  blockhash?: string;
  /** Height of the containing block (address index). */
  height?: number;
  /** Confirmations (absent while in the mempool). */
  confirmations?: number;
  /** Block time (absent while in the mempool). */
  time?: number;
  /** Block time (absent while in the mempool). */
  blocktime?: number;
}

/** `getassetdata`. */
export interface AssetData {
  /** Asset name. */
  name: string;
  /** Total supply in whole units. */
  amount: number;
  /** Decimal places. */
  units: number;
  /** 1 when more can be issued. */
  reissuable: number;
  /** 1 when an IPFS or txid hash is attached. */
  has_ipfs: number;
  /** Attached IPFS hash. */
  ipfs_hash?: string;
  /** Attached txid hash. */
  txid_hash?: string;
  /** Verifier string (restricted assets). */
  verifier_string?: string;
  /** Other fields. */
  [key: string]: unknown;
}

/** One asset of `listassets <filter> true`. */
export interface AssetListEntry extends AssetData {
  /** Height of the issuing block. */
  block_height: number;
  /** Hash of the issuing block. */
  blockhash: string;
}
