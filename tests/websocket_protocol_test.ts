import assert from "node:assert/strict";
import type {
  DecodedBlock,
  DecodedTransaction,
} from "../lib/encoding/types.ts";
import {
  errorMessage,
  normalizeTopic,
  parseClientMessage,
  parseServerMessage,
  pongMessage,
  PROTOCOL_REVISION,
  sanitizeNodeMessage,
  SERVER_FEATURES,
  subscriptionMessage,
  welcomeMessage,
} from "../lib/websocket/_protocol.ts";
import {
  AssetMessageSchema,
  BlockMessageSchema,
  ErrorMessageSchema,
  ServerMessageSchema,
} from "../lib/websocket/_schemas.ts";
import {
  assetEvents,
  assetEventType,
  blockData,
  blockDataFromRpc,
  mempoolData,
  transactionData,
} from "../lib/websocket/_event_data.ts";
import {
  DEFAULT_ALLOWED_COMMANDS,
  DENIED_COMMANDS,
  WEBSOCKET_TOPICS,
} from "../lib/websocket/mod.ts";
import { allowedCommandSet } from "../lib/websocket/_commands.ts";

const FIXTURES = new URL(
  "../../shared/fixtures/evrmore-regtest/",
  import.meta.url,
);
const labels = JSON.parse(
  Deno.readTextFileSync(new URL("labels.json", FIXTURES)),
) as { txs: Record<string, string>; blocks: Record<string, string> };

function tx(label: string): DecodedTransaction {
  const txid = labels.txs[label];
  assert.ok(txid, label);
  const body = JSON.parse(
    Deno.readTextFileSync(
      new URL(`txs/${label}_${txid}.decoderawtransaction.json`, FIXTURES),
    ),
  );
  return body.result as DecodedTransaction;
}

function block(prefix: string, label: string): DecodedBlock {
  const hash = labels.blocks[label];
  const body = JSON.parse(
    Deno.readTextFileSync(
      new URL(`blocks/${prefix}_${label}_${hash}.getblock2.json`, FIXTURES),
    ),
  );
  return body.result as DecodedBlock;
}

Deno.test("normalizeTopic() accepts plural topics and singular aliases", () => {
  assert.deepEqual(WEBSOCKET_TOPICS, [
    "blocks",
    "transactions",
    "assets",
    "mempool",
  ]);
  assert.equal(normalizeTopic("blocks"), "blocks");
  assert.equal(normalizeTopic("block"), "blocks");
  assert.equal(normalizeTopic("transaction"), "transactions");
  assert.equal(normalizeTopic("asset"), "assets");
  assert.equal(normalizeTopic("mempool"), "mempool");
  assert.equal(normalizeTopic("toString"), undefined);
  assert.equal(normalizeTopic("__proto__"), undefined);
  assert.equal(normalizeTopic("Blocks"), undefined);
});

Deno.test("parseClientMessage() parses subscribe, unsubscribe, ping and commands", () => {
  assert.deepEqual(
    parseClientMessage('{"action":"subscribe","topic":"blocks"}'),
    { kind: "subscribe", topic: "blocks" },
  );
  assert.deepEqual(
    parseClientMessage('{"action":"unsubscribe","topic":"asset","id":7}'),
    { kind: "unsubscribe", topic: "assets", id: 7 },
  );
  assert.deepEqual(parseClientMessage('{"action":"ping","id":"a"}'), {
    kind: "ping",
    id: "a",
  });
  assert.deepEqual(parseClientMessage('{"command":"getblockcount"}'), {
    kind: "command",
    command: "getblockcount",
    params: [],
  });
  assert.deepEqual(
    parseClientMessage('{"command":"getblockhash","params":[1],"id":3}'),
    { kind: "command", command: "getblockhash", params: [1], id: 3 },
  );
});

Deno.test("parseClientMessage() answers bad input with stable error codes", () => {
  const cases: Array<[string, string]> = [
    ["{not json", "invalid_json"],
    ["", "invalid_json"],
    ["42", "invalid_message"],
    ["[1,2]", "invalid_message"],
    ["null", "invalid_message"],
    ["{}", "invalid_message"],
    ['{"action":"dance"}', "unknown_action"],
    ['{"action":5}', "unknown_action"],
    ['{"action":"subscribe"}', "invalid_message"],
    ['{"action":"subscribe","topic":5}', "invalid_message"],
    ['{"action":"subscribe","topic":"weather"}', "unknown_topic"],
    ['{"command":""}', "invalid_message"],
    ['{"command":5}', "invalid_message"],
    ['{"command":"get block"}', "invalid_message"],
    ['{"command":"getblock","params":"abc"}', "invalid_params"],
    ['{"command":"getblock","params":{"a":1}}', "invalid_params"],
    ['{"action":"ping","id":{"x":1}}', "invalid_message"],
    [`{"action":"ping","id":"${"x".repeat(200)}"}`, "invalid_message"],
  ];
  for (const [text, code] of cases) {
    const parsed = parseClientMessage(text);
    assert.equal(parsed.kind, "error", text);
    if (parsed.kind !== "error") continue;
    assert.equal(parsed.error.code, code, text);
    assert.equal(parsed.error.type, "error");
    assert.match(parsed.error.message, /^Cannot /);
    assert.ok(ErrorMessageSchema.safeParse(parsed.error).success);
  }
  const withId = parseClientMessage(
    '{"action":"subscribe","topic":"weather","id":"q1"}',
  );
  assert.equal(withId.kind, "error");
  if (withId.kind === "error") assert.equal(withId.error.id, "q1");
  const badParams = parseClientMessage(
    '{"command":"getblock","params":1,"id":2}',
  );
  assert.equal(badParams.kind, "error");
  if (badParams.kind === "error") {
    assert.equal(badParams.error.id, 2);
    assert.equal(badParams.error.command, "getblock");
  }
});

Deno.test("transactionData() and blockData() follow the node's decoded JSON", () => {
  const send = tx("send_evr");
  assert.deepEqual(transactionData(send), {
    txid: "faf24d636f68aab8f01819790a01115e8e51411a5436ea158a28384d5eeb558d",
    size: send.size,
    vsize: send.vsize,
    version: send.version,
    locktime: send.locktime,
    vin_count: send.vin.length,
    vout_count: 2,
  });
  const b = block("0164", "transfer");
  const data = blockData(b);
  assert.deepEqual(data, {
    hash: "5c870de22d9127b6a534dbe5ad03eae77c6fe207619dd5e9d9cd344ffb4dc840",
    height: 164,
    time: 1795631375,
    tx_count: 4,
    size: 1604,
  });
  assert.ok(
    BlockMessageSchema.safeParse({ type: "block", data }).success,
  );
});

Deno.test("blockDataFromRpc() reads a getblock verbosity 1 answer", () => {
  const hash = labels.blocks.evr_sends;
  const body = JSON.parse(
    Deno.readTextFileSync(
      new URL(`blocks/0161_evr_sends_${hash}.getblock1.json`, FIXTURES),
    ),
  );
  assert.deepEqual(blockDataFromRpc(body.result), {
    hash,
    height: 161,
    time: 1795631374,
    tx_count: 3,
    size: 739,
  });
  assert.equal(blockDataFromRpc(null), undefined);
  assert.equal(blockDataFromRpc({ hash }), undefined);
});

Deno.test("assetEvents() reports issue, owner, transfer and reissue outputs", () => {
  assert.deepEqual(assetEvents(tx("issue_root")), [
    {
      txid: labels.txs.issue_root,
      asset: "MYASSET!",
      amount: 1,
      type: "owner",
    },
    {
      txid: labels.txs.issue_root,
      asset: "MYASSET",
      amount: 1000,
      type: "issue",
    },
  ]);
  assert.deepEqual(assetEvents(tx("transfer")), [
    {
      txid: labels.txs.transfer,
      asset: "MYASSET",
      amount: 10.5,
      type: "transfer",
    },
    {
      txid: labels.txs.transfer,
      asset: "MYASSET",
      amount: 989.5,
      type: "transfer",
    },
  ]);
  assert.deepEqual(assetEvents(tx("reissue")), [
    {
      txid: labels.txs.reissue,
      asset: "MYASSET!",
      amount: 1,
      type: "transfer",
    },
    {
      txid: labels.txs.reissue,
      asset: "MYASSET",
      amount: 500,
      type: "reissue",
    },
  ]);
  assert.deepEqual(
    assetEvents(tx("issue_unique")).map((e) => [e.asset, e.type]),
    [
      ["MYASSET!", "transfer"],
      ["MYASSET#tag1", "issue"],
      ["MYASSET#tag2", "issue"],
    ],
  );
  // Null-asset data (tags, freezes) carry no amount: no event for them.
  assert.deepEqual(
    assetEvents(tx("freeze")).map((e) => [e.asset, e.type]),
    [["MYASSET!", "transfer"]],
  );
  assert.deepEqual(assetEvents(tx("send_evr")), []);
  for (const data of assetEvents(tx("issue_restricted"))) {
    assert.ok(AssetMessageSchema.safeParse({ type: "asset", data }).success);
  }
  assert.equal(assetEventType("pubkeyhash", "X"), undefined);
});

Deno.test("mempoolData() keeps size, bytes and usage of getmempoolinfo", () => {
  const body = JSON.parse(
    Deno.readTextFileSync(
      new URL("rpc/getmempoolinfo_nonempty.json", FIXTURES),
    ),
  );
  assert.deepEqual(mempoolData(body.result), {
    size: 3,
    bytes: 911,
    usage: 3776,
  });
  assert.equal(mempoolData({ size: "3" }), undefined);
});

Deno.test("parseServerMessage() validates known types and keeps unknown ones", () => {
  const block = parseServerMessage(
    '{"type":"block","data":{"hash":"ab","height":1,"time":2,"tx_count":1,"size":285},"extra":1}',
  );
  assert.equal(block.kind, "known");
  if (block.kind === "known") {
    assert.equal(block.message.type, "block");
    assert.equal((block.message as unknown as { extra: number }).extra, 1);
  }
  const custom = parseServerMessage('{"type":"large_block","data":{"x":1}}');
  assert.deepEqual(custom, {
    kind: "unknown",
    message: { type: "large_block", data: { x: 1 } },
  });
  assert.equal(
    parseServerMessage('{"type":"block","data":{"hash":1}}').kind,
    "invalid",
  );
  assert.equal(parseServerMessage("nope").kind, "invalid");
  assert.equal(parseServerMessage('{"data":1}').kind, "invalid");
  // Answers of older servers (and of the document's custom server) have no
  // `data`: it is filled from the top-level fields.
  const legacyAck = parseServerMessage(
    '{"type":"subscription","status":"success","topic":"large_blocks"}',
  );
  assert.deepEqual(legacyAck, {
    kind: "known",
    message: {
      type: "subscription",
      status: "success",
      topic: "large_blocks",
      data: { status: "success", topic: "large_blocks", action: "subscribe" },
    },
  });
  const legacyError = parseServerMessage(
    '{"type":"error","message":"Invalid JSON"}',
  );
  assert.deepEqual(legacyError, {
    kind: "known",
    message: {
      type: "error",
      message: "Invalid JSON",
      data: { message: "Invalid JSON" },
    },
  });
  // A data-only answer gets the top-level fields.
  const dataOnly = parseServerMessage(
    '{"type":"error","data":{"code":"unknown_topic","message":"m"}}',
  );
  assert.equal(dataOnly.kind, "known");
  if (dataOnly.kind === "known" && dataOnly.message.type === "error") {
    assert.equal(dataOnly.message.code, "unknown_topic");
    assert.equal(dataOnly.message.message, "m");
  }
  assert.equal(parseServerMessage('{"type":"pong"}').kind, "known");
  // What our server sends is valid as it is.
  assert.ok(
    ServerMessageSchema.safeParse({
      type: "subscription",
      data: { status: "success", topic: "blocks", action: "subscribe" },
      status: "success",
      topic: "blocks",
      action: "subscribe",
    }).success,
  );
  assert.ok(
    !ServerMessageSchema.safeParse({ type: "error", message: "Invalid JSON" })
      .success,
  );
});

Deno.test("sanitizeNodeMessage() drops the client prefix and hides URLs", () => {
  assert.equal(
    sanitizeNodeMessage("Cannot call getblock: Block not found", "getblock"),
    "Block not found",
  );
  const text = sanitizeNodeMessage(
    "Cannot reach http://user:secret@127.0.0.1:8819/ now",
    "getblock",
  );
  assert.ok(!text.includes("secret"), text);
  assert.ok(!text.includes("127.0.0.1"), text);
});

Deno.test("command lists: wallet, mining, network control and stop stay denied", () => {
  for (
    const name of [
      "stop",
      "getbalance",
      "sendtoaddress",
      "dumpprivkey",
      "generate",
      "submitblock",
      "setban",
      "addnode",
      "issue",
      "transfer",
    ]
  ) {
    assert.ok(DENIED_COMMANDS.has(name), name);
    assert.ok(!DEFAULT_ALLOWED_COMMANDS.has(name), name);
  }
  for (
    const name of [
      "getblock",
      "getblockcount",
      "getrawtransaction",
      "getmempoolinfo",
      "getassetdata",
      "listassets",
    ]
  ) {
    assert.ok(DEFAULT_ALLOWED_COMMANDS.has(name), name);
  }
  const custom = allowedCommandSet([
    "getblockcount",
    "stop",
    "STOP",
    "getbalance",
  ]);
  assert.deepEqual([...custom], ["getblockcount"]);
  assert.throws(() => allowedCommandSet([5 as unknown as string]), TypeError);
});

/** What the Python evrmore-rpc 1.2.1 client requires of every message. */
function assertDocumentModel(message: unknown): void {
  assert.ok(typeof message === "object" && message !== null);
  const m = message as Record<string, unknown>;
  assert.equal(typeof m.type, "string", JSON.stringify(m));
  assert.ok("data" in m, `data: field required in ${JSON.stringify(m)}`);
}

Deno.test("Every message builder puts the answer in data and keeps the top-level fields", () => {
  const error = errorMessage("unknown_topic", "Cannot subscribe: x", {
    id: 4,
  });
  assert.deepEqual(error, {
    type: "error",
    data: { code: "unknown_topic", message: "Cannot subscribe: x" },
    message: "Cannot subscribe: x",
    code: "unknown_topic",
    id: 4,
  });
  const nodeError = errorMessage(-5, "Block not found", {
    command: "getblock",
  });
  assert.deepEqual(nodeError.data, {
    code: -5,
    message: "Block not found",
    command: "getblock",
  });
  assert.equal(nodeError.command, "getblock");
  const ack = subscriptionMessage("subscribe", "assets", {
    id: "a",
    filter: { asset: "MYASSET" },
  });
  assert.deepEqual(ack, {
    type: "subscription",
    data: {
      status: "success",
      topic: "assets",
      action: "subscribe",
      filter: { asset: "MYASSET" },
    },
    status: "success",
    topic: "assets",
    action: "subscribe",
    filter: { asset: "MYASSET" },
    id: "a",
  });
  assert.deepEqual(pongMessage(), { type: "pong", data: {} });
  assert.deepEqual(pongMessage("p", 1), {
    type: "pong",
    data: { time: 1 },
    id: "p",
  });
  const welcome = welcomeMessage();
  assert.equal(welcome.type, "welcome");
  assert.equal(welcome.data.protocol, PROTOCOL_REVISION);
  assert.equal(welcome.data.server, "@evrmore/rpc");
  assert.match(welcome.data.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(welcome.data.features, [...SERVER_FEATURES]);
  for (const message of [error, nodeError, ack, pongMessage(), welcome]) {
    assertDocumentModel(message);
    assert.ok(ServerMessageSchema.safeParse(message).success);
    const parsed = parseServerMessage(JSON.stringify(message));
    assert.equal(parsed.kind, "known");
  }
  // Every error a client message can cause, too.
  for (
    const text of [
      "nope",
      "[]",
      '{"action":"dance"}',
      '{"action":"subscribe","topic":"nonsense"}',
      '{"command":"stop!"}',
      '{"command":"getblock","params":1}',
    ]
  ) {
    const parsed = parseClientMessage(text);
    assert.equal(parsed.kind, "error");
    if (parsed.kind === "error") assertDocumentModel(parsed.error);
  }
});

Deno.test("parseClientMessage() takes the all topic, without filter or since", () => {
  assert.deepEqual(
    parseClientMessage('{"action":"subscribe","topic":"all","id":1}'),
    { kind: "subscribe", topic: "all", id: 1 },
  );
  assert.deepEqual(
    parseClientMessage('{"action":"unsubscribe","topic":"all"}'),
    { kind: "unsubscribe", topic: "all" },
  );
  for (
    const extra of ['"since":1', '"filter":{"asset":"A"}']
  ) {
    const parsed = parseClientMessage(
      `{"action":"subscribe","topic":"all",${extra}}`,
    );
    assert.equal(parsed.kind, "error");
    if (parsed.kind === "error") {
      assert.equal(parsed.error.code, "invalid_message");
    }
  }
  const unknown = parseClientMessage('{"action":"subscribe","topic":"al"}');
  assert.equal(unknown.kind, "error");
  if (unknown.kind === "error") {
    assert.match(unknown.error.message, /all\)$/);
  }
});
