/**
 * The client's admission control: a concurrency cap with two bounded
 * priority lanes. Slots are handed out in lane order (`high` first, then
 * `normal`, FIFO within a lane). A queued single call is "batchable": when a
 * slot frees, the batchable calls at the front of the lanes leave together
 * (up to `maxBatchSize`) and the owner sends them as one JSON-RPC batch.
 * Anything else waiting (an explicit batch, a retry, a call with batching
 * off) takes a slot of its own.
 *
 * Pure bookkeeping: no I/O and no timers; the owner sends.
 *
 * @module
 */

import { QueueFullError } from "../errors.ts";
import type { RpcPriority } from "./_types.ts";

/** Something in a lane. `queued` is true while it waits there. */
export interface Queued {
  /** True while in a lane; set false when it leaves or is dropped. */
  queued: boolean;
}

/** A single call that may leave in a batch. */
export interface BatchableCall extends Queued {
  /** Marks the kind (waiters have `false`). */
  readonly batchable: true;
}

interface Waiter extends Queued {
  readonly batchable: false;
  grant: () => void;
}

/** A FIFO of items with cheap removal from the front and lazy drops. */
class Lane<T extends Queued> {
  #items: (T | undefined)[] = [];
  #head = 0;
  /** Items still queued. */
  size = 0;

  push(item: T): void {
    item.queued = true;
    this.#items.push(item);
    this.size++;
  }

  /** The first item still queued, without removing it. */
  peek(): T | undefined {
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head];
      if (item !== undefined && item.queued) return item;
      this.#items[this.#head++] = undefined;
    }
    this.#compact();
    return undefined;
  }

  /** Removes the first item (the one `peek()` returned). */
  shift(): T | undefined {
    const item = this.peek();
    if (item === undefined) return undefined;
    this.#items[this.#head++] = undefined;
    item.queued = false;
    this.size--;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#compact();
    }
    return item;
  }

  /** Called when an item was dropped (its `queued` already cleared). */
  dropped(): void {
    this.size--;
  }

  #compact(): void {
    if (this.#head === 0) return;
    this.#items = this.#items.slice(this.#head);
    this.#head = 0;
  }
}

/** Settings of a {@linkcode Dispatcher}. */
export interface DispatcherOptions<C extends BatchableCall> {
  /** Most slots held at once. */
  limit: number;
  /** Most calls per batch. */
  maxBatchSize: number;
  /** Most items waiting per lane. */
  maxQueueSize: number;
  /** Sends calls that left the queue together; a slot is held for them. */
  send: (calls: C[]) => void;
}

/** A concurrency cap with priority lanes and batch formation. */
export class Dispatcher<C extends BatchableCall> {
  #limit: number;
  #maxBatchSize: number;
  #maxQueueSize: number;
  #send: (calls: C[]) => void;
  #active = 0;
  #high = new Lane<C | Waiter>();
  #normal = new Lane<C | Waiter>();

  constructor(options: DispatcherOptions<C>) {
    this.#limit = options.limit;
    this.#maxBatchSize = options.maxBatchSize;
    this.#maxQueueSize = options.maxQueueSize;
    this.#send = options.send;
  }

  /** Slots held right now. */
  get active(): number {
    return this.#active;
  }

  /** Items waiting, both lanes. */
  get waiting(): number {
    return this.#high.size + this.#normal.size;
  }

  /** Whether every slot is taken (a new call would wait). */
  get saturated(): boolean {
    return this.#active >= this.#limit;
  }

  /**
   * Takes a free slot without waiting. Never jumps the queue: items wait
   * only while every slot is taken.
   */
  tryAcquire(): boolean {
    if (this.#active < this.#limit) {
      this.#active++;
      return true;
    }
    return false;
  }

  /**
   * Waits for a slot of its own in `priority`'s lane; rejects with the
   * signal's reason on abort, or with `QueueFullError` when the lane is full.
   */
  acquire(
    priority: RpcPriority,
    label: string,
    signal?: AbortSignal,
  ): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return Promise.resolve();
    const lane = this.#lane(priority, label);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        if (waiter.queued) {
          waiter.queued = false;
          lane.dropped();
        }
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        queued: false,
        batchable: false,
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      lane.push(waiter);
    });
  }

  /**
   * Queues a single call in `priority`'s lane; it leaves through `send`.
   *
   * @throws {QueueFullError} When the lane is full.
   */
  enqueue(call: C, priority: RpcPriority, label: string): void {
    this.#lane(priority, label).push(call);
    this.#pump();
  }

  /** Removes a queued call (abort, timeout, close). Returns whether it was queued. */
  drop(call: C, priority: RpcPriority): boolean {
    if (!call.queued) return false;
    call.queued = false;
    (priority === "high" ? this.#high : this.#normal).dropped();
    return true;
  }

  /** Frees a slot and hands free slots to the lanes. */
  release(): void {
    this.#active--;
    this.#pump();
  }

  #lane(priority: RpcPriority, label: string): Lane<C | Waiter> {
    const lane = priority === "high" ? this.#high : this.#normal;
    if (lane.size >= this.#maxQueueSize) {
      throw new QueueFullError(
        `Cannot call ${label}: the ${priority} lane is full (${this.#maxQueueSize} calls waiting)`,
        { lane: priority, limit: this.#maxQueueSize },
      );
    }
    return lane;
  }

  #pump(): void {
    while (this.#active < this.#limit) {
      const lane = this.#high.peek() !== undefined
        ? this.#high
        : this.#normal.peek() !== undefined
        ? this.#normal
        : undefined;
      if (lane === undefined) return;
      const head = lane.peek() as C | Waiter;
      if (!head.batchable) {
        lane.shift();
        this.#active++;
        head.grant();
        continue;
      }
      const calls: C[] = [];
      for (const from of [this.#high, this.#normal]) {
        while (calls.length < this.#maxBatchSize) {
          const next = from.peek();
          if (next === undefined || !next.batchable) break;
          from.shift();
          calls.push(next);
        }
        if (calls.length >= this.#maxBatchSize) break;
        // A waiter at the front of the high lane keeps its turn: do not
        // reach past it into the normal lane.
        if (from === this.#high && from.peek() !== undefined) break;
      }
      this.#active++;
      this.#send(calls);
    }
  }
}
