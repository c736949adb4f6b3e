/**
 * The runnable Evrmore WebSocket server.
 *
 * ```sh
 * deno run -A server.ts --devnet          # embedded devnet, blocks every few seconds
 * deno run -A server.ts --network regtest # a real evrmored, found as the RPC client finds it
 * deno run -A server.ts --help
 * ```
 *
 * It connects to the node's JSON-RPC interface and ZMQ publisher, then pushes
 * `blocks`, `transactions`, `assets` and `mempool` events to WebSocket
 * clients (`ws://localhost:8765` by default). SIGINT and SIGTERM stop it
 * cleanly.
 *
 * @module
 */

import { parseArgs } from "node:util";
import denoJson from "./deno.json" with { type: "json" };
import {
  EvrmoreRPCClient,
  type EvrmoreRPCClientOptions,
} from "./lib/rpc/mod.ts";
import { EvrmoreZMQClient } from "./lib/zmq/mod.ts";
import { EvrmoreWebSocketServer } from "./lib/websocket/mod.ts";
import { tokenProblem } from "./lib/websocket/_protocol.ts";
import { normalizeOrigins } from "./lib/websocket/_security.ts";
import { EvrmoreDevnet } from "./lib/devnet/mod.ts";
import { type Network, parseNetwork } from "./lib/network.ts";

/** The package version printed by `--version`. */
export const VERSION: string = denoJson.version;

const USAGE = `Usage: server.ts [options]

Push Evrmore chain events to WebSocket clients.

Options:
  --host <host>           Interface to listen on (default: localhost)
  --port <port>           Port to listen on (default: 8765; 0 picks a free port)
  --rpc-url <url>         Node JSON-RPC URL (default: from env, evrmore.conf, network)
  --rpc-user <user>       RPC user (default: from env, evrmore.conf or .cookie)
  --rpc-password <pass>   RPC password
  --datadir <dir>         Node data directory holding evrmore.conf and .cookie
  --network <net>         main, test or regtest (default: from evrmore.conf, else main)
  --zmq <address>         Node ZMQ publisher (default: tcp://127.0.0.1:28332)
  --devnet                Run on the embedded devnet instead of a node
  --block-interval <s>    Devnet: seconds between automatic blocks (default: 5)
  --retry-interval <s>    Seconds between attempts to reach an unreachable node (default: 5)
  --auth-token <token>    Token clients must present: Authorization: Bearer <token>,
                          subprotocol evrmore.token.<token>, or ?token=<token>;
                          also protects /metrics (default: env EVR_WS_TOKEN, else none)
  --allowed-origin <o>    Browser origin allowed to connect, e.g. https://example.com;
                          repeatable or comma-separated (default: any origin)
  --max-clients <n>       Most WebSocket clients at once (default: 10000)
  --max-backfill-blocks <n>
                          Most missed blocks fetched to fill one hole (default: 100)
  --max-replay-blocks <n> Most blocks replayed for a subscription's since cursor
                          (default: 1000)
  --no-metrics            Do not serve GET /metrics (Prometheus text format)
  --no-dashboard          Do not serve the live dashboard page on http://<host>:<port>/
  -h, --help              Show this help
  -V, --version           Show the version
`;

/** Options of {@linkcode main}. */
export interface MainOptions {
  /** Stops the server when aborted (in addition to SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Where lines of output go (default `console.log`). */
  log?: (line: string) => void;
  /** Where error lines go (default `console.error`). */
  error?: (line: string) => void;
  /** Listen for SIGINT/SIGTERM (default true). */
  handleSignals?: boolean;
}

/**
 * Runs the server with command-line arguments until a signal stops it.
 *
 * @example Run on the embedded devnet for one second
 * ```ts ignore
 * import { main } from "@evrmore/rpc/server";
 *
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 1000);
 * const code = await main(["--devnet", "--port", "0"], { signal: controller.signal });
 * console.log(code); // 0
 * ```
 *
 * @param args The command-line arguments (without the program name).
 * @param options Signal and output functions.
 * @returns The process exit code.
 */
export async function main(
  args: string[],
  options: MainOptions = {},
): Promise<number> {
  const log = options.log ?? ((line: string) => console.log(line));
  const error = options.error ?? ((line: string) => console.error(line));

  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "rpc-url": { type: "string" },
        "rpc-user": { type: "string" },
        "rpc-password": { type: "string" },
        datadir: { type: "string" },
        network: { type: "string" },
        zmq: { type: "string" },
        devnet: { type: "boolean" },
        "block-interval": { type: "string" },
        "retry-interval": { type: "string" },
        "no-dashboard": { type: "boolean" },
        "auth-token": { type: "string" },
        "allowed-origin": { type: "string", multiple: true },
        "max-clients": { type: "string" },
        "max-backfill-blocks": { type: "string" },
        "max-replay-blocks": { type: "string" },
        "no-metrics": { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (cause) {
    error(`Cannot parse arguments: ${(cause as Error).message}`);
    error("Run with --help for usage.");
    return 2;
  }
  const values = parsed.values;
  if (values.help) {
    log(USAGE);
    return 0;
  }
  if (values.version) {
    log(`@evrmore/rpc ${VERSION}`);
    return 0;
  }

  let port: number;
  let network: Network | undefined;
  let blockInterval: number;
  let retryInterval: number;
  let maxClients: number | undefined;
  let maxBackfillBlocks: number | undefined;
  let maxReplayBlocks: number | undefined;
  let authToken: string | undefined;
  let allowedOrigins: string[] | undefined;
  try {
    port = parseNumber("--port", values.port ?? "8765", 0, 65535, true);
    blockInterval = parseNumber(
      "--block-interval",
      values["block-interval"] ?? "5",
      0.05,
      3600,
    );
    retryInterval = parseNumber(
      "--retry-interval",
      values["retry-interval"] ?? "5",
      0.05,
      3600,
    );
    network = values.network === undefined
      ? undefined
      : parseNetwork(values.network);
    maxClients = optionalInteger(
      "--max-clients",
      values["max-clients"],
      1,
      1e9,
    );
    maxBackfillBlocks = optionalInteger(
      "--max-backfill-blocks",
      values["max-backfill-blocks"],
      1,
      1e6,
    );
    maxReplayBlocks = optionalInteger(
      "--max-replay-blocks",
      values["max-replay-blocks"],
      0,
      1e6,
    );
    authToken = values["auth-token"] ?? envToken();
    if (authToken !== undefined) {
      const problem = tokenProblem(authToken);
      if (problem !== undefined) {
        throw new TypeError(
          `Cannot use ${
            values["auth-token"] === undefined ? "EVR_WS_TOKEN" : "--auth-token"
          }: the token ${problem}`,
        );
      }
    }
    if (values["allowed-origin"] !== undefined) {
      allowedOrigins = values["allowed-origin"].flatMap((list) =>
        list.split(",").map((origin) => origin.trim()).filter((o) => o !== "")
      );
      try {
        normalizeOrigins(allowedOrigins);
      } catch (cause) {
        throw new TypeError(
          `Cannot use --allowed-origin: ${
            (cause as Error).message.replace(/^Cannot create server: /, "")
          }`,
        );
      }
    }
  } catch (cause) {
    error((cause as Error).message);
    return 2;
  }
  const host = values.host ?? "localhost";

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  if (options.handleSignals !== false) {
    for (const name of signals) Deno.addSignalListener(name, onSignal);
  }
  options.signal?.addEventListener("abort", onSignal, { once: true });
  if (options.signal?.aborted) stop.abort();

  const cleanups: Array<() => Promise<void>> = [];
  try {
    let rpcOptions: EvrmoreRPCClientOptions;
    let zmqAddress = values.zmq;
    let zmqNetwork: Network = network ?? "main";
    if (values.devnet) {
      const devnet = new EvrmoreDevnet();
      await devnet.start();
      cleanups.push(() => devnet.stop());
      devnet.startAutoMine({ intervalMs: blockInterval * 1000 });
      rpcOptions = {
        url: devnet.rpcUrl,
        user: devnet.rpcUser,
        password: devnet.rpcPassword,
      };
      zmqAddress = devnet.zmqAddress;
      zmqNetwork = devnet.network;
      log(`Embedded devnet: RPC ${devnet.rpcUrl}, ZMQ ${devnet.zmqAddress}`);
    } else {
      rpcOptions = {};
      if (values["rpc-url"] !== undefined) rpcOptions.url = values["rpc-url"];
      if (values["rpc-user"] !== undefined) {
        rpcOptions.user = values["rpc-user"];
      }
      if (values["rpc-password"] !== undefined) {
        rpcOptions.password = values["rpc-password"];
      }
      if (values.datadir !== undefined) rpcOptions.datadir = values.datadir;
      if (network !== undefined) rpcOptions.network = network;
    }

    const rpcClient = new EvrmoreRPCClient(rpcOptions);
    cleanups.push(() => rpcClient.close());

    // Wait for the node: one clear line per failed attempt, no stack trace.
    while (!stop.signal.aborted) {
      try {
        const info = await rpcClient.getblockchaininfo({ signal: stop.signal });
        if (network === undefined && !values.devnet) {
          zmqNetwork = info.chain === "main"
            ? "main"
            : info.chain === "test"
            ? "test"
            : "regtest";
        }
        log(`Node reached: chain ${info.chain}, height ${info.blocks}`);
        break;
      } catch (cause) {
        if (stop.signal.aborted) break;
        error(
          `Cannot reach the node: ${
            (cause as Error).message
          }. Retrying in ${retryInterval} s (Ctrl+C to quit).`,
        );
        await delay(retryInterval * 1000, stop.signal);
      }
    }
    if (stop.signal.aborted) return 0;

    const zmqClient = new EvrmoreZMQClient({
      network: zmqNetwork,
      ...(zmqAddress === undefined ? {} : { address: zmqAddress }),
    });
    cleanups.push(() => zmqClient.close());

    const server = new EvrmoreWebSocketServer({
      rpcClient,
      zmqClient,
      host,
      port,
      dashboard: values["no-dashboard"] !== true,
      ...(authToken === undefined ? {} : { authToken }),
      ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
      ...(maxClients === undefined ? {} : { maxClients }),
      ...(maxBackfillBlocks === undefined ? {} : { maxBackfillBlocks }),
      ...(maxReplayBlocks === undefined ? {} : { maxReplayBlocks }),
      metrics: values["no-metrics"] !== true,
    });
    await server.start();
    cleanups.push(() => server.stop());
    log(
      `WebSocket server started on ws://${
        formatHost(server.host)
      }:${server.port}`,
    );
    if (values["no-dashboard"] !== true) {
      log(`Dashboard: http://${formatHost(server.host)}:${server.port}/`);
    }

    if (authToken !== undefined) {
      log(
        "Token required: clients send it as Authorization: Bearer <token>, subprotocol evrmore.token.<token>, or ?token=<token>",
      );
    }
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      stop.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    log("Stopping...");
    return 0;
  } catch (cause) {
    error(`Cannot run the server: ${(cause as Error).message}`);
    return 1;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (cause) {
        error(`Cannot stop cleanly: ${(cause as Error).message}`);
      }
    }
    if (options.handleSignals !== false) {
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    }
    options.signal?.removeEventListener("abort", onSignal);
  }
}

function parseNumber(
  flag: string,
  text: string,
  min: number,
  max: number,
  integer = false,
): number {
  const value = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(value) || value < min ||
    value > max || (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `Cannot use ${flag} ${text}: expected ${
        integer ? "an integer" : "a number"
      } from ${min} to ${max}`,
    );
  }
  return value;
}

/** An optional integer flag's value; `undefined` when the flag is absent. */
function optionalInteger(
  flag: string,
  text: string | undefined,
  min: number,
  max: number,
): number | undefined {
  return text === undefined
    ? undefined
    : parseNumber(flag, text, min, max, true);
}

/** The token from `EVR_WS_TOKEN`, when set and readable. */
function envToken(): string | undefined {
  try {
    const token = Deno.env.get("EVR_WS_TOKEN");
    return token === undefined || token === "" ? undefined : token;
  } catch {
    return undefined; // No --allow-env: no token from the environment.
  }
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
