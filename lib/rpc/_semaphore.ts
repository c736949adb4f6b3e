/**
 * A counting semaphore with an abortable FIFO queue.
 *
 * @module
 */

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Lets at most `limit` holders in at once; the others wait in order. */
export class Semaphore {
  #limit: number;
  #active = 0;
  #queue: Waiter[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Holders right now. */
  get active(): number {
    return this.#active;
  }

  /** Waiters right now. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Takes a slot when one is free, without waiting (the fast path: no
   * promise). Returns whether it did; release it with `release()`.
   */
  tryAcquire(): boolean {
    if (this.#active < this.#limit) {
      this.#active++;
      return true;
    }
    return false;
  }

  /** Takes a slot, waiting when none is free; rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i !== -1) this.#queue.splice(i, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Frees a slot, handing it to the first waiter. */
  release(): void {
    const next = this.#queue.shift();
    if (next !== undefined) {
      next.signal?.removeEventListener("abort", next.onAbort);
      next.resolve();
    } else {
      this.#active--;
    }
  }
}
