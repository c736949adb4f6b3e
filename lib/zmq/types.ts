/**
 * Types of the ZMQ notifications the node publishes, as `EvrmoreZMQClient`
 * delivers them, and of the events the client reports.
 *
 * @module
 */

import type { DecodeError } from "../errors.ts";
import type { Network } from "../network.ts";
import type { DecodedBlock, DecodedTransaction } from "../encoding/types.ts";

/**
 * A topic the node publishes on.
 *
 * @example
 * ```ts
 * import type { ZMQTopic } from "@evrmore/rpc";
 *
 * const topic: ZMQTopic = "rawblock";
 * console.log(topic);
 * ```
 */
export type ZMQTopic =
  | "hashblock"
  | "hashtx"
  | "rawblock"
  | "rawtx"
  | "rawmessage";

/**
 * Every topic the node publishes, in the order the node registers them.
 *
 * @example
 * ```ts
 * import { ZMQ_TOPICS } from "@evrmore/rpc";
 *
 * console.log(ZMQ_TOPICS.includes("rawtx")); // true
 * ```
 */
export const ZMQ_TOPICS: readonly ZMQTopic[] = Object.freeze([
  "hashblock",
  "hashtx",
  "rawblock",
  "rawtx",
  "rawmessage",
]);

/**
 * The JSON body of a `rawmessage` notification.
 *
 * @example
 * ```ts
 * import type { ZMQAssetMessage } from "@evrmore/rpc";
 *
 * const message: ZMQAssetMessage = JSON.parse(
 *   '{"blockheight":172,"assetname":"MYASSET!","ipfshash":"Qm...","expiretime":0}',
 * );
 * console.log(message.assetname); // "MYASSET!"
 * ```
 */
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

/**
 * One notification from the node.
 *
 * @example
 * ```ts
 * import type { ZMQNotification } from "@evrmore/rpc";
 *
 * function describe(n: ZMQNotification): string {
 *   switch (n.topic) {
 *     case "rawtx":
 *       return `tx ${n.transaction?.txid ?? "(undecoded)"} #${n.sequence}`;
 *     case "rawblock":
 *       return `block ${n.block?.height} ${n.block?.hash}`;
 *     case "rawmessage":
 *       return `message on ${n.message?.assetname}`;
 *     default:
 *       return `${n.topic} ${n.hex}`;
 *   }
 * }
 * ```
 */
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
  /**
   * Why the body could not be decoded (a raw body that is no valid
   * transaction or block, a `rawmessage` that is no valid JSON, a hash body
   * that is not 32 bytes). The same error is reported as an `"error"` event.
   */
  error?: DecodeError;
}

/**
 * Reported when sequence numbers on a topic skip: notifications were lost.
 *
 * @example
 * ```ts
 * import type { ZMQGapEvent } from "@evrmore/rpc";
 *
 * const gap: ZMQGapEvent = { topic: "hashblock", expected: 7, received: 9, missed: 2 };
 * console.log(`${gap.missed} ${gap.topic} lost`);
 * ```
 */
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

/**
 * Reported when the sequence of a topic goes back (to 0, or below the last
 * one seen): the node restarted. This is not a gap; if the first number after
 * the restart is not 0, a `"gap"` event from 0 follows it.
 *
 * @example
 * ```ts
 * import type { ZMQRestartEvent } from "@evrmore/rpc";
 *
 * const restart: ZMQRestartEvent = { topic: "hashtx", previous: 41, received: 0 };
 * console.log(restart.previous); // 41
 * ```
 */
export interface ZMQRestartEvent {
  /** The topic whose counter went back. */
  topic: ZMQTopic;
  /** The last sequence number seen before the restart. */
  previous: number;
  /** The sequence number that arrived. */
  received: number;
}

/**
 * Reported when the connection to the node's publisher is made or lost.
 *
 * @example
 * ```ts
 * import type { ZMQConnectionEvent } from "@evrmore/rpc";
 *
 * const event: ZMQConnectionEvent = { address: "tcp://127.0.0.1:28332" };
 * console.log(event.address);
 * ```
 */
export interface ZMQConnectionEvent {
  /** The endpoint, for example `tcp://127.0.0.1:28332`. */
  address: string;
}

/**
 * Reported by an async iterator whose buffer was full: the oldest buffered
 * notification was dropped to make room for a new one.
 *
 * @example
 * ```ts
 * import type { ZMQOverflowEvent } from "@evrmore/rpc";
 *
 * const event: ZMQOverflowEvent = { topic: "rawtx", sequence: 12, bufferSize: 1024 };
 * console.log(event.sequence); // 12
 * ```
 */
export interface ZMQOverflowEvent {
  /** The topic of the dropped notification. */
  topic: ZMQTopic;
  /** The sequence number of the dropped notification. */
  sequence: number;
  /** The iterator's buffer size. */
  bufferSize: number;
}

/**
 * Reported when the subscriber process (`isolation: "subprocess"`) crashed,
 * exited or stopped answering, and a new one is being started. Notifications
 * published meanwhile are lost: a `"resync"` event with reason `"respawn"`
 * follows once the new subscriber is connected, and `"gap"` events follow
 * when the sequence numbers show what was missed.
 *
 * @example
 * ```ts
 * import type { ZMQRespawnEvent } from "@evrmore/rpc";
 *
 * const event: ZMQRespawnEvent = {
 *   reason: "crash",
 *   code: null,
 *   signal: "SIGSEGV",
 *   respawns: 1,
 *   message: "The ZMQ subscriber process was killed by SIGSEGV; starting a new one",
 * };
 * console.log(event.reason); // "crash"
 * ```
 */
export interface ZMQRespawnEvent {
  /**
   * `"crash"`: killed by a signal (segfault, abort...); `"exit"`: exited on
   * its own; `"hang"`: silent for longer than `hangTimeout`, killed.
   */
  reason: "crash" | "exit" | "hang";
  /** The exit code, or `null` when killed by a signal. */
  code: number | null;
  /** The signal that ended it (`"SIGSEGV"`, `"SIGABRT"`, `"SIGKILL"`...), or `null`. */
  signal: string | null;
  /** How many times a subscriber process was replaced so far (this one included). */
  respawns: number;
  /** A sentence for logs. */
  message: string;
}

/**
 * Tells that notifications may be missing around now, so a consumer that
 * keeps state from them should reconcile: the mempool against
 * `getrawmempool`, blocks against the chain tip. Emitted:
 * - `"start"`: the first connection; what the node published before the
 *   subscription took effect was never seen (ZMQ's slow joiner);
 * - `"reconnect"`: the connection to the publisher came back;
 * - `"respawn"`: a new subscriber process is connected after a crash or hang;
 * - `"gap"`: a topic's sequence skipped (a `"gap"` event came just before).
 *
 * For the first three, the event comes once the subscription is known to be
 * in effect: at the first notification after the connection, or 250 ms after
 * it when nothing was published; reconciling then misses nothing.
 *
 * @example
 * ```ts
 * import type { ZMQResyncEvent } from "@evrmore/rpc";
 *
 * const event: ZMQResyncEvent = { reason: "gap", topics: ["rawtx"] };
 * if (event.topics.includes("rawtx")) console.log("reconcile the mempool");
 * ```
 */
export interface ZMQResyncEvent {
  /** Why. */
  reason: "start" | "reconnect" | "respawn" | "gap";
  /** The topics that may have lost notifications. */
  topics: readonly ZMQTopic[];
}

/**
 * Counters of an `EvrmoreZMQClient`, for metrics.
 *
 * @example
 * ```ts
 * import { EvrmoreZMQClient } from "@evrmore/rpc";
 *
 * const stats = new EvrmoreZMQClient().stats;
 * console.log(stats.isolation, stats.received, stats.respawns); // "subprocess" 0 0
 * ```
 */
export interface ZMQClientStats {
  /** Where the socket lives. */
  isolation: "subprocess" | "none";
  /** The subscriber process id, when one runs. */
  pid: number | undefined;
  /** Notifications delivered. */
  received: number;
  /** `"gap"` events. */
  gaps: number;
  /** Notifications reported missing by those gaps. */
  missed: number;
  /** `"respawn"` events: subscriber processes replaced. */
  respawns: number;
  /** `"resync"` events. */
  resyncs: number;
  /** `"connect"` events. */
  connects: number;
  /** `"disconnect"` events. */
  disconnects: number;
  /** `"error"` events (including those written to the console). */
  errors: number;
}

/**
 * The events of `EvrmoreZMQClient` and what their handlers receive.
 *
 * @example
 * ```ts
 * import type { ZMQEventMap } from "@evrmore/rpc";
 *
 * const onGap = (gap: ZMQEventMap["gap"]) => console.warn(gap.missed);
 * onGap({ topic: "hashtx", expected: 1, received: 3, missed: 2 });
 * ```
 */
export interface ZMQEventMap {
  /** A `hashblock` notification. */
  hashblock: ZMQNotification;
  /** A `hashtx` notification. */
  hashtx: ZMQNotification;
  /** A `rawblock` notification. */
  rawblock: ZMQNotification;
  /** A `rawtx` notification. */
  rawtx: ZMQNotification;
  /** A `rawmessage` notification. */
  rawmessage: ZMQNotification;
  /** Every notification, whatever its topic. */
  notification: ZMQNotification;
  /** Notifications were lost on a topic. */
  gap: ZMQGapEvent;
  /** The node restarted (a topic's sequence went back). */
  restart: ZMQRestartEvent;
  /** Connected (or reconnected) to the publisher. */
  connect: ZMQConnectionEvent;
  /** The connection to the publisher was lost (it is retried on its own). */
  disconnect: ZMQConnectionEvent;
  /** An async iterator dropped its oldest notification. */
  overflow: ZMQOverflowEvent;
  /** The subscriber process died or hung; a new one is being started. */
  respawn: ZMQRespawnEvent;
  /** Notifications may be missing: reconcile (see {@linkcode ZMQResyncEvent}). */
  resync: ZMQResyncEvent;
  /**
   * Something went wrong but the stream goes on: a `DecodeError` for a
   * malformed message or an undecodable body, an `EvrmoreError` (with the
   * thrown value as `cause`) for a handler that threw or rejected, a
   * `ConnectionError` when the subscriber process died or hung (with a
   * `"respawn"` event).
   */
  error: Error;
}

/**
 * The name of an event of `EvrmoreZMQClient`.
 *
 * @example
 * ```ts
 * import type { ZMQEventName } from "@evrmore/rpc";
 *
 * const names: ZMQEventName[] = ["connect", "disconnect", "gap", "restart"];
 * console.log(names.length); // 4
 * ```
 */
export type ZMQEventName = keyof ZMQEventMap;

/**
 * A handler of an `EvrmoreZMQClient` event; may be async.
 *
 * @example
 * ```ts
 * import type { ZMQHandler, ZMQNotification } from "@evrmore/rpc";
 *
 * const handler: ZMQHandler<ZMQNotification> = async (n) => {
 *   await Promise.resolve();
 *   console.log(n.topic, n.sequence);
 * };
 * console.log(typeof handler); // "function"
 * ```
 */
export type ZMQHandler<T> = (event: T) => void | Promise<void>;

/**
 * Options of `EvrmoreZMQClient`.
 *
 * @example
 * ```ts
 * import { EvrmoreZMQClient, type EvrmoreZMQClientOptions } from "@evrmore/rpc";
 *
 * const options: EvrmoreZMQClientOptions = {
 *   address: "tcp://127.0.0.1:28332",
 *   topics: ["hashblock", "rawtx"],
 *   network: "regtest",
 *   bufferSize: 4096,
 * };
 * const zmq = new EvrmoreZMQClient(options);
 * console.log(zmq.topics); // ["hashblock", "rawtx"]
 * ```
 */
export interface EvrmoreZMQClientOptions {
  /**
   * The node's publisher endpoint (its `-zmqpub...` option), default
   * `tcp://127.0.0.1:28332`. Do not combine with `host`/`port`.
   */
  address?: string;
  /** Host of the publisher (default `127.0.0.1`), when `address` is not given. */
  host?: string;
  /** Port of the publisher (default `28332`), when `address` is not given. */
  port?: number;
  /** Topics to subscribe to (default: all of {@linkcode ZMQ_TOPICS}). */
  topics?: readonly ZMQTopic[];
  /** Decode `rawtx` and `rawblock` bodies (default `true`). */
  decode?: boolean;
  /** The node's network: address prefixes and header format (default `"main"`). */
  network?: Network;
  /**
   * How many notifications each async iterator buffers before it drops the
   * oldest one and reports an `"overflow"` event (default 1024).
   */
  bufferSize?: number;
  /**
   * Where the ZMQ socket lives (default `"subprocess"`):
   * - `"subprocess"`: in a subscriber process that blocks in libzmq's receive
   *   and forwards each message at once. A crash, abort or hang in native
   *   code there cannot end this process: the client starts a new one and
   *   reports `"respawn"`, `"error"` and `"resync"` events. Needs
   *   `--allow-run` (and `--allow-ffi --allow-read` for the child, which it
   *   is given).
   * - `"none"`: the socket in this process, with the same blocking receive
   *   (no polling). A crash in native code ends this process. Needs
   *   `--allow-ffi` and `--allow-read`.
   *
   * In a program built with `deno compile`, `"subprocess"` needs
   * `subscriberCommand`; without it the client falls back to `"none"` and
   * reports an `"error"` event.
   */
  isolation?: "subprocess" | "none";
  /**
   * A subscriber process silent for this long (ms; it sends a heartbeat four
   * times per period) is killed and replaced (default 10000).
   */
  hangTimeout?: number;
  /**
   * The command (argv) that starts the subscriber process; its configuration
   * (JSON) is appended as the last argument. Default: this Deno running
   * `lib/zmq/_subscriber_process.ts`. A compiled program can re-execute
   * itself: `[Deno.execPath(), "--zmq-subscriber"]`, with its entry point
   * calling `runZMQSubscriber(Deno.args[1]!)` when it sees that flag.
   */
  subscriberCommand?: readonly string[];
}

/**
 * Options of `EvrmoreZMQClient.start()`.
 *
 * @example
 * ```ts
 * import type { EvrmoreZMQStartOptions } from "@evrmore/rpc";
 *
 * const options: EvrmoreZMQStartOptions = {
 *   timeout: 5000,
 *   signal: AbortSignal.timeout(10_000),
 * };
 * console.log(options.timeout); // 5000
 * ```
 */
export interface EvrmoreZMQStartOptions {
  /** Gives up waiting for the connection when aborted. */
  signal?: AbortSignal;
  /**
   * How long to wait for the first connection, in ms (default 10000;
   * `Infinity` waits for ever). On timeout `start()` rejects with a
   * `TimeoutError` and releases the socket.
   */
  timeout?: number;
  /**
   * Wait until connected to the publisher (default `true`). With `false`,
   * `start()` resolves once the socket is set up, and the connection is made
   * (and retried) in the background.
   */
  waitForConnection?: boolean;
}
