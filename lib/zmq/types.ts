/**
 * Types of the ZMQ notifications the node publishes, as `EvrmoreZMQClient`
 * delivers them.
 *
 * @module
 */

import type { DecodedBlock, DecodedTransaction } from "../encoding/types.ts";

/** A topic the node publishes on. */
export type ZMQTopic =
  | "hashblock"
  | "hashtx"
  | "rawblock"
  | "rawtx"
  | "rawmessage";

/** Every topic the node publishes, in the order the node registers them. */
export const ZMQ_TOPICS: readonly ZMQTopic[] = Object.freeze([
  "hashblock",
  "hashtx",
  "rawblock",
  "rawtx",
  "rawmessage",
]);

/** The JSON body of a `rawmessage` notification. */
export interface ZMQAssetMessage {
  /** Height of the block that carried the message. */
  blockheight: number;
  /** The channel asset the message was sent on. */
  assetname: string;
  /** The IPFS hash (or txid) of the message. */
  ipfshash: string;
  /** Expiry time, 0 when none. */
  expiretime: number;
  /** Fields a later node may add. */
  [key: string]: unknown;
}

/** One notification from the node. */
export interface ZMQNotification {
  /** The topic. */
  topic: ZMQTopic;
  /** The body bytes exactly as received. */
  body: Uint8Array;
  /** The body as hex (for hash topics: the hash in display order). */
  hex: string;
  /** The node's per-topic sequence number (uint32, restarts at 0 with the node). */
  sequence: number;
  /** When the notification was received (ms since the epoch). */
  receivedAt: number;
  /** The decoded transaction, for `rawtx` when decoding is on. */
  transaction?: DecodedTransaction;
  /** The decoded block, for `rawblock` when decoding is on. */
  block?: DecodedBlock;
  /** The parsed JSON body, for `rawmessage`. */
  message?: ZMQAssetMessage;
}

/** Reported when sequence numbers on a topic skip: notifications were lost. */
export interface ZMQGapEvent {
  /** The topic that skipped. */
  topic: ZMQTopic;
  /** The sequence number that was expected. */
  expected: number;
  /** The sequence number that arrived. */
  received: number;
  /** How many notifications were missed. */
  missed: number;
}
