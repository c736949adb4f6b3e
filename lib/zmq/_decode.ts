/**
 * Decoding of `rawtx`/`rawblock` bodies with the encoding module; any
 * failure becomes a `DecodeError` that names the topic and sequence.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import type { Network } from "../network.ts";
import { decodeBlock, decodeTransaction } from "../encoding/mod.ts";
import type { DecodedBlock, DecodedTransaction } from "../encoding/types.ts";

function wrap(topic: string, sequence: number, cause: unknown): DecodeError {
  const message = cause instanceof Error ? cause.message : String(cause);
  const offset = cause instanceof DecodeError ? cause.offset : undefined;
  return new DecodeError(
    `Cannot decode ${topic} #${sequence}: ${message}`,
    offset === undefined ? { cause } : { cause, offset },
  );
}

/** Decodes a `rawtx` body like `decoderawtransaction`. */
export function decodeTransactionBody(
  body: Uint8Array,
  network: Network,
  sequence: number,
): DecodedTransaction {
  try {
    return decodeTransaction(body, { network });
  } catch (cause) {
    throw wrap("rawtx", sequence, cause);
  }
}

/** Decodes a `rawblock` body like `getblock <hash> 2`. */
export function decodeBlockBody(
  body: Uint8Array,
  network: Network,
  sequence: number,
): DecodedBlock {
  try {
    return decodeBlock(body, { network });
  } catch (cause) {
    throw wrap("rawblock", sequence, cause);
  }
}
