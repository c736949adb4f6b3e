/**
 * Errors of the NATS JetStream feed and command layer.
 *
 * @module
 */

import {
  ConnectionError,
  EvrmoreError,
  type EvrmoreErrorOptions,
} from "../errors.ts";

/** Codes of {@linkcode FeedCursorError}. */
export type FeedCursorErrorCode = "cursor_too_old" | "unknown_cursor";

/** Options of {@linkcode FeedCursorError}. */
export interface FeedCursorErrorOptions extends EvrmoreErrorOptions {
  /** Why the cursor cannot be resumed from. */
  code: FeedCursorErrorCode;
  /** The cursor asked for. */
  cursor: string;
  /** The stream's first stored sequence, as a cursor. */
  firstCursor: string;
  /** The stream's last stored sequence, as a cursor. */
  lastCursor: string;
}

/**
 * A feed cannot start from the cursor asked for: it is older than the
 * stream's retention (`cursor_too_old`: events after it were dropped), or
 * newer than anything stored (`unknown_cursor`).
 *
 * @example
 * ```ts
 * import { FeedCursorError } from "./mod.ts";
 *
 * const error = new FeedCursorError("Cannot resume from cursor 3: expired", {
 *   code: "cursor_too_old",
 *   cursor: "3",
 *   firstCursor: "10",
 *   lastCursor: "42",
 * });
 * console.log(error.code); // "cursor_too_old"
 * ```
 */
export class FeedCursorError extends EvrmoreError {
  /** Why the cursor cannot be resumed from. */
  readonly code: FeedCursorErrorCode;
  /** The cursor asked for. */
  readonly cursor: string;
  /** The stream's first stored sequence. */
  readonly firstCursor: string;
  /** The stream's last stored sequence. */
  readonly lastCursor: string;

  /**
   * Creates a cursor error.
   *
   * @param message What could not be done, and why.
   * @param options Code, cursors and cause.
   */
  constructor(message: string, options: FeedCursorErrorOptions) {
    super(message, options);
    this.name = "FeedCursorError";
    this.code = options.code;
    this.cursor = options.cursor;
    this.firstCursor = options.firstCursor;
    this.lastCursor = options.lastCursor;
  }
}

/**
 * No ingest answered a command: none is subscribed, or the one that is
 * cannot reach its node. A {@linkcode ConnectionError}, code
 * `node_unavailable`.
 *
 * @example
 * ```ts
 * import { NodeUnavailableError } from "./mod.ts";
 *
 * const error = new NodeUnavailableError("Cannot run getblockcount: no ingest answered");
 * console.log(error.code); // "node_unavailable"
 * ```
 */
export class NodeUnavailableError extends ConnectionError {
  /** Always `node_unavailable`. */
  readonly code: "node_unavailable" = "node_unavailable";

  /**
   * Creates the error.
   *
   * @param message What could not be run, and why.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: EvrmoreErrorOptions) {
    super(message, options);
    this.name = "NodeUnavailableError";
  }
}

/** Options of {@linkcode NatsFeedError}. */
export interface NatsFeedErrorOptions extends EvrmoreErrorOptions {
  /** What went wrong, e.g. `buffer_full`, `closed`, `publish_failed`. */
  code: string;
}

/**
 * Any other failure of the NATS layer: a publish that could not be stored
 * (`publish_failed`, retried), an event dropped because the buffer was full
 * (`buffer_full`) or the publisher closed (`closed`), a stored message that
 * does not parse (`invalid_message`), a command that failed on the ingest
 * with an error that has no better class (`internal_error`).
 *
 * @example
 * ```ts
 * import { NatsFeedError } from "./mod.ts";
 *
 * const error = new NatsFeedError("Cannot publish tx:ab: buffer full", { code: "buffer_full" });
 * console.log(error.code); // "buffer_full"
 * ```
 */
export class NatsFeedError extends EvrmoreError {
  /** What went wrong. */
  readonly code: string;

  /**
   * Creates the error.
   *
   * @param message What could not be done, and why.
   * @param options Code and cause.
   */
  constructor(message: string, options: NatsFeedErrorOptions) {
    super(message, options);
    this.name = "NatsFeedError";
    this.code = options.code;
  }
}
