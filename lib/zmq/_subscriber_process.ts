/**
 * The subscriber process: owns the ZMQ SUB socket, blocks in libzmq's
 * receive on a Deno blocking thread, and writes each message to stdout as a
 * record (see `_records.ts`), with control records for connection events and
 * a heartbeat. It exits when its stdin ends (the client went away).
 *
 * A crash, abort or hang in native code here ends or stalls only this
 * process; the client notices and starts a new one.
 *
 * Run as a module (`deno run ... _subscriber_process.ts <config JSON>`), or
 * through {@linkcode runSubscriberProcess} from a program's own entry point.
 *
 * @module
 */

import {
  cString,
  lastError,
  type LibZmq,
  openLibZmq,
  ZMQ_DONTWAIT,
  ZMQ_EVENT_CONNECTED,
  ZMQ_EVENT_DISCONNECTED,
  ZMQ_LINGER,
  ZMQ_MSG_SIZE,
  ZMQ_PAIR,
  ZMQ_RCVHWM,
  ZMQ_SUB,
  ZMQ_SUBSCRIBE,
} from "./_libzmq.ts";
import {
  type ControlMessage,
  encodeControl,
  messageRecordSize,
  writeMessage,
} from "./_records.ts";

/** What the client tells the subscriber process (its one argument, JSON). */
export interface SubscriberConfig {
  /** The publisher endpoint. */
  address: string;
  /** Topic prefixes to subscribe to. */
  topics: string[];
  /** Heartbeat interval in ms. */
  heartbeat: number;
}

const MAX_BATCH = 256;
const RECEIVE_HWM = 100_000;

/** Writes all of `bytes` to stdout; exits when stdout is gone. */
function write(bytes: Uint8Array): void {
  let written = 0;
  try {
    while (written < bytes.length) {
      written += Deno.stdout.writeSync(bytes.subarray(written));
    }
  } catch {
    Deno.exit(0); // The client is gone.
  }
}

function control(message: ControlMessage): void {
  write(encodeControl(message));
}

/** The connected endpoint; undefined while disconnected. */
let connection: string | undefined;

/**
 * Reports the connection once. The monitor's event travels on its own socket
 * and can come after the first message; a message proves the connection, so
 * whichever comes first reports it.
 */
function connected(address: string): void {
  if (connection !== undefined) return;
  connection = address;
  control({ type: "connect", address });
}

/** Receives one whole message; `wait` blocks on a Deno blocking thread. */
async function receive(
  lib: LibZmq,
  socket: Deno.PointerValue,
  msg: Uint8Array<ArrayBuffer>,
  wait: boolean,
): Promise<Uint8Array[] | undefined> {
  const frames: Uint8Array[] = [];
  for (;;) {
    lib.zmq_msg_init(msg);
    const first = frames.length === 0;
    const size = first && wait
      ? await lib.zmq_msg_recv_wait(msg, socket, 0)
      : lib.zmq_msg_recv(msg, socket, first ? ZMQ_DONTWAIT : 0);
    if (size < 0) {
      lib.zmq_msg_close(msg);
      if (first && !wait) return undefined; // EAGAIN: nothing queued.
      throw new Error(`Cannot receive: ${lastError(lib)}`);
    }
    const frame = new Uint8Array(size);
    if (size > 0) {
      const data = lib.zmq_msg_data(msg);
      if (data !== null) Deno.UnsafePointerView.copyInto(data, frame);
    }
    const more = lib.zmq_msg_more(msg);
    lib.zmq_msg_close(msg);
    frames.push(frame);
    if (more === 0) return frames;
  }
}

async function watchMonitor(
  lib: LibZmq,
  pair: Deno.PointerValue,
): Promise<void> {
  const msg = new Uint8Array(ZMQ_MSG_SIZE);
  const text = new TextDecoder();
  for (;;) {
    const frames = await receive(lib, pair, msg, true);
    if (frames === undefined || frames.length < 2) continue;
    const head = frames[0]!;
    if (head.length < 2) continue;
    const event = new DataView(head.buffer, head.byteOffset).getUint16(
      0,
      true,
    );
    const address = text.decode(frames[1]);
    if (event === ZMQ_EVENT_CONNECTED) connected(address);
    if (event === ZMQ_EVENT_DISCONNECTED && connection !== undefined) {
      connection = undefined;
      control({ type: "disconnect", address });
    }
  }
}

function setInt(
  lib: LibZmq,
  socket: Deno.PointerValue,
  option: number,
  value: number,
): void {
  lib.zmq_setsockopt(socket, option, new Int32Array([value]), 4n);
}

/**
 * Runs the subscriber: connects, subscribes, then forwards messages to
 * stdout until stdin ends or a receive fails. Never returns normally.
 *
 * @param config Endpoint, topics and heartbeat interval.
 */
export async function runSubscriberProcess(
  config: SubscriberConfig,
): Promise<never> {
  let lib: LibZmq;
  try {
    lib = openLibZmq();
  } catch (error) {
    control({ type: "fatal", code: "load", message: (error as Error).message });
    Deno.exit(2);
  }
  const context = lib.zmq_ctx_new();
  const socket = lib.zmq_socket(context, ZMQ_SUB);
  const pair = lib.zmq_socket(context, ZMQ_PAIR);
  setInt(lib, socket, ZMQ_LINGER, 0);
  setInt(lib, socket, ZMQ_RCVHWM, RECEIVE_HWM);
  const monitor = cString(`inproc://evrmore-zmq-monitor-${Deno.pid}`);
  if (
    lib.zmq_socket_monitor(
        socket,
        monitor,
        ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED,
      ) !== 0 ||
    lib.zmq_connect(pair, monitor) !== 0
  ) {
    control({
      type: "fatal",
      message: `Cannot monitor the socket: ${lastError(lib)}`,
    });
    Deno.exit(2);
  }
  watchMonitor(lib, pair).catch((error) => {
    control({ type: "error", message: (error as Error).message });
  });
  if (lib.zmq_connect(socket, cString(config.address)) !== 0) {
    control({
      type: "fatal",
      code: "connect",
      message: lastError(lib),
    });
    Deno.exit(2);
  }
  for (const topic of config.topics) {
    const prefix = new TextEncoder().encode(topic);
    lib.zmq_setsockopt(socket, ZMQ_SUBSCRIBE, prefix, BigInt(prefix.length));
  }
  setInterval(() => control({ type: "heartbeat" }), config.heartbeat);
  // The client closes stdin (or dies): leave.
  (async () => {
    try {
      for await (const _ of Deno.stdin.readable) { /* no commands yet */ }
    } catch { /* gone */ }
    Deno.exit(0);
  })();
  control({ type: "ready", pid: Deno.pid });

  const msg = new Uint8Array(ZMQ_MSG_SIZE);
  let buffer = new Uint8Array(65_536);
  for (;;) {
    try {
      // Wait for a message, then forward it with whatever else is already
      // queued (up to MAX_BATCH) in one write.
      let frames = await receive(lib, socket, msg, true);
      connected(config.address);
      let length = 0;
      for (let count = 0; frames !== undefined;) {
        const size = messageRecordSize(frames);
        if (length + size > buffer.length) {
          write(buffer.subarray(0, length));
          length = 0;
          if (size > buffer.length) buffer = new Uint8Array(size * 2);
        }
        length = writeMessage(frames, buffer, length);
        if (++count >= MAX_BATCH) break;
        frames = await receive(lib, socket, msg, false);
      }
      write(buffer.subarray(0, length));
    } catch (error) {
      control({ type: "fatal", message: (error as Error).message });
      Deno.exit(3);
    }
  }
}

/**
 * Runs this process as the subscriber process of an `EvrmoreZMQClient`
 * (`isolation: "subprocess"`): for a program built with `deno compile`,
 * which cannot `deno run` the subscriber module. Give the client a
 * `subscriberCommand` that re-executes the program with a flag, and call this
 * first thing when the flag is there; `config` is the argument the client
 * appends. It never returns: the process exits when the client goes away.
 * Needs `--allow-ffi` and `--allow-read` (compile with them).
 *
 * @example Re-executing a compiled server as its own subscriber process
 * ```ts ignore
 * import { EvrmoreZMQClient, runZMQSubscriber } from "@evrmore/rpc";
 *
 * if (Deno.args[0] === "--zmq-subscriber") await runZMQSubscriber(Deno.args[1]!);
 * const zmq = new EvrmoreZMQClient({
 *   subscriberCommand: [Deno.execPath(), "--zmq-subscriber"],
 * });
 * await zmq.start();
 * ```
 *
 * @param config The configuration JSON the client passes.
 * @throws {TypeError} When `config` is not the client's configuration.
 */
export function runZMQSubscriber(config: string): Promise<never> {
  let parsed: SubscriberConfig;
  try {
    parsed = JSON.parse(config) as SubscriberConfig;
  } catch (cause) {
    throw new TypeError(
      "Cannot run the ZMQ subscriber: its configuration is not JSON",
      { cause },
    );
  }
  if (
    typeof parsed?.address !== "string" || !Array.isArray(parsed.topics) ||
    typeof parsed.heartbeat !== "number"
  ) {
    throw new TypeError(
      "Cannot run the ZMQ subscriber: its configuration lacks address, topics or heartbeat",
    );
  }
  return runSubscriberProcess(parsed);
}

if (import.meta.main) await runZMQSubscriber(Deno.args[0] ?? "");
