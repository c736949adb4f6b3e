/**
 * The process's open-file limit (`RLIMIT_NOFILE`): read it at start and
 * derive how many clients fit below it. (Deno itself raises the soft limit
 * to the hard one when it starts, so there is nothing to raise.) Every TCP connection costs one file
 * descriptor; once none is left, `Deno.serve` stops accepting for good and
 * rejects its `finished` promise (an unhandled rejection ends the process,
 * which with zeromq's native threads loaded dies by SIGSEGV).
 *
 * @module
 */

/** Soft and hard open-file limits; `Infinity` for unlimited. */
export interface FdLimit {
  /** The limit enforced now. */
  soft: number;
  /** The ceiling the soft limit may be raised to without privileges. */
  hard: number;
}

/** Parses the "Max open files" line of `/proc/<pid>/limits`. */
export function parseProcLimits(text: string): FdLimit | undefined {
  const line = text.split("\n").find((l) => l.startsWith("Max open files"));
  if (line === undefined) return undefined;
  const fields = line.slice("Max open files".length).trim().split(/\s+/);
  const value = (f: string | undefined) =>
    f === "unlimited" ? Infinity : /^[0-9]+$/.test(f ?? "") ? Number(f) : NaN;
  const soft = value(fields[0]);
  const hard = value(fields[1]);
  if (Number.isNaN(soft) || Number.isNaN(hard)) return undefined;
  return { soft, hard };
}

const RLIMIT_NOFILE = 7; // Linux, all common architectures
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** `getrlimit(RLIMIT_NOFILE)` through libc (needs `--allow-ffi`). */
function getrlimitNofile(): FdLimit | undefined {
  let lib:
    | Deno.DynamicLibrary<
      { getrlimit: { parameters: ["i32", "buffer"]; result: "i32" } }
    >
    | undefined;
  try {
    lib = Deno.dlopen("libc.so.6", {
      getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    });
    const buffer = new BigUint64Array(2);
    if (lib.symbols.getrlimit(RLIMIT_NOFILE, buffer) !== 0) return undefined;
    const toNumber = (v: bigint) => v === RLIM_INFINITY ? Infinity : Number(v);
    return { soft: toNumber(buffer[0]!), hard: toNumber(buffer[1]!) };
  } catch {
    return undefined;
  } finally {
    lib?.close();
  }
}

/**
 * The process's open-file limit, or `undefined` when it cannot be known.
 * Asks libc's `getrlimit` (Linux, needs `--allow-ffi`, which the server
 * has for zeromq), else reads `/proc/self/limits` (Deno 2.9 lets only
 * `--allow-all` read `/proc/self`). Never throws.
 *
 * @example
 * ```ts
 * import { readFdLimit } from "./_fd_limit.ts";
 * const limit = readFdLimit();
 * if (limit !== undefined) console.log(limit.soft <= limit.hard); // true
 * ```
 */
export function readFdLimit(): FdLimit | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const viaLibc = getrlimitNofile();
  if (viaLibc !== undefined) return viaLibc;
  try {
    return parseProcLimits(Deno.readTextFileSync("/proc/self/limits"));
  } catch {
    return undefined;
  }
}

/**
 * File descriptors open now (`/proc/self/fd`), or `undefined` if unknown
 * (Deno 2.9 lets only `--allow-all` list `/proc/self/fd`).
 */
export function countOpenFds(): number | undefined {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n - 1; // the directory handle itself
  } catch {
    return undefined;
  }
}

/** Options of {@linkcode planClients}. */
export interface PlanClientsOptions {
  /**
   * Descriptors kept for everything but clients: the runtime, the node's
   * RPC and ZMQ sockets, logs, pending handshakes. Default 256.
   */
  headroom?: number;
  /** Descriptors one client uses. Default 1. */
  fdsPerClient?: number;
}

/** What {@linkcode planClients} decided. */
export interface ClientPlan {
  /** The `maxClients` to use. */
  maxClients: number;
  /** Set when `maxClients` had to be lowered: say it at start. */
  warning?: string;
}

/**
 * Fits `wanted` clients below the soft open-file limit `soft`, keeping
 * `headroom` descriptors free. Returns the clients that fit (at least 1) and
 * a warning when that is fewer than wanted.
 *
 * @example
 * ```ts
 * import { planClients } from "./_fd_limit.ts";
 * console.log(planClients(1024, 10_000));
 * // { maxClients: 768, warning: "..." }
 * ```
 */
export function planClients(
  soft: number,
  wanted: number,
  options: PlanClientsOptions = {},
): ClientPlan {
  const headroom = options.headroom ?? 256;
  const per = options.fdsPerClient ?? 1;
  if (!(per >= 1) || !(headroom >= 0)) {
    throw new RangeError(
      "Cannot plan clients: fdsPerClient must be ≥ 1 and headroom ≥ 0",
    );
  }
  if (soft === Infinity) return { maxClients: wanted };
  const fit = Math.max(1, Math.floor((soft - headroom) / per));
  if (fit >= wanted) return { maxClients: wanted };
  return {
    maxClients: fit,
    warning:
      `The open-file limit (${soft}) leaves room for ${fit} clients, not ${wanted}: ` +
      `maxClients is ${fit}. Raise it with \`ulimit -n\` or LimitNOFILE= (systemd).`,
  };
}
