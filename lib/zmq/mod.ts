/**
 * The node's ZMQ notifications (`hashblock`, `hashtx`, `rawblock`, `rawtx`,
 * `rawmessage`) as typed, decoded notifications, with gap, restart and
 * connection events.
 *
 * libzmq is loaded when a client starts, by default in a subscriber process:
 * importing this module needs no permission; starting a client needs
 * `--allow-run` (or `--allow-ffi --allow-read` with `isolation: "none"`).
 *
 * @example
 * ```ts
 * import { EvrmoreZMQClient } from "@evrmore/rpc";
 *
 * async function follow(): Promise<void> {
 *   await using zmq = new EvrmoreZMQClient({ address: "tcp://127.0.0.1:28332" });
 *   zmq.on("hashblock", (n) => console.log("block", n.hex));
 *   await zmq.start();
 *   for await (const n of zmq) console.log(n.topic, n.sequence);
 * }
 * ```
 *
 * @module
 */

export { EvrmoreZMQClient } from "./_client.ts";
export { runZMQSubscriber } from "./_subscriber_process.ts";
export {
  type EvrmoreZMQClientOptions,
  type EvrmoreZMQStartOptions,
  ZMQ_TOPICS,
  type ZMQAssetMessage,
  type ZMQClientStats,
  type ZMQConnectionEvent,
  type ZMQEventMap,
  type ZMQEventName,
  type ZMQGapEvent,
  type ZMQHandler,
  type ZMQNotification,
  type ZMQOverflowEvent,
  type ZMQRespawnEvent,
  type ZMQRestartEvent,
  type ZMQResyncEvent,
  type ZMQTopic,
} from "./types.ts";
// Types the ZMQ types refer to (also exported by the package root).
export type {
  DecodeError,
  DecodeErrorOptions,
  EvrmoreError,
  EvrmoreErrorOptions,
} from "../errors.ts";
export type { Network } from "../network.ts";
export type {
  DecodedBlock,
  DecodedTransaction,
  ScriptAsset,
  ScriptPubKey,
  TransactionInput,
  TransactionOutput,
} from "../encoding/types.ts";
