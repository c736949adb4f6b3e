/**
 * Automatic batching: single calls that find the client's cap reached wait
 * in the dispatcher's lanes and, when a slot frees, leave together as one
 * JSON-RPC batch. Each call keeps its own deadline, abort signal, result and
 * error; a call that gives up leaves its lane, or its batch in flight
 * without touching the others (the request is cancelled only when nobody in
 * it waits any more).
 *
 * The transport (retries, auth, timeouts) stays the client's: it is reached
 * through {@linkcode BatcherHost}.
 *
 * @module
 */

import type { ResolvedSettings } from "./_config.ts";
import {
  type BatchableCall,
  Dispatcher,
  type DispatcherOptions,
} from "./_dispatcher.ts";
import type {
  RpcBatchResult,
  RpcCallOptions,
  RpcParams,
  RpcPriority,
} from "./_types.ts";

/** A raw HTTP answer and the settings it was sent with. */
export interface HttpAnswer {
  status: number;
  text: string;
  settings: ResolvedSettings;
}

/**
 * One call between admission and answer: the abort controller handed to
 * `fetch`, and its deadline. All of a client's calls share one timer (see
 * `EvrmoreRPCClient.#arm`), so a call costs no `setTimeout` and no
 * `AbortSignal.any`.
 */
export interface InFlight {
  controller: AbortController;
  /** `performance.now()` value after which the call times out. */
  deadline: number;
  label: string;
  timeout: number;
  /** `performance.now()` when the call was admitted. */
  start: number;
  /** `performance.now()` when its request last left (0: not yet). */
  sentAt: number;
  /** Whether it waited behind the cap (its timeout then reports the split). */
  waited: boolean;
}

/** A JSON-RPC batch formed from queued calls, while in flight. */
interface SentBatch {
  controller: AbortController;
  /** Calls of the batch not yet settled (abort, timeout). */
  live: number;
}

/** A single call waiting in a lane, or sent inside an automatic batch. */
export interface QueuedCall extends BatchableCall {
  method: string;
  params: RpcParams;
  readOnly: boolean;
  priority: RpcPriority;
  timing: InFlight;
  settled: boolean;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  caller: AbortSignal | undefined;
  onCallerAbort: (() => void) | undefined;
  batch: SentBatch | undefined;
}

/** What the batcher needs of the client's transport. */
export interface BatcherHost {
  /** Puts a call under the shared deadline timer. */
  track(timing: InFlight): void;
  /** Takes a settled call off the timer. */
  untrack(timing: InFlight): void;
  /** Sends a request for which a slot is already held (released in all cases). */
  exchangeHeld(
    label: string,
    body: string,
    retryable: boolean,
    options: RpcCallOptions,
    priority: RpcPriority,
  ): Promise<HttpAnswer>;
  /** The result of a single call's answer, or its error thrown. */
  resultOf(method: string, params: RpcParams, answer: HttpAnswer): unknown;
  /** One outcome per call of a batch answer, in order. */
  outcomes(
    label: string,
    calls: readonly { method: string; params?: RpcParams | undefined }[],
    ids: readonly number[],
    answer: HttpAnswer,
  ): RpcBatchResult[];
  /** The next JSON-RPC id. */
  nextId(): number;
}

/** Queues single calls behind the cap and sends them as batches. */
export class AutoBatcher {
  #host: BatcherHost;
  /** The cap and its lanes (shared with the client's other requests). */
  readonly gate: Dispatcher<QueuedCall>;

  constructor(
    host: BatcherHost,
    options: Omit<DispatcherOptions<QueuedCall>, "send">,
  ) {
    this.#host = host;
    this.gate = new Dispatcher<QueuedCall>({
      ...options,
      send: (calls) => this.#sendQueued(calls),
    });
  }

  /** Queues a call while the cap is reached; it leaves with the next batch. */
  enqueue(
    method: string,
    params: RpcParams,
    readOnly: boolean,
    priority: RpcPriority,
    options: { timeout: number; signal: AbortSignal | undefined },
  ): Promise<unknown> {
    const timeout = options.timeout;
    const caller = options.signal;
    if (caller?.aborted) return Promise.reject(caller.reason);
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const now = performance.now();
    const controller = new AbortController();
    const entry: QueuedCall = {
      queued: false,
      batchable: true,
      method,
      params,
      readOnly,
      priority,
      timing: {
        controller,
        deadline: now + timeout,
        label: method,
        timeout,
        start: now,
        sentAt: 0,
        waited: true,
      },
      settled: false,
      resolve,
      reject,
      caller,
      onCallerAbort: undefined,
      batch: undefined,
    };
    this.#host.track(entry.timing);
    try {
      this.gate.enqueue(entry, priority, method);
    } catch (error) {
      this.#host.untrack(entry.timing);
      return Promise.reject(error);
    }
    controller.signal.addEventListener(
      "abort",
      () => this.#abandon(entry, controller.signal.reason),
      { once: true },
    );
    if (caller !== undefined) {
      const onCallerAbort = () => controller.abort(caller.reason);
      entry.onCallerAbort = onCallerAbort;
      caller.addEventListener("abort", onCallerAbort, { once: true });
    }
    return promise;
  }

  /** A queued call gave up (abort, timeout, close): leave its lane or batch. */
  #abandon(entry: QueuedCall, reason: unknown): void {
    if (entry.settled) return;
    if (!this.gate.drop(entry, entry.priority) && entry.batch !== undefined) {
      // The others of its batch are unaffected; the request is cancelled
      // only when nobody in it waits any more.
      if (--entry.batch.live === 0) entry.batch.controller.abort(reason);
    }
    this.#settle(entry, false, reason);
  }

  #settle(entry: QueuedCall, ok: boolean, value: unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    this.#host.untrack(entry.timing);
    if (entry.onCallerAbort !== undefined) {
      entry.caller?.removeEventListener("abort", entry.onCallerAbort);
    }
    if (ok) entry.resolve(value);
    else entry.reject(value);
  }

  /**
   * Sends calls that left the lanes together (a slot is held for them): one
   * as a plain request, several as one JSON-RPC batch.
   */
  #sendQueued(calls: QueuedCall[]): void {
    const now = performance.now();
    const batch: SentBatch = {
      controller: new AbortController(),
      live: calls.length,
    };
    let deadline = now;
    let readOnly = true;
    let high = false;
    for (const call of calls) {
      call.batch = batch;
      call.timing.sentAt = now;
      if (call.timing.deadline > deadline) deadline = call.timing.deadline;
      if (!call.readOnly) readOnly = false;
      if (call.priority === "high") high = true;
    }
    // Each call keeps its own deadline (the shared timer); the request
    // itself lasts until the last of them.
    const options: RpcCallOptions = {
      signal: batch.controller.signal,
      timeout: Math.max(1, Math.ceil(deadline - now)),
    };
    const priority: RpcPriority = high ? "high" : "normal";
    const first = calls[0];
    if (calls.length === 1 && first !== undefined) {
      const id = this.#host.nextId();
      const body = JSON.stringify({
        jsonrpc: "1.0",
        id,
        method: first.method,
        params: first.params,
      });
      this.#host.exchangeHeld(first.method, body, readOnly, options, priority)
        .then((answer) => {
          let value: unknown;
          try {
            value = this.#host.resultOf(first.method, first.params, answer);
          } catch (error) {
            this.#settle(first, false, error);
            return;
          }
          this.#settle(first, true, value);
        }, (error) => this.#settle(first, false, error));
      return;
    }
    const ids: number[] = [];
    const requests = calls.map((call) => {
      const id = this.#host.nextId();
      ids.push(id);
      return { jsonrpc: "1.0", id, method: call.method, params: call.params };
    });
    const label = `batch of ${calls.length} calls`;
    this.#host.exchangeHeld(
      label,
      JSON.stringify(requests),
      readOnly,
      options,
      priority,
    ).then((answer) => {
      let outcomes: RpcBatchResult[];
      try {
        outcomes = this.#host.outcomes(label, calls, ids, answer);
      } catch (error) {
        for (const call of calls) this.#settle(call, false, error);
        return;
      }
      calls.forEach((call, i) => {
        const outcome = outcomes[i];
        if (outcome === undefined || outcome.error !== undefined) {
          this.#settle(call, false, outcome?.error);
        } else {
          this.#settle(call, true, outcome.result);
        }
      });
    }, (error) => {
      for (const call of calls) this.#settle(call, false, error);
    });
  }
}
