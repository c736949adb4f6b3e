/**
 * The chain feed of `EvrmoreWebSocketServer`: the node's ZMQ notifications
 * (and RPC, where ZMQ falls short) turned into ordered, de-duplicated,
 * continuity-checked events: each transaction once, blocks in chain order
 * with the missed ones fetched, reorgs announced, mempool figures when they
 * change.
 *
 * Internal.
 *
 * @module
 */

import { EvrmoreError } from "../errors.ts";
import type { DecodedTransaction } from "../encoding/types.ts";
import { decodeTransaction } from "../encoding/_decode.ts";
import type { ZMQNotification, ZMQTopic } from "../zmq/types.ts";
import type { Network } from "../network.ts";
import { BlockContinuity, type ReplayPlan } from "./_continuity.ts";
import {
  assetOutputs,
  blockData,
  blockDataFromRpc,
  mempoolData,
  outputAddresses,
  transactionData,
} from "./_event_data.ts";
import type { ServerCounters } from "./_server_metrics.ts";
import type {
  WebSocketBroadcastMatch,
  WebSocketServerRpc,
  WebSocketServerZmq,
} from "./_server_options.ts";
import type {
  AssetMessage,
  BlockData,
  BlockMessage,
  MempoolData,
  MempoolMessage,
  ReorgMessage,
  TransactionMessage,
} from "./types.ts";

const SEEN_BLOCKS = 1000;

/** What the feed needs of its server. */
export interface FeedHost {
  /** Announces one block (the server's overridable `handleBlock`). */
  handleBlock(notification: ZMQNotification): Promise<void>;
  /** Announces one transaction (the server's overridable `handleTransaction`). */
  handleTransaction(notification: ZMQNotification): Promise<void>;
  /** Publishes one event (the server's overridable `broadcast`). */
  broadcast(
    topic: string,
    message: object,
    match?: WebSocketBroadcastMatch,
  ): Promise<void>;
  /** Whether some client follows a topic (unfiltered subscribers). */
  subscribers(topic: string): number;
  /** Whether some client filters a topic by address / at all. */
  filters(topic: string, kind: "address" | "any"): boolean;
  /** Runs a task the server waits for when it stops. */
  track(task: Promise<unknown>): void;
  /** Reports an error that reaches no client. */
  report(error: unknown): void;
}

/** Most transactions fetched to reconcile the mempool after a resync. */
const MAX_RECONCILE = 5000;

/** Settings of the {@linkcode ChainFeed}. */
export interface FeedSettings {
  mempoolInterval: number;
  seenLimit: number;
  hashBlockDelay: number;
  maxBackfill: number;
  maxReplay: number;
  /** The last block a previous run announced: catch up from it on start. */
  resumeAfter: BlockData | undefined;
}

/** Node → events. One per server; `start()`/`stop()` follow the server's. */
export class ChainFeed {
  #rpc: WebSocketServerRpc;
  #zmq: WebSocketServerZmq;
  #host: FeedHost;
  #settings: FeedSettings;
  #counters: ServerCounters;
  #continuity: BlockContinuity;
  #abort = new AbortController();
  #running = false;
  #unsubscribers: Array<() => void> = [];
  #seenTxs = new Map<string, true>();
  #seenBlocks = new Map<string, true>();
  #pendingHashBlocks = new Map<string, ReturnType<typeof setTimeout>>();
  #mempoolTimer: ReturnType<typeof setTimeout> | undefined;
  #mempoolRunning = false;
  #mempoolDirty = false;
  #lastMempoolRun = 0;
  #lastMempool: MempoolData | undefined;
  #lastBlock: BlockData | null = null;
  #zmqState: "connected" | "disconnected" | "unknown" = "unknown";
  #reconciling = false;
  #reconcileAgain = false;
  /** Retrying a failed reconciliation: the timer, the next wait, reported. */
  #reconcileTimer: ReturnType<typeof setTimeout> | undefined;
  #reconcileDelay = 0;
  #reconcileFailing = false;

  constructor(
    clients: { rpc: WebSocketServerRpc; zmq: WebSocketServerZmq },
    host: FeedHost,
    settings: FeedSettings,
    counters: ServerCounters,
  ) {
    this.#rpc = clients.rpc;
    this.#zmq = clients.zmq;
    this.#host = host;
    this.#settings = settings;
    this.#counters = counters;
    this.#continuity = this.#newContinuity();
  }

  /** The last block announced. */
  get lastBlock(): BlockData | null {
    return this.#lastBlock;
  }

  /** What the ZMQ client last reported of its connection. */
  get zmqState(): "connected" | "disconnected" | "unknown" {
    return this.#zmqState;
  }

  /** Aborted when the feed stops: for the node calls made on its behalf. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Listens to the ZMQ client (before it starts, so nothing is missed). */
  start(): void {
    this.#abort = new AbortController();
    this.#running = true;
    this.#listen();
    const resumeAfter = this.#settings.resumeAfter;
    if (resumeAfter !== undefined && this.#continuity.tip === undefined) {
      this.#continuity.resumeAfter(resumeAfter);
      this.#markBlock(resumeAfter.hash);
      this.#lastBlock = resumeAfter;
      this.#scheduleSync();
    }
  }

  /** Stops listening, aborts node calls and clears the timers. */
  stop(reason: Error): void {
    this.#running = false;
    this.#unlisten();
    this.#abort.abort(reason);
    this.#continuity.stop();
    clearTimeout(this.#reconcileTimer);
    this.#reconcileTimer = undefined;
    clearTimeout(this.#mempoolTimer);
    this.#mempoolTimer = undefined;
    for (const timer of this.#pendingHashBlocks.values()) clearTimeout(timer);
    this.#pendingHashBlocks.clear();
    this.#lastMempool = undefined;
    this.#mempoolDirty = false;
  }

  /** The last unfiltered `mempool` subscriber left: the next gets fresh figures. */
  mempoolEmptied(): void {
    this.#lastMempool = undefined;
  }

  /** Runs a job in the block queue (after the blocks being announced). */
  enqueue<T>(job: () => Promise<T>): Promise<T> {
    return this.#continuity.enqueue(job);
  }

  /** The blocks to replay after a `since` cursor (call inside `enqueue`). */
  replay(since: number | string): Promise<ReplayPlan> {
    return this.#continuity.replay(since);
  }

  // -------------------------------------------------------------------------
  // Events: the bodies of the server's handleBlock/handleTransaction

  /** Announces a block: its unseen transactions, then the `block` message. */
  async announceBlock(notification: ZMQNotification): Promise<void> {
    let data: BlockData | undefined;
    const block = notification.block;
    if (block !== undefined) {
      for (const tx of block.tx) {
        if (!this.#markTx(tx.txid)) continue;
        await this.#host.handleTransaction(txNotification(tx, notification));
      }
      data = blockData(block);
    } else {
      const result = await this.#rpc.call(
        "getblock",
        [notification.hex, 1],
        { signal: this.#abort.signal, priority: "high" },
      );
      data = blockDataFromRpc(result);
      if (data === undefined) {
        throw new EvrmoreError(
          `Cannot announce block ${notification.hex}: unexpected getblock answer`,
        );
      }
    }
    this.#lastBlock = data;
    this.#counters.blocks++;
    const message: BlockMessage = { type: "block", data };
    await this.#host.broadcast("blocks", message);
  }

  /** Announces a transaction: `transaction`, then one `asset` per asset output. */
  announceTransaction(notification: ZMQNotification): Promise<void> {
    const tx = notification.transaction;
    if (tx === undefined) return Promise.resolve();
    this.#counters.transactions++;
    const host = this.#host;
    const message: TransactionMessage = {
      type: "transaction",
      data: transactionData(tx),
    };
    // Filtered subscribers are matched only when there are some.
    const pending = [
      host.filters("transactions", "address")
        ? host.broadcast("transactions", message, {
          addresses: outputAddresses(tx),
        })
        : host.broadcast("transactions", message),
    ];
    const filtered = host.filters("assets", "any");
    for (const { data, addresses } of assetOutputs(tx)) {
      const asset: AssetMessage = { type: "asset", data };
      pending.push(
        filtered
          ? host.broadcast("assets", asset, { asset: data.asset, addresses })
          : host.broadcast("assets", asset),
      );
    }
    return Promise.all(pending).then(() => {});
  }

  // -------------------------------------------------------------------------
  // ZMQ

  #listen(): void {
    const zmq = this.#zmq;
    const add = (remove: unknown) => {
      if (typeof remove === "function") {
        this.#unsubscribers.push(remove as () => void);
      }
    };
    const counters = this.#counters;
    add(zmq.on("rawtx", (n) => {
      counters.count(counters.zmq, "rawtx");
      this.#onRawTx(n);
    }));
    add(zmq.on("rawblock", (n) => {
      counters.count(counters.zmq, "rawblock");
      this.#onRawBlock(n);
    }));
    add(zmq.on("hashblock", (n) => {
      counters.count(counters.zmq, "hashblock");
      this.#onHashBlock(n);
    }));
    add(zmq.on("gap", (gap) => {
      this.#scheduleMempool();
      if (isBlockTopic(gap?.topic)) this.#scheduleSync();
    }));
    add(zmq.on("restart", (restart) => {
      if (isBlockTopic(restart?.topic)) this.#scheduleSync();
    }));
    add(zmq.on("resync", (event) => {
      if (event?.topics?.includes("rawtx")) this.#scheduleReconcile();
    }));
    add(zmq.on("connect", () => {
      this.#zmqState = "connected";
      this.#scheduleSync();
    }));
    add(zmq.on("disconnect", () => {
      this.#zmqState = "disconnected";
    }));
    add(zmq.on("error", (error) => this.#host.report(error)));
  }

  #unlisten(): void {
    for (const remove of this.#unsubscribers.splice(0)) {
      try {
        remove();
      } catch (cause) {
        this.#host.report(cause);
      }
    }
  }

  #onRawTx(notification: ZMQNotification): void {
    const tx = notification.transaction;
    if (tx === undefined) return; // Undecodable: the ZMQ client reports it.
    if (!this.#markTx(tx.txid)) return;
    this.#host.track(this.#host.handleTransaction(notification));
    this.#scheduleMempool();
  }

  #onRawBlock(notification: ZMQNotification): void {
    const block = notification.block;
    if (block === undefined) return; // Undecodable: hashblock covers it.
    this.#clearPending(block.hash);
    if (!this.#markBlock(block.hash)) return;
    this.#queueBlock(notification);
    this.#scheduleMempool();
  }

  #onHashBlock(notification: ZMQNotification): void {
    const hash = notification.hex;
    if (this.#seenBlocks.has(hash) || this.#pendingHashBlocks.has(hash)) return;
    if (this.#abort.signal.aborted) return;
    const timer = setTimeout(() => {
      this.#pendingHashBlocks.delete(hash);
      if (!this.#markBlock(hash)) return;
      this.#queueBlock(notification);
      this.#scheduleMempool();
    }, this.#settings.hashBlockDelay);
    this.#pendingHashBlocks.set(hash, timer);
  }

  #clearPending(hash: string): void {
    const pending = this.#pendingHashBlocks.get(hash);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.#pendingHashBlocks.delete(hash);
    }
  }

  #markTx(txid: string): boolean {
    const seen = this.#seenTxs;
    if (seen.has(txid)) {
      seen.delete(txid);
      seen.set(txid, true);
      return false;
    }
    seen.set(txid, true);
    if (seen.size > this.#settings.seenLimit) {
      const oldest = seen.keys().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
    return true;
  }

  #markBlock(hash: string): boolean {
    if (this.#seenBlocks.has(hash)) return false;
    this.#seenBlocks.set(hash, true);
    if (this.#seenBlocks.size > SEEN_BLOCKS) {
      const oldest = this.#seenBlocks.keys().next().value;
      if (oldest !== undefined) this.#seenBlocks.delete(oldest);
    }
    return true;
  }

  // -------------------------------------------------------------------------
  // Block continuity: one block job at a time, holes filled from RPC

  #newContinuity(): BlockContinuity {
    const { maxBackfill, maxReplay } = this.#settings;
    return new BlockContinuity({
      call: (method, params) =>
        this.#rpc.call(method, params, {
          signal: this.#abort.signal,
          priority: "high",
        }),
      network: () => this.#network(),
      announce: async (notification) => {
        const hash = notification.block?.hash ?? notification.hex;
        this.#clearPending(hash);
        this.#markBlock(hash);
        await this.#host.handleBlock(notification);
        // announceBlock() set #lastBlock, unless an override skipped it.
        if (this.#lastBlock?.hash === hash) return this.#lastBlock;
        return notification.block === undefined
          ? undefined
          : blockData(notification.block);
      },
      reorg: (message: ReorgMessage) => this.#host.broadcast("blocks", message),
      report: (cause) => this.#host.report(cause),
      aborted: () => this.#abort.signal.aborted,
      track: (task) => this.#host.track(task),
    }, {
      maxBackfill,
      maxReplay,
      window: Math.max(SEEN_BLOCKS, Math.min(maxReplay, 100000)),
    });
  }

  #queueBlock(notification: ZMQNotification): void {
    this.#host.track(
      this.#continuity.enqueue(() => this.#continuity.connect(notification)),
    );
  }

  #scheduleSync(): void {
    if (this.#abort.signal.aborted || !this.#running) return;
    this.#host.track(this.#continuity.scheduleSync());
  }

  // -------------------------------------------------------------------------
  // Mempool reconciliation: what ZMQ may have missed (slow joiner, restarts)

  /** Reconciles once, soon; one at a time (a request meanwhile runs after). */
  #scheduleReconcile(): void {
    if (this.#abort.signal.aborted || !this.#running) return;
    if (this.#reconciling) {
      this.#reconcileAgain = true;
      return;
    }
    this.#reconciling = true;
    this.#host.track(
      this.#reconcile().finally(() => {
        this.#reconciling = false;
        if (this.#reconcileAgain) {
          this.#reconcileAgain = false;
          this.#scheduleReconcile();
        }
      }),
    );
  }

  /**
   * Compares the node's mempool (`getrawmempool`) with the transactions
   * announced, and announces the missing ones (`getrawtransaction`,
   * decoded locally), each once.
   */
  async #reconcile(): Promise<void> {
    const options = { signal: this.#abort.signal, priority: "high" } as const;
    let txids: unknown;
    try {
      txids = await this.#rpc.call("getrawmempool", [], options);
    } catch (cause) {
      if (!this.#abort.signal.aborted) this.#retryReconcile(cause);
      return;
    }
    this.#reconcileFailing = false;
    this.#reconcileDelay = 0;
    if (!Array.isArray(txids)) return;
    const missing = txids.filter((txid): txid is string =>
      typeof txid === "string" && !this.#seenTxs.has(txid)
    ).slice(0, MAX_RECONCILE);
    const network = this.#network() ?? "main";
    for (const txid of missing) {
      if (this.#abort.signal.aborted) return;
      let hex: unknown;
      try {
        hex = await this.#rpc.call("getrawtransaction", [txid, 0], options);
      } catch {
        continue; // Mined or evicted meanwhile: the block covers it.
      }
      if (typeof hex !== "string" || !this.#markTx(txid)) continue;
      let transaction;
      try {
        transaction = decodeTransaction(hex, { network });
      } catch (cause) {
        this.#host.report(cause);
        continue;
      }
      await this.#host.handleTransaction({
        topic: "rawtx",
        body: hexToBytes(hex),
        hex,
        sequence: -1,
        receivedAt: Date.now(),
        transaction,
      });
    }
    if (missing.length > 0) this.#scheduleMempool();
  }

  /** The node did not answer: reconcile later (growing wait), reported once. */
  #retryReconcile(cause: unknown): void {
    if (!this.#reconcileFailing) {
      this.#reconcileFailing = true;
      this.#host.report(
        new EvrmoreError(
          `Cannot reconcile the mempool: ${
            cause instanceof Error ? cause.message : String(cause)
          }; trying again when the node answers`,
          { cause },
        ),
      );
    }
    if (this.#reconcileTimer !== undefined) return;
    this.#reconcileDelay = Math.min(
      30000,
      Math.max(500, this.#reconcileDelay * 2),
    );
    this.#reconcileTimer = setTimeout(() => {
      this.#reconcileTimer = undefined;
      this.#scheduleReconcile();
    }, this.#reconcileDelay);
  }

  #network(): Network | undefined {
    const network = (this.#zmq as { network?: unknown }).network;
    return network === "main" || network === "test" || network === "regtest"
      ? network
      : undefined;
  }

  // -------------------------------------------------------------------------
  // Mempool figures: at most once per mempoolInterval, only when changed

  /** Asks for fresh mempool figures soon (after activity, or a subscription). */
  scheduleMempool(): void {
    this.#scheduleMempool();
  }

  #scheduleMempool(): void {
    if (this.#abort.signal.aborted || !this.#running) return;
    if (this.#host.subscribers("mempool") === 0) {
      this.#lastMempool = undefined;
      return;
    }
    this.#mempoolDirty = true;
    if (this.#mempoolTimer !== undefined || this.#mempoolRunning) return;
    const wait = Math.max(
      0,
      this.#lastMempoolRun + this.#settings.mempoolInterval - Date.now(),
    );
    this.#mempoolTimer = setTimeout(() => {
      this.#mempoolTimer = undefined;
      this.#host.track(this.#refreshMempool());
    }, wait);
  }

  async #refreshMempool(): Promise<void> {
    this.#mempoolDirty = false;
    this.#mempoolRunning = true;
    this.#lastMempoolRun = Date.now();
    try {
      const info = await this.#rpc.getmempoolinfo({
        signal: this.#abort.signal,
        priority: "high",
      });
      if (this.#abort.signal.aborted) return;
      const data = mempoolData(info);
      if (data === undefined) {
        throw new EvrmoreError(
          "Cannot announce mempool: unexpected getmempoolinfo answer",
        );
      }
      const last = this.#lastMempool;
      if (
        last !== undefined && last.size === data.size &&
        last.bytes === data.bytes && last.usage === data.usage
      ) return;
      this.#lastMempool = data;
      const message: MempoolMessage = { type: "mempool", data };
      await this.#host.broadcast("mempool", message);
    } catch (cause) {
      if (!this.#abort.signal.aborted) this.#host.report(cause);
    } finally {
      this.#mempoolRunning = false;
      if (this.#mempoolDirty) this.#scheduleMempool();
    }
  }
}

function isBlockTopic(topic: unknown): boolean {
  return topic === "hashblock" || topic === "rawblock";
}

function txNotification(
  tx: DecodedTransaction,
  block: ZMQNotification,
): ZMQNotification {
  const hex = tx.hex ?? "";
  return {
    topic: "rawtx" satisfies ZMQTopic,
    body: hexToBytes(hex),
    hex,
    sequence: block.sequence,
    receivedAt: block.receivedAt,
    transaction: tx,
  };
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return bytes;
}
