/**
 * Command-line parameters to JSON-RPC parameters, as the node's own CLI
 * (`evrmore-cli`) converts them: a parameter listed for its method (by
 * position, or by name with `-named`) is read as JSON (numbers, booleans,
 * `null`, arrays, objects); every other one is sent as the string typed.
 *
 * @module
 */

/**
 * The parameters `evrmore-cli` reads as JSON, per method: `index:name`
 * pairs, from the node's conversion table (src/rpc/client.cpp).
 */
const JSON_PARAMS: Readonly<Record<string, string>> = {
  addmultisigaddress: "0:nrequired 1:keys",
  bumpfee: "1:options",
  cancelsnapshotrequest: "1:block_height",
  combinerawtransaction: "0:txs",
  createmultisig: "0:nrequired 1:keys",
  createrawtransaction: "0:inputs 1:outputs 2:locktime",
  disconnectnode: "1:nodeid",
  distributereward: "1:snapshot_height 3:gross_distribution_amount",
  echojson:
    "0:arg0 1:arg1 2:arg2 3:arg3 4:arg4 5:arg5 6:arg6 7:arg7 8:arg8 9:arg9",
  estimatefee: "0:nblocks",
  estimaterawfee: "0:conf_target 1:threshold",
  estimatesmartfee: "0:conf_target",
  fundrawtransaction: "1:options",
  generate: "0:nblocks 1:maxtries",
  generatetoaddress: "0:nblocks 2:maxtries",
  getaddressbalance: "0:addresses 1:includeAssets",
  getaddressdeltas: "0:addresses",
  getaddressmempool: "0:addresses 1:includeAssets",
  getaddresstxids: "0:addresses 1:includeAssets",
  getaddressutxos: "0:addresses",
  getbalance: "1:minconf 2:include_watchonly",
  getblock: "1:verbosity 1:verbose",
  getblockhash: "0:height",
  getblockhashes: "0:high 1:low 2:options",
  getblockheader: "1:verbose",
  getblocktemplate: "0:template_request",
  getchaintxstats: "0:nblocks",
  getdistributestatus: "1:snapshot_height 3:gross_distribution_amount",
  getevrprogpowhash: "3:height",
  getmempoolancestors: "1:verbose",
  getmempooldescendants: "1:verbose",
  getnetworkhashps: "0:nblocks 1:height",
  getrawmempool: "0:verbose",
  getrawtransaction: "1:verbose",
  getreceivedbyaccount: "1:minconf",
  getreceivedbyaddress: "1:minconf",
  getsnapshot: "1:block_height",
  getsnapshotrequest: "1:block_height",
  getspentinfo: "0:txid_index",
  gettransaction: "1:include_watchonly",
  gettxout: "1:n 2:include_mempool",
  gettxoutproof: "0:txids",
  importaddress: "2:rescan 3:p2sh",
  importmulti: "0:requests 1:options",
  importprivkey: "2:rescan",
  importpubkey: "2:rescan",
  issue: "1:qty 4:units 5:reissuable 6:has_ipfs",
  issuequalifierasset: "1:qty 4:has_ipfs",
  issuerestrictedasset: "1:qty 5:units 6:reissuable 7:has_ipfs",
  issueunique: "1:asset_tags 2:ipfs_hashes",
  keypoolrefill: "0:newsize",
  listaccounts: "0:minconf 1:include_watchonly",
  listaddressesbyasset: "1:totalonly 2:count 3:start",
  listassetbalancesbyaddress: "1:totalonly 2:count 3:start",
  listassets: "1:verbose 2:count 3:start",
  listmyassets: "1:verbose 2:count 3:start 4:confs",
  listreceivedbyaccount: "0:minconf 1:include_empty 2:include_watchonly",
  listreceivedbyaddress: "0:minconf 1:include_empty 2:include_watchonly",
  listsinceblock:
    "1:target_confirmations 2:include_watchonly 3:include_removed",
  listsnapshotrequests: "1:block_height",
  listtransactions: "1:count 2:skip 3:include_watchonly",
  listunspent:
    "0:minconf 1:maxconf 2:addresses 3:include_unsafe 4:query_options",
  lockunspent: "0:unlock 1:transactions",
  logging: "0:include 1:exclude",
  move: "2:amount 3:minconf",
  prioritisetransaction: "1:dummy 2:fee_delta",
  pruneblockchain: "0:height",
  purgesnapshot: "1:block_height",
  reissue: "1:qty 4:reissuable 5:new_unit",
  reissuerestrictedasset: "1:qty 3:change_verifier 6:new_unit 7:reissuable",
  requestsnapshot: "1:block_height",
  rescanblockchain: "0:start_height 1:stop_height",
  sendfrom: "2:amount 3:minconf",
  sendfromaddress: "2:amount 5:subtractfeefromamount 6:conf_target",
  sendmany: "1:amounts 2:minconf 4:subtractfeefrom 5:conf_target",
  sendmessage: "2:expire_time",
  sendrawtransaction: "1:allowhighfees",
  sendtoaddress: "1:amount 4:subtractfeefromamount 5:conf_target",
  setban: "2:bantime 3:absolute",
  setgenerate: "0:generate 1:genproclimit",
  setmocktime: "0:timestamp",
  setnetworkactive: "0:state",
  settxfee: "0:amount",
  signrawtransaction: "1:prevtxs 2:privkeys",
  stop: "0:wait",
  testmempoolaccept: "0:rawtxs 1:allowhighfees",
  transfer: "1:qty 4:expire_time",
  transferfromaddress: "2:qty 5:expire_time",
  transferfromaddresses: "1:from_addresses 2:qty 5:expire_time",
  transferqualifier: "1:qty 5:expire_time",
  verifychain: "0:checklevel 1:nblocks",
  waitforblock: "1:timeout",
  waitforblockheight: "0:height 1:timeout",
  waitfornewblock: "0:timeout",
  walletpassphrase: "1:timeout",
};

interface MethodParams {
  positions: Set<number>;
  names: Set<string>;
}

let parsed: Map<string, MethodParams> | undefined;

function jsonParams(method: string): MethodParams | undefined {
  if (parsed === undefined) {
    parsed = new Map();
    for (const [name, list] of Object.entries(JSON_PARAMS)) {
      const entry: MethodParams = { positions: new Set(), names: new Set() };
      for (const pair of list.split(" ")) {
        const [index, param] = pair.split(":");
        entry.positions.add(Number(index));
        entry.names.add(param ?? "");
      }
      parsed.set(name, entry);
    }
  }
  return parsed.get(method);
}

/**
 * Reads one value as JSON the way the node's CLI does: any JSON value,
 * scalars included.
 *
 * @throws {SyntaxError} When the text is not one JSON value.
 */
function parseValue(method: string, what: string, text: string): unknown {
  let values: unknown;
  try {
    values = JSON.parse(`[${text}]`);
  } catch {
    values = undefined;
  }
  if (!Array.isArray(values) || values.length !== 1) {
    throw new SyntaxError(
      `Cannot read ${what} of ${method} as JSON: ${JSON.stringify(text)}`,
    );
  }
  return values[0];
}

/**
 * Positional parameters of `method` from command-line arguments.
 *
 * @throws {SyntaxError} When a JSON parameter is not valid JSON.
 */
export function convertParams(
  method: string,
  args: readonly string[],
): unknown[] {
  const json = jsonParams(method);
  return args.map((arg, i) =>
    json?.positions.has(i) ? parseValue(method, `parameter ${i + 1}`, arg) : arg
  );
}

/**
 * Named parameters of `method` from `name=value` arguments (`-named`).
 *
 * @throws {SyntaxError} When an argument has no `=`, or a JSON parameter is
 *   not valid JSON.
 */
export function convertNamedParams(
  method: string,
  args: readonly string[],
): Record<string, unknown> {
  const json = jsonParams(method);
  const params: Record<string, unknown> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq === -1) {
      throw new SyntaxError(
        `Cannot read named parameter ${
          JSON.stringify(arg)
        } of ${method}: expected name=value`,
      );
    }
    const name = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    params[name] = json?.names.has(name)
      ? parseValue(method, `parameter ${name}`, value)
      : value;
  }
  return params;
}
