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
import { EvrmoreZMQClient, runZMQSubscriber } from "./lib/zmq/mod.ts";
import { EvrmoreWebSocketServer } from "./lib/websocket/mod.ts";
import { EvrmoreDevnet } from "./lib/devnet/mod.ts";
import {
  type NatsSettings,
  startGateway,
  startIngest,
} from "./lib/server/_nats_roles.ts";
import type { Network } from "./lib/network.ts";
import {
  parseArgsOptions,
  readEnv,
  Settings,
  usage,
} from "./lib/server/_flags.ts";

/**
 * Whether this is a `deno compile`d program (not run by the deno CLI): it
 * starts its ZMQ subscriber process by running itself again.
 */
const COMPILED = !/^deno(\.exe)?$/i.test(
  Deno.execPath().split(/[\\/]/).pop() ?? "",
);
const SUBSCRIBER_FLAG = "--zmq-subscriber";
const SUBSCRIBER_COMMAND = [Deno.execPath(), SUBSCRIBER_FLAG];

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
  const report = (cause: Error) => error(`NATS: ${cause.message}`);
  const natsUrl = settings.get<string>("nats");
  const role = settings.get<"ingest" | "gateway" | "both">("role") ?? "both";
  const portGiven = parsed.values.port !== undefined ||
    (options.env ?? readEnv)("EVR_WS_PORT") !== undefined;
  const maxAge = settings.get<number>("nats-max-age");
  const maxBytes = settings.get<number>("nats-max-bytes");
  const natsStream = settings.get<string>("nats-stream");
  const nats: NatsSettings | undefined = natsUrl === undefined ? undefined : {
    servers: natsUrl.split(",").map((url) => url.trim()).filter((url) =>
      url !== ""
    ),
    network: network ?? "main",
    ...(natsStream === undefined ? {} : { stream: natsStream }),
    ...(maxAge === undefined ? {} : { maxAgeMs: maxAge * 1000 }),
    ...(maxBytes === undefined ? {} : { maxBytes }),
  };
  const announce = (server: EvrmoreWebSocketServer) => {
    const origin = `${formatHost(server.host)}:${server.port}`;
    log(
      `WebSocket server started on ${server.secure ? "wss" : "ws"}://${origin}`,
    );
    if (dashboard) {
      log(`Dashboard: ${server.secure ? "https" : "http"}://${origin}/`);
    }
    // Said when a --max-clients given does not fit; the default quietly
    // becomes what the open-file limit allows (server.maxClients).
    const wanted = settings.get<number>("max-clients") ?? 10000;
    const given = parsed.values["max-clients"] !== undefined ||
      (options.env ?? readEnv)("EVR_WS_MAX_CLIENTS") !== undefined;
    if (given && server.maxClients < wanted) {
      error(
        `The open-file limit leaves room for ${server.maxClients} clients, not ${wanted}: raise it (ulimit -n, LimitNOFILE=)`,
      );
    }
  };
  const runGateway = async () => {
    const gateway = await startGateway(nats!, settings.serverOptions(), report);
    cleanups.push(() => gateway.close());
    log(
      `Gateway: ${nats!.network} events from NATS ${
        nats!.servers.join(",")
      }, stream ${nats!.stream ?? "EVRMORE"}`,
    );
    announce(gateway.server);
  };
  try {
    if (nats !== undefined && role === "gateway") {
      // A gateway needs no node: events and commands come through NATS.
      if (devnetMode) {
        throw new TypeError(
          "--devnet needs an ingest: use --role both or ingest",
        );
      }
      await runGateway();
      await new Promise<void>((resolve) => {
        if (stop.signal.aborted) resolve();
        stop.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      log("Stopping...");
      return 0;
    }
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
      ...(COMPILED ? { subscriberCommand: SUBSCRIBER_COMMAND } : {}),
    });
    cleanups.push(() => zmqClient.close());

    const serverOptions = {
      ...settings.serverOptions(),
      rpcClient,
      zmqClient,
    };
    if (nats === undefined) {
      const server = new EvrmoreWebSocketServer(serverOptions);
      await server.start();
      cleanups.push(() => server.stop());
      announce(server);
    } else {
      nats.network = zmqNetwork;
      const ingest = await startIngest(nats, {
        ...serverOptions,
        // An ingest serves clients only when asked to (--port given).
        listen: role === "ingest" && portGiven,
      }, report);
      cleanups.push(() => ingest.close());
      log(
        `Ingest: publishing ${zmqNetwork} events to NATS ${
          nats.servers.join(",")
        }, stream ${nats.stream ?? "EVRMORE"}`,
      );
      if (role === "both") await runGateway();
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
  if (Deno.args[0] === SUBSCRIBER_FLAG) await runZMQSubscriber(Deno.args[1]!);
  Deno.exit(await main(Deno.args));
}
