/**
 * Which node commands WebSocket clients may run through the server.
 *
 * @module
 */

import { READ_ONLY_METHODS } from "../rpc/mod.ts";

/**
 * Commands no configuration can open to WebSocket clients: every wallet
 * command, mining actions, network control, node control (`stop`), and
 * everything that writes (asset issuance and transfers, messages,
 * restricted-asset administration, rewards, raw transaction broadcast,
 * mempool and chain maintenance).
 *
 * @example
 * ```ts
 * import { DENIED_COMMANDS } from "@evrmore/rpc";
 *
 * console.log(DENIED_COMMANDS.has("stop")); // true
 * console.log(DENIED_COMMANDS.has("getblock")); // false
 * ```
 */
export const DENIED_COMMANDS: ReadonlySet<string> = new Set<string>([
  // control
  "stop",
  "help",
  "getinfo", // prints the wallet's balance and settings
  "setmocktime",
  "echo",
  "logging",
  // chain / mempool maintenance
  "clearmempool",
  "preciousblock",
  "pruneblockchain",
  "savemempool",
  "verifychain",
  "invalidateblock",
  "reconsiderblock",
  "gettxoutsetinfo",
  // mining
  "generate",
  "generatetoaddress",
  "getgenerate",
  "setgenerate",
  "getblocktemplate",
  "getevrprogpowhash",
  "pprpcsb",
  "prioritisetransaction",
  "submitblock",
  // network control
  "addnode",
  "clearbanned",
  "disconnectnode",
  "getaddednodeinfo",
  "getpeerinfo",
  "listbanned",
  "ping",
  "setban",
  "setnetworkactive",
  // raw transactions that use the wallet or broadcast
  "fundrawtransaction",
  "sendrawtransaction",
  "signrawtransaction",
  "signrawtransactionwithwallet",
  "testmempoolaccept",
  // assets (writes and snapshots)
  "getsnapshot",
  "issue",
  "issueunique",
  "listmyassets",
  "purgesnapshot",
  "reissue",
  "transfer",
  "transferfromaddress",
  "transferfromaddresses",
  // messages
  "clearmessages",
  "sendmessage",
  "subscribetochannel",
  "unsubscribefromchannel",
  "viewallmessagechannels",
  "viewallmessages",
  // restricted assets (writes and wallet views)
  "addtagtoaddress",
  "freezeaddress",
  "freezerestrictedasset",
  "issuequalifierasset",
  "issuerestrictedasset",
  "reissuerestrictedasset",
  "removetagfromaddress",
  "transferqualifier",
  "unfreezeaddress",
  "unfreezerestrictedasset",
  "viewmyrestrictedaddresses",
  "viewmytaggedaddresses",
  // rewards
  "cancelsnapshotrequest",
  "distributereward",
  "getdistributestatus",
  "getsnapshotrequest",
  "listsnapshotrequests",
  "requestsnapshot",
  // utilities that take secrets
  "signmessagewithprivkey",
  // wallet
  "abandontransaction",
  "abortrescan",
  "addmultisigaddress",
  "addwitnessaddress",
  "backupwallet",
  "bumpfee",
  "dumpprivkey",
  "dumpwallet",
  "encryptwallet",
  "getaccount",
  "getaccountaddress",
  "getaddressesbyaccount",
  "getbalance",
  "getmasterkeyinfo",
  "getmywords",
  "getnewaddress",
  "getrawchangeaddress",
  "getreceivedbyaccount",
  "getreceivedbyaddress",
  "gettransaction",
  "getunconfirmedbalance",
  "getwalletinfo",
  "importaddress",
  "importmulti",
  "importprivkey",
  "importprunedfunds",
  "importpubkey",
  "importwallet",
  "keypoolrefill",
  "listaccounts",
  "listaddressgroupings",
  "listlockunspent",
  "listreceivedbyaccount",
  "listreceivedbyaddress",
  "listsinceblock",
  "listtransactions",
  "listunspent",
  "listwallets",
  "lockunspent",
  "move",
  "removeprunedfunds",
  "rescanblockchain",
  "sendfrom",
  "sendfromaddress",
  "sendmany",
  "sendtoaddress",
  "setaccount",
  "settxfee",
  "signmessage",
  "walletlock",
  "walletpassphrase",
  "walletpassphrasechange",
  "loadwallet",
  "unloadwallet",
  "createwallet",
]);

/**
 * The commands WebSocket clients may run by default: the RPC client's
 * read-only methods (chain, block, transaction, mempool, asset and
 * address-index queries), less {@linkcode DENIED_COMMANDS}.
 *
 * @example
 * ```ts
 * import { DEFAULT_ALLOWED_COMMANDS } from "@evrmore/rpc";
 *
 * console.log(DEFAULT_ALLOWED_COMMANDS.has("getblock")); // true
 * console.log(DEFAULT_ALLOWED_COMMANDS.has("getbalance")); // false
 * ```
 */
export const DEFAULT_ALLOWED_COMMANDS: ReadonlySet<string> = new Set(
  [...READ_ONLY_METHODS].filter((name) => !isDenied(name)),
);

/** Whether a command is on the hard denylist (case-insensitive). */
export function isDenied(command: string): boolean {
  return DENIED_COMMANDS.has(command.toLowerCase());
}

/**
 * The effective allowlist: the given commands (default
 * {@linkcode DEFAULT_ALLOWED_COMMANDS}) less the hard denylist.
 */
export function allowedCommandSet(
  commands: Iterable<string> | undefined,
): ReadonlySet<string> {
  if (commands === undefined) return DEFAULT_ALLOWED_COMMANDS;
  const set = new Set<string>();
  for (const name of commands) {
    if (typeof name !== "string") {
      throw new TypeError(
        "Cannot configure allowedCommands: every command must be a string",
      );
    }
    if (!isDenied(name)) set.add(name);
  }
  return set;
}
