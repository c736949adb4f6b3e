/**
 * The event type that crosses the feed seam (feed → hub), shared by the
 * NATS JetStream publisher and consumer.
 *
 * @module
 */

/** A WebSocket topic an event is pushed on. */
export type FeedTopic = "blocks" | "transactions" | "assets" | "mempool";

/** The four topics, in a fixed order. */
export const FEED_TOPICS: readonly FeedTopic[] = Object.freeze([
  "blocks",
  "transactions",
  "assets",
  "mempool",
]);

/**
 * One chain event, as the feed hands it to the hub.
 *
 * @example
 * ```ts
 * import type { FeedEvent } from "./mod.ts";
 *
 * const event: FeedEvent = {
 *   topic: "blocks",
 *   id: "block:00ab",
 *   message: { type: "block", data: { hash: "00ab", height: 1 } },
 * };
 * console.log(event.id);
 * ```
 */
export interface FeedEvent {
  /** WebSocket topic it is pushed on (reorg messages go on "blocks"). */
  topic: FeedTopic;
  /**
   * De-duplication id: "block:<hash>", "tx:<txid>", "asset:<txid>:<vout>",
   * "reorg:<hash>", "mempool:<n>" …
   */
  id: string;
  /** The WebSocket message as sent, e.g. `{type:"block",data:{...}}`. */
  message: { type: string; data: unknown; [k: string]: unknown };
  /** For filtered subscribers. */
  match?: { asset?: string; addresses?: readonly string[] };
  /** Assigned by the log the event went through (here: JetStream stream sequence). */
  cursor?: string;
}
