/**
 * The flags of `server.ts`, declared once: {@linkcode FLAGS} makes the
 * `parseArgs` options ({@linkcode parseArgsOptions}), the `EVR_WS_*`
 * environment lookup ({@linkcode Settings}) and `--help`
 * ({@linkcode usage}).
 *
 * Adding a flag is one row of {@linkcode FLAGS}; with `option` its value
 * goes to that `EvrmoreWebSocketServerOptions` field with no other change.
 *
 * @module
 */

import type { ParseArgsOptionsConfig } from "node:util";
import type { EvrmoreWebSocketServerOptions } from "../websocket/mod.ts";
import { tokenProblem } from "../websocket/_protocol.ts";
import { normalizeOrigins } from "../websocket/_security.ts";
import { TrustedProxies } from "../websocket/_client_address.ts";
import { parseNetwork } from "../network.ts";

/** The topics `--help` groups the flags by, in order, with their titles. */
export const GROUPS = {
  node: "Node (a real evrmored, or the embedded devnet)",
  listener: "Listener",
  security: "Security",
  limits: "Limits",
  continuity: "Continuity (missed blocks, since cursors)",
  nats: "NATS JetStream (one chain feed, many gateways)",
  general: "General",
} as const;

/**
 * One command-line flag. This table is the only place a flag is declared:
 * it makes the `parseArgs` options, the environment lookup and `--help`.
 * Adding a flag that maps to an `EvrmoreWebSocketServer` option is one row
 * (with `option`); others are read in {@linkcode main} by name.
 */
export interface Flag {
  /** The long name, without `--`. */
  name: string;
  /** `string` takes a value, `list` is repeatable (and comma-separated), `boolean` takes none. */
  type: "string" | "list" | "boolean";
  group: keyof typeof GROUPS;
  /** The value's placeholder in `--help`, e.g. `<port>`. */
  arg?: string;
  /** `--help` text; `\n` starts a continuation line. */
  help: string;
  short?: string;
  /** The value when neither the flag nor its variable is given. */
  default?: string;
  /** Environment variable (default `EVR_WS_<NAME>`); `false` for none. */
  env?: string | false;
  /** Turns the text into the value (throwing `Cannot use <label> ...`). */
  parse?: (text: string, label: string) => unknown;
  /** The `EvrmoreWebSocketServerOptions` field the value goes to as is. */
  option?: keyof EvrmoreWebSocketServerOptions;
  /** For a boolean `no-*` flag with `option`: given means `option: false`. */
  negates?: boolean;
}

/** Parses an integer from `min` to `max`. */
const integer = (min: number, max: number) => (text: string, label: string) =>
  parseNumber(label, text, min, max, true);
/** Parses a number from `min` to `max`. */
const number = (min: number, max: number) => (text: string, label: string) =>
  parseNumber(label, text, min, max);

export const FLAGS: readonly Flag[] = [
  // Node
  {
    name: "rpc-url",
    type: "string",
    group: "node",
    arg: "<url>",
    help: "Node JSON-RPC URL (default: from env, evrmore.conf, network)",
  },
  {
    name: "rpc-user",
    type: "string",
    group: "node",
    arg: "<user>",
    help: "RPC user (default: from env, evrmore.conf or .cookie)",
  },
  {
    name: "rpc-password",
    type: "string",
    group: "node",
    arg: "<pass>",
    help: "RPC password",
  },
  {
    name: "datadir",
    type: "string",
    group: "node",
    arg: "<dir>",
    help: "Node data directory holding evrmore.conf and .cookie",
  },
  {
    name: "network",
    type: "string",
    group: "node",
    arg: "<net>",
    help: "main, test or regtest (default: from evrmore.conf, else main)",
    parse: (text) => parseNetwork(text),
  },
  {
    name: "zmq",
    type: "string",
    group: "node",
    arg: "<address>",
    help: "Node ZMQ publisher (default: tcp://127.0.0.1:28332)",
  },
  {
    name: "retry-interval",
    type: "string",
    group: "node",
    arg: "<s>",
    help: "Seconds between attempts to reach an unreachable node",
    default: "5",
    parse: number(0.05, 3600),
  },
  {
    name: "devnet",
    type: "boolean",
    group: "node",
    help: "Run on the embedded devnet instead of a node",
  },
  {
    name: "block-interval",
    type: "string",
    group: "node",
    arg: "<s>",
    help: "Devnet: seconds between automatic blocks",
    default: "5",
    parse: number(0.05, 3600),
  },
  // Listener
  {
    name: "host",
    type: "string",
    group: "listener",
    arg: "<host>",
    help: "Interface to listen on; 0.0.0.0 or :: for all",
    default: "localhost",
    option: "host",
  },
  {
    name: "port",
    type: "string",
    group: "listener",
    arg: "<port>",
    help: "Port to listen on; 0 picks a free port",
    default: "8765",
    parse: integer(0, 65535),
    option: "port",
  },
  {
    name: "no-dashboard",
    type: "boolean",
    group: "listener",
    help: "Do not serve the live dashboard page on http://<host>:<port>/",
    option: "dashboard",
    negates: true,
  },
  {
    name: "no-metrics",
    type: "boolean",
    group: "listener",
    help: "Do not serve GET /metrics (Prometheus text format)",
    option: "metrics",
    negates: true,
  },
  // Security
  {
    name: "cert",
    type: "string",
    group: "security",
    arg: "<pem>",
    help:
      "TLS certificate (chain) file: serve wss:// and https:// (with --key)",
    option: "certFile",
  },
  {
    name: "key",
    type: "string",
    group: "security",
    arg: "<pem>",
    help: "TLS private key file of --cert",
    option: "keyFile",
  },
  {
    name: "auth-token",
    type: "string",
    group: "security",
    arg: "<token>",
    help: "Token clients must present: Authorization: Bearer <token>,\n" +
      "subprotocol evrmore.token.<token>, or ?token=<token>;\n" +
      "also protects /metrics (default: none)",
    env: "EVR_WS_TOKEN",
    parse: (text, label) => {
      const problem = tokenProblem(text);
      if (problem !== undefined) {
        throw new TypeError(`Cannot use ${label}: the token ${problem}`);
      }
      return text;
    },
    option: "authToken",
  },
  {
    name: "allowed-origin",
    type: "list",
    group: "security",
    arg: "<o>",
    help: "Browser origin allowed to connect, e.g. https://example.com;\n" +
      "repeatable or comma-separated (default: any origin)",
    parse: (text, label) => {
      const origins = text.split(",").map((o) => o.trim()).filter((o) =>
        o !== ""
      );
      try {
        normalizeOrigins(origins);
      } catch (cause) {
        throw new TypeError(
          `Cannot use ${label}: ${
            (cause as Error).message.replace(/^Cannot create server: /, "")
          }`,
        );
      }
      return origins;
    },
    option: "allowedOrigins",
  },
  // Limits
  {
    name: "trust-proxy",
    type: "list",
    group: "security",
    arg: "<ip|cidr>",
    help: "Reverse proxy whose X-Forwarded-For names the client; repeatable\n" +
      "or comma-separated; also loopback or private (default: none)",
    parse: (text, label) => {
      const list = text.split(",").map((o) => o.trim()).filter((o) => o !== "");
      try {
        new TrustedProxies(list);
      } catch (cause) {
        throw new TypeError(
          `Cannot use ${label} ${text}: ${(cause as Error).message}`,
        );
      }
      return list;
    },
    option: "trustProxy",
  },
  {
    name: "max-clients",
    type: "string",
    group: "limits",
    arg: "<n>",
    help: "Most WebSocket clients at once (default: 10000)",
    parse: integer(1, 1e9),
    option: "maxClients",
  },
  {
    name: "max-clients-per-ip",
    type: "string",
    group: "limits",
    arg: "<n>",
    help: "Most clients from one address (IPv6: one /64); 0 for no cap\n" +
      "(default: 50)",
    parse: integer(0, 1e9),
    option: "maxClientsPerIp",
  },
  {
    name: "handshake-timeout",
    type: "string",
    group: "limits",
    arg: "<s>",
    help:
      "Seconds a new connection has to send its whole request (default: 10)",
    parse: number(0.001, 3600),
    option: "handshakeTimeout",
  },
  {
    name: "max-message-size",
    type: "string",
    group: "limits",
    arg: "<bytes>",
    help:
      "Largest client message; a larger one closes the connection (1009)\n" +
      "(default: 65536)",
    parse: integer(1, 64 * 1024 * 1024),
    option: "maxMessageSize",
  },
  {
    name: "max-unsent-bytes",
    type: "string",
    group: "limits",
    arg: "<bytes>",
    help: "Unsent data of all clients together (default: 134217728)",
    parse: integer(1, Number.MAX_SAFE_INTEGER),
    option: "maxUnsentBytes",
  },
  {
    name: "drain-timeout",
    type: "string",
    group: "limits",
    arg: "<s>",
    help: "Seconds a client's send buffer may stay over 64 KiB (default: 30)",
    parse: number(0.001, 86400),
    option: "drainTimeout",
  },
  {
    name: "max-reply-size",
    type: "string",
    group: "limits",
    arg: "<bytes>",
    help: "Largest command reply; larger ones get reply_too_large\n" +
      "(default: 8388608)",
    parse: integer(1, Number.MAX_SAFE_INTEGER),
    option: "maxReplySize",
  },
  {
    name: "max-commands-in-flight",
    type: "string",
    group: "limits",
    arg: "<n>",
    help: "Node work of client commands at once, in cost units (default: 8)",
    parse: integer(1, 1e6),
    option: "maxCommandsInFlight",
  },
  {
    name: "max-queued-commands",
    type: "string",
    group: "limits",
    arg: "<n>",
    help: "Client commands waiting, all clients; more get server_busy\n" +
      "(default: 256)",
    parse: integer(1, 1e6),
    option: "maxQueuedCommands",
  },
  {
    name: "no-guard",
    type: "boolean",
    group: "security",
    help: "Serve with Deno.serve alone: no handshake deadline, frame-size\n" +
      "guard or accept loop of our own (only behind a proxy that does that)",
    option: "guard",
    negates: true,
  },
  // Continuity
  {
    name: "max-logged-events",
    type: "string",
    group: "continuity",
    arg: "<n>",
    help:
      "Recent events kept for since cursors on every topic (default: 10000)",
    parse: integer(1, 1e7),
    option: "maxLoggedEvents",
  },
  {
    name: "max-backfill-blocks",
    type: "string",
    group: "continuity",
    arg: "<n>",
    help: "Most missed blocks fetched to fill one hole (default: 100)",
    parse: integer(1, 1e6),
    option: "maxBackfillBlocks",
  },
  {
    name: "max-replay-blocks",
    type: "string",
    group: "continuity",
    arg: "<n>",
    help: "Most blocks replayed for a subscription's since cursor\n" +
      "(default: 1000)",
    parse: integer(0, 1e6),
    option: "maxReplayBlocks",
  },
  // NATS
  {
    name: "nats",
    type: "string",
    group: "nats",
    arg: "<url>",
    help: "NATS server(s), comma-separated: events go through JetStream",
  },
  {
    name: "role",
    type: "string",
    group: "nats",
    arg: "<role>",
    help: "ingest (node to NATS), gateway (NATS to clients) or both\n" +
      "(default: both)",
    parse: (text, label) => {
      if (text === "ingest" || text === "gateway" || text === "both") {
        return text;
      }
      throw new TypeError(
        `Cannot use ${label} ${text}: expected ingest, gateway or both`,
      );
    },
  },
  {
    name: "nats-stream",
    type: "string",
    group: "nats",
    arg: "<name>",
    help: "JetStream stream of the events (default: EVRMORE)",
  },
  {
    name: "nats-max-age",
    type: "string",
    group: "nats",
    arg: "<s>",
    help: "Seconds events stay in the stream (default: 604800, a week)",
    parse: number(1, 10 * 365 * 86400),
  },
  {
    name: "nats-max-bytes",
    type: "string",
    group: "nats",
    arg: "<bytes>",
    help: "Bytes the stream may hold (default: no limit)",
    parse: integer(1, Number.MAX_SAFE_INTEGER),
  },
  {
    name: "reuse-port",
    type: "boolean",
    group: "listener",
    help: "Let several gateways listen on one port (Linux)",
    option: "reusePort",
  },
  // General
  {
    name: "help",
    short: "h",
    type: "boolean",
    group: "general",
    help: "Show this help",
    env: false,
  },
  {
    name: "version",
    short: "V",
    type: "boolean",
    group: "general",
    help: "Show the version",
    env: false,
  },
];

/** The environment variable of `flag`, if it has one. */
export function envName(flag: Flag): string | undefined {
  if (flag.env === false) return undefined;
  return flag.env ?? `EVR_WS_${flag.name.toUpperCase().replaceAll("-", "_")}`;
}

/** The `--help` text, generated from {@linkcode FLAGS}. */
export function usage(): string {
  const lines = [
    "Usage: server.ts [options]",
    "",
    "Push Evrmore chain events to WebSocket clients.",
    "Every option can also be set by the environment variable shown under it;",
    "a flag on the command line wins over its variable.",
  ];
  for (const [group, title] of Object.entries(GROUPS)) {
    lines.push("", `${title}:`);
    for (const flag of FLAGS.filter((f) => f.group === group)) {
      const names = (flag.short ? `-${flag.short}, ` : "") +
        `--${flag.name}${flag.arg ? ` ${flag.arg}` : ""}`;
      const help = flag.help.split("\n");
      if (flag.default !== undefined) {
        help[help.length - 1] += ` (default: ${flag.default})`;
      }
      const env = envName(flag);
      if (env !== undefined) {
        help.push(
          flag.type === "boolean"
            ? `[env ${env}=1]`
            : flag.type === "list"
            ? `[env ${env}, comma-separated]`
            : `[env ${env}]`,
        );
      }
      const column = 26;
      const first = names.length < column - 2
        ? [`  ${names.padEnd(column - 2)}${help.shift()}`]
        : [`  ${names}`];
      lines.push(...first, ...help.map((line) => " ".repeat(column) + line));
    }
  }
  return lines.join("\n") + "\n";
}

/** The flags' values, from the command line, else the environment, else the defaults. */
export class Settings {
  #values = new Map<string, unknown>();
  #labels = new Map<string, string>();

  /**
   * Resolves every flag: parses (and checks) its text, which comes from the
   * command line, else its environment variable, else its default.
   *
   * @throws {TypeError | RangeError} `Cannot use <--flag|VARIABLE> …`
   */
  constructor(
    given: Record<string, string | boolean | (string | boolean)[] | undefined>,
    env: (name: string) => string | undefined,
  ) {
    for (const flag of FLAGS) {
      let value = given[flag.name] as string | boolean | string[] | undefined;
      let label = `--${flag.name}`;
      const variable = envName(flag);
      if (value === undefined && variable !== undefined) {
        const text = env(variable);
        if (text !== undefined && text !== "") {
          label = variable;
          value = flag.type === "boolean"
            ? parseBoolean(variable, text)
            : flag.type === "list"
            ? [text]
            : text;
        }
      }
      if (value === undefined && flag.default !== undefined) {
        value = flag.default;
      }
      if (value === undefined) continue;
      this.#labels.set(flag.name, label);
      const parse = flag.parse;
      this.#values.set(
        flag.name,
        parse === undefined || typeof value === "boolean"
          ? value
          : Array.isArray(value)
          ? value.flatMap((text) => parse(text, label) as unknown[])
          : parse(value, label),
      );
    }
  }

  /** The value of the flag `name` (`undefined` when not set). */
  get<T>(name: string): T | undefined {
    return this.#values.get(name) as T | undefined;
  }

  /** `--name` or the variable it came from, for messages. */
  label(name: string): string {
    return this.#labels.get(name) ?? `--${name}`;
  }

  /** The `EvrmoreWebSocketServerOptions` fields set by flags with `option`. */
  serverOptions(): Partial<EvrmoreWebSocketServerOptions> {
    const options: Record<string, unknown> = {};
    for (const flag of FLAGS) {
      const value = this.#values.get(flag.name);
      if (flag.option === undefined || value === undefined) continue;
      if (flag.negates) {
        if (value === true) options[flag.option] = false;
      } else options[flag.option] = value;
    }
    return options as Partial<EvrmoreWebSocketServerOptions>;
  }
}

/** `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`. */
function parseBoolean(label: string, text: string): boolean {
  const lower = text.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(lower)) return true;
  if (["0", "false", "no", "off"].includes(lower)) return false;
  throw new TypeError(
    `Cannot use ${label} ${text}: expected 1, true, yes, on, 0, false, no or off`,
  );
}

/** Reads `environment variable`, or nothing without `--allow-env`. */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // No --allow-env: nothing from the environment.
  }
}

export function parseNumber(
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

/** The `parseArgs` options of {@linkcode FLAGS}. */
export function parseArgsOptions(): ParseArgsOptionsConfig {
  return Object.fromEntries(
    FLAGS.map((flag) => [flag.name, {
      type: flag.type === "boolean" ? "boolean" : "string",
      ...(flag.type === "list" ? { multiple: true } : {}),
      ...(flag.short === undefined ? {} : { short: flag.short }),
    }]),
  ) as ParseArgsOptionsConfig;
}
