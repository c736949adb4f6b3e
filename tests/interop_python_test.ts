/**
 * Interoperability with the design document's Python client: a session of
 * `tests/python/doc_session.py` (a client that reads messages the way the
 * evrmore-rpc 1.2.1 client does: `type` and `data` required on every
 * message) against our server over the embedded devnet.
 *
 * Needs /usr/bin/python3 with the `websockets` library (Debian's
 * `python3-websockets`, installed by `.ci/run`); ignored, with a message
 * saying so, without it.
 */

import assert from "node:assert/strict";
import { nodeServer, startNode } from "./_ws_stack.ts";

const PYTHON = "/usr/bin/python3";
const SESSION = new URL("./python/doc_session.py", import.meta.url).pathname;

/** Why the test cannot run here, or `undefined` when it can. */
async function missingPython(): Promise<string | undefined> {
  try {
    const { success } = await new Deno.Command(PYTHON, {
      args: ["-c", "import websockets"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success
      ? undefined
      : `${PYTHON} has no websockets library (apt-get install python3-websockets)`;
  } catch {
    return `no ${PYTHON} (apt-get install python3-websockets)`;
  }
}

const missing = await missingPython();
if (missing !== undefined) {
  console.warn(`interop_python_test: ignored: ${missing}`);
}

interface SessionResult {
  failure?: string;
  steps: Record<string, Record<string, unknown> & { data: never }>;
  types: string[];
  validation_errors: string[];
}

Deno.test({
  name:
    "The document's Python client runs a whole session against EvrmoreWebSocketServer with zero validation errors",
  ignore: missing !== undefined,
  async fn() {
    await using node = await startNode();
    await node.devnet.mine(101);
    const server = nodeServer(node, { pingInterval: null });
    await server.start();
    const python = new Deno.Command(PYTHON, {
      args: [SESSION, `ws://127.0.0.1:${server.port}`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Keep the chain moving while the session runs: a payment each tick, a
    // block every fourth (bounded: the session gives up after 60 s).
    let running = true;
    const output = python.output().finally(() => running = false);
    const traffic = (async () => {
      for (let tick = 0; running && tick < 1200; tick++) {
        await node.devnet.sendPayment(undefined, 0.1);
        if (tick % 4 === 3) await node.devnet.mine(1);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      const { stdout, stderr } = await output;
      await traffic;
      const text = new TextDecoder().decode(stdout).trim();
      const result = JSON.parse(text || "{}") as SessionResult;
      assert.equal(
        result.failure,
        undefined,
        `${result.failure}\n${new TextDecoder().decode(stderr)}`,
      );
      assert.deepEqual(result.validation_errors, []);
      const steps = result.steps;
      // Our server announces itself first.
      assert.equal(steps.first?.type, "welcome");
      assert.deepEqual(steps["subscribe blocks"]?.data, {
        status: "success",
        topic: "blocks",
        action: "subscribe",
      });
      assert.equal(steps["subscribe blocks"]?.status, "success");
      assert.deepEqual(steps["unsubscribe transactions"]?.data, {
        status: "success",
        topic: "transactions",
        action: "unsubscribe",
      });
      const unknown = steps["unknown topic"]!;
      assert.equal(
        (unknown.data as { code: string }).code,
        "unknown_topic",
      );
      assert.equal(unknown.code, "unknown_topic");
      const nodeError = steps["node error"]!;
      assert.equal((nodeError.data as { code: number }).code, -8);
      assert.equal(
        (nodeError.data as { command: string }).command,
        "getblockhash",
      );
      assert.equal(
        (steps["refused command"]!.data as { code: string }).code,
        "command_not_allowed",
      );
      assert.equal(typeof steps.result?.data, "number");
      assert.deepEqual(steps["subscribe all"]?.data, {
        status: "success",
        topic: "all",
        action: "subscribe",
      });
      // On `all`, transactions and a block came (each once: see the TS tests).
      const allTypes = steps["all types"] as unknown as string[];
      assert.ok(allTypes.includes("block"), allTypes.join(","));
      assert.deepEqual(steps["unsubscribe all"]?.data, {
        status: "success",
        topic: "all",
        action: "unsubscribe",
      });
      // Every message had type and data (else it would not be in types).
      assert.ok(result.types.length > 10);
    } finally {
      running = false;
      try {
        python.kill();
      } catch {
        // Already exited.
      }
      await traffic.catch(() => {});
      await server.stop();
    }
  },
});
