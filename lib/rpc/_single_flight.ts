/**
 * Single-flight: identical calls in flight at once share one request. Each
 * caller may leave on its own signal; the request is cancelled only when
 * every caller has left (a caller without a signal never leaves). Callers
 * that joined get their own copy of an object result.
 *
 * @module
 */

interface SharedCall {
  key: string;
  promise: Promise<unknown>;
  /** Cancels the request; absent when its first caller had no signal. */
  controller: AbortController | undefined;
  /** Callers still waiting; those without a signal never leave. */
  holders: number;
}

function cloneResult(value: unknown): unknown {
  return typeof value === "object" && value !== null
    ? structuredClone(value)
    : value;
}

/** Shares one request among identical calls in flight. */
export class SingleFlight {
  #calls = new Map<string, SharedCall>();

  /** Shared requests in flight. */
  get size(): number {
    return this.#calls.size;
  }

  /**
   * Joins the request in flight under `key`, or starts one with `start`
   * (given a signal to pass on when the request can be cancelled).
   */
  run(
    key: string,
    signal: AbortSignal | undefined,
    start: (signal: AbortSignal | undefined) => Promise<unknown>,
  ): Promise<unknown> {
    const shared = this.#calls.get(key);
    if (shared !== undefined) {
      return this.#hold(shared, signal).then(cloneResult);
    }
    // The request can be cancelled only when its first caller can leave
    // (a caller without a signal keeps it alive anyway).
    const controller = signal === undefined ? undefined : new AbortController();
    const created: SharedCall = {
      key,
      promise: start(controller?.signal).then(
        (value) => {
          this.#forget(created);
          return value;
        },
        (error) => {
          this.#forget(created);
          throw error;
        },
      ),
      controller,
      holders: 0,
    };
    this.#calls.set(key, created);
    return this.#hold(created, signal);
  }

  #forget(shared: SharedCall): void {
    if (this.#calls.get(shared.key) === shared) this.#calls.delete(shared.key);
  }

  /** One caller's view of a shared call: leaves it on its own abort. */
  #hold(shared: SharedCall, signal: AbortSignal | undefined): Promise<unknown> {
    shared.holders++;
    if (signal === undefined) return shared.promise;
    if (signal.aborted) {
      this.#leave(shared, signal.reason);
      return Promise.reject(signal.reason);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#leave(shared, signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      shared.promise.then((value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      }, (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      });
    });
  }

  #leave(shared: SharedCall, reason: unknown): void {
    if (--shared.holders === 0 && shared.controller !== undefined) {
      // Nobody waits any more: cancel the request, and let a new identical
      // call start afresh.
      this.#forget(shared);
      shared.controller.abort(reason);
    }
  }
}
