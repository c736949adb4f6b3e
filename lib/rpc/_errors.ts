/**
 * Error of the RPC client for answers that fail validation.
 *
 * @module
 */

import { DecodeError, type EvrmoreErrorOptions } from "../errors.ts";

/** Options of {@linkcode RpcValidationError}. */
export interface RpcValidationErrorOptions extends EvrmoreErrorOptions {
  /** The RPC method whose answer failed validation. */
  method: string;
  /** The failing field, as a path like `tx[0].vout[1].value`. */
  field: string;
}

/**
 * A node answer did not have the expected shape: `field` names the first
 * field that failed, `method` the call. It is a `DecodeError`.
 *
 * @example
 * ```ts
 * import { RpcValidationError } from "@evrmore/rpc";
 *
 * const error = new RpcValidationError(
 *   "Cannot validate getblockcount result: field (result): expected number",
 *   { method: "getblockcount", field: "(result)" },
 * );
 * console.log(error.method, error.field); // getblockcount (result)
 * ```
 */
export class RpcValidationError extends DecodeError {
  /** The RPC method whose answer failed validation. */
  readonly method: string;
  /** The failing field, as a path like `tx[0].vout[1].value`. */
  readonly field: string;

  /**
   * Creates a validation error.
   *
   * @param message The full message ("Cannot validate X result: field ...").
   * @param options The method and the failing field.
   */
  constructor(message: string, options: RpcValidationErrorOptions) {
    super(message, options);
    this.name = "RpcValidationError";
    this.method = options.method;
    this.field = options.field;
  }
}
