/**
 * The examples in `examples/`, run as subprocesses against an embedded
 * devnet: the client examples against an in-process
 * `EvrmoreWebSocketServer`, the server examples pointed at the devnet.
 *
 * Needs `-A` (subprocesses, zeromq).
 */

import assert from "node:assert/strict";
import type { EvrmoreDevnet } from "../lib/devnet/mod.ts";
import { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import {
  EvrmoreWebSocketClient,
  type EvrmoreWebSocketServer,
} from "../lib/websocket/mod.ts";
import { nodeServer, startNode } from "./_ws_stack.ts";

const CONFIG = decodeURIComponent(
  new URL("../deno.json", import.meta.url).pathname,
);
const EXAMPLES = decodeURIComponent(
  new URL("../examples/", import.meta.url).pathname,
);
/** Longest wait for any one thing a subprocess should print or do. */
const TIMEOUT_MS = 20_000;

const BLOCK_LINE = /^New block: ([0-9a-f]{64}) \(height: (\d+)\)$/;
const TX_LINE = /^New transaction: [0-9a-f]{64}$/;
const RECEIVED_LINE = /^Received message: (block|transaction|asset|mempool)$/;

// ---------------------------------------------------------------------------
// Subprocesses

/** An example running as a subprocess; stdout and stderr collected by line. */
class Example implements AsyncDisposable {
  readonly name: string;
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #pumps: Promise<void>;
  #ended = false;
  #exited = false;
  #wakers: Array<() => void> = [];

  constructor(name: string, env: Record<string, string> = {}) {
    this.name = name;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, `${EXAMPLES}${name}`],
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child.status.then(() => (this.#exited = true));
    this.#pumps = Promise.all([
      this.#pump(this.#child.stdout, this.lines),
      this.#pump(this.#child.stderr, this.errors),
    ]).then(() => {
      this.#ended = true;
      this.#wake();
    });
  }

  /** What it printed so far, for failure messages. */
  get output(): string {
    return `${this.name} stdout:\n${this.lines.join("\n")}\nstderr:\n${
      this.errors.join("\n")
    }`;
  }

  /** Waits for a stdout line matching `pattern` (killing the process on timeout). */
  async waitFor(
    pattern: RegExp,
    timeoutMs = TIMEOUT_MS,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (let index = 0;;) {
      for (; index < this.lines.length; index++) {
        const match = this.lines[index]!.match(pattern);
        if (match !== null) return match;
      }
      if (this.#ended) {
        throw new Error(`exited without printing ${pattern}\n${this.output}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        await this.#kill();
        throw new Error(`no ${pattern} within ${timeoutMs} ms\n${this.output}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the exit (killing the process on timeout); returns its code. */
  async exit(timeoutMs = TIMEOUT_MS): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      this.#child.status,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (result === undefined) {
      await this.#kill();
      throw new Error(`did not exit within ${timeoutMs} ms\n${this.output}`);
    }
    await this.#pumps;
    return result.code;
  }

  /** Sends a signal (SIGTERM by default). */
  signal(signal: Deno.Signal = "SIGTERM"): void {
    this.#child.kill(signal);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#kill();
  }

  async #kill(): Promise<void> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }
    await this.#child.status;
    await this.#pumps;
  }

  async #pump(
    stream: ReadableStream<Uint8Array>,
    into: string[],
  ): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      into.push(...parts);
      this.#wake();
    }
    if (rest !== "") into.push(rest);
  }

  #wake(): void {
    for (const wake of this.#wakers.splice(0)) wake();
  }
}

// ---------------------------------------------------------------------------
// The node side

interface Stack extends AsyncDisposable {
  devnet: EvrmoreDevnet;
  rpc: EvrmoreRPCClient;
  /** The in-process WebSocket server, when asked for. */
  server: EvrmoreWebSocketServer<EvrmoreRPCClient> | undefined;
  /** `ws://127.0.0.1:<port>` of that server. */
  uri: string;
  /** Settings for the server examples. */
  nodeEnv: Record<string, string>;
}

async function stack(
  options: { server?: boolean; autoMineMs?: number } = {},
): Promise<Stack> {
  const node = await startNode();
  const { devnet, rpc } = node;
  const server = options.server ? nodeServer(node) : undefined;
  const dispose = async () => {
    devnet.stopAutoMine();
    await server?.stop();
    await node.close();
  };
  try {
    await server?.start();
    if (options.autoMineMs !== undefined) {
      devnet.startAutoMine({ intervalMs: options.autoMineMs });
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    devnet,
    rpc,
    server,
    uri: `ws://127.0.0.1:${server?.port ?? 0}`,
    nodeEnv: {
      EVR_RPC_URL: devnet.rpcUrl,
      EVR_RPC_USER: devnet.rpcUser,
      EVR_RPC_PASSWORD: devnet.rpcPassword,
      EVR_ZMQ_ADDRESS: devnet.zmqAddress,
      EVR_WS_HOST: "127.0.0.1",
      EVR_WS_PORT: "0",
    },
    [Symbol.asyncDispose]: dispose,
  };
}

/** Checks that each `New block: <hash> (height: N)` line names the devnet's block N; returns how many. */
async function checkBlockLines(
  rpc: EvrmoreRPCClient,
  lines: string[],
): Promise<number> {
  let count = 0;
  for (const line of lines) {
    const match = line.match(BLOCK_LINE);
    if (match === null) continue;
    const [, hash, height] = match;
    assert.equal(await rpc.getblockhash(Number(height)), hash, line);
    count++;
  }
  return count;
}

/** Runs a client example to its end against a devnet auto-mining every 200 ms. */
async function runClient(
  name: string,
  env: Record<string, string>,
  check: (example: Example, s: Stack) => Promise<void>,
): Promise<void> {
  await using s = await stack({ server: true, autoMineMs: 200 });
  await using example = new Example(name, { EVR_WS_URI: s.uri, ...env });
  await check(example, s);
  assert.equal(await example.exit(), 0, example.output);
}

// ---------------------------------------------------------------------------
// Client examples

Deno.test("examples/basic_client.ts prints new blocks and transactions", async () => {
  await runClient("basic_client.ts", { EVR_EXAMPLE_MESSAGES: "12" }, async (
    example,
    s,
  ) => {
    assert.equal(await example.exit(), 0, example.output);
    assert.equal(example.lines.length, 12, example.output);
    for (const line of example.lines) {
      assert.ok(BLOCK_LINE.test(line) || TX_LINE.test(line), line);
    }
    assert.ok(await checkBlockLines(s.rpc, example.lines) >= 1);
  });
});

Deno.test("examples/connect_disconnect.ts connects, waits, disconnects", async () => {
  await runClient(
    "connect_disconnect.ts",
    { EVR_EXAMPLE_SECONDS: "1" },
    async (example, s) => {
      await example.waitFor(/^Connected to WebSocket server$/);
      assert.equal(s.server?.stats.clients, 1);
      assert.equal(await example.exit(), 0, example.output);
      assert.deepEqual(example.lines, [
        "Connected to WebSocket server",
        "Disconnected from WebSocket server",
      ]);
    },
  );
});

Deno.test("examples/subscribe_unsubscribe.ts receives, unsubscribes, receives", async () => {
  await runClient(
    "subscribe_unsubscribe.ts",
    { EVR_EXAMPLE_MESSAGES: "4" },
    async (example) => {
      assert.equal(await example.exit(), 0, example.output);
      assert.equal(example.lines.length, 9, example.output);
      assert.equal(example.lines[4], "Unsubscribed from transactions");
      for (const [i, line] of example.lines.entries()) {
        if (i !== 4) assert.match(line, RECEIVED_LINE);
      }
    },
  );
});

Deno.test("examples/receive_loop.ts receives one message, then a loop of them", async () => {
  await runClient(
    "receive_loop.ts",
    { EVR_EXAMPLE_MESSAGES: "5" },
    async (example) => {
      assert.equal(await example.exit(), 0, example.output);
      assert.equal(example.lines.length, 5, example.output);
      for (const line of example.lines) assert.match(line, RECEIVED_LINE);
    },
  );
});

Deno.test("examples/receive_loop.ts and async_iterator.ts stop cleanly on Ctrl+C", async () => {
  await using s = await stack({ server: true, autoMineMs: 200 });
  for (const name of ["receive_loop.ts", "async_iterator.ts"]) {
    await using example = new Example(name, { EVR_WS_URI: s.uri });
    await example.waitFor(RECEIVED_LINE);
    example.signal("SIGINT");
    assert.equal(await example.exit(), 0, example.output);
    if (name === "receive_loop.ts") {
      assert.equal(example.lines.at(-1), "Interrupted", example.output);
    }
    assert.deepEqual(example.errors, []);
  }
});

Deno.test("examples/async_iterator.ts prints each message with for await", async () => {
  await runClient(
    "async_iterator.ts",
    { EVR_EXAMPLE_MESSAGES: "12" },
    async (example, s) => {
      assert.equal(await example.exit(), 0, example.output);
      const received = example.lines.filter((line) => RECEIVED_LINE.test(line));
      assert.equal(received.length, 12, example.output);
      // Each "Received message" line is followed by its details.
      for (const [i, line] of example.lines.entries()) {
        if (line === "Received message: block") {
          assert.match(example.lines[i + 1] ?? "", BLOCK_LINE);
        } else if (line === "Received message: transaction") {
          assert.match(example.lines[i + 1] ?? "", TX_LINE);
        }
      }
      assert.ok(await checkBlockLines(s.rpc, example.lines) >= 1);
    },
  );
});

Deno.test("examples/custom_client.ts counts each block and transaction once", async () => {
  await runClient(
    "custom_client.ts",
    { EVR_EXAMPLE_MESSAGES: "12" },
    async (example, s) => {
      assert.equal(await example.exit(), 0, example.output);
      const totals = (what: string) =>
        example.lines.flatMap((line) => {
          const match = line.match(
            new RegExp(`^Total ${what} received: (\\d+)$`),
          );
          return match === null ? [] : [Number(match[1])];
        });
      const blocks = totals("blocks");
      const txs = totals("transactions");
      // Counted once each: 1, 2, 3, ... with no repeats or gaps.
      assert.deepEqual(blocks, blocks.map((_, i) => i + 1), example.output);
      assert.deepEqual(txs, txs.map((_, i) => i + 1), example.output);
      assert.ok(blocks.length >= 1 && blocks.length + txs.length >= 12);
      assert.equal(
        example.lines.at(-1),
        `Received ${blocks.length} blocks and ${txs.length} transactions`,
      );
      assert.equal(await checkBlockLines(s.rpc, example.lines), blocks.length);
    },
  );
});

Deno.test("client examples without a server say how to start one in one line and exit 1", async () => {
  // A port nobody listens on.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const uri = `ws://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  for (
    const name of [
      "basic_client.ts",
      "custom_client.ts",
      "async_iterator.ts",
      "receive_loop.ts",
      "subscribe_unsubscribe.ts",
      "connect_disconnect.ts",
    ]
  ) {
    await using example = new Example(name, { EVR_WS_URI: uri });
    assert.equal(await example.exit(), 1, example.output);
    assert.deepEqual(example.lines, [], example.output);
    const errors = example.errors.filter((line) => line.trim() !== "");
    assert.equal(errors.length, 1, example.output);
    assert.match(errors[0]!, new RegExp(`^Cannot connect to ${uri}: `));
    assert.match(errors[0]!, /deno task demo/);
    assert.match(errors[0]!, /EVR_WS_URI/);
  }
});

// ---------------------------------------------------------------------------
// Server examples

Deno.test("examples/basic_server.ts serves the devnet's blocks and stops on SIGTERM", async () => {
  await using s = await stack();
  await using example = new Example("basic_server.ts", s.nodeEnv);
  const [, port] = await example.waitFor(
    /^WebSocket server started on ws:\/\/127\.0\.0\.1:(\d+)$/,
  );
  {
    await using client = new EvrmoreWebSocketClient({
      uri: `ws://127.0.0.1:${port}`,
    });
    await client.connect();
    await client.subscribe("blocks");
    // Blocks every 200 ms. ZMQ drops what the devnet publishes before the
    // example's subscription has reached it, so take the first block that
    // arrives rather than wait for one given block.
    s.devnet.startAutoMine({ intervalMs: 200 });
    const message = await client.receive({
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    assert.equal(message.type, "block");
    if (message.type === "block") {
      const { hash, height } = message.data;
      assert.equal(await s.rpc.getblockhash(height), hash);
    }
    // Commands reach the node too.
    const count = await client.command<number>("getblockcount");
    assert.ok(count >= 121 && count <= s.devnet.height, String(count));
  }
  example.signal("SIGTERM");
  assert.equal(await example.exit(), 0, example.output);
  assert.equal(example.lines.at(-1), "WebSocket server stopped");
  assert.deepEqual(example.errors, []);
});

Deno.test("examples/devnet.ts prints the settings of a working devnet", async () => {
  await using example = new Example("devnet.ts", {
    EVR_DEVNET_RPC_PORT: "0",
    EVR_DEVNET_ZMQ_PORT: "0",
  });
  await example.waitFor(/^Devnet running at height 120 /);
  const settings = Object.fromEntries(
    example.lines.flatMap((line) => {
      const match = line.match(/^export (EVR_\w+)=(.+)$/);
      return match === null ? [] : [[match[1]!, match[2]!]];
    }),
  );
  assert.match(settings.EVR_ZMQ_ADDRESS ?? "", /^tcp:\/\/127\.0\.0\.1:\d+$/);
  await using rpc = new EvrmoreRPCClient({
    url: settings.EVR_RPC_URL!,
    user: settings.EVR_RPC_USER!,
    password: settings.EVR_RPC_PASSWORD!,
  });
  assert.equal((await rpc.getblockchaininfo()).chain, "regtest");
  example.signal("SIGTERM");
  assert.equal(await example.exit(), 0, example.output);
  assert.equal(example.lines.at(-1), "Stopping the devnet");
});

interface AssetTransfer {
  type: "asset_transfer";
  data: {
    txid: string;
    asset: string;
    amount: number;
    from: string;
    to: string;
  };
}

Deno.test("examples/custom_server.ts adds large_blocks and asset_transfers topics", async () => {
  await using s = await stack();
  await using example = new Example("custom_server.ts", s.nodeEnv);
  const [, port] = await example.waitFor(
    /^Custom WebSocket server started on ws:\/\/127\.0\.0\.1:(\d+)$/,
  );
  {
    await using client = new EvrmoreWebSocketClient<AssetTransfer>({
      uri: `ws://127.0.0.1:${port}`,
    });
    await client.connect();
    // The custom topics answer like the standard ones.
    await client.subscribe("large_blocks");
    await client.subscribe("asset_transfers");
    await client.subscribe("blocks");
    await example.waitFor(
      /^Client subscribed to custom topic: asset_transfers$/,
    );

    // Wait for a block first (see basic_server's test: ZMQ drops what is
    // published before the example's subscription is in place), then
    // issue and transfer an asset.
    s.devnet.startAutoMine({ intervalMs: 200 });
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    while ((await client.receive({ signal })).type !== "block");
    await s.devnet.issueAsset("EXAMPLE", 1000);
    await s.devnet.mine(1);
    const to = await s.devnet.newAddress();
    const txid = await s.devnet.transferAsset("EXAMPLE", 5, { toAddress: to });

    let transfer: AssetTransfer["data"] | undefined;
    while (transfer === undefined) {
      const message = await client.receive({ signal });
      if (
        message.type === "asset_transfer" && message.data.txid === txid &&
        message.data.to === to
      ) transfer = message.data;
    }
    assert.deepEqual(transfer, {
      txid,
      asset: "EXAMPLE",
      amount: 5,
      from: "unknown",
      to,
    });
    await client.unsubscribe("asset_transfers");
    await example.waitFor(
      /^Client unsubscribed from custom topic: asset_transfers$/,
    );
  }
  example.signal("SIGTERM");
  assert.equal(await example.exit(), 0, example.output);
  assert.equal(example.lines.at(-1), "Custom WebSocket server stopped");
  assert.deepEqual(example.errors, []);
});

Deno.test("examples/web_integration.ts serves its page and relays events over /ws", async () => {
  await using s = await stack({ server: true, autoMineMs: 200 });
  await using example = new Example("web_integration.ts", {
    EVR_WS_URI: s.uri,
    EVR_WEB_HOST: "127.0.0.1",
    EVR_WEB_PORT: "0",
  });
  const [, port] = await example.waitFor(
    /^Listening on http:\/\/127\.0\.0\.1:(\d+)\/$/,
  );
  const page = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  const html = await page.text();
  assert.match(html, /<h1>Evrmore WebSocket Client<\/h1>/);
  assert.match(html, /"\/ws"/);
  const missing = await fetch(`http://127.0.0.1:${port}/missing`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  // A "browser": the first block relayed is a devnet block.
  const browser = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const closed = new Promise((resolve) =>
    browser.addEventListener("close", resolve, { once: true })
  );
  try {
    const block = await new Promise<{ hash: string; height: number }>(
      (resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no block relayed\n${example.output}`)),
          TIMEOUT_MS,
        );
        browser.addEventListener("message", (event) => {
          const text = String(event.data);
          if (!/^(block|transaction): \{/.test(text)) {
            clearTimeout(timer);
            reject(new Error(`unexpected relayed message: ${text}`));
          } else if (text.startsWith("block: ")) {
            clearTimeout(timer);
            resolve(JSON.parse(text.slice("block: ".length)));
          }
        });
        browser.addEventListener("close", () => {
          clearTimeout(timer);
          reject(new Error(`closed\n${example.output}`));
        });
      },
    );
    assert.equal(await s.rpc.getblockhash(block.height), block.hash);
  } finally {
    browser.close();
    await closed;
  }
  example.signal("SIGTERM");
  assert.equal(await example.exit(), 0, example.output);
  assert.equal(example.lines.at(-1), "Web server stopped");
  assert.deepEqual(example.errors, []);
});
