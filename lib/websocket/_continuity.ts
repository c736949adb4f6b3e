/**
 * Block continuity for `EvrmoreWebSocketServer`: the announced chain (tip
 * and a window of recent blocks by height), the serialized block queue,
 * backfill from RPC after ZMQ gaps, publisher restarts and reorgs, and the
 * replay plan of a `since` cursor.
 *
 * Internal: the server owns one and feeds it callbacks.
 *
 * @module
 */

import { EvrmoreError, RpcError } from "../errors.ts";
import { hexToBytes } from "../encoding/_bytes.ts";
import { decodeBlock } from "../encoding/_decode.ts";
import type { DecodedBlock } from "../encoding/types.ts";
import type { Network } from "../network.ts";
import type { ZMQNotification } from "../zmq/types.ts";
import { blockDataFromRpc } from "./_event_data.ts";
import type {
  BlockData,
  BlockPointer,
  ReorgMessage,
  WebSocketErrorCode,
} from "./types.ts";

/** How long a check of the node's best block serves `since` subscriptions. */
const SYNC_REUSE_MS = 1000;

/** What the continuity logic needs of its server. */
export interface ContinuityHost {
  /** Calls a node method (aborted when the server stops). */
  call(method: string, params: unknown[]): Promise<unknown>;
  /** The network to decode raw blocks with, when known. */
  network(): Network | undefined;
  /**
   * Announces one block (transactions first, then the `block` message);
   * resolves with the block data announced, when known.
   */
  announce(notification: ZMQNotification): Promise<BlockData | undefined>;
  /** Broadcasts a `reorg` message on the `blocks` topic. */
  reorg(message: ReorgMessage): Promise<void>;
  /** Reports an error that reaches no client. */
  report(error: unknown): void;
  /** Whether the server is stopping. */
  aborted(): boolean;
  /** Runs a task the server waits for when it stops. */
  track(task: Promise<unknown>): void;
}

/** Limits of {@linkcode BlockContinuity}. */
export interface ContinuityLimits {
  /** Most blocks fetched to fill one gap. */
  maxBackfill: number;
  /** Most blocks replayed for one `since` cursor. */
  maxReplay: number;
  /** Announced blocks remembered by height. */
  window: number;
  /** First wait before catching up again after the node failed, in ms (default 500). */
  retryMin?: number;
  /** Longest wait between two attempts to catch up, in ms (default 30000). */
  retryMax?: number;
}

/** What a `since` subscription gets: an error, or the messages to replay. */
export type ReplayPlan =
  | { error: WebSocketErrorCode; message: string }
  | { reorg: ReorgMessage | undefined; blocks: BlockData[] };

/** The announced chain: its tip and the last blocks by height. */
class BlockWindow {
  #byHeight = new Map<number, BlockData>();
  #heights = new Map<string, number>();
  #size: number;
  #tip: BlockData | undefined;

  constructor(size: number) {
    this.#size = size;
  }

  get tip(): BlockData | undefined {
    return this.#tip;
  }

  at(height: number): BlockData | undefined {
    return this.#byHeight.get(height);
  }

  hashAt(height: number): string | undefined {
    return this.#byHeight.get(height)?.hash;
  }

  heightOf(hash: string): number | undefined {
    return this.#heights.get(hash);
  }

  /** Records an announced block as the new tip (a lower one drops the branch above it). */
  add(data: BlockData): void {
    const tip = this.#tip;
    if (tip !== undefined) {
      for (let h = tip.height; h >= data.height; h--) this.#delete(h);
    }
    // Every height left is below data.height: heights stay in insertion
    // order, lowest first, so pruning stops at the first one kept.
    this.#byHeight.set(data.height, data);
    this.#heights.set(data.hash, data.height);
    this.#tip = data;
    if (this.#byHeight.size > this.#size) {
      for (const height of this.#byHeight.keys()) {
        if (height > data.height - this.#size) break;
        this.#delete(height);
      }
    }
  }

  #delete(height: number): void {
    const old = this.#byHeight.get(height);
    if (old === undefined) return;
    this.#byHeight.delete(height);
    if (this.#heights.get(old.hash) === height) this.#heights.delete(old.hash);
  }
}

interface HeaderInfo {
  hash: string;
  height: number;
  confirmations: number | undefined;
  previousblockhash: string | undefined;
}

/**
 * Keeps the announced blocks continuous: one block at a time, in order,
 * each once, with the blocks ZMQ missed fetched from RPC.
 */
export class BlockContinuity {
  #host: ContinuityHost;
  #limits: ContinuityLimits;
  #window: BlockWindow;
  #queue: Promise<unknown> = Promise.resolve();
  #syncQueued = false;
  #syncedAt = 0;
  /** The pending attempt to catch up after a failure, and the next wait. */
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryDelay = 0;
  /** Whether the node failed since the last successful catch-up (reported once). */
  #failing = false;

  constructor(host: ContinuityHost, limits: ContinuityLimits) {
    this.#host = host;
    this.#limits = limits;
    this.#window = new BlockWindow(Math.max(limits.window, 1));
  }

  /** The last block announced. */
  get tip(): BlockData | undefined {
    return this.#window.tip;
  }

  /**
   * Takes a block announced by a previous run as the tip, when none yet:
   * the next sync or block announces what came after it.
   */
  resumeAfter(data: BlockData): void {
    if (this.#window.tip === undefined) this.#window.add(data);
  }

  /** Runs `job` after every job queued before it (block work never interleaves). */
  enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job);
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Queues a check of the node's best block (after a ZMQ gap, restart or
   * reconnection); does nothing before the first announced block, and
   * queues at most one check at a time.
   */
  scheduleSync(): Promise<void> {
    if (this.#syncQueued || this.#window.tip === undefined) {
      return Promise.resolve();
    }
    this.#syncQueued = true;
    return this.enqueue(() => {
      this.#syncQueued = false;
      return this.#catchUp(false);
    });
  }

  /** Whether blocks may be missing: the node failed and a catch-up is pending. */
  get behind(): boolean {
    return this.#failing;
  }

  /** Cancels a pending catch-up (the server stops). */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#retryDelay = 0;
  }

  /** Syncs with the node; on failure, tries again later (see `#retry`). */
  async #catchUp(force: boolean): Promise<void> {
    if (this.#host.aborted()) return;
    try {
      await this.sync(force);
    } catch (cause) {
      this.#retry(cause);
      return;
    }
    if (this.#failing && this.#retryTimer === undefined) {
      this.#failing = false;
      this.#retryDelay = 0;
    }
  }

  /**
   * The node could not give what continuity needs (a missed block, the
   * best block): blocks may be missing. Catch up with the node's best block
   * later, with a growing wait, until it answers; no block of the active
   * chain is skipped meanwhile, and a reorg found then is announced. The
   * failure is reported once per outage.
   */
  #retry(cause: unknown): void {
    if (this.#host.aborted()) return;
    if (!this.#failing) {
      this.#failing = true;
      this.#host.report(
        new EvrmoreError(
          `Cannot keep the announced blocks continuous: ${
            cause instanceof Error ? cause.message : String(cause)
          }; catching up when the node answers`,
          { cause },
        ),
      );
    }
    if (this.#retryTimer !== undefined) return;
    const min = this.#limits.retryMin ?? 500;
    const max = this.#limits.retryMax ?? 30000;
    this.#retryDelay = Math.min(max, Math.max(min, this.#retryDelay * 2));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#host.track(this.enqueue(() => this.#catchUp(true)));
    }, this.#retryDelay);
  }

  /**
   * A block notification (`rawblock`, or `hashblock` alone): announces the
   * blocks missed before it, a `reorg` when its parent is not the tip, then
   * the block. Run it through {@linkcode enqueue}.
   */
  async connect(notification: ZMQNotification): Promise<void> {
    if (this.#host.aborted()) return;
    let current = notification;
    if (current.block === undefined && this.#window.tip !== undefined) {
      // hashblock alone: the raw block gives the parent (and the transactions).
      try {
        current = {
          ...await this.#fetch(notification.hex),
          sequence: notification.sequence,
          receivedAt: notification.receivedAt,
        };
      } catch (cause) {
        // Announced by the catch-up, with the blocks before it.
        this.#retry(cause);
        return;
      }
    }
    const block = current.block;
    if (block !== undefined) {
      if (this.#window.hashAt(block.height) === block.hash) return;
      const tip = this.#window.tip;
      const parent = block.previousblockhash;
      if (tip !== undefined && parent !== undefined && parent !== tip.hash) {
        try {
          await this.#backfill(block, tip);
        } catch (cause) {
          // Announcing it now would skip the blocks not fetched: the
          // catch-up announces them, then it (or the branch that won).
          this.#retry(cause);
          return;
        }
      }
    }
    try {
      await this.#announce(current);
    } catch (cause) {
      // A hashblock alone needs the node to be announced: catch up later.
      if (block === undefined && this.#window.tip !== undefined) {
        this.#retry(cause);
        return;
      }
      throw cause;
    }
  }

  /**
   * Catches up with the node's best block. Before the first announced
   * block it does nothing, unless `force` (then the best block is
   * announced, and becomes the tip).
   */
  async sync(force: boolean): Promise<void> {
    if (this.#host.aborted()) return;
    if (this.#window.tip === undefined && !force) return;
    const best = await this.#host.call("getbestblockhash", []);
    if (typeof best !== "string" || !/^[0-9a-f]{64}$/.test(best)) {
      throw new EvrmoreError(
        "Cannot catch up with the node: unexpected getbestblockhash answer",
      );
    }
    this.#syncedAt = Date.now();
    if (this.#window.heightOf(best) !== undefined) return;
    await this.connect(await this.#fetch(best));
  }

  /**
   * What a client subscribing with `since` gets: the blocks of the
   * announced chain after the cursor (preceded by a `reorg` when the
   * cursor's block left the active chain), or an error. Run it through
   * {@linkcode enqueue}, and subscribe the client in the same job.
   */
  async replay(since: number | string): Promise<ReplayPlan> {
    // Many clients resuming at once (a server restart) share one check.
    if (
      this.#window.tip === undefined ||
      Date.now() - this.#syncedAt > SYNC_REUSE_MS
    ) await this.sync(true);
    const tip = this.#window.tip;
    if (tip === undefined) return { reorg: undefined, blocks: [] };
    let from: number;
    let reorg: ReorgMessage | undefined;
    if (typeof since === "number") {
      from = since + 1;
    } else {
      const known = this.#window.heightOf(since);
      if (known !== undefined) {
        from = known + 1;
      } else {
        const header = await this.#header(since);
        if (header === undefined) {
          return {
            error: "unknown_cursor",
            message: `Cannot subscribe to blocks: unknown block ${since}`,
          };
        }
        if (header.confirmations === undefined || header.confirmations >= 0) {
          from = header.height + 1;
        } else {
          const fork = await this.#activeAncestor(header);
          if (fork === undefined) {
            return {
              error: "cursor_too_old",
              message:
                `Cannot subscribe to blocks: block ${since} left the active chain more than ${this.#limits.maxReplay} blocks ago`,
            };
          }
          reorg = {
            type: "reorg",
            data: {
              fork_height: fork.height,
              fork_hash: fork.hash,
              old_tip: { hash: header.hash, height: header.height },
              new_tip: { hash: tip.hash, height: tip.height },
            },
          };
          from = fork.height + 1;
        }
      }
    }
    const count = tip.height - from + 1;
    if (count > this.#limits.maxReplay) {
      return {
        error: "cursor_too_old",
        message:
          `Cannot subscribe to blocks: ${count} blocks to replay, more than ${this.#limits.maxReplay}`,
      };
    }
    const blocks: BlockData[] = [];
    for (let height = Math.max(from, 0); height <= tip.height; height++) {
      blocks.push(this.#window.at(height) ?? await this.#blockData(height));
    }
    return { reorg, blocks };
  }

  // -------------------------------------------------------------------------

  async #announce(notification: ZMQNotification): Promise<void> {
    const data = await this.#host.announce(notification);
    if (data !== undefined) this.#window.add(data);
  }

  /** Announces the blocks between the tip (or the fork point) and `block`'s parent. */
  async #backfill(block: DecodedBlock, tip: BlockData): Promise<void> {
    const max = this.#limits.maxBackfill;
    const missed: ZMQNotification[] = [];
    let hash = block.previousblockhash;
    let height = block.height - 1;
    let fork: BlockPointer | undefined;
    while (hash !== undefined && height >= 0) {
      if (this.#window.hashAt(height) === hash) {
        fork = { hash, height };
        break;
      }
      if (missed.length >= max) break;
      const fetched = await this.#fetch(hash, height);
      missed.push(fetched);
      hash = fetched.block?.previousblockhash;
      height--;
    }
    missed.reverse();
    const first = missed[0]?.block ?? block;
    const forkHeight = fork?.height ?? first.height - 1;
    if (fork === undefined) {
      this.#host.report(
        new EvrmoreError(
          `Cannot announce every block before block ${block.height}: no announced ancestor within ${max} blocks; announcing from block ${first.height}`,
        ),
      );
    }
    if (forkHeight < tip.height) {
      await this.#host.reorg({
        type: "reorg",
        data: {
          fork_height: forkHeight,
          fork_hash: fork?.hash ?? first.previousblockhash ?? "",
          old_tip: { hash: tip.hash, height: tip.height },
          new_tip: { hash: block.hash, height: block.height },
        },
      });
    }
    for (const notification of missed) {
      if (this.#host.aborted()) return;
      await this.#announce(notification);
    }
  }

  /** The block `hash` from `getblock <hash> 0`, decoded locally, as a notification. */
  async #fetch(hash: string, height?: number): Promise<ZMQNotification> {
    const hex = await this.#host.call("getblock", [hash, 0]);
    if (typeof hex !== "string") {
      throw new EvrmoreError(
        `Cannot fetch block ${hash}: unexpected getblock answer`,
      );
    }
    const block = this.#decode(hex, hash, height);
    return {
      topic: "rawblock",
      body: hexToBytes(hex),
      hex,
      sequence: -1,
      receivedAt: Date.now(),
      block,
    };
  }

  #decode(hex: string, hash: string, height: number | undefined): DecodedBlock {
    const networks: Network[] = [];
    const hint = this.#host.network();
    if (hint !== undefined) networks.push(hint);
    for (const network of ["main", "regtest"] as const) {
      if (!networks.includes(network)) networks.push(network);
    }
    let failure: unknown;
    for (const network of networks) {
      try {
        const block = decodeBlock(
          hex,
          height === undefined ? { network } : { network, height },
        );
        if (block.hash === hash) return block;
      } catch (cause) {
        failure = cause;
      }
    }
    throw new EvrmoreError(
      `Cannot decode block ${hash}: the node's bytes do not hash to it`,
      { cause: failure },
    );
  }

  async #header(hash: string): Promise<HeaderInfo | undefined> {
    let result: unknown;
    try {
      result = await this.#host.call("getblockheader", [hash, true]);
    } catch (cause) {
      if (cause instanceof RpcError && cause.code === -5) return undefined;
      throw cause;
    }
    const r =
      (typeof result === "object" && result !== null ? result : {}) as Record<
        string,
        unknown
      >;
    if (typeof r.hash !== "string" || typeof r.height !== "number") {
      throw new EvrmoreError(
        `Cannot read block header ${hash}: unexpected getblockheader answer`,
      );
    }
    return {
      hash: r.hash,
      height: r.height,
      confirmations: typeof r.confirmations === "number"
        ? r.confirmations
        : undefined,
      previousblockhash: typeof r.previousblockhash === "string"
        ? r.previousblockhash
        : undefined,
    };
  }

  /** The last block of the announced (or active) chain below a stale header. */
  async #activeAncestor(
    stale: HeaderInfo,
  ): Promise<BlockPointer | undefined> {
    let hash = stale.previousblockhash;
    let height = stale.height - 1;
    for (let step = 0; step < this.#limits.maxReplay; step++) {
      if (hash === undefined || height < 0) return undefined;
      if (this.#window.hashAt(height) === hash) return { hash, height };
      const header = await this.#header(hash);
      if (header === undefined) return undefined;
      if (header.confirmations === undefined || header.confirmations >= 0) {
        return { hash, height };
      }
      hash = header.previousblockhash;
      height--;
    }
    return undefined;
  }

  /** The block data of the active chain's block at `height` (below the window). */
  async #blockData(height: number): Promise<BlockData> {
    const hash = await this.#host.call("getblockhash", [height]);
    if (typeof hash !== "string") {
      throw new EvrmoreError(
        `Cannot replay block ${height}: unexpected getblockhash answer`,
      );
    }
    const data = blockDataFromRpc(
      await this.#host.call("getblock", [hash, 1]),
    );
    if (data === undefined) {
      throw new EvrmoreError(
        `Cannot replay block ${height}: unexpected getblock answer`,
      );
    }
    return data;
  }
}
