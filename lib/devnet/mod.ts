/**
 * An embedded Evrmore regtest node for demos and integration tests:
 * JSON-RPC over HTTP with the node's authentication, status codes and error
 * bodies, and a ZMQ publisher with the node's topics, frames and sequence
 * numbers.
 *
 * Faithful to `evrmored` 1.0.5 (checked against the captured fixtures):
 * - Blocks and transactions are real bytes made by the package's encoding
 *   layer: txids and block hashes are double SHA-256, blocks chain by
 *   prevhash (version 0x30000000, bits 207fffff, nonce ground below the
 *   target), coinbases carry the BIP34 height and the segwit witness
 *   commitment, the regtest subsidy (2778 EVR, halving every 150 blocks),
 *   and pay a fresh P2PK key (`generate`) or an address (`generatetoaddress`).
 * - Wallet inputs are signed with real secp256k1 keys (legacy SIGHASH_ALL,
 *   low-S DER); fees use the node's estimate (0.01001927 EVR/kB) over sizes
 *   computed with 72-byte dummy signatures, like the node's wallet.
 * - Assets are built like the node's wallet does: burns to the regtest burn
 *   addresses (issue 500, sub 100, unique 5 each, channel 100, reissue 100
 *   EVR), owner tokens `NAME!`, parent owner tokens passed back as change.
 * - Every verbose answer is the decoding of the stored bytes plus chain
 *   context, in the node's key order, with amounts printed with their fixed
 *   decimals (`2778.00000000`, asset amounts with the asset's units) and the
 *   node's `expire_time` quirk written verbatim.
 * - HTTP: 401 with `WWW-Authenticate` and the node's 250 ms delay on wrong
 *   credentials, 405 for non-POST, 404 for unknown paths, `/wallet/<name>`
 *   paths, `-32600`→400, `-32601`→404, other errors→500, batches→200, and
 *   `Work queue depth exceeded` beyond `rpcThreads + rpcWorkQueue` requests.
 * - ZMQ: `hashtx`/`rawtx` when a transaction enters the mempool and again
 *   when its block connects, then `hashblock`, `rawblock`; `rawmessage`
 *   (the node's JSON text) before the block's transactions when it carries a
 *   message on a channel the wallet issued or used; per-topic uint32
 *   sequences.
 *
 * Simplified: no peers; `sendrawtransaction` checks inputs, double spends
 * and amounts but not scripts or signatures, nor asset rules; no restricted
 * assets, qualifiers, tags or address-index RPCs; `help` and parameter-count
 * errors give the usage line, not the full help text; mempool `usage` is an
 * estimate; the genesis block is the devnet's own (not the node's 3.4 MB
 * airdrop genesis). The `initialBlocks` mined at start (so the wallet has
 * mature coins) are not published on ZMQ: subscribers see sequence numbers
 * start at 0 with the first block mined after
 * {@linkcode EvrmoreDevnet.start}, as after a node restart.
 *
 * @example Run a devnet and call it
 * ```ts
 * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
 *
 * await using devnet = new EvrmoreDevnet({ zmq: false });
 * await devnet.start();
 * await devnet.mine(1);
 * const response = await fetch(devnet.rpcUrl, {
 *   method: "POST",
 *   headers: {
 *     authorization: `Basic ${btoa(`${devnet.rpcUser}:${devnet.rpcPassword}`)}`,
 *   },
 *   body: JSON.stringify({ id: 1, method: "getblockcount", params: [] }),
 * });
 * console.log(await response.json()); // { result: 121, error: null, id: 1 }
 * ```
 *
 * @module
 */

import type { Network } from "../network.ts";
export type { Network } from "../network.ts";
import { encodeAddress } from "../encoding/mod.ts";
import { COIN, DevnetChain } from "./_chain.ts";
import { dispatch } from "./_rpc_methods.ts";
import { DevnetRpcServer, RpcMethodError } from "./_rpc_server.ts";
import { RpcError } from "../errors.ts";
import { ZmqPublisher } from "./_zmq_publisher.ts";
import { checkOptions } from "../_options.ts";

/**
 * Options of {@linkcode EvrmoreDevnet}.
 *
 * @example
 * ```ts
 * import { EvrmoreDevnet, type EvrmoreDevnetOptions } from "@evrmore/rpc/devnet";
 *
 * const options: EvrmoreDevnetOptions = { rpcUser: "alice", rpcPassword: "secret", zmq: false };
 * await using devnet = new EvrmoreDevnet(options);
 * await devnet.start();
 * console.log(devnet.rpcUrl.startsWith("http://127.0.0.1:")); // true
 * ```
 */
export interface EvrmoreDevnetOptions {
  /** JSON-RPC port on 127.0.0.1 (default 0: any free port). */
  rpcPort?: number;
  /** ZMQ publisher port on 127.0.0.1 (default 0: any free port). */
  zmqPort?: number;
  /** RPC user name (default `"devnet"`). */
  rpcUser?: string;
  /** RPC password (default: 32 random hex digits). */
  rpcPassword?: string;
  /** Blocks mined at start, before ZMQ is bound, so the wallet has mature coins (default 120). */
  initialBlocks?: number;
  /** Whether to run the ZMQ publisher (default true; needs `--allow-ffi`). */
  zmq?: boolean;
  /** Delay before the 401 answer to wrong credentials (default 250 ms, like the node). */
  authDelayMs?: number;
  /**
   * Requests that may wait beyond the busy workers, like `-rpcworkqueue`
   * (default 16); more concurrent requests get HTTP 500 `Work queue depth exceeded`.
   */
  rpcWorkQueue?: number;
  /** Requests served at once, like `-rpcthreads` (default 4). */
  rpcThreads?: number;
}

/**
 * Options of {@linkcode EvrmoreDevnet.mine}.
 *
 * @example
 * ```ts
 * import { type DevnetMineOptions, EvrmoreDevnet } from "@evrmore/rpc/devnet";
 *
 * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 0 });
 * await devnet.start();
 * const options: DevnetMineOptions = { address: "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe" };
 * console.log((await devnet.mine(1, options)).length); // 1
 * ```
 */
export interface DevnetMineOptions {
  /** Pay the coinbase to this address (like `generatetoaddress`); default a new wallet key (like `generate`). */
  address?: string;
  /** Stops mining between blocks when aborted (the promise rejects with the reason). */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode EvrmoreDevnet.issueAsset}.
 *
 * @example
 * ```ts
 * import { type DevnetIssueOptions, EvrmoreDevnet } from "@evrmore/rpc/devnet";
 *
 * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
 * await devnet.start();
 * const options: DevnetIssueOptions = { units: 2, reissuable: false };
 * console.log((await devnet.issueAsset("DOCASSET", 100, options)).length); // 64
 * ```
 */
export interface DevnetIssueOptions {
  /** Decimal places 0..8 (default 0). */
  units?: number;
  /** Whether more can be issued later (default true; false for unique assets). */
  reissuable?: boolean;
  /** IPFS hash (`Qm...`) or 64-hex txid to attach. */
  ipfsHash?: string;
  /** Receiving address (default: a new wallet address). */
  toAddress?: string;
}

/**
 * Options of {@linkcode EvrmoreDevnet.transferAsset}.
 *
 * @example
 * ```ts
 * import type { DevnetTransferOptions } from "@evrmore/rpc/devnet";
 *
 * const options: DevnetTransferOptions = {
 *   toAddress: "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe",
 *   message: "QmTqu3Lk3gmTsQVtjU7rYYM37EAW4xNmbuEAp2Mjr4AV7E",
 *   expireTime: 1827167348,
 * };
 * console.log(options.expireTime); // 1827167348
 * ```
 */
export interface DevnetTransferOptions {
  /** Receiving address (default: a new wallet address). */
  toAddress?: string;
  /** IPFS hash (`Qm...`) or 64-hex txid message. */
  message?: string;
  /** Message expiry (Unix time). */
  expireTime?: number;
}

/**
 * Options of {@linkcode EvrmoreDevnet.reissueAsset}.
 *
 * @example
 * ```ts
 * import type { DevnetReissueOptions } from "@evrmore/rpc/devnet";
 *
 * const options: DevnetReissueOptions = { reissuable: false, units: 4 };
 * console.log(options.units); // 4
 * ```
 */
export interface DevnetReissueOptions {
  /** Whether the asset stays reissuable (default true). */
  reissuable?: boolean;
  /** New decimal places (default unchanged). */
  units?: number;
  /** New IPFS hash (`Qm...`) or 64-hex txid. */
  ipfsHash?: string;
  /** Receiving address (default: a new wallet address). */
  toAddress?: string;
}

/**
 * Options of {@linkcode EvrmoreDevnet.sendMessage}.
 *
 * @example
 * ```ts
 * import type { DevnetMessageOptions } from "@evrmore/rpc/devnet";
 *
 * const options: DevnetMessageOptions = { expireTime: 1827167348 };
 * console.log(options.expireTime); // 1827167348
 * ```
 */
export interface DevnetMessageOptions {
  /** Message expiry (Unix time, default none). */
  expireTime?: number;
}

/**
 * Options of {@linkcode EvrmoreDevnet.startAutoMine}.
 *
 * @example
 * ```ts
 * import type { DevnetAutoMineOptions } from "@evrmore/rpc/devnet";
 *
 * const options: DevnetAutoMineOptions = { intervalMs: 3000 };
 * console.log(options.intervalMs); // 3000
 * ```
 */
export interface DevnetAutoMineOptions {
  /** Time between blocks (default 5000 ms); transactions arrive in between. */
  intervalMs?: number;
}

function toSat(value: number, what: string): bigint {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot use ${what} ${value}: expected a positive number`,
    );
  }
  const [whole = "0", frac = ""] = value.toFixed(8).split(".");
  return BigInt(whole) * COIN + BigInt(frac.padEnd(8, "0"));
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * An in-process Evrmore regtest node: JSON-RPC and ZMQ like `evrmored`,
 * driven by RPC calls or by the scripting methods of this class.
 *
 * @example Mine, pay and issue an asset
 * ```ts
 * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
 *
 * await using devnet = new EvrmoreDevnet({ rpcPassword: "secret", zmq: false });
 * await devnet.start();
 * const txid = await devnet.sendPayment(undefined, 1.5);
 * await devnet.issueAsset("MYASSET", 1000, { units: 2 });
 * const [hash] = await devnet.mine(1);
 * console.log(txid.length, hash === devnet.tip); // 64 true
 * ```
 */
export class EvrmoreDevnet {
  #options: EvrmoreDevnetOptions;
  #user: string;
  #password: string;
  #chain: DevnetChain | undefined;
  #rpc: DevnetRpcServer;
  #zmq: ZmqPublisher | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #starting: Promise<void> | undefined;
  #stopped = false;
  #autoTimer: ReturnType<typeof setTimeout> | undefined;
  #autoStep = 0;
  #startedAt = 0;
  #autoGeneration = 0;
  #autoAssets: string[] = [];

  /**
   * Creates a devnet (call {@linkcode start} to run it).
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * const devnet = new EvrmoreDevnet({ rpcUser: "alice", rpcPassword: "secret" });
   * console.log(devnet.network, devnet.rpcUser); // "regtest" "alice"
   * ```
   *
   * @param options Ports, credentials and start-up chain length.
   */
  constructor(options: EvrmoreDevnetOptions = {}) {
    checkOptions("EvrmoreDevnet", options, DEVNET_OPTION_KEYS);
    for (const key of ["rpcPort", "zmqPort"] as const) {
      const port = options[key];
      if (
        port !== undefined &&
        (!Number.isInteger(port) || port < 0 || port > 65535)
      ) {
        throw new RangeError(`Cannot use ${key} ${port}: expected 0..65535`);
      }
    }
    const blocks = options.initialBlocks;
    if (blocks !== undefined && (!Number.isInteger(blocks) || blocks < 0)) {
      throw new RangeError(
        `Cannot use initialBlocks ${blocks}: expected a non-negative integer`,
      );
    }
    this.#options = { ...options };
    this.#user = options.rpcUser ?? "devnet";
    this.#password = options.rpcPassword ?? randomHex(16);
    this.#rpc = new DevnetRpcServer({
      user: this.#user,
      password: this.#password,
      authDelayMs: options.authDelayMs ?? 250,
      workQueue: options.rpcWorkQueue ?? 16,
      threads: options.rpcThreads ?? 4,
      dispatch: (call) =>
        dispatch({
          chain: this.#requireChain(),
          startedAt: this.#startedAt,
          run: (operation) => this.#run(operation),
        }, call),
    });
  }

  /** Always `"regtest"`. */
  get network(): Network {
    return "regtest";
  }

  /** `http://127.0.0.1:<port>/` of the JSON-RPC server (port 0 before start). */
  get rpcUrl(): string {
    return `http://127.0.0.1:${this.#rpc.port}/`;
  }

  /** The RPC user name. */
  get rpcUser(): string {
    return this.#user;
  }

  /** The RPC password. */
  get rpcPassword(): string {
    return this.#password;
  }

  /** `tcp://127.0.0.1:<port>` of the ZMQ publisher (port 0 before start, or with `zmq: false`). */
  get zmqAddress(): string {
    return `tcp://127.0.0.1:${this.#zmq?.port ?? 0}`;
  }

  /** Height of the chain tip. */
  get height(): number {
    return this.#chain?.height ?? 0;
  }

  /** Hash of the chain tip. */
  get tip(): string {
    return this.#requireChain().tip.hash;
  }

  #requireChain(): DevnetChain {
    if (!this.#chain) {
      throw new Error("Cannot use devnet: not started");
    }
    return this.#chain;
  }

  /** Runs a scripting operation; node errors become {@linkcode RpcError}s. */
  #script<T>(method: string, operation: () => Promise<T>): Promise<T> {
    return this.#run(operation).catch((error: unknown) => {
      if (error instanceof RpcMethodError) {
        throw new RpcError(`Cannot ${method}: ${error.message}`, {
          code: error.code,
          method,
          cause: error,
        });
      }
      throw error;
    });
  }

  #run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }

  /**
   * Builds the chain (genesis and `initialBlocks`), then binds the RPC
   * server and the ZMQ publisher.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * const devnet = new EvrmoreDevnet({ zmq: false });
   * await devnet.start();
   * console.log(devnet.rpcUrl, devnet.zmqAddress);
   * await devnet.stop();
   * ```
   */
  start(): Promise<void> {
    if (this.#stopped) {
      return Promise.reject(new Error("Cannot start devnet: it was stopped"));
    }
    this.#starting ??= this.#run(() => this.#start());
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#startedAt = Date.now();
    const chain = new DevnetChain({
      publish: (topic, body) =>
        this.#zmq?.publish(topic, body) ?? Promise.resolve(),
    });
    const initial = this.#options.initialBlocks ?? 120;
    // Back-dated one second apart, so the tip's time is "now" when we start.
    const first = Math.floor(Date.now() / 1000) - initial;
    for (let i = 0; i < initial; i++) {
      await chain.mineBlock(undefined, false, first + i);
    }
    this.#chain = chain;
    await this.#rpc.start(this.#options.rpcPort ?? 0);
    if (this.#options.zmq !== false) {
      this.#zmq = new ZmqPublisher();
      try {
        await this.#zmq.start(this.#options.zmqPort ?? 0);
      } catch (error) {
        await this.#rpc.stop();
        throw error;
      }
    }
  }

  /**
   * Stops auto-mining, waits for running operations, and closes the RPC
   * server and the ZMQ socket. Idempotent.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * const devnet = new EvrmoreDevnet({ zmq: false });
   * await devnet.start();
   * await devnet.stop();
   * await devnet.stop(); // no-op
   * ```
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.stopAutoMine();
    await this.#queue;
    await this.#rpc.stop();
    await this.#zmq?.stop();
  }

  /** Same as {@linkcode stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * Mines blocks with every mempool transaction.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * const hashes = await devnet.mine(3);
   * console.log(hashes.length); // 3
   * ```
   *
   * @param count Number of blocks (default 1).
   * @param options Coinbase address.
   * @returns The new block hashes.
   */
  async mine(count = 1, options: DevnetMineOptions = {}): Promise<string[]> {
    if (!Number.isInteger(count) || count < 0 || count > 10_000) {
      throw new RangeError(`Cannot mine ${count} blocks: expected 0..10000`);
    }
    options.signal?.throwIfAborted();
    const chain = this.#requireChain();
    const script = options.address === undefined
      ? undefined
      : this.#scriptOrThrow(chain, options.address);
    return await this.#script("generate", async () => {
      const hashes: string[] = [];
      for (let i = 0; i < count; i++) {
        options.signal?.throwIfAborted();
        hashes.push(await chain.mineBlock(script));
      }
      return hashes;
    });
  }

  #scriptOrThrow(chain: DevnetChain, address: string): Uint8Array {
    try {
      return chain.scriptOf(address);
    } catch (cause) {
      throw new TypeError(
        `Cannot use address ${JSON.stringify(address)}: invalid`,
        {
          cause,
        },
      );
    }
  }

  /**
   * A new wallet address (like `getnewaddress`).
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * console.log((await devnet.newAddress()).length); // 34
   * ```
   *
   * @returns The address.
   */
  async newAddress(): Promise<string> {
    const chain = this.#requireChain();
    return await this.#script(
      "getnewaddress",
      () => Promise.resolve(chain.newAddress()),
    );
  }

  /**
   * Sends EVR from the wallet (like `sendtoaddress`); the transaction enters
   * the mempool and is published on ZMQ.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * const txid = await devnet.sendPayment("mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe", 2);
   * console.log(txid.length); // 64
   * ```
   *
   * @param address Receiving address (default: a new wallet address).
   * @param amount Amount in EVR.
   * @returns The txid.
   */
  async sendPayment(
    address: string | undefined,
    amount: number,
  ): Promise<string> {
    const chain = this.#requireChain();
    const sat = toSat(amount, "amount");
    if (address !== undefined) this.#scriptOrThrow(chain, address);
    return await this.#script(
      "sendtoaddress",
      () => chain.sendToAddress(address ?? chain.newAddress(), sat),
    );
  }

  /**
   * Issues an asset (like `issue`): a root `NAME` (with owner token
   * `NAME!`), a sub-asset `ROOT/SUB`, a unique `ROOT#tag` or a message
   * channel `ROOT~CHANNEL`.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * const txid = await devnet.issueAsset("MYASSET", 1000, { units: 2 });
   * console.log(txid.length); // 64
   * ```
   *
   * @param name Asset name.
   * @param amount Amount in asset units.
   * @param options Units, reissuable flag, IPFS hash, receiver.
   * @returns The txid.
   */
  async issueAsset(
    name: string,
    amount: number,
    options: DevnetIssueOptions = {},
  ): Promise<string> {
    const chain = this.#requireChain();
    const sat = toSat(amount, "amount");
    const special = name.includes("#") || name.includes("~");
    return await this.#script("issue", () =>
      chain.issue({
        name,
        amount: sat,
        units: options.units ?? 0,
        reissuable: options.reissuable ?? !special,
        ...(options.ipfsHash ? { ipfsHash: options.ipfsHash } : {}),
        ...(options.toAddress ? { toAddress: options.toAddress } : {}),
      }));
  }

  /**
   * Transfers an asset from the wallet (like `transfer`), optionally with a
   * message.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * await devnet.issueAsset("MYASSET", 1000);
   * await devnet.mine(1);
   * await devnet.transferAsset("MYASSET", 10, {
   *   toAddress: "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe",
   * });
   * ```
   *
   * @param name Asset name.
   * @param amount Amount in asset units.
   * @param options Receiver, message and expiry.
   * @returns The txid.
   */
  async transferAsset(
    name: string,
    amount: number,
    options: DevnetTransferOptions = {},
  ): Promise<string> {
    const chain = this.#requireChain();
    const sat = toSat(amount, "amount");
    return await this.#script("transfer", () =>
      chain.transfer({
        name,
        amount: sat,
        toAddress: options.toAddress ?? chain.newAddress(),
        ...(options.message ? { message: options.message } : {}),
        ...(options.expireTime
          ? { expireTime: BigInt(options.expireTime) }
          : {}),
      }));
  }

  /**
   * Issues more of a reissuable asset the wallet owns (like `reissue`).
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * await devnet.issueAsset("MYASSET", 1000);
   * await devnet.mine(1);
   * await devnet.reissueAsset("MYASSET", 500);
   * ```
   *
   * @param name Asset name.
   * @param amount Additional amount in asset units.
   * @param options Reissuable flag, units, IPFS hash, receiver.
   * @returns The txid.
   */
  async reissueAsset(
    name: string,
    amount: number,
    options: DevnetReissueOptions = {},
  ): Promise<string> {
    const chain = this.#requireChain();
    const sat = toSat(amount, "amount");
    return await this.#script("reissue", () =>
      chain.reissue({
        name,
        amount: sat,
        ...(options.reissuable !== undefined
          ? { reissuable: options.reissuable }
          : {}),
        ...(options.units !== undefined ? { units: options.units } : {}),
        ...(options.ipfsHash ? { ipfsHash: options.ipfsHash } : {}),
        ...(options.toAddress ? { toAddress: options.toAddress } : {}),
      }));
  }

  /**
   * Sends a message on a channel the wallet owns (`NAME!` or `NAME~CHANNEL`,
   * like `sendmessage`); when its block connects, ZMQ publishes `rawmessage`.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * await devnet.issueAsset("MYASSET", 1000);
   * await devnet.mine(1);
   * await devnet.sendMessage(
   *   "MYASSET!",
   *   "QmTqu3Lk3gmTsQVtjU7rYYM37EAW4xNmbuEAp2Mjr4AV7E",
   * );
   * ```
   *
   * @param channel Owner token or channel asset name.
   * @param ipfsHash IPFS hash (`Qm...`) or 64-hex txid.
   * @param options Expiry.
   * @returns The txid.
   */
  async sendMessage(
    channel: string,
    ipfsHash: string,
    options: DevnetMessageOptions = {},
  ): Promise<string> {
    const chain = this.#requireChain();
    return await this.#script(
      "sendmessage",
      () =>
        chain.sendMessage(channel, ipfsHash, BigInt(options.expireTime ?? 0)),
    );
  }

  /**
   * Reorganizes the chain: disconnects the last `depth` blocks (their
   * transactions return to the mempool and are published again), then mines
   * `depth + 1` replacement blocks, published like any new block.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * const replacement = await devnet.reorg(2);
   * console.log(replacement.length); // 3
   * ```
   *
   * @param depth Blocks to disconnect.
   * @returns Hashes of the replacement blocks.
   */
  async reorg(depth: number): Promise<string[]> {
    const chain = this.#requireChain();
    if (!Number.isInteger(depth) || depth < 1 || depth > chain.height) {
      throw new RangeError(
        `Cannot reorganize ${depth} blocks: expected 1..${chain.height}`,
      );
    }
    return await this.#run(() => chain.reorg(depth));
  }

  /**
   * Pauses ZMQ: messages are not sent, but sequence numbers still advance,
   * so subscribers see a gap after {@linkcode resumeZmq} (like a network
   * outage). Paused messages are dropped, not held.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * devnet.pauseZmq();
   * await devnet.mine(1); // not seen by subscribers
   * devnet.resumeZmq();
   * ```
   */
  pauseZmq(): void {
    this.#zmq?.pause();
  }

  /**
   * Resumes ZMQ after {@linkcode pauseZmq}.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * devnet.pauseZmq();
   * devnet.resumeZmq();
   * ```
   */
  resumeZmq(): void {
    this.#zmq?.resume();
  }

  /**
   * Drops the next `count` ZMQ messages (any topic); sequence numbers still
   * advance, so subscribers see a gap.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * devnet.dropZmq(1); // the next message is lost: a sequence gap
   * ```
   *
   * @param count Messages to drop.
   */
  dropZmq(count: number): void {
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(
        `Cannot drop ${count} messages: expected a non-negative integer`,
      );
    }
    this.#zmq?.drop(count);
  }

  /**
   * Closes and rebinds the ZMQ socket on the same port; sequence numbers
   * restart at 0, as when the node restarts.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * await devnet.restartZmq(); // no-op without ZMQ
   * ```
   */
  async restartZmq(): Promise<void> {
    const zmq = this.#zmq;
    if (!zmq) return;
    await this.#run(() => zmq.restart());
  }

  /**
   * Stops the RPC server (clients get connection errors) until
   * {@linkcode startRpc}.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * await devnet.stopRpc();
   * await devnet.startRpc();
   * ```
   */
  async stopRpc(): Promise<void> {
    await this.#rpc.stop();
  }

  /**
   * Starts the RPC server again on the same port.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * await devnet.stopRpc();
   * await devnet.startRpc();
   * ```
   */
  async startRpc(): Promise<void> {
    if (this.#stopped || this.#rpc.listening) return;
    await this.#rpc.start(this.#rpc.port);
  }

  /**
   * Mines a block every `intervalMs`, with a mix of payments, asset issues,
   * transfers, reissues and messages arriving in between (for the demo).
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * devnet.startAutoMine({ intervalMs: 3000 });
   * devnet.stopAutoMine();
   * ```
   *
   * @param options Block interval.
   */
  startAutoMine(options: DevnetAutoMineOptions = {}): void {
    const interval = options.intervalMs ?? 5000;
    if (!Number.isFinite(interval) || interval < 40) {
      throw new RangeError(
        `Cannot auto-mine every ${interval} ms: expected at least 40`,
      );
    }
    this.#requireChain();
    this.stopAutoMine();
    const generation = ++this.#autoGeneration;
    const tick = () => {
      this.#autoTimer = setTimeout(() => {
        this.#run(() =>
          this.#autoStep % 4 === 3
            ? this.#autoMineBlock()
            : this.#autoOperation()
        )
          .catch(() => {})
          .finally(() => {
            this.#autoStep++;
            if (generation === this.#autoGeneration && !this.#stopped) tick();
          });
      }, interval / 4);
    };
    tick();
  }

  /**
   * Stops {@linkcode startAutoMine}.
   *
   * @example
   * ```ts
   * import { EvrmoreDevnet } from "@evrmore/rpc/devnet";
   *
   * await using devnet = new EvrmoreDevnet({ zmq: false, initialBlocks: 101 });
   * await devnet.start();
   * devnet.startAutoMine();
   * devnet.stopAutoMine();
   * ```
   */
  stopAutoMine(): void {
    this.#autoGeneration++;
    if (this.#autoTimer !== undefined) clearTimeout(this.#autoTimer);
    this.#autoTimer = undefined;
  }

  async #autoMineBlock(): Promise<void> {
    await this.#chain!.mineBlock();
  }

  async #autoOperation(): Promise<void> {
    const chain = this.#chain!;
    const roll = Math.random();
    const owned = this.#autoAssets.filter((n) => chain.assetBalance(n) > 0n);
    const external = () =>
      encodeAddress(crypto.getRandomValues(new Uint8Array(20)), {
        network: "regtest",
      });
    if (roll < 0.5 || owned.length === 0 && roll < 0.8) {
      const sat = BigInt(1 + Math.floor(Math.random() * 5000)) * COIN / 100n;
      await chain.sendToAddress(external(), sat);
    } else if (roll < 0.72 && owned.length > 0) {
      const name = owned[Math.floor(Math.random() * owned.length)]!;
      const units = chain.asset(name)?.units ?? 0;
      const step = 10n ** BigInt(8 - units);
      await chain.transfer({
        name,
        amount: step * BigInt(1 + Math.floor(Math.random() * 10)),
        toAddress: Math.random() < 0.5 ? external() : chain.newAddress(),
      });
    } else if (roll < 0.8 && owned.length > 0) {
      const name = owned[Math.floor(Math.random() * owned.length)]!;
      if (
        chain.assetBalance(`${name}!`) > 0n && chain.asset(name)?.reissuable
      ) {
        await chain.reissue({ name, amount: 100n * COIN });
      }
    } else if (roll < 0.92 && owned.length > 0) {
      const name = owned[Math.floor(Math.random() * owned.length)]!;
      if (chain.assetBalance(`${name}!`) > 0n) {
        await chain.sendMessage(
          `${name}!`,
          "QmTqu3Lk3gmTsQVtjU7rYYM37EAW4xNmbuEAp2Mjr4AV7E",
        );
      }
    } else {
      const name = `DEMO${randomHex(3).toUpperCase()}`;
      await chain.issue({
        name,
        amount: 1_000_000n * COIN,
        units: 2,
        reissuable: true,
      });
      this.#autoAssets.push(name);
    }
  }
}

/** The options the constructor reads (unknown ones throw). */
const DEVNET_OPTION_KEYS: readonly string[] = [
  "rpcPort",
  "zmqPort",
  "rpcUser",
  "rpcPassword",
  "initialBlocks",
  "zmq",
  "authDelayMs",
  "rpcWorkQueue",
  "rpcThreads",
];
