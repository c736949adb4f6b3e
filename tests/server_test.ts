/**
 * The runnable server, `server.ts`: its `main()` in-process (arguments,
 * retries, the devnet mode) and the real program as a subprocess.
 *
 * Needs `-A` (subprocesses, zeromq).
 */

import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { main } from "../server.ts";
import { EvrmoreWebSocketClient } from "../lib/websocket/mod.ts";
import { handshake } from "./_ws_hardening_helpers.ts";

const SERVER = decodeURIComponent(
  new URL("../server.ts", import.meta.url).pathname,
);
const CONFIG = decodeURIComponent(
  new URL("../deno.json", import.meta.url).pathname,
);
/** Longest wait for any one thing the server should print or do. */
const TIMEOUT_MS = 15_000;

/** Output of one `main()` run. */
interface Run {
  code: number;
  log: string[];
  error: string[];
}

/**
 * Runs `main(args)` without signal handlers, collecting its output; aborts
 * it after `TIMEOUT_MS` (so a run that should have ended at once cannot hang).
 */
async function run(args: string[]): Promise<Run> {
  const log: string[] = [];
  const error: string[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => {
    error.push("(aborted: still running)");
    controller.abort();
  }, TIMEOUT_MS);
  try {
    const code = await main(args, {
      signal: controller.signal,
      handleSignals: false,
      log: (line) => log.push(line),
      error: (line) => error.push(line),
    });
    return { code, log, error };
  } finally {
    clearTimeout(timer);
  }
}

/** Rejects after `ms` (the timer is cleared when `promise` settles first). */
async function within<T>(promise: Promise<T>, ms: number, what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: timed out`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A `main(args)` started in the background, without signal handlers. */
interface Started {
  controller: AbortController;
  log: string[];
  error: string[];
  /** What `main()` resolves with, once aborted through `controller`. */
  running: Promise<number>;
  /**
   * The address of the `WebSocket server started on ws://…` line; rejects
   * when `main()` ends first or no such line comes within `TIMEOUT_MS`.
   */
  uri(): Promise<string>;
}

/** Starts `main(args)` and watches its log for the WebSocket address. */
function start(args: string[]): Started {
  const controller = new AbortController();
  const log: string[] = [];
  const error: string[] = [];
  let onAddress: (uri: string) => void = () => {};
  const address = new Promise<string>((resolve) => (onAddress = resolve));
  const running = main(args, {
    signal: controller.signal,
    handleSignals: false,
    log: (line) => {
      log.push(line);
      const match = line.match(/^WebSocket server started on (ws:\/\/\S+)$/);
      if (match) onAddress(match[1]!);
    },
    error: (line) => error.push(line),
  });
  return {
    controller,
    log,
    error,
    running,
    uri: () =>
      within(
        Promise.race([
          address,
          running.then((code) => {
            throw new Error(`main() ended (${code}): ${error.join("\n")}`);
          }),
        ]),
        TIMEOUT_MS,
        "the ws:// line",
      ),
  };
}

/** Connects to `uri`, waits for one block event, checks it against the node, disconnects. */
async function receiveBlock(uri: string): Promise<void> {
  await using client = new EvrmoreWebSocketClient({ uri });
  await client.connect();
  await client.subscribe("blocks");
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const message = await client.receive({ signal });
  assert.equal(message.type, "block");
  if (message.type !== "block") return;
  assert.match(message.data.hash, /^[0-9a-f]{64}$/);
  const hash = await client.command("getblockhash", [message.data.height]);
  assert.equal(hash, message.data.hash);
}

// ---------------------------------------------------------------------------
// Arguments

Deno.test("server.ts main() prints the usage for --help and -h, exit 0", async () => {
  for (const flag of ["--help", "-h"]) {
    const { code, log, error } = await run([flag]);
    assert.equal(code, 0);
    assert.equal(log.length, 1);
    assert.match(log[0]!, /^Usage: server\.ts \[options\]/);
    for (
      const option of [
        "--host",
        "--port",
        "--devnet",
        "--retry-interval",
        "--no-dashboard",
        "--auth-token",
        "--allowed-origin",
        "--max-clients",
        "--max-backfill-blocks",
        "--max-replay-blocks",
        "--no-metrics",
        "EVR_WS_TOKEN",
      ]
    ) {
      assert.ok(log[0]!.includes(option), option);
    }
    assert.deepEqual(error, []);
  }
});

Deno.test("server.ts main() prints the version for --version and -V, exit 0", async () => {
  for (const flag of ["--version", "-V"]) {
    const { code, log, error } = await run([flag]);
    assert.equal(code, 0);
    assert.deepEqual(log, [`@evrmore/rpc ${denoJson.version}`]);
    assert.deepEqual(error, []);
  }
});

Deno.test("server.ts main() exits 2 with a clear message on bad arguments", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["--bogus"], /^Cannot parse arguments: .*--bogus/],
    [["--port"], /^Cannot parse arguments: .*--port/],
    [["extra"], /^Cannot parse arguments: .*extra/],
    [["--port", "99999"], /^Cannot use --port 99999: /],
    [["--port=-1"], /^Cannot use --port -1: /],
    [["--port", "abc"], /^Cannot use --port abc: /],
    [["--port", "1.5"], /^Cannot use --port 1\.5: /],
    [["--port", ""], /^Cannot use --port : /],
    [["--network", "foo"], /^Cannot use network "foo": /],
    [["--retry-interval", "0"], /^Cannot use --retry-interval 0: /],
    [["--devnet", "--block-interval", "x"], /^Cannot use --block-interval x: /],
    [["--max-clients", "0"], /^Cannot use --max-clients 0: /],
    [["--max-clients", "many"], /^Cannot use --max-clients many: /],
    [["--max-backfill-blocks", "0"], /^Cannot use --max-backfill-blocks 0: /],
    [["--max-replay-blocks", "all"], /^Cannot use --max-replay-blocks all: /],
    [["--auth-token", "two words"], /^Cannot use --auth-token: the token /],
    [["--auth-token", ""], /^Cannot use --auth-token: the token /],
    [["--auth-token"], /^Cannot parse arguments: .*--auth-token/],
    [
      ["--allowed-origin", "https://a.example,example.com"],
      /^Cannot use --allowed-origin: .*"example\.com"/,
    ],
    [["--no-metrics=1"], /^Cannot parse arguments: /],
  ];
  for (const [args, message] of cases) {
    const { code, log, error } = await run(args);
    assert.equal(code, 2, args.join(" "));
    assert.deepEqual(log, [], args.join(" "));
    assert.ok(error.length >= 1 && error.length <= 2, args.join(" "));
    assert.match(error[0]!, message);
    assert.ok(!error.join("\n").includes("    at "), "no stack trace");
  }
});

// ---------------------------------------------------------------------------
// An unreachable node

Deno.test("server.ts main() retries an unreachable node with one clear line per attempt", async () => {
  // A port nothing listens on.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();

  const controller = new AbortController();
  const log: string[] = [];
  const error: string[] = [];
  const code = await within(
    main([
      "--rpc-url",
      `http://127.0.0.1:${port}`,
      "--rpc-user",
      "user",
      "--rpc-password",
      "secret-password",
      "--retry-interval",
      "0.05",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ], {
      signal: controller.signal,
      handleSignals: false,
      log: (line) => log.push(line),
      error: (line) => {
        error.push(line);
        if (error.length === 2) controller.abort();
      },
    }),
    TIMEOUT_MS,
    "main()",
  );
  assert.equal(code, 0);
  assert.equal(error.length, 2, error.join("\n"));
  for (const line of error) {
    assert.match(
      line,
      /^Cannot reach the node: .+\. Retrying in 0\.05 s \(Ctrl\+C to quit\)\.$/,
    );
    assert.ok(!line.includes("\n"), "one line, no stack trace");
    assert.ok(line.includes(`127.0.0.1:${port}`), line);
    assert.ok(!line.includes("secret-password"), "no password");
  }
  assert.ok(!log.some((line) => line.includes("ws://")), "never listened");
});

// ---------------------------------------------------------------------------
// The devnet mode

Deno.test("server.ts main() --devnet serves blocks until aborted", async () => {
  const { controller, log, error, running, uri: started } = start(
    [
      "--devnet",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--block-interval",
      "0.3",
    ],
  );
  try {
    const uri = await started();
    assert.match(uri, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(!uri.endsWith(":0"), "the bound port, not 0");
    await receiveBlock(uri);
    const page = await fetch(uri.replace(/^ws:/, "http:") + "/");
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Evrmore live dashboard/);
    assert.ok(log.includes(`Dashboard: ${uri.replace(/^ws:/, "http:")}/`));
  } finally {
    controller.abort();
  }
  assert.equal(await within(running, TIMEOUT_MS, "main() stopping"), 0);
  assert.match(
    log[0]!,
    /^Embedded devnet: RPC http:\/\/127\.0\.0\.1:\d+\/?, ZMQ tcp:\/\/127\.0\.0\.1:\d+$/,
  );
  assert.match(log[1]!, /^Node reached: chain regtest, height \d+$/);
  assert.equal(log.at(-1), "Stopping...");
  assert.deepEqual(error, []);
});

Deno.test("server.ts main() --no-dashboard leaves plain GET / at 426", async () => {
  const controller = new AbortController();
  const log: string[] = [];
  let onAddress: (uri: string) => void = () => {};
  const address = new Promise<string>((resolve) => (onAddress = resolve));
  const running = main(
    ["--devnet", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
    {
      signal: controller.signal,
      handleSignals: false,
      log: (line) => {
        log.push(line);
        const match = line.match(/^WebSocket server started on (ws:\/\/\S+)$/);
        if (match) onAddress(match[1]!);
      },
      error: () => {},
    },
  );
  try {
    const uri = await within(
      Promise.race([address, running.then(() => "")]),
      TIMEOUT_MS,
      "the ws:// line",
    );
    const plain = await fetch(uri.replace(/^ws:/, "http:") + "/");
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
  } finally {
    controller.abort();
  }
  assert.equal(await within(running, TIMEOUT_MS, "main() stopping"), 0);
  assert.ok(!log.some((line) => line.startsWith("Dashboard:")));
});

// ---------------------------------------------------------------------------
// The program

Deno.test("server.ts as a program: --devnet serves a block, SIGTERM stops it with exit 0", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      CONFIG,
      SERVER,
      "--devnet",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--block-interval",
      "0.3",
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  /** Reads stdout until a line matches (undefined at its end). */
  const nextMatch = async (pattern: RegExp) => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      const parts = (rest + value).split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
      const match = parts.map((line) => line.match(pattern)).find(Boolean);
      if (match) return match;
    }
  };
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  try {
    const match = await within(
      nextMatch(/^WebSocket server started on (ws:\/\/\S+)$/),
      TIMEOUT_MS,
      "the ws:// line",
    );
    if (!match) {
      throw new Error(`no ws:// line: ${lines.join("\n")}\n${await stderr}`);
    }
    await receiveBlock(match[1]!);
    child.kill("SIGTERM");
    // Read the rest of stdout, up to its end (a pattern that never matches).
    await within(nextMatch(/(?!)/), TIMEOUT_MS, "the end of stdout");
    const { code } = await within(status, TIMEOUT_MS, "the exit");
    assert.equal(code, 0, `${lines.join("\n")}\n${await stderr}`);
    assert.ok(lines.includes("Stopping..."), lines.join("\n"));
    assert.equal(await stderr, "");
  } finally {
    if (!exited) child.kill("SIGKILL");
    await status;
    await reader.cancel().catch(() => {});
    await stderr;
  }
});

Deno.test("server.ts main() with EVR_WS_TOKEN, --allowed-origin, --max-clients and --no-metrics", async () => {
  const token = "server-test-token";
  const previous = Deno.env.get("EVR_WS_TOKEN");
  Deno.env.set("EVR_WS_TOKEN", token);
  const { controller, log, error, running, uri: started } = start(
    [
      "--devnet",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--allowed-origin",
      "https://a.example,https://b.example",
      "--allowed-origin",
      "https://c.example",
      "--max-clients",
      "1",
      "--no-metrics",
    ],
  );
  try {
    const uri = await started();
    const http = uri.replace(/^ws:/, "http:");
    const refused = await fetch(`${http}/metrics`);
    assert.equal(refused.status, 404, "--no-metrics");
    await refused.body?.cancel();
    // A foreign origin: 403; a listed one without the token: 401.
    const port = Number(new URL(http).port);
    const foreign = await handshake(port, {
      headers: {
        Origin: "https://evil.example",
        Authorization: `Bearer ${token}`,
      },
    });
    assert.equal(foreign.status, 403);
    const noToken = await handshake(port, {
      headers: { Origin: "https://b.example" },
    });
    assert.equal(noToken.status, 401);
    await using client = new EvrmoreWebSocketClient({
      uri,
      token,
      reconnect: false,
      pingInterval: null,
    });
    await client.connect();
    assert.equal(typeof await client.command("getblockcount"), "number");
    // --max-clients 1: a second client is refused.
    await using second = new EvrmoreWebSocketClient({
      uri,
      token,
      reconnect: false,
      pingInterval: null,
    });
    await assert.rejects(second.connect());
    assert.ok(log.some((line) => line.startsWith("Token required: ")));
    assert.ok(!log.join("\n").includes(token), "the token is never printed");
  } finally {
    controller.abort();
    if (previous === undefined) Deno.env.delete("EVR_WS_TOKEN");
    else Deno.env.set("EVR_WS_TOKEN", previous);
  }
  assert.equal(await within(running, TIMEOUT_MS, "main() stopping"), 0);
  assert.deepEqual(error, []);
});

// ---------------------------------------------------------------------------
// Environment variables

Deno.test("server.ts main() --help groups the flags by topic and names each one's EVR_WS_* variable", async () => {
  const { code, log } = await run(["--help"]);
  assert.equal(code, 0);
  const text = log[0]!;
  const headings = [...text.matchAll(/^(\S[^\n]*):$/gm)].map((m) => m[1]);
  assert.deepEqual(headings.map((h) => h!.split(" ")[0]), [
    "Node",
    "Listener",
    "Security",
    "Limits",
    "Continuity",
    "NATS",
    "General",
  ]);
  const expected: Array<[string, string]> = [
    ["--host", "EVR_WS_HOST"],
    ["--port", "EVR_WS_PORT"],
    ["--rpc-url", "EVR_WS_RPC_URL"],
    ["--devnet", "EVR_WS_DEVNET"],
    ["--cert", "EVR_WS_CERT"],
    ["--key", "EVR_WS_KEY"],
    ["--auth-token", "EVR_WS_TOKEN"],
    ["--allowed-origin", "EVR_WS_ALLOWED_ORIGIN"],
    ["--max-clients", "EVR_WS_MAX_CLIENTS"],
    ["--max-replay-blocks", "EVR_WS_MAX_REPLAY_BLOCKS"],
    ["--no-metrics", "EVR_WS_NO_METRICS"],
  ];
  for (const [flag, variable] of expected) {
    // The variable is named in the flag's own entry, before the next flag.
    const entry = new RegExp(
      `^  ${flag}\\b[^]*?(?=^  -)`,
      "m",
    ).exec(text)?.[0] ?? "";
    assert.ok(entry.includes(`[env ${variable}`), `${flag}: ${entry}`);
  }
  // Every flag in the help has a variable, except --help and --version.
  const flags = [...text.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) =>
    m[1]
  );
  const variables = [...text.matchAll(/\[env (EVR_WS_\w+)/g)];
  assert.equal(variables.length, flags.length - 2);
});

Deno.test("server.ts main() takes every setting from EVR_WS_* variables, and flags win", async () => {
  const env: Record<string, string> = {
    EVR_WS_DEVNET: "1",
    EVR_WS_HOST: "127.0.0.1",
    EVR_WS_PORT: "99999", // invalid, but --port wins
    EVR_WS_BLOCK_INTERVAL: "0.3",
    EVR_WS_NO_DASHBOARD: "true",
    EVR_WS_NO_METRICS: "0",
    EVR_WS_ALLOWED_ORIGIN: "https://a.example, https://b.example",
    EVR_WS_MAX_CLIENTS: "1",
  };
  const controller = new AbortController();
  const log: string[] = [];
  const error: string[] = [];
  let onAddress: (uri: string) => void = () => {};
  const address = new Promise<string>((resolve) => (onAddress = resolve));
  const running = main(["--port", "0"], {
    signal: controller.signal,
    handleSignals: false,
    env: (name) => env[name],
    log: (line) => {
      log.push(line);
      const match = line.match(/^WebSocket server started on (ws:\/\/\S+)$/);
      if (match) onAddress(match[1]!);
    },
    error: (line) => error.push(line),
  });
  try {
    const uri = await within(
      Promise.race([
        address,
        running.then((code) => {
          throw new Error(`main() ended (${code}): ${error.join("\n")}`);
        }),
      ]),
      TIMEOUT_MS,
      "the ws:// line",
    );
    assert.match(uri, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(log[0]!.startsWith("Embedded devnet: "), "EVR_WS_DEVNET");
    const http = uri.replace(/^ws:/, "http:");
    const root = await fetch(`${http}/`);
    assert.equal(root.status, 426, "EVR_WS_NO_DASHBOARD");
    await root.body?.cancel();
    const metrics = await fetch(`${http}/metrics`);
    assert.equal(metrics.status, 200, "EVR_WS_NO_METRICS=0 keeps /metrics");
    await metrics.body?.cancel();
    const port = Number(new URL(http).port);
    const foreign = await handshake(port, {
      headers: { Origin: "https://evil.example" },
    });
    assert.equal(foreign.status, 403, "EVR_WS_ALLOWED_ORIGIN");
    await receiveBlock(uri);
  } finally {
    controller.abort();
  }
  assert.equal(await within(running, TIMEOUT_MS, "main() stopping"), 0);
  assert.ok(!log.some((line) => line.startsWith("Dashboard:")));
  assert.deepEqual(error, []);
});

Deno.test("server.ts main() exits 2 naming the variable on a bad EVR_WS_* value", async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ EVR_WS_PORT: "abc" }, /^Cannot use EVR_WS_PORT abc: /],
    [{ EVR_WS_DEVNET: "maybe" }, /^Cannot use EVR_WS_DEVNET maybe: /],
    [{ EVR_WS_MAX_CLIENTS: "0" }, /^Cannot use EVR_WS_MAX_CLIENTS 0: /],
    [{ EVR_WS_TOKEN: "two words" }, /^Cannot use EVR_WS_TOKEN: the token /],
    [
      { EVR_WS_ALLOWED_ORIGIN: "example.com" },
      /^Cannot use EVR_WS_ALLOWED_ORIGIN: .*"example\.com"/,
    ],
    [{ EVR_WS_NETWORK: "foo" }, /^Cannot use network "foo": /],
    [{ EVR_WS_CERT: "/nonexistent.pem" }, /^Cannot use EVR_WS_CERT: --key/],
  ];
  for (const [env, message] of cases) {
    const log: string[] = [];
    const error: string[] = [];
    const code = await main([], {
      handleSignals: false,
      env: (name) => env[name],
      log: (line) => log.push(line),
      error: (line) => error.push(line),
    });
    assert.equal(code, 2, JSON.stringify(env));
    assert.deepEqual(log, []);
    assert.match(error[0] ?? "", message);
  }
  // An empty variable counts as unset: the error is about --cert, not the port.
  const error: string[] = [];
  const code = await main(["--cert", "/nonexistent.pem"], {
    handleSignals: false,
    env: (name) => ({ EVR_WS_PORT: "", EVR_WS_DEVNET: "" })[name],
    log: () => {},
    error: (line) => error.push(line),
  });
  assert.equal(code, 2);
  assert.match(error[0] ?? "", /^Cannot use --cert: --key is needed too$/);
});
