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

import { openLibZmq } from "./_libzmq.ts";
import { FfiSubscriber, FfiSubscriberError } from "./_ffi_subscriber.ts";
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

let buffer = new Uint8Array(65_536);

/** Forwards messages received together in as few writes as possible. */
function forward(batch: Uint8Array[][]): void {
  let length = 0;
  for (const frames of batch) {
    const size = messageRecordSize(frames);
    if (length + size > buffer.length) {
      write(buffer.subarray(0, length));
      length = 0;
      if (size > buffer.length) buffer = new Uint8Array(size * 2);
    }
    length = writeMessage(frames, buffer, length);
  }
  write(buffer.subarray(0, length));
}

/**
 * Runs the subscriber: connects, subscribes, then forwards messages to
 * stdout until stdin ends or receiving fails. Never returns normally.
 *
 * @param config Endpoint, topics and heartbeat interval.
 */
export async function runSubscriberProcess(
  config: SubscriberConfig,
): Promise<never> {
  let subscriber: FfiSubscriber;
  try {
    subscriber = FfiSubscriber.open(
      await openLibZmq(),
      config.address,
      config.topics,
      {
        messages: forward,
        connected: (address) => control({ type: "connect", address }),
        disconnected: (address) => control({ type: "disconnect", address }),
      },
    );
  } catch (error) {
    control({
      type: "fatal",
      message: (error as Error).message,
      ...(error instanceof FfiSubscriberError && error.code === "connect"
        ? { code: "connect" }
        : {}),
    });
    Deno.exit(2);
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
  try {
    await subscriber.run();
  } catch (error) {
    control({ type: "fatal", message: (error as Error).message });
    Deno.exit(3);
  }
  Deno.exit(0);
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
