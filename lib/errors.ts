/**
 * Error classes shared by every part of `@evrmore/rpc`.
 *
 * Each class sets `name`, keeps the underlying `cause`, and writes its
 * message as "Cannot X: detail" so logs read the same everywhere.
 *
 * @module
 */

/** Options accepted by every error class of this module. */
export interface EvrmoreErrorOptions {
  /** The underlying error, kept as the standard `cause` property. */
  cause?: unknown;
}

/**
 * Base class of all domain errors thrown by this package.
 *
 * @example Catch any error of this package
 * ```ts
 * import { EvrmoreError, RpcError } from "@evrmore/rpc";
 *
 * const error: unknown = new RpcError("Cannot call getblock: Block not found", {
 *   code: -5,
 *   method: "getblock",
 * });
 * console.log(error instanceof EvrmoreError); // true
 * ```
 */
export class EvrmoreError extends Error {
  /**
   * Creates an error with a message and an optional cause.
   *
   * @param message What could not be done, and why.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: EvrmoreErrorOptions) {
    super(
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "EvrmoreError";
  }
}

/** Options of {@linkcode RpcError}. */
export interface RpcErrorOptions extends EvrmoreErrorOptions {
  /** The node's JSON-RPC error code, for example `-5` or `-32601`. */
  code: number;
  /** The RPC method that failed. */
  method?: string;
  /** The HTTP status of the answer that carried the error, if any. */
  status?: number;
}

/**
 * The node answered a call with a JSON-RPC error.
 *
 * `code` is the node's own error code (`-5` not found, `-8` invalid
 * parameter, `-32601` method not found, ...), `nodeMessage` its own text.
 *
 * @example Inspect a node error
 * ```ts
 * import { RpcError } from "@evrmore/rpc";
 *
 * const error = new RpcError("Cannot call getblock: Block not found", {
 *   code: -5,
 *   method: "getblock",
 * });
 * console.log(error.code, error.method); // -5 getblock
 * ```
 */
export class RpcError extends EvrmoreError {
  /** The node's JSON-RPC error code. */
  readonly code: number;
  /** The RPC method that failed, when known. */
  readonly method: string | undefined;
  /** The HTTP status of the answer, when known. */
  readonly status: number | undefined;

  /**
   * Creates an RPC error.
   *
   * @param message The full message ("Cannot call X: node message").
   * @param options The node's code, the method and the HTTP status.
   */
  constructor(message: string, options: RpcErrorOptions) {
    super(message, options);
    this.name = "RpcError";
    this.code = options.code;
    this.method = options.method;
    this.status = options.status;
  }
}

/**
 * The node refused the credentials (HTTP 401).
 *
 * The message names the source the credentials came from (options,
 * environment, `evrmore.conf` or `.cookie`), never the password.
 *
 * @example
 * ```ts
 * import { AuthError } from "@evrmore/rpc";
 *
 * const error = new AuthError("Cannot authenticate: credentials from options were refused");
 * console.log(error.name); // "AuthError"
 * ```
 */
export class AuthError extends EvrmoreError {
  /**
   * Creates an authentication error.
   *
   * @param message What was refused and where the credentials came from.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: EvrmoreErrorOptions) {
    super(message, options);
    this.name = "AuthError";
  }
}

/**
 * A connection could not be made or was lost (node unreachable, socket
 * closed, timeout).
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@evrmore/rpc";
 *
 * const error = new ConnectionError("Cannot connect to http://127.0.0.1:8819/: refused");
 * console.log(error.name); // "ConnectionError"
 * ```
 */
export class ConnectionError extends EvrmoreError {
  /**
   * Creates a connection error.
   *
   * @param message What could not be reached, and why.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: EvrmoreErrorOptions) {
    super(message, options);
    this.name = "ConnectionError";
  }
}

/** Options of {@linkcode TimeoutError}. */
export interface TimeoutErrorOptions extends EvrmoreErrorOptions {
  /** Milliseconds the call waited in the client's queue before it was sent. */
  queueTime?: number;
  /** Milliseconds the call waited for the node after it was sent (0 when never sent). */
  nodeTime?: number;
}

/**
 * A call did not finish in time.
 *
 * It is a {@linkcode ConnectionError}, so code that retries on connection
 * failures also sees timeouts. `queueTime` and `nodeTime` split the time
 * spent: waiting in the client's queue (behind its concurrency cap) versus
 * waiting for the node after the request left.
 *
 * @example
 * ```ts
 * import { ConnectionError, TimeoutError } from "@evrmore/rpc";
 *
 * const error = new TimeoutError("Cannot call getblock: no answer within 30000 ms", {
 *   queueTime: 29000,
 *   nodeTime: 1000,
 * });
 * console.log(error instanceof ConnectionError); // true
 * console.log(error.queueTime, error.nodeTime); // 29000 1000
 * ```
 */
export class TimeoutError extends ConnectionError {
  /** Milliseconds spent in the client's queue, when known. */
  readonly queueTime: number | undefined;
  /** Milliseconds spent waiting for the node, when known. */
  readonly nodeTime: number | undefined;

  /**
   * Creates a timeout error.
   *
   * @param message What timed out, and after how long.
   * @param options Queue and node time, and the cause, if any.
   */
  constructor(message: string, options?: TimeoutErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
    this.queueTime = options?.queueTime;
    this.nodeTime = options?.nodeTime;
  }
}

/** Options of {@linkcode QueueFullError}. */
export interface QueueFullErrorOptions extends EvrmoreErrorOptions {
  /** The priority lane that was full (`"high"` or `"normal"`). */
  lane: string;
  /** The lane's bound (calls waiting at most). */
  limit: number;
}

/**
 * A call was refused before it was sent: its priority lane of the client's
 * queue already held `limit` waiting calls (see `maxQueueSize` of
 * `EvrmoreRPCClient`). Nothing reached the node; the call may be retried
 * later.
 *
 * @example
 * ```ts
 * import { QueueFullError } from "@evrmore/rpc";
 *
 * const error = new QueueFullError(
 *   "Cannot call getblock: the normal lane is full (1000 calls waiting)",
 *   { lane: "normal", limit: 1000 },
 * );
 * console.log(error.name, error.lane, error.limit); // QueueFullError normal 1000
 * ```
 */
export class QueueFullError extends EvrmoreError {
  /** The priority lane that was full. */
  readonly lane: string;
  /** The lane's bound. */
  readonly limit: number;

  /**
   * Creates a queue-full error.
   *
   * @param message The full message ("Cannot call X: the Y lane is full ...").
   * @param options The lane and its bound.
   */
  constructor(message: string, options: QueueFullErrorOptions) {
    super(message, options);
    this.name = "QueueFullError";
    this.lane = options.lane;
    this.limit = options.limit;
  }
}

/** Options of {@linkcode DecodeError}. */
export interface DecodeErrorOptions extends EvrmoreErrorOptions {
  /** The byte offset at which decoding failed. */
  offset?: number;
}

/**
 * Bytes or text could not be decoded (a truncated transaction, bad hex, a
 * malformed wire message).
 *
 * @example
 * ```ts
 * import { DecodeError } from "@evrmore/rpc";
 *
 * const error = new DecodeError("Cannot decode transaction: truncated at byte 4", { offset: 4 });
 * console.log(error.offset); // 4
 * ```
 */
export class DecodeError extends EvrmoreError {
  /** The byte offset at which decoding failed, when it applies. */
  readonly offset: number | undefined;

  /**
   * Creates a decode error.
   *
   * @param message What could not be decoded, and where.
   * @param options The byte offset and the cause, if any.
   */
  constructor(message: string, options?: DecodeErrorOptions) {
    super(message, options);
    this.name = "DecodeError";
    this.offset = options?.offset;
  }
}
