/**
 * The command-line flags that point a program at a node, shared by the
 * `cli.ts` tool (and meant for `server.ts` to adopt): `--rpc-url`,
 * `--rpc-user`, `--rpc-password`, `--datadir`, `--network`. Anything not
 * given comes from the environment and `evrmore.conf`, as for
 * `EvrmoreRPCClient`.
 *
 * @module
 */

import { parseNetwork } from "../network.ts";
import type { EvrmoreRPCClientOptions } from "./_types.ts";

/** `node:util` `parseArgs` option specs of the node flags. */
export const NODE_FLAGS = {
  "rpc-url": { type: "string" },
  "rpc-user": { type: "string" },
  "rpc-password": { type: "string" },
  datadir: { type: "string" },
  network: { type: "string" },
} as const;

/** Usage lines of the node flags. */
export const NODE_FLAGS_USAGE: string =
  `  --rpc-url <url>         Node JSON-RPC URL (default: from env, evrmore.conf, network)
  --rpc-user <user>       RPC user (default: from env, evrmore.conf or .cookie)
  --rpc-password <pass>   RPC password
  --datadir <dir>         Node data directory holding evrmore.conf and .cookie
  --network <net>         main, test or regtest (default: from evrmore.conf, else main)`;

/** Values of the node flags, as `parseArgs` returns them. */
export interface NodeFlagValues {
  "rpc-url"?: string | undefined;
  "rpc-user"?: string | undefined;
  "rpc-password"?: string | undefined;
  datadir?: string | undefined;
  network?: string | undefined;
}

/**
 * Client options from the node flags (only those given).
 *
 * @throws {TypeError} When `--network` names no network.
 */
export function nodeClientOptions(
  values: NodeFlagValues,
): EvrmoreRPCClientOptions {
  const options: EvrmoreRPCClientOptions = {};
  if (values["rpc-url"] !== undefined) options.url = values["rpc-url"];
  if (values["rpc-user"] !== undefined) options.user = values["rpc-user"];
  if (values["rpc-password"] !== undefined) {
    options.password = values["rpc-password"];
  }
  if (values.datadir !== undefined) options.datadir = values.datadir;
  if (values.network !== undefined) {
    options.network = parseNetwork(values.network);
  }
  return options;
}
