/**
 * The subprocess transport (`isolation: "subprocess"`, the default): the ZMQ
 * socket lives in a subscriber process (`_subscriber_process.ts`) that
 * forwards each message over its stdout as soon as libzmq has it. A crash,
 * abort or hang there cannot take this process down: the transport notices
 * (exit, or no heartbeat within the hang timeout), starts a new subscriber
 * process and reports it.
 *
 * @module
 */

import { ConnectionError, EvrmoreError } from "../errors.ts";
import { errorMessage } from "./_message.ts";
import { type ControlMessage, RecordReader } from "./_records.ts";
import type { Transport, TransportSink } from "./_transport.ts";

const CHILD_URL = new URL("./_subscriber_process.ts", import.meta.url).href;
/** A child that lived this long resets the respawn backoff. */
const STABLE_MS = 10_000;
const MAX_BACKOFF_MS = 5_000;
const STDERR_KEPT = 2_048;
/** A subscriber process not ready within this long (ms) is replaced. */
const STARTUP_TIMEOUT_MS = 15_000;

/** Options of {@linkcode SubprocessTransport}. */
export interface SubprocessOptions {
  /** The publisher endpoint. */
  address: string;
  /** Topic prefixes. */
  topics: readonly string[];
  /** A subscriber silent this long (ms) is killed and replaced. */
  hangTimeout: number;
  /** argv that starts the subscriber process; the config JSON is appended. */
  command: readonly string[] | undefined;
}

interface Running {
  process: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  startedAt: number;
  lastSeen: number;
  hung: boolean;
  isReady: boolean;
  ready: PromiseWithResolvers<void>;
  connected: Set<string>;
  stderr: string;
  done: Promise<unknown>;
}

/** The argv that starts the subscriber process with `deno run`. */
export function defaultCommand(): string[] {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-ffi",
    "--allow-read",
    CHILD_URL,
  ];
}

/** Whether this process runs under the `deno` CLI (not a compiled program). */
export function runsUnderDenoCli(): boolean {
  const name = Deno.execPath().split(/[\\/]/).pop() ?? "";
  return /^deno(\.exe)?$/i.test(name);
}

/** A transport whose socket lives in a subscriber process. */
export class SubprocessTransport implements Transport {
  #options: SubprocessOptions;
  #sink: TransportSink;
  #running: Running | undefined;
  #closed = false;
  #supervisor: Promise<void> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #lastTick = 0;
  #respawns = 0;
  #failuresInRow = 0;
  #backoff:
    | { timer: ReturnType<typeof setTimeout>; resolve(): void }
    | undefined;

  constructor(options: SubprocessOptions, sink: TransportSink) {
    this.#options = options;
    this.#sink = sink;
  }

  get pid(): number | undefined {
    return this.#running?.process.pid;
  }

  async open(): Promise<void> {
    const running = this.#spawn();
    const startup = setTimeout(() => {
      running.hung = true;
      this.#killQuietly(running);
    }, STARTUP_TIMEOUT_MS);
    try {
      await running.ready.promise;
    } catch (error) {
      await this.#kill(running);
      this.#running = undefined;
      throw error;
    } finally {
      clearTimeout(startup);
    }
    if (this.#closed) return;
    this.#startWatchdog();
    this.#supervisor = this.#supervise(running);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    if (this.#backoff !== undefined) {
      clearTimeout(this.#backoff.timer);
      this.#backoff.resolve();
    }
    const running = this.#running;
    if (running !== undefined) await this.#kill(running);
    await this.#supervisor;
  }

  /** Starts a subscriber process; its `ready` settles on "ready" or failure. */
  #spawn(): Running {
    const { address, topics, hangTimeout } = this.#options;
    const config = JSON.stringify({
      address,
      topics,
      heartbeat: Math.max(20, Math.floor(hangTimeout / 4)),
    });
    let process: Deno.ChildProcess;
    try {
      const [command, ...args] = this.#options.command ?? defaultCommand();
      process = new Deno.Command(command!, {
        args: [...args, config],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (cause) {
      throw new EvrmoreError(
        `Cannot start ZMQ client: cannot start the subscriber process (it needs --allow-run, and --allow-ffi for zeromq): ${
          errorMessage(cause)
        }`,
        { cause },
      );
    }
    const now = performance.now();
    const running: Running = {
      process,
      stdin: process.stdin.getWriter(),
      startedAt: now,
      lastSeen: now,
      hung: false,
      isReady: false,
      ready: Promise.withResolvers<void>(),
      connected: new Set(),
      stderr: "",
      done: Promise.resolve(),
    };
    running.ready.promise.catch(() => {});
    this.#running = running;
    running.done = Promise.allSettled([
      this.#read(running),
      this.#readStderr(running),
    ]).then(async () => {
      const status = await process.status;
      running.ready.reject(this.#exitError(running, status));
      return status;
    });
    return running;
  }

  async #read(running: Running): Promise<void> {
    const reader = new RecordReader();
    try {
      for await (const chunk of running.process.stdout) {
        running.lastSeen = performance.now();
        for (const record of reader.push(chunk)) {
          if (this.#running !== running || this.#closed) continue;
          if (record.kind === "message") this.#sink.frames(record.frames);
          else this.#control(running, record.control);
        }
      }
    } catch (cause) {
      // A garbled stream: this subscriber is unusable; replace it.
      if (!this.#closed && this.#running === running) {
        this.#sink.error(
          new ConnectionError(
            `Cannot read the ZMQ subscriber process: ${errorMessage(cause)}`,
            { cause },
          ),
        );
        this.#killQuietly(running);
      }
    }
  }

  async #readStderr(running: Running): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of running.process.stderr) {
        running.stderr = (running.stderr + decoder.decode(chunk))
          .slice(-STDERR_KEPT);
      }
    } catch { /* gone */ }
  }

  #control(running: Running, control: ControlMessage): void {
    switch (control.type) {
      case "ready":
        running.isReady = true;
        running.ready.resolve();
        break;
      case "connect":
        running.connected.add(control.address);
        this.#sink.connected(control.address);
        break;
      case "disconnect":
        running.connected.delete(control.address);
        this.#sink.disconnected(control.address);
        break;
      case "error":
        this.#sink.error(
          new ConnectionError(`ZMQ subscriber process: ${control.message}`),
        );
        break;
      case "fatal":
        running.ready.reject(
          control.code === "connect"
            ? new ConnectionError(
              `Cannot connect to ${this.#options.address}: ${control.message}`,
            )
            : new EvrmoreError(
              `Cannot start ZMQ client: ${control.message}`,
            ),
        );
        break;
      case "heartbeat":
        break;
    }
  }

  #exitError(running: Running, status: Deno.CommandStatus): Error {
    const detail = running.stderr.trim().split("\n").slice(-3).join(" | ");
    return new EvrmoreError(
      `Cannot start ZMQ client: the subscriber process ${
        describeExit(running, status)
      }${detail === "" ? "" : `: ${detail}`}`,
    );
  }

  /** Waits for each subscriber process to end and starts the next one. */
  async #supervise(first: Running): Promise<void> {
    let running: Running | undefined = first;
    for (;;) {
      if (running !== undefined) {
        const status = await running.done as Deno.CommandStatus;
        if (this.#closed) return;
        this.#ended(running, status);
      } else {
        this.#failuresInRow++;
      }
      // Started again at once, then with a growing delay while it keeps dying.
      const delay = this.#failuresInRow <= 1
        ? 0
        : Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.#failuresInRow - 2));
      if (delay > 0) await this.#pause(delay);
      if (this.#closed) return;
      try {
        running = this.#spawn();
      } catch (error) {
        this.#sink.error(error as Error);
        running = undefined;
        continue;
      }
      try {
        await running.ready.promise;
      } catch (error) {
        if (!this.#closed) this.#sink.error(error as Error);
      }
    }
  }

  /** Reports the end of a subscriber process that should have kept going. */
  #ended(running: Running, status: Deno.CommandStatus): void {
    for (const address of running.connected) this.#sink.disconnected(address);
    const lived = performance.now() - running.startedAt;
    this.#failuresInRow = lived >= STABLE_MS ? 1 : this.#failuresInRow + 1;
    this.#respawns++;
    this.#sink.respawned({
      reason: running.hung ? "hang" : status.signal !== null ? "crash" : "exit",
      code: status.signal !== null ? null : status.code,
      signal: status.signal,
      respawns: this.#respawns,
      message: `The ZMQ subscriber process ${
        describeExit(running, status)
      }; starting a new one`,
    });
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#backoff = undefined;
        resolve();
      }, ms);
      this.#backoff = { timer, resolve };
    });
  }

  #startWatchdog(): void {
    const { hangTimeout } = this.#options;
    const interval = Math.max(10, Math.floor(hangTimeout / 4));
    this.#lastTick = performance.now();
    this.#watchdog = setInterval(() => {
      const now = performance.now();
      const late = now - this.#lastTick > interval * 2;
      this.#lastTick = now;
      const running = this.#running;
      // When this process itself was stalled, give the reader a chance first.
      if (running === undefined || late) return;
      // Starting up (a new Deno process) may take longer than a heartbeat.
      const limit = running.isReady
        ? hangTimeout
        : Math.max(hangTimeout, STARTUP_TIMEOUT_MS);
      if (now - running.lastSeen > limit && !running.hung) {
        running.hung = true;
        this.#killQuietly(running);
      }
    }, interval);
  }

  #killQuietly(running: Running): void {
    try {
      running.process.kill("SIGKILL");
    } catch { /* already gone */ }
  }

  async #kill(running: Running): Promise<void> {
    running.stdin.close().catch(() => {});
    this.#killQuietly(running);
    await running.done;
  }
}

function describeExit(running: Running, status: Deno.CommandStatus): string {
  if (running.hung) return "stopped answering (killed)";
  if (status.signal !== null) return `was killed by ${status.signal}`;
  return `exited with code ${status.code}`;
}
