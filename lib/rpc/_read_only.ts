/**
 * The allowlist of read-only RPC methods.
 *
 * @module
 */

/**
 * RPC methods that change nothing on the node and reveal nothing of its
 * wallet or peers: chain, mempool, asset, restricted-asset and address-index
 * reads, and pure utilities.
 *
 * The client retries only these methods (after a connection failure or a
 * full work queue), and the WebSocket server uses the same list as its proxy
 * allowlist. Wallet reads (`getbalance`, `listunspent`, ...), peer details
 * (`getpeerinfo`), mining templates and expensive scans (`gettxoutsetinfo`,
 * `verifychain`) are deliberately left out.
 *
 * @example
 * ```ts
 * import { READ_ONLY_METHODS } from "@evrmore/rpc";
 *
 * console.log(READ_ONLY_METHODS.has("getblock")); // true
 * console.log(READ_ONLY_METHODS.has("sendtoaddress")); // false
 * ```
 */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set<string>([
  // blockchain
  "decodeblock",
  "getbestblockhash",
  "getblock",
  "getblockchaininfo",
  "getblockcount",
  "getblockhash",
  "getblockhashes",
  "getblockheader",
  "getchaintips",
  "getchaintxstats",
  "getdifficulty",
  "getmempoolancestors",
  "getmempooldescendants",
  "getmempoolentry",
  "getmempoolinfo",
  "getrawmempool",
  "getspentinfo",
  "gettxout",
  "gettxoutproof",
  "verifytxoutproof",
  // control
  "getinfo",
  "uptime",
  // mining (read-only figures)
  "getmininginfo",
  "getnetworkhashps",
  // network (no peer details)
  "getconnectioncount",
  "getnettotals",
  "getnetworkinfo",
  // raw transactions
  "decoderawtransaction",
  "decodescript",
  "getrawtransaction",
  // assets
  "getassetdata",
  "getcacheinfo",
  "listaddressesbyasset",
  "listassetbalancesbyaddress",
  "listassets",
  // restricted assets
  "checkaddressrestriction",
  "checkaddresstag",
  "checkglobalrestriction",
  "getverifierstring",
  "isvalidverifierstring",
  "listaddressesfortag",
  "listaddressrestrictions",
  "listglobalrestrictions",
  "listtagsforaddress",
  // address index
  "getaddressbalance",
  "getaddressdeltas",
  "getaddressmempool",
  "getaddresstxids",
  "getaddressutxos",
  // utilities
  "estimatefee",
  "estimatesmartfee",
  "validateaddress",
  "verifymessage",
]);
