/**
 * WebSocket receivers for `bench/websocket_bench.ts`: groups of clients that
 * connect to a server, subscribe, and count the messages pushed to them.
 *
 * Run as a process (`deno run --allow-net=127.0.0.1
 * bench/_ws_receivers_process.ts`), it is driven by JSON lines on stdin and
 * answers with JSON lines on stdout (see {@linkcode ReceiverCommand} and
 * {@linkcode ReceiverEvent}); it exits when its stdin closes, so it never
 * outlives the bench. The bench imports {@linkcode ReceiverPool} to run the
 * same receivers in its own process when it may not run subprocesses.
 *
 * Counting: a client counts every message it gets after its subscription
 * answers (it does not parse them). Each time every client of a group has
 * received another `every` messages, the pool reports the group's total once
 * (`reached`), so one event per benchmark iteration crosses the pipe.
 *
 * @module
 */

/** A command to the pool. */
export type ReceiverCommand =
  | {
    op: "open";
    group: string;
    url: string;
    clients: number;
    /** Topics to subscribe to (`{"action":"subscribe","topic":...}`); none for the bare server. */
    subscribe: string[];
    /** Report each time every client has received this many more messages. */
    every: number;
  }
  | { op: "close"; group: string };

/** What the pool reports. */
export type ReceiverEvent =
  | { op: "opened"; group: string }
  | { op: "closed"; group: string }
  | { op: "reached"; group: string; count: number }
  | { op: "error"; group: string; message: string };

const CONNECT_TIMEOUT_MS = 30_000;

interface Group {
  sockets: WebSocket[];
  every: number;
  /** Clients that reached each multiple of `every`, by multiple. */
  arrived: Map<number, number>;
}

/** Groups of counting WebSocket clients. */
export class ReceiverPool {
  #groups = new Map<string, Group>();
  #emit: (event: ReceiverEvent) => void;

  /** @param emit Receives the pool's events. */
  constructor(emit: (event: ReceiverEvent) => void) {
    this.#emit = emit;
  }

  /** Runs one command; failures are reported as `error` events. */
  async run(command: ReceiverCommand): Promise<void> {
    try {
      if (command.op === "open") {
        await this.#open(command);
        this.#emit({ op: "opened", group: command.group });
      } else {
        await this.#close(command.group);
        this.#emit({ op: "closed", group: command.group });
      }
    } catch (cause) {
      this.#emit({
        op: "error",
        group: command.group,
        message: cause instanceof Error ? cause.message : String(cause),
      });
    }
  }

  /** Closes every group. */
  async closeAll(): Promise<void> {
    for (const name of [...this.#groups.keys()]) await this.#close(name);
  }

  async #open(
    command: Extract<ReceiverCommand, { op: "open" }>,
  ): Promise<void> {
    if (this.#groups.has(command.group)) {
      throw new Error(`Cannot open ${command.group}: already open`);
    }
    const group: Group = {
      sockets: [],
      every: command.every,
      arrived: new Map(),
    };
    this.#groups.set(command.group, group);
    // Connect in slices so a large group does not flood the accept queue.
    for (let i = 0; i < command.clients; i += 100) {
      const slice = Math.min(100, command.clients - i);
      const sockets = await Promise.all(
        Array.from(
          { length: slice },
          () => this.#connect(command, group),
        ),
      );
      group.sockets.push(...sockets);
    }
  }

  #connect(
    command: Extract<ReceiverCommand, { op: "open" }>,
    group: Group,
  ): Promise<WebSocket> {
    const { promise, resolve, reject } = Promise.withResolvers<WebSocket>();
    const ws = new WebSocket(command.url);
    let answers = command.subscribe.length;
    let count = 0;
    const timer = setTimeout(
      () => reject(new Error(`Cannot open ${command.group}: timed out`)),
      CONNECT_TIMEOUT_MS,
    );
    const ready = () => {
      clearTimeout(timer);
      resolve(ws);
    };
    ws.addEventListener("open", () => {
      for (const topic of command.subscribe) {
        ws.send(JSON.stringify({ action: "subscribe", topic }));
      }
      if (answers === 0) ready();
    }, { once: true });
    ws.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error(`Cannot open ${command.group}: connection failed`));
    }, { once: true });
    ws.addEventListener("close", (event) => {
      if (this.#groups.get(command.group) !== group) return; // closing
      this.#emit({
        op: "error",
        group: command.group,
        message: `a client was closed (${event.code} ${event.reason})`,
      });
    }, { once: true });
    ws.addEventListener("message", (event) => {
      if (answers > 0) {
        const answer = JSON.parse(event.data as string) as {
          type?: string;
          status?: string;
        };
        if (answer.type === "welcome") return; // the server's hello
        if (answer.type !== "subscription" || answer.status !== "success") {
          clearTimeout(timer);
          reject(
            new Error(`Cannot subscribe: ${event.data as string}`),
          );
          return;
        }
        if (--answers === 0) ready();
        return;
      }
      count++;
      if (count % group.every !== 0) return;
      const clients = (group.arrived.get(count) ?? 0) + 1;
      if (clients < command.clients) {
        group.arrived.set(count, clients);
        return;
      }
      group.arrived.delete(count);
      this.#emit({ op: "reached", group: command.group, count });
    });
    return promise;
  }

  async #close(name: string): Promise<void> {
    const group = this.#groups.get(name);
    if (group === undefined) return;
    this.#groups.delete(name);
    const closed = group.sockets.map((ws) => {
      if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      const timer = setTimeout(resolve, 2000);
      ws.addEventListener("close", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
      ws.close();
      return promise;
    });
    await Promise.all(closed);
  }
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const stdout = Deno.stdout.writable.getWriter();
  let writing = Promise.resolve();
  const pool = new ReceiverPool((event) => {
    const line = encoder.encode(JSON.stringify(event) + "\n");
    writing = writing.then(() => stdout.write(line));
  });
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== "") void pool.run(JSON.parse(line) as ReceiverCommand);
    }
  }
  await pool.closeAll();
  await writing;
  Deno.exit(0);
}
