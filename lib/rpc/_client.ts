/**
 * The JSON-RPC client: configuration discovery, transport, concurrency cap,
 * retries and error mapping.
 *
 * @module
 */

import {
  AuthError,
  ConnectionError,
  RpcError,
  TimeoutError,
} from "../errors.ts";
import {
  describeCredentials,
  type ResolvedSettings,
  resolveSettings,
} from "./_config.ts";
import { RpcValidationError } from "./_errors.ts";
import { EvrmoreRPCMethods } from "./_methods.ts";
import { READ_ONLY_METHODS } from "./_read_only.ts";
import { resultSchema, validateResult } from "./_schemas.ts";
import {
  AutoBatcher,
  type HttpAnswer,
  type InFlight,
  type QueuedCall,
} from "./_batcher.ts";
import type { Dispatcher } from "./_dispatcher.ts";
import { SingleFlight } from "./_single_flight.ts";
import type {
  EvrmoreRPCClientOptions,
  RpcBatchCall,
  RpcBatchResult,
  RpcCallOptions,
  RpcConfigSources,
  RpcParams,
  RpcPriority,
  RpcResolvedConfig,
} from "./_types.ts";
import { checkOptions } from "../_options.ts";

const DEFAULT_TIMEOUT = 30_000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_MAX_BATCH_SIZE = 100;
const DEFAULT_MAX_QUEUE_SIZE = 10_000;
const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_DELAY = 100;
const MAX_RETRY_DELAY = 5_000;
const MAX_TIMER_DELAY = 2 ** 31 - 1;
const WORK_QUEUE_FULL = "Work queue depth exceeded";

function checkPriority(value: unknown, what: string): RpcPriority {
  if (value !== "high" && value !== "normal") {
    throw new TypeError(
      `Cannot ${what}: priority must be "high" or "normal", got ${
        JSON.stringify(value) ?? String(value)
      }`,
    );
  }
  return value;
}

/** A failure worth retrying for read-only calls. */
class RetryableError extends ConnectionError {}

function checkCount(
  value: number | undefined,
  name: string,
  min: number,
): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new RangeError(
      `Cannot create EvrmoreRPCClient: ${name} must be a number >= ${min}, got ${
        String(value)
      }`,
    );
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat === "") return "an empty body";
  return JSON.stringify(flat.length > 120 ? `${flat.slice(0, 120)}…` : flat);
}

function basicAuth(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A client of an Evrmore node's JSON-RPC interface.
 *
 * Settings come from, highest first: the constructor options; the
 * environment (`EVR_RPC_URL`, `EVR_RPC_USER`, `EVR_RPC_PASSWORD`,
 * `EVR_RPC_PORT`, `EVR_DATADIR`, `EVR_NETWORK`); `evrmore.conf` in the base
 * data dir (`rpcconnect`, `rpcport`, `rpcuser`, `rpcpassword`,
 * `rpccookiefile`, `testnet=1`, `regtest=1`); then the `.cookie` file in the
 * network's subfolder. They are read on the first call (constructing never
 * reads files); {@linkcode EvrmoreRPCClient.config} reports them, and where
 * each came from, without the password.
 *
 * Calls use `fetch` with basic auth and keep-alive, at most
 * `maxConcurrency` (default 8) at once, the rest queued. Read-only methods
 * ({@linkcode READ_ONLY_METHODS}) are retried with jittered backoff after a
 * connection failure or the node's `Work queue depth exceeded`.
 *
 * Errors: `RpcError` (the node's code, message and the method), `AuthError`
 * (HTTP 401, naming the credentials' source), `ConnectionError` (node
 * unreachable, naming the URL, or an answer that is not JSON-RPC),
 * `TimeoutError`, `RpcValidationError` (a validated answer of the wrong
 * shape).
 *
 * @example Read the chain
 * ```ts
 * import { EvrmoreRPCClient } from "@evrmore/rpc";
 *
 * await using client = new EvrmoreRPCClient({
 *   url: "http://127.0.0.1:18443/",
 *   user: "evr",
 *   password: "secret",
 * });
 * const printTip = async () => {
 *   const height = await client.getblockcount();
 *   const hash = await client.getblockhash(height);
 *   const block = await client.getblock(hash, 1);
 *   console.log(height, block.tx.length);
 * };
 * console.log(typeof printTip); // "function"
 * ```
 *
 * @example Handle node errors
 * ```ts
 * import { EvrmoreRPCClient, RpcError } from "@evrmore/rpc";
 *
 * const client = new EvrmoreRPCClient({ network: "regtest" });
 * const find = async (hash: string) => {
 *   try {
 *     return await client.getblockheader(hash);
 *   } catch (error) {
 *     if (error instanceof RpcError && error.code === -5) return undefined;
 *     throw error;
 *   }
 * };
 * console.log(typeof find); // "function"
 * await client.close();
 * ```
 */
export class EvrmoreRPCClient extends EvrmoreRPCMethods
  implements AsyncDisposable {
  #options: EvrmoreRPCClientOptions;
  #settings: Promise<ResolvedSettings> | undefined;
  #resolved: ResolvedSettings | undefined;
  #timeout: number;
  #retries: number;
  #retryDelay: number;
  #validate: boolean;
  #gate: Dispatcher<QueuedCall>;
  #batcher: AutoBatcher;
  #batching: boolean;
  #singleFlight: boolean;
  #priority: RpcPriority;
  /** Single-flight calls in flight, by method, params, priority and timeout. */
  #shared = new SingleFlight();
  #nextId = 1;
  #closed = false;
  #httpClient: Deno.HttpClient | undefined;
  /** The resolved settings while `#settings` holds them (sync fast path). */
  #current: ResolvedSettings | undefined;
  /** Request headers, built once per resolved settings. */
  #headers: Record<string, string> | undefined;
  #headersFor: ResolvedSettings | undefined;
  /** Calls admitted and not yet settled. */
  #inFlight = new Set<InFlight>();
  /** The shared deadline timer, armed for `#timerAt` (Infinity when idle). */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;

  /**
   * Creates a client. Nothing is read or connected until the first call.
   *
   * @param options Settings overriding the environment and `evrmore.conf`.
   * @throws {RangeError} When a numeric option is out of range.
   */
  constructor(options: EvrmoreRPCClientOptions = {}) {
    super();
    checkOptions("EvrmoreRPCClient", options, RPC_CLIENT_OPTION_KEYS);
    checkCount(options.timeout, "timeout", 1);
    checkCount(options.maxConcurrency, "maxConcurrency", 1);
    checkCount(options.retries, "retries", 0);
    checkCount(options.retryDelay, "retryDelay", 0);
    checkCount(options.maxBatchSize, "maxBatchSize", 1);
    checkCount(options.maxQueueSize, "maxQueueSize", 0);
    this.#options = { ...options };
    this.#timeout = options.timeout ?? DEFAULT_TIMEOUT;
    this.#retries = Math.floor(options.retries ?? DEFAULT_RETRIES);
    this.#retryDelay = options.retryDelay ?? DEFAULT_RETRY_DELAY;
    this.#validate = options.validate ?? true;
    this.#batching = options.batching ?? true;
    this.#singleFlight = options.singleFlight ?? true;
    this.#priority = options.priority === undefined
      ? "normal"
      : checkPriority(options.priority, "create EvrmoreRPCClient");
    this.#batcher = new AutoBatcher({
      track: (timing) => {
        this.#inFlight.add(timing);
        if (timing.deadline < this.#timerAt) this.#arm(timing.deadline);
      },
      untrack: (timing) => this.#inFlight.delete(timing),
      exchangeHeld: (label, body, retryable, options, priority) =>
        this.#exchangeHeld(label, body, retryable, options, priority),
      resultOf: (method, params, answer) =>
        this.#resultOf(method, params, answer),
      outcomes: (label, calls, ids, answer) =>
        this.#outcomes(label, calls, ids, answer),
      nextId: () => this.#nextId++,
    }, {
      limit: Math.floor(options.maxConcurrency ?? DEFAULT_CONCURRENCY),
      maxBatchSize: Math.floor(options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE),
      maxQueueSize: Math.floor(options.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE),
    });
    this.#gate = this.#batcher.gate;
    if (options.caCerts !== undefined) {
      if (
        !Array.isArray(options.caCerts) ||
        options.caCerts.some((cert) => typeof cert !== "string")
      ) {
        throw new TypeError(
          "Cannot create EvrmoreRPCClient: caCerts must be an array of PEM strings",
        );
      }
      this.#httpClient = Deno.createHttpClient({ caCerts: options.caCerts });
    }
  }

  /**
   * Where each setting came from, once resolved (after the first call or
   * {@linkcode EvrmoreRPCClient.config}); `undefined` before.
   *
   * @example
   * ```ts
   * import { EvrmoreRPCClient } from "@evrmore/rpc";
   *
   * await using client = new EvrmoreRPCClient({ url: "http://127.0.0.1:8819/", env: false });
   * await client.config();
   * console.log(client.configSource?.url.origin); // "options"
   * ```
   */
  get configSource(): RpcConfigSources | undefined {
    return this.#resolved?.sources;
  }

  /** Whether {@linkcode EvrmoreRPCClient.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves the settings (on first use) and reports them: URL, user,
   * network, the files read and the source of each setting. Never the
   * password.
   *
   * @example
   * ```ts
   * import { EvrmoreRPCClient } from "@evrmore/rpc";
   *
   * await using client = new EvrmoreRPCClient({ network: "regtest", env: false, datadir: "/nonexistent" });
   * const config = await client.config();
   * console.log(config.url); // "http://127.0.0.1:18443/"
   * ```
   *
   * @returns The resolved configuration.
   * @throws {Error} When an explicit `conf` file cannot be read (naming it).
   */
  async config(): Promise<RpcResolvedConfig> {
    const { password: _password, ...config } = await this.#settingsOnce();
    return structuredClone(config);
  }

  #settingsOnce(): Promise<ResolvedSettings> {
    if (this.#settings === undefined) {
      const pending: Promise<ResolvedSettings> = resolveSettings(this.#options)
        .then((settings) => {
          this.#resolved = settings;
          if (this.#settings === pending) this.#current = settings;
          return settings;
        });
      // A failed resolution is retried on the next call.
      pending.catch(() => {
        if (this.#settings === pending) this.#settings = undefined;
      });
      this.#settings = pending;
    }
    return this.#settings;
  }

  /** Forgets the resolved settings: the next call resolves them again. */
  #forgetSettings(): void {
    this.#settings = undefined;
    this.#current = undefined;
  }

  #headersOf(settings: ResolvedSettings): Record<string, string> {
    if (this.#headersFor !== settings || this.#headers === undefined) {
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        "Accept": "application/json",
      };
      if (settings.user !== undefined || settings.password !== undefined) {
        headers["Authorization"] = basicAuth(
          settings.user ?? "",
          settings.password ?? "",
        );
      }
      this.#headers = headers;
      this.#headersFor = settings;
    }
    return this.#headers;
  }

  /**
   * Calls any RPC method with positional (array) or named (object)
   * parameters. Answers of the read methods the system relies on are
   * validated (see the typed methods; named calls are not validated).
   *
   * Under load (`maxConcurrency` requests in flight) the call waits in its
   * priority lane and, with `batching` on, leaves inside one JSON-RPC batch
   * with the other waiting calls; it still gets its own result or error.
   * Identical read-only calls in flight at once share one request
   * (`singleFlight`).
   *
   * @example
   * ```ts
   * import { EvrmoreRPCClient } from "@evrmore/rpc";
   *
   * const client = new EvrmoreRPCClient();
   * const count = () => client.call<number>("getblockcount", [], { timeout: 5000 });
   * const urgent = () => client.call<string>("getblockhash", [0], { priority: "high" });
   * const named = () => client.call<string>("getblockhash", { height: 0 });
   * console.log(typeof count, typeof urgent, typeof named); // function function function
   * await client.close();
   * ```
   *
   * @param method The RPC method.
   * @param params Positional (array) or named (object) parameters (default none).
   * @param options Signal, timeout, priority lane and single-flight of this call.
   * @returns The node's `result`.
   * @throws {RpcError} The node answered with an error.
   * @throws {AuthError} The node refused the credentials.
   * @throws {ConnectionError} The node could not be reached or answered garbage.
   * @throws {TimeoutError} No answer in time.
   * @throws {QueueFullError} The call's priority lane was full.
   * @throws {RpcValidationError} The answer had the wrong shape.
   */
  override call<T = unknown>(
    method: string,
    params: RpcParams = [],
    options: RpcCallOptions = {},
  ): Promise<T> {
    let priority: RpcPriority;
    try {
      if (typeof method !== "string" || method === "") {
        throw new TypeError("Cannot call: method must be a non-empty string");
      }
      if (!Array.isArray(params) && !isObject(params)) {
        throw new TypeError(
          `Cannot call ${method}: params must be an array or an object`,
        );
      }
      priority = options.priority === undefined
        ? this.#priority
        : checkPriority(options.priority, `call ${method}`);
      if (options.signal?.aborted) throw options.signal.reason;
    } catch (error) {
      return Promise.reject(error);
    }
    const readOnly = READ_ONLY_METHODS.has(method);
    if (readOnly && (options.singleFlight ?? this.#singleFlight)) {
      return this.#shareOrSend(method, params, priority, options) as Promise<T>;
    }
    return this.#send(method, params, readOnly, priority, options) as Promise<
      T
    >;
  }

  /** Joins an identical read-only call in flight, or starts one others may join. */
  #shareOrSend(
    method: string,
    params: RpcParams,
    priority: RpcPriority,
    options: RpcCallOptions,
  ): Promise<unknown> {
    let key: string;
    try {
      key = `${priority} ${options.timeout ?? ""} ${method} ${
        JSON.stringify(params)
      }`;
    } catch {
      return this.#send(method, params, true, priority, options);
    }
    return this.#shared.run(key, options.signal, (signal) => {
      const sendOptions: RpcCallOptions = signal === undefined
        ? {}
        : { signal };
      if (options.timeout !== undefined) sendOptions.timeout = options.timeout;
      return this.#send(method, params, true, priority, sendOptions);
    });
  }

  /** Sends one call now, or queues it for the next automatic batch. */
  #send(
    method: string,
    params: RpcParams,
    readOnly: boolean,
    priority: RpcPriority,
    options: RpcCallOptions,
  ): Promise<unknown> {
    if (this.#batching && this.#gate.saturated && !this.#closed) {
      const timeout = options.timeout ?? this.#timeout;
      try {
        checkCount(timeout, "timeout", 1);
      } catch (error) {
        return Promise.reject(error);
      }
      return this.#batcher.enqueue(method, params, readOnly, priority, {
        timeout,
        signal: options.signal,
      });
    }
    return this.#single(method, params, readOnly, priority, options);
  }

  async #single(
    method: string,
    params: RpcParams,
    readOnly: boolean,
    priority: RpcPriority,
    options: RpcCallOptions,
  ): Promise<unknown> {
    const id = this.#nextId++;
    const body = JSON.stringify({ jsonrpc: "1.0", id, method, params });
    const answer = await this.#exchange(
      method,
      body,
      readOnly,
      options,
      priority,
      false,
    );
    return this.#resultOf(method, params, answer);
  }

  /** The result of a single call's answer, or its error thrown. */
  #resultOf(method: string, params: RpcParams, answer: HttpAnswer): unknown {
    const parsed = this.#parse(method, answer);
    if (!isObject(parsed) || !("result" in parsed || "error" in parsed)) {
      throw new ConnectionError(
        `Cannot call ${method}: the answer from ${answer.settings.url} is not a JSON-RPC reply (HTTP ${answer.status}): ${
          snippet(answer.text)
        }`,
      );
    }
    if (parsed.error !== null && parsed.error !== undefined) {
      throw this.#rpcError(method, parsed.error, answer.status);
    }
    return this.#check(method, params, parsed.result);
  }

  /**
   * Sends several calls as one JSON-RPC batch (one HTTP request). Each
   * element of the answer is its own `{ result }` or `{ error }`, in the order
   * of the calls; a failing call does not fail the others.
   *
   * @example
   * ```ts
   * import { EvrmoreRPCClient } from "@evrmore/rpc";
   *
   * const client = new EvrmoreRPCClient();
   * const tip = async () => {
   *   const [count, best] = await client.batch([
   *     { method: "getblockcount" },
   *     { method: "getbestblockhash" },
   *   ]);
   *   return [count?.result, best?.result];
   * };
   * console.log(typeof tip); // "function"
   * await client.close();
   * ```
   *
   * @param calls The calls.
   * @param options Signal and timeout of the whole batch.
   * @returns One outcome per call, in order.
   * @throws {AuthError} The node refused the credentials.
   * @throws {ConnectionError} The node could not be reached or answered garbage.
   * @throws {TimeoutError} No answer in time.
   */
  async batch(
    calls: readonly RpcBatchCall[],
    options: RpcCallOptions = {},
  ): Promise<RpcBatchResult[]> {
    if (!Array.isArray(calls)) {
      throw new TypeError("Cannot send batch: calls must be an array");
    }
    const label = `batch of ${calls.length} call${
      calls.length === 1 ? "" : "s"
    }`;
    const ids: number[] = [];
    const requests = calls.map((entry, i) => {
      if (!isObject(entry) || typeof entry.method !== "string") {
        throw new TypeError(
          `Cannot send batch: call ${i} needs a string method`,
        );
      }
      if (entry.params !== undefined && !Array.isArray(entry.params)) {
        throw new TypeError(
          `Cannot send batch: params of call ${i} (${entry.method}) must be an array`,
        );
      }
      const id = this.#nextId++;
      ids.push(id);
      return {
        jsonrpc: "1.0",
        id,
        method: entry.method,
        params: entry.params ?? [],
      };
    });
    const readOnly = calls.every((c) => READ_ONLY_METHODS.has(c.method));
    const priority = options.priority === undefined
      ? this.#priority
      : checkPriority(options.priority, "send batch");
    const answer = await this.#exchange(
      label,
      JSON.stringify(requests),
      readOnly,
      options,
      priority,
      false,
    );
    return this.#outcomes(label, calls, ids, answer);
  }

  /**
   * Splits a batch answer into one outcome per call, in order.
   *
   * @throws {RpcError} The whole batch was refused with a JSON-RPC error.
   * @throws {ConnectionError} The answer is not a JSON-RPC batch reply.
   */
  #outcomes(
    label: string,
    calls: readonly { method: string; params?: RpcParams | undefined }[],
    ids: readonly number[],
    answer: HttpAnswer,
  ): RpcBatchResult[] {
    const settings = answer.settings;
    const parsed = this.#parse(label, answer);
    if (!Array.isArray(parsed)) {
      if (
        isObject(parsed) && parsed.error !== null && parsed.error !== undefined
      ) {
        throw this.#rpcError(label, parsed.error, answer.status);
      }
      throw new ConnectionError(
        `Cannot send ${label}: the answer from ${settings.url} is not a JSON-RPC batch reply (HTTP ${answer.status}): ${
          snippet(answer.text)
        }`,
      );
    }
    // The node answers in order: match by position while the ids agree,
    // and build the id map only when they do not.
    let byId: Map<unknown, unknown> | undefined;
    const inOrder = parsed.length === calls.length;
    return calls.map((entry, i): RpcBatchResult => {
      let element: unknown = inOrder ? parsed[i] : undefined;
      if (!isObject(element) || element.id !== ids[i]) {
        if (byId === undefined) {
          byId = new Map();
          for (const candidate of parsed) {
            if (isObject(candidate) && candidate.id !== null) {
              byId.set(candidate.id, candidate);
            }
          }
        }
        element = byId.get(ids[i]) ?? element;
      }
      if (!isObject(element) || !("result" in element || "error" in element)) {
        return {
          error: new ConnectionError(
            `Cannot call ${entry.method}: no answer for it in the batch reply from ${settings.url}`,
          ),
        };
      }
      if (element.error !== null && element.error !== undefined) {
        return {
          error: this.#rpcError(entry.method, element.error, answer.status),
        };
      }
      try {
        return {
          result: this.#check(entry.method, entry.params ?? [], element.result),
        };
      } catch (error) {
        return { error: error as Error };
      }
    });
  }

  /**
   * Closes the client: calls in flight or queued reject, later calls reject.
   * Idempotent.
   *
   * @example
   * ```ts
   * import { EvrmoreRPCClient } from "@evrmore/rpc";
   *
   * const client = new EvrmoreRPCClient();
   * await client.close();
   * await client.close(); // no effect
   * console.log(client.closed); // true
   * ```
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
      const calls = [...this.#inFlight];
      this.#inFlight.clear();
      for (const call of calls) {
        call.controller.abort(this.#closedError(call.label));
      }
    }
    return Promise.resolve();
  }

  /**
   * Closes the client (for `await using`). Idempotent.
   *
   * @example
   * ```ts
   * import { EvrmoreRPCClient } from "@evrmore/rpc";
   *
   * {
   *   await using client = new EvrmoreRPCClient();
   *   console.log(client.closed); // false
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #closedError(label: string): ConnectionError {
    return new ConnectionError(
      `Cannot call ${
        label.startsWith("batch") ? `(${label})` : label
      }: the client was closed`,
    );
  }

  /**
   * Arms the shared timer for `at` (a `performance.now()` value). The timer
   * is unref'd: it never keeps the process alive, and a call in flight does
   * through its `fetch`.
   */
  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    const timer = setTimeout(
      this.#expire,
      // Clamped to setTimeout's range: an early wake-up just re-arms.
      Math.min(MAX_TIMER_DELAY, Math.max(1, Math.ceil(at - performance.now()))),
    );
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Aborts the calls past their deadline and re-arms for the next one. */
  #expire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const call of this.#inFlight) {
      if (call.deadline <= now) {
        this.#inFlight.delete(call);
        const queueTime = Math.round((call.sentAt || now) - call.start);
        const nodeTime = call.sentAt === 0 ? 0 : Math.round(now - call.sentAt);
        call.controller.abort(
          new TimeoutError(
            `Cannot call ${call.label}: no answer within ${call.timeout} ms${
              call.waited
                ? ` (${queueTime} ms queued, ${nodeTime} ms at the node)`
                : ""
            }`,
            { queueTime, nodeTime },
          ),
        );
      } else if (call.deadline < next) {
        next = call.deadline;
      }
    }
    if (next !== Infinity) this.#arm(next);
  };

  /**
   * Sends one HTTP request with the cap, timeout, abort and retries; returns
   * the raw answer. With `held`, the caller already holds a slot for the
   * first attempt (it is released here in every case).
   */
  /** `#exchange` for calls that already hold a slot for the first attempt. */
  async #exchangeHeld(
    label: string,
    body: string,
    retryable: boolean,
    options: RpcCallOptions,
    priority: RpcPriority,
  ): Promise<HttpAnswer> {
    // Whatever happens before the first attempt takes the slot, free it.
    const slot = { held: true };
    try {
      return await this.#exchange(
        label,
        body,
        retryable,
        options,
        priority,
        slot,
      );
    } finally {
      if (slot.held) this.#gate.release();
    }
  }

  async #exchange(
    label: string,
    body: string,
    retryable: boolean,
    options: RpcCallOptions,
    priority: RpcPriority,
    slot: { held: boolean } | false,
  ): Promise<HttpAnswer> {
    if (this.#closed) throw this.#closedError(label);
    const timeout = options.timeout ?? this.#timeout;
    checkCount(timeout, "timeout", 1);
    let settings = this.#current;
    if (settings === undefined) {
      settings = await this.#settingsOnce();
      if (this.#closed) throw this.#closedError(label);
    }
    const caller = options.signal;
    if (caller?.aborted) throw caller.reason;

    const controller = new AbortController();
    const signal = controller.signal;
    const start = performance.now();
    const call: InFlight = {
      controller,
      deadline: start + timeout,
      label,
      timeout,
      start,
      sentAt: 0,
      waited: false,
    };
    this.#inFlight.add(call);
    if (call.deadline < this.#timerAt) this.#arm(call.deadline);
    let onAbort: (() => void) | undefined;
    if (caller !== undefined) {
      onAbort = () => controller.abort(caller.reason);
      caller.addEventListener("abort", onAbort, { once: true });
    }
    let reauthenticated = false;
    try {
      for (let attempt = 0;; attempt++) {
        let failure: RetryableError;
        if (slot !== false && slot.held) {
          slot.held = false;
        } else if (!this.#gate.tryAcquire()) {
          call.waited = true;
          await this.#gate.acquire(priority, label, signal);
        }
        call.sentAt = call.waited || attempt > 0 ? performance.now() : start;
        try {
          // The request, inline (one async frame less per call).
          const init: RequestInit & { client?: Deno.HttpClient } = {
            method: "POST",
            headers: this.#headersOf(settings),
            body,
            signal,
          };
          if (this.#httpClient !== undefined) init.client = this.#httpClient;
          let response: Response;
          try {
            response = await fetch(settings.url, init);
          } catch (cause) {
            if (signal.aborted) throw cause;
            throw this.#transportError("connect to", settings, cause);
          }
          let text: string;
          try {
            text = await response.text();
          } catch (cause) {
            if (signal.aborted) throw cause;
            throw this.#transportError("read the answer from", settings, cause);
          }
          const answer: HttpAnswer = {
            status: response.status,
            text,
            settings,
          };
          if (
            answer.status === 401 && !reauthenticated &&
            settings.sources.password.origin === "cookie"
          ) {
            // The node rewrites its cookie when it restarts: read it again once.
            reauthenticated = true;
            this.#forgetSettings();
            const fresh = await this.#settingsOnce();
            if (fresh.password !== settings.password) {
              settings = fresh;
              attempt--;
              continue;
            }
          }
          if (answer.status === 401) {
            throw new AuthError(
              `Cannot call ${label}: the node at ${settings.url} refused ${
                describeCredentials(settings)
              } (HTTP 401)`,
            );
          }
          if (answer.status === 500 && answer.text.trim() === WORK_QUEUE_FULL) {
            failure = new RetryableError(
              `Cannot call ${label}: the node at ${settings.url} is busy (HTTP 500 "${WORK_QUEUE_FULL}")`,
            );
          } else {
            return answer;
          }
        } catch (error) {
          if (signal.aborted) throw error;
          if (!(error instanceof RetryableError)) throw error;
          failure = error;
        } finally {
          this.#gate.release();
        }
        if (!retryable || attempt >= this.#retries) {
          throw new ConnectionError(failure.message, { cause: failure.cause });
        }
        const ceiling = Math.min(
          MAX_RETRY_DELAY,
          this.#retryDelay * 2 ** attempt,
        );
        await abortableDelay(Math.random() * ceiling, signal);
      }
    } catch (error) {
      // The reason is the caller's, a TimeoutError or the closed error.
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      this.#inFlight.delete(call);
      if (onAbort !== undefined) caller?.removeEventListener("abort", onAbort);
    }
  }

  /** A failed `fetch` or body read, as a retryable error naming the URL. */
  #transportError(
    what: string,
    settings: ResolvedSettings,
    cause: unknown,
  ): RetryableError {
    return new RetryableError(
      `Cannot ${what} ${settings.url}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }

  #parse(label: string, answer: HttpAnswer): unknown {
    try {
      return JSON.parse(answer.text);
    } catch (cause) {
      const hint = answer.status === 404 && answer.text.trim() === ""
        ? " (check the URL path)"
        : "";
      throw new ConnectionError(
        `Cannot call ${label}: the answer from ${answer.settings.url} is not JSON (HTTP ${answer.status}${hint}): ${
          snippet(answer.text)
        }`,
        { cause },
      );
    }
  }

  #rpcError(method: string, error: unknown, status: number): RpcError {
    if (
      isObject(error) && typeof error.code === "number" &&
      typeof error.message === "string"
    ) {
      return new RpcError(`Cannot call ${method}: ${error.message}`, {
        code: error.code,
        method,
        status,
      });
    }
    return new RpcError(
      `Cannot call ${method}: malformed error from the node: ${
        snippet(JSON.stringify(error) ?? String(error))
      }`,
      { code: -32603, method, status },
    );
  }

  #check(method: string, params: RpcParams, result: unknown): unknown {
    // Named parameters are not validated: the schema follows positions.
    if (!this.#validate || !Array.isArray(params)) return result;
    const schema = resultSchema(method, params);
    if (schema === undefined) return result;
    const outcome = validateResult(schema, result);
    if (outcome.ok) return outcome.value;
    throw new RpcValidationError(
      `Cannot validate ${method} result: field ${outcome.field}: ${outcome.detail}`,
      { method, field: outcome.field },
    );
  }
}

/** The options the constructor reads (unknown ones throw). */
export const RPC_CLIENT_OPTION_KEYS: readonly string[] = [
  "url",
  "host",
  "port",
  "user",
  "password",
  "network",
  "datadir",
  "conf",
  "cookieFile",
  "wallet",
  "timeout",
  "maxConcurrency",
  "retries",
  "retryDelay",
  "validate",
  "env",
  "caCerts",
  "batching",
  "maxBatchSize",
  "singleFlight",
  "priority",
  "maxQueueSize",
];
