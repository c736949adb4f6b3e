/**
 * One executable: `deno task compile` builds `evrmore-ws` from `server.ts`.
 *
 * Always checked: the task grants exactly the permissions of
 * `deno task start`, and no module the binary holds reads the package's own
 * files at run time (`import.meta.url`/`dirname`/`filename` would point
 * into the binary's virtual file system).
 *
 * The build and smoke test (`--version`; `--devnet` serving a block to a
 * client; SIGTERM ends it with 0) need the runtime `deno compile` embeds
 * (`denort`): `DENORT_BIN` naming one, else a download from Deno's release
 * server (cached in `DENO_DIR` once done). Where neither works the test is
 * ignored, and the reason is printed.
 *
 * Needs `-A` (deno subprocesses, temp files).
 */

import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { EvrmoreWebSocketClient } from "../lib/websocket/mod.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const TIMEOUT_MS = 30_000;
const tasks = denoJson.tasks as Record<string, string>;

/** The `--allow-*` flags of a task, sorted. */
function permissions(task: string): string[] {
  return task.split(/\s+/).filter((word) => word.startsWith("--allow-"))
    .sort();
}

Deno.test("deno task compile grants exactly the permissions of deno task start and builds evrmore-ws from server.ts", () => {
  const compile = tasks.compile ?? "";
  assert.match(compile, /^deno compile /);
  assert.deepEqual(permissions(compile), permissions(tasks.start ?? ""));
  assert.ok(permissions(compile).length > 0);
  assert.match(compile, /--output evrmore-ws server\.ts$/);
  assert.ok(!/\s(-A|--allow-all)\b/.test(compile), "no -A");
});

Deno.test("server.ts and every local module it loads never read the package's own files at run time", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "server.ts"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: Array<{ specifier: string; kind?: string }>;
  };
  const local = info.modules.map((m) => m.specifier).filter((s) =>
    s.startsWith("file://") && /\.(ts|js|mjs)$/.test(s)
  );
  assert.ok(local.length > 20, `only ${local.length} local modules`);
  assert.ok(local.some((s) => s.endsWith("/lib/websocket/_dashboard.ts")));
  // Known and handled: the ZMQ subscriber module is run by the deno CLI only
  // (a compiled server re-executes itself with --zmq-subscriber instead),
  // and libzmq is looked up in the zeromq package with a fallback to the
  // system's libzmq.so.5.
  const allowed = [
    /\/lib\/zmq\/_subprocess\.ts:\d+: const CHILD_URL = /,
    /\/lib\/zmq\/_libzmq\.ts:\d+: (let )?main = import\.meta\.resolve\(specifier\);/,
  ];
  const problems: string[] = [];
  for (const specifier of local) {
    const text = await Deno.readTextFile(new URL(specifier));
    text.split("\n").forEach((line, index) => {
      if (/import\.meta\.(url|dirname|filename|resolve)\b/.test(line)) {
        problems.push(`${specifier}:${index + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(
    problems.filter((p) => !allowed.some((pattern) => pattern.test(p))),
    [],
  );
});

/** Why no binary can be built here, or undefined when one can. */
async function runtimeProblem(): Promise<string | undefined> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) {
    try {
      return Deno.statSync(denort).isFile
        ? undefined
        : `DENORT_BIN=${denort} is not a file`;
    } catch (cause) {
      return `DENORT_BIN=${denort}: ${(cause as Error).message}`;
    }
  }
  // Try the download (or DENO_DIR's copy) with a one-line program.
  const dir = await Deno.makeTempDir({ prefix: "evr-compile-probe-" });
  try {
    await Deno.writeTextFile(`${dir}/probe.ts`, "console.log(1);\n");
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["compile", "--no-check", "--output", `${dir}/probe`, "probe.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
    }).output();
    if (code === 0) return undefined;
    const text = new TextDecoder().decode(stderr);
    const cause = /error sending request for url \((\S+)\)/.exec(text);
    return cause
      ? `deno compile cannot download its runtime (${
        cause[1]
      }) and DENO_DIR holds none; set DENORT_BIN to a denort ${Deno.version.deno} binary`
      : `deno compile fails: ${text.split("\n").slice(0, 4).join(" ")}`;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const problem = await runtimeProblem();
if (problem !== undefined) {
  console.log(
    `compile_test: the build and smoke test of evrmore-ws is ignored: ${problem}`,
  );
}

/** Reads lines from a stream until one matches (undefined at its end). */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const lines: string[] = [];
  let rest = "";
  return {
    lines,
    async next(pattern: RegExp): Promise<RegExpMatchArray | undefined> {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        const parts = (rest + value).split("\n");
        rest = parts.pop() ?? "";
        lines.push(...parts);
        const match = parts.map((l) => l.match(pattern)).find(Boolean);
        if (match) return match;
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: timed out`)),
          TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name:
    "deno task compile: evrmore-ws prints its version and serves a devnet block to a client",
  ignore: problem !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "evr-compile-" });
    try {
      const binary = `${dir}/evrmore-ws${
        Deno.build.os === "windows" ? ".exe" : ""
      }`;
      // The task's own command line, built into the temp dir.
      const args = tasks.compile!.split(/\s+/).slice(1).map((word) =>
        word === "evrmore-ws" ? binary : word
      );
      const build = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        env: { NO_COLOR: "1" },
        stdin: "null",
      }).output();
      assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));

      const version = await new Deno.Command(binary, {
        args: ["--version"],
        stdin: "null",
      }).output();
      assert.equal(version.code, 0);
      assert.equal(
        new TextDecoder().decode(version.stdout).trim(),
        `@evrmore/rpc ${denoJson.version}`,
      );

      // Run away from the source tree, so nothing can come from it.
      const child = new Deno.Command(binary, {
        args: [
          "--devnet",
          "--host",
          "127.0.0.1",
          "--port",
          "0",
          "--block-interval",
          "0.3",
        ],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const out = lineReader(child.stdout);
      let exited = false;
      const status = child.status.then((s) => {
        exited = true;
        return s;
      });
      try {
        const match = await within(
          out.next(/^WebSocket server started on (ws:\/\/\S+)$/),
          "the ws:// line",
        );
        assert.ok(match, `${out.lines.join("\n")}\n${await stderr}`);
        await using client = new EvrmoreWebSocketClient({ uri: match[1]! });
        await client.connect();
        await client.subscribe("blocks");
        const message = await client.receive({
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        assert.equal(message.type, "block");
        await client.disconnect();
        child.kill("SIGTERM");
        await within(out.next(/(?!)/), "the end of stdout");
        const { code } = await within(status, "the exit");
        assert.equal(code, 0, await stderr);
        assert.ok(out.lines.includes("Stopping..."));
      } finally {
        if (!exited) child.kill("SIGKILL");
        await status;
        await out.cancel();
        await stderr;
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
