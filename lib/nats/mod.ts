/**
 * The chain feed over NATS JetStream: an ingest publishes each event once
 * ({@linkcode NatsFeedPublisher}), any number of gateways read it back in
 * order, live or from a cursor ({@linkcode NatsFeedSource}), and node
 * commands travel over request/reply ({@linkcode serveCommands},
 * {@linkcode requestCommand}). All share one {@linkcode NatsLink}.
 *
 * @example
 * ```ts
 * import { connectNats, NatsFeedPublisher, NatsFeedSource } from "./mod.ts";
 *
 * async function roundtrip(): Promise<void> {
 *   await using link = await connectNats("nats://127.0.0.1:4222");
 *   await using publisher = await NatsFeedPublisher.create(link, { network: "regtest" });
 *   await using feed = await NatsFeedSource.open(link, { network: "regtest", since: "0" });
 *   publisher.publish({ topic: "mempool", id: "mempool:1", message: { type: "mempool", data: { size: 1 } } });
 *   for await (const event of feed) {
 *     console.log(event.cursor, event.message);
 *     break;
 *   }
 * }
 * ```
 *
 * @module
 */

export type { FeedEvent, FeedTopic } from "./_types.ts";
export { FEED_TOPICS } from "./_types.ts";
export {
  connectNats,
  type NatsConnectOptions,
  NatsLink,
  type NatsStatusEvent,
} from "./_connection.ts";
export {
  FeedCursorError,
  type FeedCursorErrorCode,
  type FeedCursorErrorOptions,
  NatsFeedError,
  type NatsFeedErrorOptions,
  NodeUnavailableError,
} from "./_errors.ts";
export { DEFAULT_STREAM, type StreamRetentionOptions } from "./_stream.ts";
export {
  NatsFeedPublisher,
  type NatsPublisherOptions,
  type NatsPublisherStats,
} from "./_publisher.ts";
export { type NatsFeedOptions, NatsFeedSource } from "./_consumer.ts";
export {
  type CommandHandler,
  NatsCommandServer,
  requestCommand,
  type RequestCommandOptions,
  serveCommands,
  type ServeCommandsOptions,
} from "./_commands.ts";
export {
  commandSubject,
  decodeAssetToken,
  encodeAssetToken,
  streamSubjects,
} from "./_subjects.ts";
// Re-exported so this module documents completely on its own.
export type { Network } from "../network.ts";
export {
  ConnectionError,
  EvrmoreError,
  type EvrmoreErrorOptions,
} from "../errors.ts";
