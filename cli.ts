/**
 * `evrmore-cli` for Deno: calls one JSON-RPC method of an Evrmore node and
 * prints the answer. The node is found like `EvrmoreRPCClient` finds it
 * (flags, then `EVR_RPC_*` / `EVR_DATADIR` / `EVR_NETWORK`, then
 * `evrmore.conf` and `.cookie`), with the same node flags as `server.ts`.
 *
 * ```sh
 * deno task rpc getblockchaininfo
 * deno run -A cli.ts getblock <hash> 2
 * deno task rpc -named getblockhash height=0
 * deno task rpc --network regtest --datadir /srv/evr getblockcount
 * ```
 *
 * Parameters are converted as `evrmore-cli` converts them: those the node's
 * CLI reads as JSON (heights, verbosity, amounts, arrays, objects) are
 * parsed, every other one is sent as typed. Strings are printed bare, other
 * results as indented JSON, `null` as nothing. An error prints one line on
 * stderr (an RPC error names the node's code) and exits 1; bad usage exits
 * 2.
 *
 * @example Run in-process
 * ```ts
 * import { main } from "@evrmore/rpc/cli";
 *
 * const lines: string[] = [];
 * const code = await main(["--help"], { log: (line) => lines.push(line) });
 * console.log(code, lines[0]?.startsWith("Usage")); // 0 true
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { RpcError } from "./lib/errors.ts";
import { convertNamedParams, convertParams } from "./lib/rpc/_cli_params.ts";
import {
  NODE_FLAGS,
  NODE_FLAGS_USAGE,
  nodeClientOptions,
} from "./lib/rpc/_node_flags.ts";
import { EvrmoreRPCClient } from "./lib/rpc/mod.ts";
import type { EvrmoreRPCClientOptions } from "./lib/rpc/mod.ts";

const USAGE = `Usage: deno task rpc [options] <method> [params...]
       deno run -A cli.ts [options] -named <method> [name=value...]

Calls one JSON-RPC method of an Evrmore node and prints the answer.

Options (before the method):
${NODE_FLAGS_USAGE}
  --rpc-wallet <name>     Send the call to /wallet/<name>
  --timeout <seconds>     Give up after this long (default 30)
  -named, --named         Pass name=value parameters by name
  -h, --help              Show this help

Environment: EVR_RPC_URL, EVR_RPC_USER, EVR_RPC_PASSWORD, EVR_RPC_PORT,
EVR_DATADIR, EVR_NETWORK (below the flags, above evrmore.conf).`;

const FLAGS = {
  ...NODE_FLAGS,
  "rpc-wallet": { type: "string" },
  timeout: { type: "string" },
  named: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Flags taking a value: `--flag value` consumes the next argument. */
const VALUED = new Set(
  Object.entries(FLAGS).filter(([, spec]) => spec.type === "string").map((
    [name],
  ) => `--${name}`),
);

/** Options of {@linkcode main}. */
export interface CliOptions {
  /** Prints a line of output (default `console.log`). */
  log?: (line: string) => void;
  /** Prints a line of error (default `console.error`). */
  error?: (line: string) => void;
  /** Read `EVR_*` environment variables (default true). */
  env?: boolean;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** Splits leading options (evrmore-cli style) from the method and its params. */
function splitArgs(args: readonly string[]): {
  flags: string[];
  rest: string[];
} {
  const flags: string[] = [];
  let i = 0;
  while (i < args.length) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("-") || arg === "-") break;
    if (arg === "--") {
      i++;
      break;
    }
    flags.push(arg === "-named" ? "--named" : arg);
    i++;
    if (VALUED.has(arg) && i < args.length) flags.push(args[i++] ?? "");
  }
  return { flags, rest: args.slice(i) };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** The text `evrmore-cli` prints for a result. */
function format(result: unknown): string | undefined {
  if (result === null || result === undefined) return undefined;
  if (typeof result === "string") return result;
  return JSON.stringify(result, null, 2);
}

/**
 * Runs the CLI with `args` (without the program name) and returns the exit
 * code: 0 on success, 1 when the call failed, 2 on bad usage.
 *
 * @example
 * ```ts
 * import { main } from "@evrmore/rpc/cli";
 *
 * const errors: string[] = [];
 * const code = await main(["--no-such-flag", "getblockcount"], {
 *   error: (line) => errors.push(line),
 * });
 * console.log(code, errors.length > 0); // 2 true
 * ```
 *
 * @param args The command-line arguments.
 * @param options Output functions, environment use and a signal.
 * @returns The process exit code.
 */
export async function main(
  args: string[],
  options: CliOptions = {},
): Promise<number> {
  const log = options.log ?? ((line: string) => console.log(line));
  const error = options.error ?? ((line: string) => console.error(line));

  const { flags, rest } = splitArgs(args);
  let values;
  try {
    values = parseArgs({
      args: flags,
      options: FLAGS,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (cause) {
    error(`Cannot parse arguments: ${oneLine((cause as Error).message)}`);
    return 2;
  }
  if (values.help) {
    log(USAGE);
    return 0;
  }
  const [method, ...params] = rest;
  if (method === undefined || method === "") {
    error("Cannot call: no method given (run with --help for usage)");
    return 2;
  }

  let clientOptions: EvrmoreRPCClientOptions;
  let converted: unknown[] | Record<string, unknown>;
  try {
    clientOptions = {
      ...nodeClientOptions(values),
      // Print what the node sent, as evrmore-cli does.
      validate: false,
      retries: 0,
      singleFlight: false,
    };
    if (options.env === false) clientOptions.env = false;
    if (values["rpc-wallet"] !== undefined) {
      clientOptions.wallet = values["rpc-wallet"];
    }
    if (values.timeout !== undefined) {
      const seconds = Number(values.timeout);
      if (!Number.isFinite(seconds) || seconds <= 0) {
        throw new RangeError(
          `Cannot use --timeout ${
            JSON.stringify(values.timeout)
          }: expected a number of seconds > 0`,
        );
      }
      clientOptions.timeout = Math.ceil(seconds * 1000);
    }
    converted = values.named
      ? convertNamedParams(method, params)
      : convertParams(method, params);
  } catch (cause) {
    error(oneLine((cause as Error).message));
    return 2;
  }

  await using client = new EvrmoreRPCClient(clientOptions);
  try {
    const callOptions = options.signal === undefined
      ? {}
      : { signal: options.signal };
    const result = await client.call(method, converted, callOptions);
    const text = format(result);
    if (text !== undefined) log(text);
    return 0;
  } catch (cause) {
    if (cause instanceof RpcError) {
      error(`${oneLine(cause.message)} (error code: ${cause.code})`);
    } else {
      error(
        oneLine(cause instanceof Error ? cause.message : String(cause)),
      );
    }
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
