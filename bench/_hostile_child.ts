/**
 * JSON-lines plumbing of `bench/hostile_bench.ts`: a child process driven by
 * JSON lines on its stdin and answering with JSON lines on its stdout (the
 * pattern of `bench/websocket_bench.ts` and `_ws_receivers_process.ts`),
 * with request/answer pairing, deadlines and a stop that always ends the
 * child.
 *
 * @module
 */

/** A message on a pipe: an `op` and anything else. */
export interface LineMessage {
  op: string;
  [key: string]: unknown;
}

/** Calls `onLine` for each JSON line of `readable`; resolves at its end. */
export async function readLines(
  readable: ReadableStream<Uint8Array>,
  onLine: (message: LineMessage) => void,
): Promise<void> {
  let buffer = "";
  for await (const chunk of readable.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== "") onLine(JSON.parse(line) as LineMessage);
    }
  }
}

/**
 * The child's side: prints `ready`, handles each command line of stdin with
 * `handle` (its answer, if any, goes to stdout with the command's `id`),
 * and resolves when stdin closes, so the child never outlives its parent.
 */
export async function serveLines(
  ready: LineMessage,
  handle: (message: LineMessage) => Promise<LineMessage | undefined>,
): Promise<void> {
  const encoder = new TextEncoder();
  const stdout = Deno.stdout.writable.getWriter();
  let writing = Promise.resolve();
  const emit = (message: LineMessage) => {
    const line = encoder.encode(JSON.stringify(message) + "\n");
    writing = writing.then(() => stdout.write(line)).catch(() => {});
  };
  emit(ready);
  await readLines(Deno.stdin.readable, (message) => {
    handle(message).then(
      (answer) => emit({ ...(answer ?? { op: "ok" }), id: message.id }),
      (error) =>
        emit({
          op: "error",
          id: message.id,
          message: error instanceof Error ? error.message : String(error),
        }),
    );
  });
  await writing;
}

/** A JSON-lines child process. */
export interface Child {
  /** The first line the child printed (its `ready` message). */
  ready: Promise<LineMessage>;
  /** Sends a command; resolves with its answer, rejects after `timeoutMs`. */
  request(message: LineMessage, timeoutMs: number): Promise<LineMessage>;
  /** Closes stdin, then kills the child if it has not exited in 5 s. */
  stop(): Promise<void>;
}

/** Starts `deno run <flags> <script> <args>` as a JSON-lines child. */
export function spawnChild(
  script: URL,
  flags: string[],
  args: string[] = [],
): Child {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, script.pathname, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const pending = new Map<number, {
    resolve: (m: LineMessage) => void;
    reject: (e: Error) => void;
  }>();
  const ready = Promise.withResolvers<LineMessage>();
  let nextId = 1;
  let exited = false;
  const reading = readLines(child.stdout, (message) => {
    if (message.op === "ready") return ready.resolve(message);
    const waiter = pending.get(message.id as number);
    pending.delete(message.id as number);
    if (message.op === "error") {
      waiter?.reject(new Error(`${script.pathname}: ${message.message}`));
    } else waiter?.resolve(message);
  }).catch(() => {});
  child.status.then(() => {
    exited = true;
    const error = new Error(`${script.pathname} exited`);
    ready.reject(error);
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });
  ready.promise.catch(() => {});
  return {
    ready: ready.promise,
    request(message, timeoutMs) {
      if (exited) {
        return Promise.reject(new Error(`${script.pathname} exited`));
      }
      const id = nextId++;
      const { promise, resolve, reject } = Promise.withResolvers<
        LineMessage
      >();
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${script.pathname}: no answer to ${message.op}`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      stdin.write(encoder.encode(JSON.stringify({ ...message, id }) + "\n"))
        .catch(() => {});
      return promise;
    },
    async stop() {
      await stdin.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await child.status;
      clearTimeout(timer);
      await reading;
    },
  };
}

/** `performance.timeOrigin + performance.now()`: ms, same clock in every process. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
