/**
 * Resolution of the client's settings, highest first: constructor options,
 * environment, `evrmore.conf`, `.cookie`, built-in defaults.
 *
 * @module
 */

import { type Network, NETWORKS, parseNetwork } from "../network.ts";
import type {
  EvrmoreRPCClientOptions,
  RpcConfigSources,
  RpcResolvedConfig,
  RpcSettingSource,
} from "./_types.ts";

/** The environment variables the client reads. */
export const ENV_VARS = [
  "EVR_RPC_URL",
  "EVR_RPC_USER",
  "EVR_RPC_PASSWORD",
  "EVR_RPC_PORT",
  "EVR_DATADIR",
  "EVR_NETWORK",
] as const;

/** The full resolution, password included (kept private by the client). */
export interface ResolvedSettings extends RpcResolvedConfig {
  password: string | undefined;
}

/** Reads an environment variable; missing permission or a bad name count as unset. */
export function readEnv(name: string): string | undefined {
  try {
    const value = Deno.env.get(name);
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

/** The node's default base data dir for the current OS, if its variables can be read. */
export function defaultDataDir(): string | undefined {
  const os = Deno.build.os;
  if (os === "windows") {
    const appData = readEnv("APPDATA");
    return appData === undefined ? undefined : `${appData}\\Evrmore`;
  }
  const home = readEnv("HOME");
  if (home === undefined) return undefined;
  if (os === "darwin") return `${home}/Library/Application Support/Evrmore`;
  return `${home}/.evrmore`;
}

/**
 * Parses `evrmore.conf` text: `key=value` lines, `#` comments; the first
 * value of a key wins (as in the node). Every value stays a string.
 */
export function parseConf(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const hash = rawLine.indexOf("#");
    const line = (hash === -1 ? rawLine : rawLine.slice(0, hash)).trim();
    if (line === "" || line.startsWith("[")) continue;
    const eq = line.indexOf("=");
    const key = (eq === -1 ? line : line.slice(0, eq)).trim().replace(
      /^-+/,
      "",
    );
    const value = eq === -1 ? "1" : line.slice(eq + 1).trim();
    if (key !== "" && !values.has(key)) values.set(key, value);
  }
  return values;
}

function joinPath(dir: string, name: string): string {
  if (name === "") return dir;
  const sep = Deno.build.os === "windows" ? "\\" : "/";
  return dir.endsWith("/") || dir.endsWith("\\")
    ? `${dir}${name}`
    : `${dir}${sep}${name}`;
}

function isAbsolute(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) ||
    path.startsWith("\\\\");
}

async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

function source(
  origin: RpcSettingSource["origin"],
  detail: string,
): RpcSettingSource {
  return { origin, detail };
}

function truthy(value: string | undefined): boolean {
  if (value === undefined) return false;
  const n = Number(value);
  return Number.isFinite(n) ? n !== 0 : value !== "";
}

function parsePort(value: string, where: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port < 1 || port > 65535) {
    throw new RangeError(
      `Cannot use RPC port ${
        JSON.stringify(value)
      } from ${where}: expected 1 to 65535`,
    );
  }
  return port;
}

function hostForUrl(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * Resolves the client's settings. Throws only for an explicit `conf` path
 * that cannot be read, and for malformed values.
 */
export async function resolveSettings(
  options: EvrmoreRPCClientOptions,
): Promise<ResolvedSettings> {
  const useEnv = options.env !== false;
  const env = (name: (typeof ENV_VARS)[number]): string | undefined =>
    useEnv ? readEnv(name) : undefined;

  // Base data dir and configuration file.
  const envDatadir = env("EVR_DATADIR");
  const datadir = options.datadir ?? envDatadir ?? defaultDataDir();
  let confFile: string | undefined;
  let conf = new Map<string, string>();
  if (options.conf !== undefined) {
    confFile = options.conf;
    let text: string;
    try {
      text = await Deno.readTextFile(confFile);
    } catch (cause) {
      throw new Error(
        `Cannot read configuration file ${confFile}: ${
          cause instanceof Error ? cause.message : String(cause)
        }`,
        { cause },
      );
    }
    conf = parseConf(text);
  } else if (datadir !== undefined) {
    const path = joinPath(datadir, "evrmore.conf");
    const text = await readOptionalText(path);
    if (text !== undefined) {
      confFile = path;
      conf = parseConf(text);
    }
  }
  const confSource = (key: string) =>
    source("conf", `evrmore.conf ${confFile} (${key})`);

  // Network.
  let network: Network;
  let networkSource: RpcSettingSource;
  const envNetwork = env("EVR_NETWORK");
  if (options.network !== undefined) {
    network = parseNetwork(options.network);
    networkSource = source("options", "options.network");
  } else if (envNetwork !== undefined) {
    network = parseNetwork(envNetwork);
    networkSource = source("env", "env EVR_NETWORK");
  } else if (truthy(conf.get("regtest"))) {
    network = "regtest";
    networkSource = confSource("regtest=1");
  } else if (truthy(conf.get("testnet"))) {
    network = "test";
    networkSource = confSource("testnet=1");
  } else {
    network = "main";
    networkSource = source("default", "default");
  }
  const params = NETWORKS[network];

  // Credentials, each field on its own.
  let user: string | undefined;
  let userSource = source("none", "none");
  let password: string | undefined;
  let passwordSource = source("none", "none");

  // URL.
  let url: URL;
  let urlSource: RpcSettingSource;
  const envUrl = env("EVR_RPC_URL");
  const givenUrl = options.url ?? envUrl;
  if (givenUrl !== undefined) {
    const where = options.url !== undefined ? "options.url" : "env EVR_RPC_URL";
    try {
      url = new URL(givenUrl);
    } catch (cause) {
      throw new TypeError(
        `Cannot use RPC URL ${
          JSON.stringify(givenUrl)
        } from ${where}: not a valid URL`,
        { cause },
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(
        `Cannot use RPC URL ${
          JSON.stringify(givenUrl)
        } from ${where}: expected http: or https:`,
      );
    }
    urlSource = source(options.url !== undefined ? "options" : "env", where);
    if (url.username !== "" || url.password !== "") {
      user = decodeURIComponent(url.username);
      userSource = source(urlSource.origin, `${where} (user)`);
      password = decodeURIComponent(url.password);
      passwordSource = source(urlSource.origin, `${where} (password)`);
      url.username = "";
      url.password = "";
    }
    // Options outrank the environment: host/port options patch an env URL.
    if (options.url === undefined) {
      if (options.host !== undefined) url.hostname = hostForUrl(options.host);
      if (options.port !== undefined) {
        url.port = String(parsePort(String(options.port), "options.port"));
      }
    }
  } else {
    let host = "127.0.0.1";
    let hostSource = source("default", "default");
    if (options.host !== undefined) {
      host = options.host;
      hostSource = source("options", "options.host");
    } else if (conf.has("rpcconnect")) {
      host = conf.get("rpcconnect") ?? host;
      hostSource = confSource("rpcconnect");
    }
    let port = params.rpcPort;
    let portSource = source("default", `default ${network} port`);
    const envPort = env("EVR_RPC_PORT");
    if (options.port !== undefined) {
      port = parsePort(String(options.port), "options.port");
      portSource = source("options", "options.port");
    } else if (envPort !== undefined) {
      port = parsePort(envPort, "env EVR_RPC_PORT");
      portSource = source("env", "env EVR_RPC_PORT");
    } else if (conf.has("rpcport")) {
      port = parsePort(conf.get("rpcport") ?? "", `evrmore.conf ${confFile}`);
      portSource = confSource("rpcport");
    }
    url = new URL(`http://${hostForUrl(host)}:${port}/`);
    // The most specific source of the two parts describes the URL.
    const rank = ["options", "env", "conf", "cookie", "default", "none"];
    urlSource =
      rank.indexOf(hostSource.origin) <= rank.indexOf(portSource.origin)
        ? source(
          hostSource.origin,
          `${hostSource.detail} + ${portSource.detail}`,
        )
        : source(
          portSource.origin,
          `${hostSource.detail} + ${portSource.detail}`,
        );
  }
  if (options.wallet !== undefined) {
    const base = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
    url.pathname = `${base}wallet/${encodeURIComponent(options.wallet)}`;
  }

  if (user === undefined && options.user !== undefined) {
    user = options.user;
    userSource = source("options", "options.user");
  }
  if (password === undefined && options.password !== undefined) {
    password = options.password;
    passwordSource = source("options", "options.password");
  }
  const envUser = env("EVR_RPC_USER");
  if (user === undefined && envUser !== undefined) {
    user = envUser;
    userSource = source("env", "env EVR_RPC_USER");
  }
  const envPassword = env("EVR_RPC_PASSWORD");
  if (password === undefined && envPassword !== undefined) {
    password = envPassword;
    passwordSource = source("env", "env EVR_RPC_PASSWORD");
  }
  if (user === undefined && conf.has("rpcuser")) {
    user = conf.get("rpcuser");
    userSource = confSource("rpcuser");
  }
  if (password === undefined && conf.has("rpcpassword")) {
    password = conf.get("rpcpassword");
    passwordSource = confSource("rpcpassword");
  }

  // Cookie, when neither user nor password is set.
  let cookieFile: string | undefined;
  if (user === undefined && password === undefined) {
    const netDir = datadir === undefined
      ? undefined
      : joinPath(datadir, params.dataSubdir);
    let path = options.cookieFile ?? conf.get("rpccookiefile");
    if (path !== undefined && !isAbsolute(path) && netDir !== undefined) {
      path = joinPath(netDir, path);
    }
    path ??= netDir === undefined ? undefined : joinPath(netDir, ".cookie");
    if (path !== undefined) {
      const text = await readOptionalText(path);
      if (text !== undefined) {
        const line = text.replace(/\r?\n$/, "");
        const colon = line.indexOf(":");
        if (colon > 0) {
          cookieFile = path;
          user = line.slice(0, colon);
          password = line.slice(colon + 1);
          userSource = source("cookie", `cookie ${path}`);
          passwordSource = source("cookie", `cookie ${path}`);
        }
      }
    }
  }

  const sources: RpcConfigSources = {
    url: urlSource,
    user: userSource,
    password: passwordSource,
    network: networkSource,
  };
  return {
    url: url.href,
    user,
    password,
    network,
    confFile,
    cookieFile,
    sources,
  };
}

/** Describes where the credentials came from, for error messages (never the password). */
export function describeCredentials(settings: RpcResolvedConfig): string {
  const { user, password } = settings.sources;
  if (user.origin === "none" && password.origin === "none") {
    return "no credentials (none in options, environment, evrmore.conf or .cookie)";
  }
  if (user.detail === password.detail || password.origin === "none") {
    return `credentials from ${user.detail}`;
  }
  if (user.origin === "none") return `credentials from ${password.detail}`;
  return `credentials from ${user.detail} and ${password.detail}`;
}
