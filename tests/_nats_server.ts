/**
 * Test helper: a real `nats-server -js` on 127.0.0.1, a free port and a
 * temporary store directory, that can be stopped and restarted on the same
 * port and store (for failover tests).
 *
 * @module
 */

/** A running (or stopped) nats-server owned by a test. */
export class NatsTestServer {
  readonly port: number;
  readonly storeDir: string;
  #child: Deno.ChildProcess | undefined;
  #drain: Promise<void> | undefined;
  #disposed = false;

  private constructor(port: number, storeDir: string) {
    this.port = port;
    this.storeDir = storeDir;
  }

  /** `nats://127.0.0.1:<port>` */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Whether the server process is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts a server on a free port with a new temporary store. */
  static async start(): Promise<NatsTestServer> {
    const storeDir = await Deno.makeTempDir({ prefix: "nats_js_" });
    const server = new NatsTestServer(freePort(), storeDir);
    try {
      await server.restart();
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
    return server;
  }

  /** Starts the process again (same port, same store); no-op if running. */
  async restart(): Promise<void> {
    if (this.#child) return;
    // The port may linger for a moment after a stop: retry a few times,
    // each attempt awaiting the server's own "ready" or exit.
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await this.#spawn();
        return;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new Error(
            "Cannot start nats-server: not installed (apt-get install nats-server; .ci/run does it)",
            { cause: error },
          );
        }
        lastError = error;
      }
    }
    throw lastError;
  }

  async #spawn(): Promise<void> {
    const child = new Deno.Command(natsServerBinary(), {
      args: [
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        String(this.port),
        "-sd",
        this.storeDir,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const { promise: ready, resolve, reject } = Promise.withResolvers<void>();
    let log = "";
    const drain = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        if (log.length < 64_000) log += decoder.decode(chunk, { stream: true });
        if (log.includes("Server is ready")) resolve();
      }
      reject(new Error(`nats-server exited before ready:\n${log}`));
    })();
    try {
      await ready;
    } catch (error) {
      await drain;
      await child.status;
      throw error;
    }
    this.#child = child;
    this.#drain = drain;
  }

  /** Stops the process (SIGTERM) and waits for it to exit; keeps the store. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await this.#drain;
    this.#drain = undefined;
  }

  /** Stops the server and removes its store. Idempotent. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.stop();
    await Deno.remove(this.storeDir, { recursive: true }).catch(() => {});
  }
}

/** `$NATS_SERVER`, else Debian's /usr/sbin/nats-server, else from PATH. */
function natsServerBinary(): string {
  const fromEnv = Deno.env.get("NATS_SERVER");
  if (fromEnv) return fromEnv;
  for (const path of ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"]) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there
    }
  }
  return "nats-server";
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Takes the next `n` items of an async iterator; rejects after `timeoutMs`
 * (a failure guard only) with the ids that did arrive.
 */
export async function take<T extends { id: string }>(
  iterator: AsyncIterator<T>,
  n: number,
  timeoutMs = 20_000,
): Promise<T[]> {
  const out: T[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `timed out after ${out.length}/${n}: ${
              JSON.stringify(out.map((e) => e.id))
            }`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    while (out.length < n) {
      const next = await Promise.race([iterator.next(), guard]);
      if (next.done) throw new Error(`iterator ended after ${out.length}/${n}`);
      out.push(next.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}
