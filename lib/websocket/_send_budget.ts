/**
 * One memory budget for the bytes all clients have been sent but not yet
 * read, and a drain deadline per client. Pure bookkeeping: the server
 * charges each send, and now and then lets the budget read each socket's
 * real `bufferedAmount`; the budget answers which clients to close.
 *
 * Hot path: {@linkcode SendBudget.charge} is a few additions. Estimates only
 * grow between sweeps (sends finish without telling us), so they are an
 * upper bound; {@linkcode SendBudget.sweep} replaces them with the truth.
 *
 * @module
 */

/** Options of {@linkcode SendBudget}. */
export interface SendBudgetOptions {
  /** Unsent bytes of all clients together. Default 128 MiB. */
  totalBytes?: number;
  /** Unsent bytes of one client. Default 4 MiB. */
  perClientBytes?: number;
  /**
   * Milliseconds within which bytes queued for a client must have left its
   * buffer. Default 30 000.
   */
  drainDeadlineMs?: number;
  /** Clock in milliseconds. Default `performance.now`. */
  now?: () => number;
}

/** Why {@linkcode SendBudget.sweep} wants a client closed (code 1013). */
export type SendBudgetReason =
  | "drain_deadline"
  | "client_budget"
  | "total_budget";

/** A client {@linkcode SendBudget.sweep} wants closed, and why. */
export interface SendBudgetVerdict<K> {
  /** The client. */
  client: K;
  /** Why. */
  reason: SendBudgetReason;
  /** Its unsent bytes when judged. */
  buffered: number;
}

interface ClientState {
  /** Upper bound of unsent bytes (exact right after a sweep). */
  buffered: number;
  /** Bytes ever charged. */
  charged: number;
  /** When the oldest undelivered byte was known to be queued, or -1. */
  since: number;
  /** `charged` at `since`: delivered bytes must reach it by the deadline. */
  target: number;
}

/**
 * Tracks every client's unsent bytes against one total and a per-client
 * limit, and catches clients whose buffer stops draining.
 *
 * @example
 * ```ts
 * import { SendBudget } from "./_send_budget.ts";
 * const budget = new SendBudget<string>({ totalBytes: 1000, perClientBytes: 800 });
 * budget.add("a");
 * budget.add("b");
 * budget.charge("a", 700);
 * budget.charge("b", 600);
 * console.log(budget.overBudget); // true
 * // Real buffers: "a" has read everything, "b" nothing.
 * const verdicts = budget.sweep((c) => (c === "a" ? 0 : 600));
 * console.log(verdicts.length, budget.total); // 0 600
 * ```
 */
export class SendBudget<K> {
  #totalBytes: number;
  #perClientBytes: number;
  #deadline: number;
  #now: () => number;
  #clients = new Map<K, ClientState>();
  #total = 0;

  /** @throws {RangeError} When a limit is not a positive number. */
  constructor(options: SendBudgetOptions = {}) {
    this.#totalBytes = positive("totalBytes", options.totalBytes ?? 128 << 20);
    this.#perClientBytes = positive(
      "perClientBytes",
      options.perClientBytes ?? 4 << 20,
    );
    this.#deadline = positive(
      "drainDeadlineMs",
      options.drainDeadlineMs ?? 30_000,
    );
    this.#now = options.now ?? (() => performance.now());
  }

  /** Estimated unsent bytes of all clients (an upper bound). */
  get total(): number {
    return this.#total;
  }

  /** Whether the estimate passed the total budget: time for a sweep. */
  get overBudget(): boolean {
    return this.#total > this.#totalBytes;
  }

  /** Clients tracked. */
  get size(): number {
    return this.#clients.size;
  }

  /** Starts tracking `client` (idempotent). */
  add(client: K): void {
    if (!this.#clients.has(client)) {
      this.#clients.set(client, {
        buffered: 0,
        charged: 0,
        since: -1,
        target: 0,
      });
    }
  }

  /** Stops tracking `client` and frees its share (idempotent). */
  remove(client: K): void {
    const state = this.#clients.get(client);
    if (state === undefined) return;
    this.#total -= state.buffered;
    this.#clients.delete(client);
  }

  /**
   * Counts `bytes` queued for `client`. Returns `false` when the client's
   * estimate now passes its own limit (sweep before closing: the estimate
   * may be stale). Unknown clients are ignored (returns `true`).
   */
  charge(client: K, bytes: number): boolean {
    const state = this.#clients.get(client);
    if (state === undefined) return true;
    state.buffered += bytes;
    state.charged += bytes;
    this.#total += bytes;
    if (state.since < 0) {
      state.since = this.#now();
      state.target = state.charged;
    }
    return state.buffered <= this.#perClientBytes;
  }

  /**
   * Whether `bytes` more (a command reply, say) fit in the total budget
   * and in `client`'s own limit, by the current estimate.
   */
  fits(client: K, bytes: number): boolean {
    const state = this.#clients.get(client);
    return this.#total + bytes <= this.#totalBytes &&
      (state?.buffered ?? 0) + bytes <= this.#perClientBytes;
  }

  /**
   * Reads every client's real unsent bytes with `readBuffered` (e.g.
   * `(ws) => ws.bufferedAmount`) for clients whose estimate is not zero,
   * and returns the clients to close: past their drain deadline, past
   * their own limit, and then — largest buffers first — as many as it
   * takes to bring the total back under budget. Returned clients stay
   * tracked until {@linkcode SendBudget.remove}; their bytes still count.
   */
  sweep(readBuffered: (client: K) => number): SendBudgetVerdict<K>[] {
    const now = this.#now();
    const verdicts: SendBudgetVerdict<K>[] = [];
    const judged = new Set<K>();
    let total = 0;
    for (const [client, state] of this.#clients) {
      if (state.buffered > 0) {
        const real = readBuffered(client);
        state.buffered = Number.isFinite(real) && real > 0 ? real : 0;
        const delivered = state.charged - state.buffered;
        if (state.buffered === 0) {
          state.since = -1;
        } else if (delivered >= state.target) {
          // Everything queued at `since` has left: restart the clock.
          state.since = now;
          state.target = state.charged;
        } else if (now - state.since > this.#deadline) {
          verdicts.push({
            client,
            reason: "drain_deadline",
            buffered: state.buffered,
          });
          judged.add(client);
        }
        if (!judged.has(client) && state.buffered > this.#perClientBytes) {
          verdicts.push({
            client,
            reason: "client_budget",
            buffered: state.buffered,
          });
          judged.add(client);
        }
      }
      total += state.buffered;
    }
    this.#total = total;
    if (total > this.#totalBytes) {
      let excess = total;
      for (const v of verdicts) excess -= v.buffered;
      if (excess > this.#totalBytes) {
        const rest = [...this.#clients].filter(([c, s]) =>
          s.buffered > 0 && !judged.has(c)
        ).sort((a, b) => b[1].buffered - a[1].buffered);
        for (const [client, state] of rest) {
          if (excess <= this.#totalBytes) break;
          verdicts.push({
            client,
            reason: "total_budget",
            buffered: state.buffered,
          });
          excess -= state.buffered;
        }
      }
    }
    return verdicts;
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot create SendBudget: ${name} must be a positive number, got ${value}`,
    );
  }
  return value;
}
