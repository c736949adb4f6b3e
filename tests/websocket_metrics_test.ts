/**
 * `GET /metrics`: the Prometheus text exposition renderer in isolation, and
 * the server's figures moving with broadcasts, messages and commands.
 */

import assert from "node:assert/strict";
import {
  escapeHelp,
  escapeLabelValue,
  formatValue,
  renderMetrics,
} from "../lib/websocket/_metrics.ts";
import { decodeBlock, decodeTransaction } from "../lib/encoding/mod.ts";
import type { ZMQNotification } from "../lib/zmq/types.ts";
import { handshake, harness, open } from "./_ws_hardening_helpers.ts";

// ---------------------------------------------------------------------------
// A tiny exposition-format parser

interface Parsed {
  help: Map<string, string>;
  type: Map<string, string>;
  /** `name{a="x",b="y"}` (labels sorted) → value. */
  samples: Map<string, number>;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function key(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels).sort().map((k) =>
    `${k}=${JSON.stringify(labels[k])}`
  );
  return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
}

function parseExposition(text: string): Parsed {
  assert.ok(text.endsWith("\n"), "ends with a line feed");
  const out: Parsed = { help: new Map(), type: new Map(), samples: new Map() };
  for (const line of text.slice(0, -1).split("\n")) {
    let match = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (match) {
      out.help.set(match[1]!, unescape(match[2]!));
      continue;
    }
    match = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (match) {
      out.type.set(match[1]!, match[2]!);
      continue;
    }
    match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `sample line: ${line}`);
    const name = match[1]!;
    assert.ok(out.type.has(name), `TYPE before ${name}`);
    assert.ok(out.help.has(name), `HELP before ${name}`);
    const labels: Record<string, string> = {};
    const labelText = match[2] ?? "";
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    let consumed = 0;
    let label;
    while ((label = labelPattern.exec(labelText)) !== null) {
      labels[label[1]!] = unescape(label[2]!);
      consumed = labelPattern.lastIndex;
    }
    assert.equal(consumed, labelText.length, `labels of: ${line}`);
    const raw = match[3]!;
    const value = raw === "+Inf"
      ? Infinity
      : raw === "-Inf"
      ? -Infinity
      : Number(raw);
    assert.ok(raw === "NaN" || !Number.isNaN(value), `value of: ${line}`);
    out.samples.set(key(name, labels), value);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The renderer

Deno.test("renderMetrics: HELP, TYPE and samples, labels escaped", () => {
  const text = renderMetrics([
    {
      name: "evrmore_ws_test_total",
      help: 'A help with a \\ backslash,\na newline and "quotes".',
      type: "counter",
      samples: [
        { labels: { code: 'a"b\\c\nd' }, value: 3 },
        { labels: { code: "-5" }, value: 1 },
      ],
    },
    {
      name: "evrmore_ws_gauge",
      help: "A gauge.",
      type: "gauge",
      samples: [{ value: 1.5 }],
    },
    {
      name: "evrmore_ws_empty",
      help: "No samples.",
      type: "gauge",
      samples: [],
    },
  ]);
  assert.equal(
    text,
    [
      '# HELP evrmore_ws_test_total A help with a \\\\ backslash,\\na newline and "quotes".',
      "# TYPE evrmore_ws_test_total counter",
      'evrmore_ws_test_total{code="a\\"b\\\\c\\nd"} 3',
      'evrmore_ws_test_total{code="-5"} 1',
      "# HELP evrmore_ws_gauge A gauge.",
      "# TYPE evrmore_ws_gauge gauge",
      "evrmore_ws_gauge 1.5",
      "# HELP evrmore_ws_empty No samples.",
      "# TYPE evrmore_ws_empty gauge",
      "",
    ].join("\n"),
  );
  const parsed = parseExposition(text);
  assert.equal(
    parsed.samples.get(key("evrmore_ws_test_total", { code: 'a"b\\c\nd' })),
    3,
  );
  assert.equal(
    parsed.help.get("evrmore_ws_test_total"),
    'A help with a \\ backslash,\na newline and "quotes".',
  );
  assert.equal(renderMetrics([]), "");
});

Deno.test("renderMetrics: escaping helpers and special values", () => {
  assert.equal(escapeHelp('a\\b\nc"'), 'a\\\\b\\nc"');
  assert.equal(escapeLabelValue('a\\b\nc"'), 'a\\\\b\\nc\\"');
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(-0), "0");
  assert.equal(formatValue(42), "42");
  assert.equal(formatValue(0.25), "0.25");
});

Deno.test("renderMetrics: invalid names and repeated families are TypeErrors", () => {
  const bad = [
    { name: "1abc", labels: undefined },
    { name: "a-b", labels: undefined },
    { name: "", labels: undefined },
    { name: "ok", labels: { "bad-label": "x" } },
    { name: "ok", labels: { "1x": "x" } },
    { name: "ok", labels: { __reserved: "x" } },
  ];
  for (const { name, labels } of bad) {
    assert.throws(
      () =>
        renderMetrics([{
          name,
          help: "h",
          type: "gauge",
          samples: [labels === undefined ? { value: 1 } : { labels, value: 1 }],
        }]),
      (error: Error) =>
        error instanceof TypeError &&
        /^Cannot render metrics: /.test(error.message),
      name,
    );
  }
  assert.throws(
    () =>
      renderMetrics([
        { name: "a:b_c", help: "h", type: "gauge", samples: [] },
        { name: "a:b_c", help: "h", type: "gauge", samples: [] },
      ]),
    TypeError,
  );
});

// ---------------------------------------------------------------------------
// The endpoint

const FIXTURES = new URL(
  "../../shared/fixtures/evrmore-regtest/",
  import.meta.url,
);

function firstFixture(dir: string, pattern: RegExp): string {
  const names = [...Deno.readDirSync(new URL(dir, FIXTURES))]
    .map((entry) => entry.name).filter((name) => pattern.test(name)).sort();
  assert.ok(names[0], `a fixture in ${dir}`);
  return Deno.readTextFileSync(new URL(`${dir}${names[0]}`, FIXTURES)).trim();
}

function notification(
  topic: "rawtx" | "rawblock",
  hex: string,
): ZMQNotification {
  const body = new Uint8Array(hex.length / 2);
  for (let i = 0; i < body.length; i++) {
    body[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  const base = { topic, body, hex, sequence: 0, receivedAt: Date.now() };
  return topic === "rawtx"
    ? { ...base, transaction: decodeTransaction(hex, { network: "regtest" }) }
    : { ...base, block: decodeBlock(hex, { network: "regtest" }) };
}

async function scrape(port: number): Promise<Parsed> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  assert.match(
    response.headers.get("content-type") ?? "",
    /^text\/plain; version=0\.0\.4/,
  );
  return parseExposition(await response.text());
}

const FAMILIES = [
  "evrmore_ws_uptime_seconds",
  "evrmore_ws_clients",
  "evrmore_ws_connections_total",
  "evrmore_ws_rejected_connections_total",
  "evrmore_ws_auth_failures_total",
  "evrmore_ws_subscriptions",
  "evrmore_ws_broadcasts_total",
  "evrmore_ws_messages_sent_total",
  "evrmore_ws_bytes_sent_total",
  "evrmore_ws_client_messages_total",
  "evrmore_ws_errors_total",
  "evrmore_ws_commands_total",
  "evrmore_ws_slow_clients_closed_total",
  "evrmore_ws_clients_closed_total",
  "evrmore_ws_rate_limited_total",
  "evrmore_ws_rate_limit_closed_total",
  "evrmore_ws_zmq_notifications_total",
  "evrmore_ws_zmq_connected",
  "evrmore_ws_blocks_total",
  "evrmore_ws_transactions_total",
  "evrmore_ws_last_block_height",
  "evrmore_ws_last_block_time_seconds",
];

Deno.test("GET /metrics: every family with HELP and TYPE; counters end in _total", async () => {
  await using h = await harness();
  const m = await scrape(h.port);
  assert.deepEqual([...m.type.keys()], FAMILIES);
  for (const [name, type] of m.type) {
    assert.equal(name.endsWith("_total"), type === "counter", name);
  }
  assert.equal(m.samples.get("evrmore_ws_clients"), 0);
  assert.equal(m.samples.has("evrmore_ws_last_block_height"), false);
  for (const topic of ["blocks", "transactions", "assets", "mempool"]) {
    assert.equal(m.samples.get(key("evrmore_ws_subscriptions", { topic })), 0);
    assert.equal(
      m.samples.get(key("evrmore_ws_broadcasts_total", { topic })),
      0,
    );
  }
  assert.ok(h.server.metrics().includes("# TYPE evrmore_ws_clients gauge\n"));
});

Deno.test("GET /metrics: counters move with messages, commands, broadcasts and ZMQ", async () => {
  await using h = await harness();
  const socket = await open(`ws://127.0.0.1:${h.port}/`);
  socket.send({ action: "subscribe", topic: "transactions", id: 1 });
  assert.equal((await socket.next()).type, "subscription");
  socket.send({ action: "subscribe", topic: "blocks", id: 2 });
  assert.equal((await socket.next()).type, "subscription");
  socket.send({ action: "subscribe", topic: "nope", id: 3 });
  assert.equal((await socket.next()).code, "unknown_topic");
  socket.send({ command: "getblockcount", id: 4 });
  assert.equal((await socket.next()).data, 170);
  socket.send({ command: "stop", id: 5 });
  assert.equal((await socket.next()).code, "command_not_allowed");

  const before = await scrape(h.port);
  assert.equal(before.samples.get("evrmore_ws_clients"), 1);
  assert.equal(before.samples.get("evrmore_ws_connections_total"), 1);
  assert.equal(before.samples.get("evrmore_ws_client_messages_total"), 5);
  // The welcome, then five answers.
  assert.equal(before.samples.get("evrmore_ws_messages_sent_total"), 6);
  assert.ok(before.samples.get("evrmore_ws_bytes_sent_total")! > 100);
  assert.equal(
    before.samples.get(
      key("evrmore_ws_subscriptions", { topic: "transactions" }),
    ),
    1,
  );
  assert.equal(
    before.samples.get(
      key("evrmore_ws_errors_total", { code: "unknown_topic" }),
    ),
    1,
  );
  assert.equal(
    before.samples.get(
      key("evrmore_ws_errors_total", { code: "command_not_allowed" }),
    ),
    1,
  );
  assert.equal(
    before.samples.get(key("evrmore_ws_commands_total", { result: "ok" })),
    1,
  );
  assert.equal(
    before.samples.get(
      key("evrmore_ws_commands_total", { result: "not_allowed" }),
    ),
    1,
  );

  // A transaction from ZMQ: broadcast once, one more message and its bytes.
  h.zmq.emit("rawtx", notification("rawtx", firstFixture("txs/", /\.hex$/)));
  const tx = await socket.next();
  assert.equal(tx.type, "transaction");
  const after = await scrape(h.port);
  assert.equal(
    after.samples.get(
      key("evrmore_ws_zmq_notifications_total", { topic: "rawtx" }),
    ),
    1,
  );
  assert.equal(
    after.samples.get(
      key("evrmore_ws_broadcasts_total", { topic: "transactions" }),
    ),
    1,
  );
  assert.equal(after.samples.get("evrmore_ws_transactions_total"), 1);
  assert.equal(after.samples.get("evrmore_ws_messages_sent_total"), 7);
  const txBytes = new TextEncoder().encode(JSON.stringify(tx)).length;
  assert.equal(
    after.samples.get("evrmore_ws_bytes_sent_total"),
    before.samples.get("evrmore_ws_bytes_sent_total")! + txBytes,
  );

  // A block: the last block height appears.
  h.zmq.emit(
    "rawblock",
    notification(
      "rawblock",
      firstFixture("blocks/", /^0001_.*_[0-9a-f]{64}\.hex$/),
    ),
  );
  let block = await socket.next();
  while (block.type !== "block") block = await socket.next();
  const withBlock = await scrape(h.port);
  assert.equal(
    withBlock.samples.get("evrmore_ws_last_block_height"),
    (block.data as { height: number }).height,
  );
  assert.equal(
    withBlock.samples.get("evrmore_ws_last_block_time_seconds"),
    (block.data as { time: number }).time,
  );
  await socket.close();
});

Deno.test("GET /metrics: rate-limited and rejected connections are counted", async () => {
  await using h = await harness({
    maxMessagesPerSecond: 1,
    messageBurst: 1,
    allowedOrigins: ["https://example.com"],
  });
  const socket = await open(`ws://127.0.0.1:${h.port}/`);
  socket.send({ action: "ping" });
  socket.send({ action: "ping" });
  assert.equal((await socket.next()).type, "pong");
  assert.equal((await socket.next()).code, "rate_limited");
  const refused = await handshake(h.port, {
    headers: { Origin: "https://evil.example" },
  });
  assert.equal(refused.status, 403);
  const m = await scrape(h.port);
  assert.equal(
    m.samples.get(
      key("evrmore_ws_rejected_connections_total", {
        reason: "origin_not_allowed",
      }),
    ),
    1,
  );
  assert.equal(m.samples.get("evrmore_ws_rate_limited_total"), 1);
  assert.equal(
    m.samples.get(key("evrmore_ws_errors_total", { code: "rate_limited" })),
    1,
  );
  await socket.close();
});

Deno.test("GET /metrics: metrics false answers 404; HEAD has no body; POST is 405", async () => {
  await using off = await harness({ metrics: false });
  const missing = await fetch(`http://127.0.0.1:${off.port}/metrics`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  await using h = await harness();
  const head = await fetch(`http://127.0.0.1:${h.port}/metrics`, {
    method: "HEAD",
  });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  const post = await fetch(`http://127.0.0.1:${h.port}/metrics`, {
    method: "POST",
  });
  assert.equal(post.status, 405);
  await post.body?.cancel();
});
