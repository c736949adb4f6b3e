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
import { EvrmoreDevnet } from "./lib/devnet/mod.ts";
import type { Network } from "./lib/network.ts";
import {
  parseArgsOptions,
  readEnv,
  Settings,
  usage,
} from "./lib/server/_flags.ts";

/** The package version printed by `--version`. */
export const VERSION: string = denoJson.version;

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
  /**
   * Reads an environment variable (default `Deno.env.get`, nothing without
   * `--allow-env`); every flag falls back to its `EVR_WS_*` variable.
   */
  env?: (name: string) => string | undefined;
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
      options: parseArgsOptions(),
    });
  } catch (cause) {
    error(`Cannot parse arguments: ${(cause as Error).message}`);
    error("Run with --help for usage.");
    return 2;
  }
  if (parsed.values.help) {
    log(usage());
    return 0;
  }
  if (parsed.values.version) {
    log(`@evrmore/rpc ${VERSION}`);
    return 0;
  }

  let settings: Settings;
  try {
    settings = new Settings(parsed.values, options.env ?? readEnv);
    await checkTls(settings);
  } catch (cause) {
    error((cause as Error).message);
    return 2;
  }
  const network = settings.get<Network>("network");
  const blockInterval = settings.get<number>("block-interval")!;
  const retryInterval = settings.get<number>("retry-interval")!;
  const devnetMode = settings.get<boolean>("devnet") === true;
  const authToken = settings.get<string>("auth-token");
  const dashboard = settings.get<boolean>("no-dashboard") !== true;

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
    let zmqAddress = settings.get<string>("zmq");
    let zmqNetwork: Network = network ?? "main";
    if (devnetMode) {
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
      const url = settings.get<string>("rpc-url");
      const user = settings.get<string>("rpc-user");
      const password = settings.get<string>("rpc-password");
      const datadir = settings.get<string>("datadir");
      if (url !== undefined) rpcOptions.url = url;
      if (user !== undefined) rpcOptions.user = user;
      if (password !== undefined) rpcOptions.password = password;
      if (datadir !== undefined) rpcOptions.datadir = datadir;
      if (network !== undefined) rpcOptions.network = network;
    }

    const rpcClient = new EvrmoreRPCClient(rpcOptions);
    cleanups.push(() => rpcClient.close());

    // Wait for the node: one clear line per failed attempt, no stack trace.
    while (!stop.signal.aborted) {
      try {
        const info = await rpcClient.getblockchaininfo({ signal: stop.signal });
        if (network === undefined && !devnetMode) {
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
      ...settings.serverOptions(),
      rpcClient,
      zmqClient,
    });
    await server.start();
    cleanups.push(() => server.stop());
    const origin = `${formatHost(server.host)}:${server.port}`;
    log(
      `WebSocket server started on ${server.secure ? "wss" : "ws"}://${origin}`,
    );
    if (dashboard) {
      log(`Dashboard: ${server.secure ? "https" : "http"}://${origin}/`);
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

/** Checks that `--cert` and `--key` come together and can be read. */
async function checkTls(settings: Settings): Promise<void> {
  const cert = settings.get<string>("cert");
  const key = settings.get<string>("key");
  if (cert !== undefined && key === undefined) {
    throw new TypeError(
      `Cannot use ${settings.label("cert")}: ${"--key"} is needed too`,
    );
  }
  if (key !== undefined && cert === undefined) {
    throw new TypeError(
      `Cannot use ${settings.label("key")}: ${"--cert"} is needed too`,
    );
  }
  for (const name of ["cert", "key"]) {
    const file = settings.get<string>(name);
    if (file === undefined) continue;
    try {
      (await Deno.open(file, { read: true })).close();
    } catch (cause) {
      throw new TypeError(
        `Cannot use ${settings.label(name)} ${file}: ${
          (cause as Error).message
        }`,
      );
    }
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
