/**
 * Rate-limited error logging: one line per kind of error per interval, with
 * the count of lines suppressed since the last one. Keeps a stranger's
 * malformed requests from filling the operator's log.
 *
 * @module
 */

/** Options of {@linkcode LogLimiter}. */
export interface LogLimiterOptions {
  /** Milliseconds between two lines of one kind. Default 60 000. */
  intervalMs?: number;
  /** Most distinct kinds remembered; the oldest is forgotten first. Default 256. */
  maxKinds?: number;
  /** Where lines go. Default `console.error`. */
  write?: (line: string) => void;
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
}

interface KindState {
  /** When the last line of this kind was written. */
  lastAt: number;
  /** Lines of this kind suppressed since then. */
  suppressed: number;
}

/**
 * Writes at most one line per kind per interval. A line written after a
 * quiet spell says how many of its kind were suppressed.
 *
 * @example
 * ```ts
 * import { LogLimiter } from "./_log_limiter.ts";
 * const lines: string[] = [];
 * const log = new LogLimiter({ write: (l) => lines.push(l) });
 * log.error("bad_request", "Cannot parse request: Host has a space");
 * log.error("bad_request", "Cannot parse request: Host has a space");
 * console.log(lines.length); // 1
 * ```
 */
export class LogLimiter {
  #intervalMs: number;
  #maxKinds: number;
  #write: (line: string) => void;
  #now: () => number;
  #kinds = new Map<string, KindState>();

  /** @throws {RangeError} When `intervalMs` or `maxKinds` is not positive. */
  constructor(options: LogLimiterOptions = {}) {
    const intervalMs = options.intervalMs ?? 60_000;
    const maxKinds = options.maxKinds ?? 256;
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) {
      throw new RangeError(
        `Cannot create LogLimiter: intervalMs must be a positive number, got ${intervalMs}`,
      );
    }
    if (!Number.isInteger(maxKinds) || maxKinds < 1) {
      throw new RangeError(
        `Cannot create LogLimiter: maxKinds must be a positive integer, got ${maxKinds}`,
      );
    }
    this.#intervalMs = intervalMs;
    this.#maxKinds = maxKinds;
    this.#write = options.write ?? ((line) => console.error(line));
    this.#now = options.now ?? Date.now;
  }

  /**
   * Logs `message` unless a line of `kind` was written less than an
   * interval ago; returns whether it was written.
   */
  error(kind: string, message: string): boolean {
    const now = this.#now();
    const state = this.#kinds.get(kind);
    if (state !== undefined && now - state.lastAt < this.#intervalMs) {
      state.suppressed++;
      return false;
    }
    const suppressed = state?.suppressed ?? 0;
    if (state !== undefined) this.#kinds.delete(kind); // re-insert: newest last
    this.#kinds.set(kind, { lastAt: now, suppressed: 0 });
    if (this.#kinds.size > this.#maxKinds) {
      const oldest = this.#kinds.keys().next().value;
      if (oldest !== undefined) this.#kinds.delete(oldest);
    }
    this.#write(
      suppressed > 0
        ? `[${kind}] ${message} (${suppressed} more suppressed)`
        : `[${kind}] ${message}`,
    );
    return true;
  }

  /** Lines of `kind` suppressed since its last written line. */
  suppressed(kind: string): number {
    return this.#kinds.get(kind)?.suppressed ?? 0;
  }
}
