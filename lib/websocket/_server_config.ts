/**
 * The settings of `EvrmoreWebSocketServer`, checked once at construction:
 * defaults, ranges, and the derived values its parts use.
 *
 * Internal.
 *
 * @module
 */

import { allowedCommandSet } from "./_commands.ts";
import { TrustedProxies } from "./_client_address.ts";
import { digest, normalizeOrigins } from "./_security.ts";
import { secondsOption, tokenProblem } from "./_protocol.ts";
import type {
  EvrmoreWebSocketServerOptions,
  WebSocketFeedEvent,
  WebSocketServerRpc,
} from "./_server_options.ts";
import type { BlockData } from "./types.ts";

/** The defaults of {@linkcode EvrmoreWebSocketServerOptions}. */
export const DEFAULTS = {
  host: "localhost",
  port: 8765,
  pingInterval: 20,
  pingTimeout: 20,
  path: "/",
  maxMessageSize: 65536,
  maxBufferedAmount: 4 * 1024 * 1024,
  maxPendingCommands: 16,
  maxFiltersPerClient: 16,
  maxClients: 10000,
  mempoolInterval: 1000,
  seenTransactions: 100000,
  hashBlockDelay: 1000,
  maxBackfillBlocks: 100,
  maxReplayBlocks: 1000,
  maxMessagesPerSecond: 100,
  maxClientsPerIp: 50,
  handshakeTimeout: 10,
  maxPendingHandshakes: 1024,
  maxUnsentBytes: 128 * 1024 * 1024,
  drainTimeout: 30,
  maxReplySize: 8 * 1024 * 1024,
  maxCommandsInFlight: 8,
  maxQueuedCommands: 256,
} as const;

/** Every setting of the server, checked and with its default applied. */
export interface ServerConfig {
  host: string;
  port: number;
  path: string;
  /** PEM certificate and key files, for TLS. */
  certFile: string | undefined;
  keyFile: string | undefined;
  /** `Deno.upgradeWebSocket`'s `idleTimeout` in seconds (0: off). */
  idleTimeout: number;
  allowedCommands: ReadonlySet<string>;
  maxMessageSize: number;
  maxBufferedAmount: number;
  maxPendingCommands: number;
  maxFilters: number;
  maxClients: number;
  mempoolInterval: number;
  seenLimit: number;
  hashBlockDelay: number;
  startZmq: boolean;
  maxBackfill: number;
  maxReplay: number;
  /** SHA-256 of the token, when one is required. */
  authToken: Uint8Array | undefined;
  authenticate: ((request: Request) => boolean | Promise<boolean>) | undefined;
  allowedOrigins: ReadonlySet<string> | undefined;
  /** Messages per second per client (0: no limit). */
  messageRate: number;
  messageBurst: number;
  /** Connections per IP address (0: no cap). */
  maxClientsPerIp: number;
  /** Proxies whose `X-Forwarded-For` is believed. */
  trustProxy: TrustedProxies;
  guard: boolean;
  /** Handshake deadline in ms. */
  handshakeTimeout: number;
  maxPendingHandshakes: number;
  maxUnsentBytes: number;
  /** Drain deadline in ms. */
  drainTimeout: number;
  maxReplySize: number;
  maxCommandsInFlight: number;
  maxQueuedCommands: number;
  listen: boolean;
  reusePort: boolean;
  externalCursors: boolean;
  resumeAfter: BlockData | undefined;
  onEvent: ((event: WebSocketFeedEvent) => void) | undefined;
  maxLoggedEvents: number;
  metrics: boolean;
  dashboard: boolean;
  onError: (error: Error) => void;
}

/**
 * Checks a server's options and applies the defaults.
 *
 * @throws {TypeError} For options of the wrong type.
 * @throws {RangeError} For numbers out of range.
 */
export function resolveServerConfig<R extends WebSocketServerRpc>(
  options: EvrmoreWebSocketServerOptions<R>,
): ServerConfig {
  const host = options.host ?? DEFAULTS.host;
  if (typeof host !== "string" || host === "") {
    throw new TypeError(
      "Cannot create server: host must be a non-empty string",
    );
  }
  const path = options.path ?? DEFAULTS.path;
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new TypeError('Cannot create server: path must start with "/"');
  }
  for (const name of ["certFile", "keyFile"] as const) {
    const file = options[name];
    if (file !== undefined && (typeof file !== "string" || file === "")) {
      throw new TypeError(
        `Cannot create server: ${name} must be a non-empty string`,
      );
    }
  }
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new TypeError(
      "Cannot create server: certFile and keyFile go together",
    );
  }
  const interval = secondsOption(
    "server.pingInterval",
    options.pingInterval,
    DEFAULTS.pingInterval,
  );
  const timeout = secondsOption(
    "server.pingTimeout",
    options.pingTimeout,
    DEFAULTS.pingTimeout,
  );
  let authToken: Uint8Array | undefined;
  if (options.authToken !== undefined) {
    const problem = tokenProblem(options.authToken);
    if (problem !== undefined) {
      throw new TypeError(`Cannot create server: authToken ${problem}`);
    }
    authToken = digest(options.authToken);
  }
  if (
    options.authenticate !== undefined &&
    typeof options.authenticate !== "function"
  ) {
    throw new TypeError(
      "Cannot create server: authenticate must be a function",
    );
  }
  const rate = options.maxMessagesPerSecond === undefined
    ? DEFAULTS.maxMessagesPerSecond
    : options.maxMessagesPerSecond ?? 0;
  if (typeof rate !== "number" || !Number.isFinite(rate) || rate < 0) {
    throw new RangeError(
      "Cannot create server: maxMessagesPerSecond must be a number >= 0 or null",
    );
  }
  const max = Number.MAX_SAFE_INTEGER;
  return {
    host,
    port: integer("port", options.port, DEFAULTS.port, 0, 65535),
    path,
    certFile: options.certFile,
    keyFile: options.keyFile,
    idleTimeout: interval > 0 && timeout > 0
      ? Math.ceil(interval + timeout)
      : 0,
    allowedCommands: allowedCommandSet(options.allowedCommands),
    maxMessageSize: integer(
      "maxMessageSize",
      options.maxMessageSize,
      DEFAULTS.maxMessageSize,
      1,
      max,
    ),
    maxBufferedAmount: integer(
      "maxBufferedAmount",
      options.maxBufferedAmount,
      DEFAULTS.maxBufferedAmount,
      0,
      max,
    ),
    maxPendingCommands: integer(
      "maxPendingCommands",
      options.maxPendingCommands,
      DEFAULTS.maxPendingCommands,
      1,
      max,
    ),
    maxFilters: integer(
      "maxFiltersPerClient",
      options.maxFiltersPerClient,
      DEFAULTS.maxFiltersPerClient,
      0,
      max,
    ),
    maxClients: integer(
      "maxClients",
      options.maxClients,
      DEFAULTS.maxClients,
      1,
      max,
    ),
    mempoolInterval: integer(
      "mempoolInterval",
      options.mempoolInterval,
      DEFAULTS.mempoolInterval,
      0,
      max,
    ),
    seenLimit: integer(
      "seenTransactions",
      options.seenTransactions,
      DEFAULTS.seenTransactions,
      1,
      max,
    ),
    hashBlockDelay: integer(
      "hashBlockDelay",
      options.hashBlockDelay,
      DEFAULTS.hashBlockDelay,
      0,
      max,
    ),
    startZmq: options.startZmq ?? true,
    maxBackfill: integer(
      "maxBackfillBlocks",
      options.maxBackfillBlocks,
      DEFAULTS.maxBackfillBlocks,
      1,
      max,
    ),
    maxReplay: integer(
      "maxReplayBlocks",
      options.maxReplayBlocks,
      DEFAULTS.maxReplayBlocks,
      0,
      max,
    ),
    authToken,
    authenticate: options.authenticate,
    allowedOrigins: options.allowedOrigins === undefined
      ? undefined
      : normalizeOrigins(options.allowedOrigins),
    messageRate: rate,
    messageBurst: integer(
      "messageBurst",
      options.messageBurst,
      Math.max(1, Math.ceil(2 * rate)),
      1,
      max,
    ),
    maxClientsPerIp: integer(
      "maxClientsPerIp",
      options.maxClientsPerIp,
      DEFAULTS.maxClientsPerIp,
      0,
      max,
    ),
    trustProxy: trustedProxies(options.trustProxy),
    guard: options.guard ?? true,
    handshakeTimeout: Math.ceil(
      1000 *
        positiveSeconds(
          "handshakeTimeout",
          options.handshakeTimeout,
          DEFAULTS.handshakeTimeout,
        ),
    ),
    maxPendingHandshakes: integer(
      "maxPendingHandshakes",
      options.maxPendingHandshakes,
      DEFAULTS.maxPendingHandshakes,
      1,
      max,
    ),
    maxUnsentBytes: integer(
      "maxUnsentBytes",
      options.maxUnsentBytes,
      DEFAULTS.maxUnsentBytes,
      1,
      max,
    ),
    drainTimeout: Math.ceil(
      1000 *
        positiveSeconds(
          "drainTimeout",
          options.drainTimeout,
          DEFAULTS.drainTimeout,
        ),
    ),
    maxReplySize: integer(
      "maxReplySize",
      options.maxReplySize,
      DEFAULTS.maxReplySize,
      1,
      max,
    ),
    maxCommandsInFlight: integer(
      "maxCommandsInFlight",
      options.maxCommandsInFlight,
      DEFAULTS.maxCommandsInFlight,
      1,
      max,
    ),
    maxQueuedCommands: integer(
      "maxQueuedCommands",
      options.maxQueuedCommands,
      DEFAULTS.maxQueuedCommands,
      1,
      max,
    ),
    listen: options.listen ?? true,
    reusePort: options.reusePort === true,
    externalCursors: cursorsOption(options.cursors),
    resumeAfter: resumeAfterOption(options.resumeAfter),
    onEvent: typeof options.onEvent === "function"
      ? options.onEvent
      : undefined,
    maxLoggedEvents: integer(
      "maxLoggedEvents",
      options.maxLoggedEvents,
      10000,
      1,
      max,
    ),
    metrics: options.metrics ?? true,
    dashboard: options.dashboard ?? true,
    onError: options.onError ??
      ((error) => console.error(`EvrmoreWebSocketServer: ${error.message}`)),
  };
}

function cursorsOption(value: unknown): boolean {
  if (value === undefined || value === "own") return false;
  if (value === "external") return true;
  throw new TypeError(
    'Cannot create server: cursors must be "own" or "external"',
  );
}

function resumeAfterOption(value: unknown): BlockData | undefined {
  if (value === undefined) return undefined;
  const block = value as Partial<BlockData> | null;
  if (
    typeof block?.hash !== "string" || !/^[0-9a-f]{64}$/.test(block.hash) ||
    !Number.isSafeInteger(block.height) || block.height! < 0
  ) {
    throw new TypeError(
      "Cannot create server: resumeAfter must be a block with a hash and a height",
    );
  }
  return block as BlockData;
}

function positiveSeconds(
  name: string,
  value: number | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot create server: ${name} must be a number of seconds > 0`,
    );
  }
  return value;
}

function trustedProxies(list: Iterable<string> | undefined): TrustedProxies {
  if (list === undefined) return new TrustedProxies();
  if (typeof list === "string" || typeof list[Symbol.iterator] !== "function") {
    throw new TypeError(
      "Cannot create server: trustProxy must be a list of addresses or CIDR ranges",
    );
  }
  try {
    return new TrustedProxies([...list]);
  } catch (cause) {
    throw new TypeError(
      `Cannot create server: trustProxy: ${(cause as Error).message}`,
      { cause },
    );
  }
}

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < min ||
    value > max
  ) {
    throw new RangeError(
      `Cannot create server: ${name} must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}
