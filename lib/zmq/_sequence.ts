/**
 * Per-topic sequence tracking: gaps, restarts and uint32 wrap-around.
 *
 * @module
 */

/** What one sequence number means after the previous one. */
export type SequenceCheck =
  | { kind: "first" }
  | { kind: "next" }
  | { kind: "gap"; expected: number; missed: number }
  | { kind: "restart"; previous: number; missed: number };

const HALF = 2 ** 31;

/** Remembers the last sequence number of each key and classifies the next. */
export class SequenceTracker<K> {
  #last = new Map<K, number>();

  /**
   * Records `received` for `key` and says how it follows the last one.
   *
   * - the expected number (last + 1, mod 2^32) → `next`
   * - 0, or a number behind the last one → `restart`; `missed` counts the
   *   numbers of the new run that never came (0 when it starts at 0)
   * - a number ahead → `gap` with how many were skipped (mod 2^32)
   */
  check(key: K, received: number): SequenceCheck {
    const last = this.#last.get(key);
    this.#last.set(key, received);
    if (last === undefined) return { kind: "first" };
    const expected = (last + 1) >>> 0;
    if (received === expected) return { kind: "next" };
    const missed = (received - expected) >>> 0;
    if (received === 0 || missed >= HALF) {
      return { kind: "restart", previous: last, missed: received };
    }
    return { kind: "gap", expected, missed };
  }

  /** Forgets every key. */
  clear(): void {
    this.#last.clear();
  }
}
