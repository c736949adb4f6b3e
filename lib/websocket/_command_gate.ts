/**
 * Admission control for client commands: a global budget of cost units in
 * flight, a bounded FIFO queue with a wait limit, a per-client cap, a cost
 * per command, single-flight of identical commands, and abort of all of a
 * client's commands when it leaves. Time spent queued is measured apart
 * from time spent at the node.
 *
 * The server's own pipeline (backfill, block fetch, mempool) must not go
 * through this gate: it has its own RPC lane.
 *
 * @module
 */

/** Why {@linkcode CommandGate.run} refused or dropped a command. */
export type CommandGateCode = "server_busy" | "client_busy" | "aborted";

/** A command the gate refused (`server_busy`, `client_busy`) or dropped (`aborted`). */
export class CommandGateError extends Error {
  /** The wire error code. */
  readonly code: CommandGateCode;

  /** Creates the error. */
  constructor(code: CommandGateCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandGateError";
    this.code = code;
  }
}

/** What a command costs, in units of the in-flight budget. */
export type CommandCost = (
  method: string,
  params: readonly unknown[],
) => number;

/**
 * Default costs: 1 per command, more for the node's heavy reads —
 * `getblock` verbosity 2: 4 (verbosity 1: 2); `getrawmempool true`: 4;
 * `gettxoutsetinfo` (scans the whole UTXO set): 8, which with the default
 * budget makes it run alone.
 */
export function defaultCommandCost(
  method: string,
  params: readonly unknown[],
): number {
  switch (method) {
    case "getblock": {
      const verbosity = params[1];
      if (verbosity === 2) return 4;
      if (verbosity === 0 || verbosity === false) return 1;
      return 2;
    }
    case "getrawmempool":
      return params[0] === true ? 4 : 1;
    case "gettxoutsetinfo":
      return 8;
    case "getchaintxstats":
    case "listassets":
      return 2;
    default:
      return 1;
  }
}

/** Options of {@linkcode CommandGate}. */
export interface CommandGateOptions {
  /** Cost units running at once (a command's cost is capped to it). Default 8. */
  maxInFlight?: number;
  /** Distinct commands waiting at once; more get `server_busy`. Default 256. */
  maxQueued?: number;
  /** Milliseconds a command may wait before it gets `server_busy`. Default 10 000. */
  maxQueueMs?: number;
  /** Commands of one client queued or running at once; more get `client_busy`. Default 16. */
  maxPerClient?: number;
  /** Cost of a command. Default {@linkcode defaultCommandCost}. */
  cost?: CommandCost;
  /** Run identical commands (method and params) in flight at once only once. Default true. */
  singleFlight?: boolean;
  /** Clock in milliseconds. Default `performance.now`. */
  now?: () => number;
}

/** Options of {@linkcode CommandGate.run}. */
export interface CommandRunOptions {
  /** Drops this caller's interest; the command is aborted when no one else waits for it. */
  signal?: AbortSignal;
}

/** A command's answer and where its time went. */
export interface CommandGateResult<T> {
  /** What `exec` returned. */
  value: T;
  /** Milliseconds this caller waited in the queue. */
  queueMs: number;
  /** Milliseconds the command ran (at the node). */
  runMs: number;
  /** Whether the command was shared with an identical one in flight. */
  shared: boolean;
}

/** Counters of a {@linkcode CommandGate}. */
export interface CommandGateStats {
  /** Cost units running. */
  inFlight: number;
  /** Commands running. */
  running: number;
  /** Commands waiting. */
  queued: number;
  /** Callers waiting for a command (queued or running). */
  waiters: number;
}

type Exec = (signal: AbortSignal) => Promise<unknown>;

interface Flight {
  key: string | undefined;
  cost: number;
  exec: Exec;
  controller: AbortController;
  waiters: Set<Waiter>;
  running: boolean;
  startedAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Waiter {
  client: unknown;
  flight: Flight;
  enqueuedAt: number;
  joined: boolean;
  resolve: (result: CommandGateResult<unknown>) => void;
  reject: (error: Error) => void;
  detach: () => void;
}

/**
 * Runs client commands under one global budget.
 *
 * @example
 * ```ts
 * import { CommandGate } from "./_command_gate.ts";
 * const gate = new CommandGate({ maxInFlight: 2 });
 * const client = {};
 * const { value, queueMs } = await gate.run(
 *   client,
 *   "getblockcount",
 *   [],
 *   (_signal) => Promise.resolve(170),
 * );
 * console.log(value, queueMs >= 0); // 170 true
 * gate.leave(client); // aborts whatever it still has queued or running
 * ```
 */
export class CommandGate {
  #maxInFlight: number;
  #maxQueued: number;
  #maxQueueMs: number;
  #maxPerClient: number;
  #cost: CommandCost;
  #singleFlight: boolean;
  #now: () => number;
  #inFlight = 0;
  #running = 0;
  #queue: Flight[] = [];
  #flights = new Map<string, Flight>();
  #clients = new Map<unknown, Set<Waiter>>();

  /** @throws {RangeError} When a limit is not a positive integer. */
  constructor(options: CommandGateOptions = {}) {
    this.#maxInFlight = count("maxInFlight", options.maxInFlight ?? 8);
    this.#maxQueued = count("maxQueued", options.maxQueued ?? 256);
    this.#maxQueueMs = count("maxQueueMs", options.maxQueueMs ?? 10_000);
    this.#maxPerClient = count("maxPerClient", options.maxPerClient ?? 16);
    this.#cost = options.cost ?? defaultCommandCost;
    this.#singleFlight = options.singleFlight ?? true;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Current counters. */
  get stats(): CommandGateStats {
    let waiters = 0;
    for (const set of this.#clients.values()) waiters += set.size;
    return {
      inFlight: this.#inFlight,
      running: this.#running,
      queued: this.#queue.length,
      waiters,
    };
  }

  /**
   * Runs `exec` for `client` when the budget allows, or joins an identical
   * command already queued or running. `exec` gets a signal that aborts
   * when every caller waiting for it has left.
   *
   * @throws {CommandGateError} `client_busy` over the per-client cap,
   *   `server_busy` when the queue is full or the wait too long, `aborted`
   *   when the client left or `signal` aborted.
   */
  run<T>(
    client: unknown,
    method: string,
    params: readonly unknown[],
    exec: (signal: AbortSignal) => Promise<T>,
    options: CommandRunOptions = {},
  ): Promise<CommandGateResult<T>> {
    const { signal } = options;
    if (signal?.aborted) {
      return Promise.reject(
        new CommandGateError("aborted", `Cannot run ${method}: aborted`, {
          cause: signal.reason,
        }),
      );
    }
    const mine = this.#clients.get(client);
    if (mine !== undefined && mine.size >= this.#maxPerClient) {
      return Promise.reject(
        new CommandGateError(
          "client_busy",
          `Cannot run ${method}: ${mine.size} commands of this client are pending (limit ${this.#maxPerClient})`,
        ),
      );
    }
    const key = this.#singleFlight ? flightKey(method, params) : undefined;
    let flight = key === undefined ? undefined : this.#flights.get(key);
    const joined = flight !== undefined;
    if (flight === undefined) {
      if (this.#queue.length >= this.#maxQueued) {
        return Promise.reject(
          new CommandGateError(
            "server_busy",
            `Cannot run ${method}: ${this.#queue.length} commands are queued (limit ${this.#maxQueued})`,
          ),
        );
      }
      const raw = this.#cost(method, params);
      const cost = Math.min(
        this.#maxInFlight,
        Number.isFinite(raw) && raw >= 1 ? raw : 1,
      );
      flight = {
        key,
        cost,
        exec: exec as Exec,
        controller: new AbortController(),
        waiters: new Set(),
        running: false,
        startedAt: 0,
        timer: undefined,
      };
    }
    const theFlight = flight;
    return new Promise<CommandGateResult<T>>((resolve, reject) => {
      const waiter: Waiter = {
        client,
        flight: theFlight,
        enqueuedAt: this.#now(),
        joined,
        resolve: resolve as (r: CommandGateResult<unknown>) => void,
        reject,
        detach: () => {},
      };
      if (signal !== undefined) {
        const onAbort = () =>
          this.#drop(
            waiter,
            new CommandGateError("aborted", `Cannot run ${method}: aborted`, {
              cause: signal.reason,
            }),
          );
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener("abort", onAbort);
      }
      theFlight.waiters.add(waiter);
      let set = this.#clients.get(client);
      if (set === undefined) this.#clients.set(client, set = new Set());
      set.add(waiter);
      if (!joined) {
        if (key !== undefined) this.#flights.set(key, theFlight);
        this.#queue.push(theFlight);
        theFlight.timer = setTimeout(
          () => this.#expire(theFlight, method),
          this.#maxQueueMs,
        );
        this.#pump();
      }
    });
  }

  /** Aborts every command `client` has queued or running (idempotent). */
  leave(client: unknown): void {
    const set = this.#clients.get(client);
    if (set === undefined) return;
    for (const waiter of [...set]) {
      this.#drop(
        waiter,
        new CommandGateError("aborted", "Cannot run command: the client left"),
      );
    }
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (this.#inFlight + head.cost > this.#maxInFlight) return;
      this.#queue.shift();
      this.#start(head);
    }
  }

  #start(flight: Flight): void {
    clearTimeout(flight.timer);
    flight.running = true;
    flight.startedAt = this.#now();
    this.#inFlight += flight.cost;
    this.#running++;
    let promise: Promise<unknown>;
    try {
      promise = flight.exec(flight.controller.signal);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (value) => this.#settle(flight, { ok: true, value }),
      (error) => this.#settle(flight, { ok: false, error }),
    );
  }

  #settle(
    flight: Flight,
    outcome: { ok: true; value: unknown } | { ok: false; error: unknown },
  ): void {
    this.#inFlight -= flight.cost;
    this.#running--;
    this.#forget(flight);
    const end = this.#now();
    const runMs = end - flight.startedAt;
    const shared = flight.waiters.size > 1;
    for (const waiter of flight.waiters) {
      this.#unlink(waiter);
      if (outcome.ok) {
        waiter.resolve({
          value: outcome.value,
          queueMs: Math.max(0, flight.startedAt - waiter.enqueuedAt),
          runMs,
          shared: shared || waiter.joined,
        });
      } else {
        waiter.reject(
          outcome.error instanceof Error
            ? outcome.error
            : new Error(String(outcome.error)),
        );
      }
    }
    flight.waiters.clear();
    this.#pump();
  }

  #expire(flight: Flight, method: string): void {
    if (flight.running) return;
    const index = this.#queue.indexOf(flight);
    if (index !== -1) this.#queue.splice(index, 1);
    this.#forget(flight);
    for (const waiter of flight.waiters) {
      this.#unlink(waiter);
      waiter.reject(
        new CommandGateError(
          "server_busy",
          `Cannot run ${method}: it waited ${this.#maxQueueMs} ms in the queue`,
        ),
      );
    }
    flight.waiters.clear();
  }

  #drop(waiter: Waiter, error: CommandGateError): void {
    const flight = waiter.flight;
    if (!flight.waiters.delete(waiter)) return;
    this.#unlink(waiter);
    waiter.reject(error);
    if (flight.waiters.size > 0) return;
    // No one waits any more: cancel it.
    this.#forget(flight);
    if (flight.running) {
      flight.controller.abort(error); // capacity returns when exec settles
    } else {
      clearTimeout(flight.timer);
      const index = this.#queue.indexOf(flight);
      if (index !== -1) this.#queue.splice(index, 1);
      this.#pump();
    }
  }

  #unlink(waiter: Waiter): void {
    waiter.detach();
    const set = this.#clients.get(waiter.client);
    if (set === undefined) return;
    set.delete(waiter);
    if (set.size === 0) this.#clients.delete(waiter.client);
  }

  #forget(flight: Flight): void {
    if (flight.key !== undefined && this.#flights.get(flight.key) === flight) {
      this.#flights.delete(flight.key);
    }
  }
}

function flightKey(
  method: string,
  params: readonly unknown[],
): string | undefined {
  try {
    return `${method}\u0000${JSON.stringify(params)}`;
  } catch {
    return undefined; // unserialisable params: never shared
  }
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot create CommandGate: ${name} must be a positive integer, got ${value}`,
    );
  }
  return value;
}
