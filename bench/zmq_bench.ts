/**
 * Latency of EvrmoreZMQClient against a plain pyzmq subscriber, same
 * publisher, same run.
 *
 * A pyzmq publisher sends a real `rawtx` message (from the regtest fixtures)
 * at a fixed rate and records when it sent each sequence number; a pyzmq SUB
 * (the baseline) and EvrmoreZMQClient (its `"rawtx"` handler, after decoding)
 * record when each one reached them. All three read CLOCK_MONOTONIC, so the
 * numbers compare directly. Reported per rate and isolation: p50/p99/max of
 * the latency the client adds over the baseline for the same message, the
 * client's and the baseline's own latency, and lost/duplicated counts.
 *
 * Needs pyzmq for /usr/bin/python3 (Debian: `apt-get install -y python3-zmq`)
 * and Linux (clock_gettime through FFI).
 *
 *   deno run -A bench/zmq_bench.ts [--seconds 5] [--rates 1000,5000]
 *     [--isolation subprocess,none]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { EvrmoreZMQClient } from "../lib/zmq/mod.ts";

const PYTHON = "/usr/bin/python3";
const FIXTURES = new URL(
  "../../shared/fixtures/evrmore-regtest/",
  import.meta.url,
);

const PUBLISHER = `
import sys, time, json, struct, select, zmq
endpoint, rate, count, body_hex = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
body = bytes.fromhex(body_hex)
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.setsockopt(zmq.SNDHWM, 1000000)
pub.bind(endpoint)
print("bound", flush=True)
seq = 0
# Warm-up at 100/s until told to go (a line on stdin): subscribers join.
while True:
    pub.send_multipart([b"rawtx", body, struct.pack("<I", seq)])
    seq += 1
    if select.select([sys.stdin], [], [], 0.01)[0]:
        sys.stdin.readline()
        break
first = seq
sends = []
interval = 1e9 / rate
start = time.monotonic_ns()
for i in range(count):
    target = start + int(i * interval)
    while time.monotonic_ns() < target:
        pass
    sent = time.monotonic_ns()
    pub.send_multipart([b"rawtx", body, struct.pack("<I", seq)])
    sends.append(sent)
    seq += 1
time.sleep(0.5)
print(json.dumps({"first": first, "sends": sends}), flush=True)
pub.close(0)
ctx.term()
`;

const BASELINE = `
import sys, time, json, struct, zmq
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.RCVHWM, 1000000)
sub.connect(sys.argv[1])
sub.setsockopt(zmq.SUBSCRIBE, b"rawtx")
got = {}
ready = False
idle = 0
while idle < 2:
    if sub.poll(500) == 0:
        if ready:
            idle += 1
        continue
    idle = 0
    frames = sub.recv_multipart()
    now = time.monotonic_ns()
    seq = struct.unpack("<I", frames[2])[0]
    got.setdefault(seq, []).append(now)
    if not ready:
        print("ready", flush=True)
        ready = True
print(json.dumps(got), flush=True)
sub.close(0)
ctx.term()
`;

const libc = Deno.dlopen("libc.so.6", {
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
});
const timespec = new BigInt64Array(2);
/** CLOCK_MONOTONIC in ns, the clock of Python's time.monotonic_ns(). */
function monotonicNs(): number {
  libc.symbols.clock_gettime(1, timespec);
  return Number(timespec[0]!) * 1e9 + Number(timespec[1]!);
}

/** Reads a child's stdout line by line. */
function lines(stream: ReadableStream<Uint8Array>): () => Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return async () => {
    while (!buffer.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("Cannot read: the process ended");
      buffer += value;
    }
    const end = buffer.indexOf("\n");
    const line = buffer.slice(0, end);
    buffer = buffer.slice(end + 1);
    return line;
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function rawtxBody(): Promise<string> {
  const text = await Deno.readTextFile(new URL("zmq.jsonl", FIXTURES));
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const m = JSON.parse(line) as {
      topic: string;
      body_len: number;
      body_hex: string;
    };
    // A typical payment: 200 to 400 bytes.
    if (m.topic === "rawtx" && m.body_len >= 200 && m.body_len <= 400) {
      return m.body_hex;
    }
  }
  throw new Error("Cannot find a rawtx message in the fixtures");
}

interface Stats {
  p50: number;
  p99: number;
  max: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! / 1e6;
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

interface Result {
  rate: number;
  isolation: "subprocess" | "none";
  messages: number;
  added: Stats;
  client: Stats;
  baseline: Stats;
  lost: number;
  duplicated: number;
  baselineLost: number;
}

async function run(
  rate: number,
  seconds: number,
  isolation: "subprocess" | "none",
  body: string,
): Promise<Result> {
  const endpoint = `tcp://127.0.0.1:${freePort()}`;
  const count = Math.round(rate * seconds);
  const publisher = new Deno.Command(PYTHON, {
    args: ["-u", "-c", PUBLISHER, endpoint, String(rate), String(count), body],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const publisherLine = lines(publisher.stdout);
  await publisherLine();
  const baseline = new Deno.Command(PYTHON, {
    args: ["-u", "-c", BASELINE, endpoint],
    stdout: "piped",
  }).spawn();
  const baselineLine = lines(baseline.stdout);

  const client = new EvrmoreZMQClient({
    address: endpoint,
    topics: ["rawtx"],
    network: "regtest",
    isolation,
  });
  const received = new Map<number, number[]>();
  let firstSeen!: () => void;
  const seen = new Promise<void>((resolve) => firstSeen = resolve);
  client.on("rawtx", (n) => {
    const now = monotonicNs();
    if (n.transaction === undefined) throw new Error("not decoded");
    const times = received.get(n.sequence);
    if (times === undefined) received.set(n.sequence, [now]);
    else times.push(now);
    firstSeen();
  });
  await client.start();
  await Promise.all([seen, baselineLine()]);

  const stdin = publisher.stdin.getWriter();
  await stdin.write(new TextEncoder().encode("go\n"));
  await stdin.close();
  const { first, sends } = JSON.parse(await publisherLine()) as {
    first: number;
    sends: number[];
  };
  const baselineTimes = JSON.parse(await baselineLine()) as Record<
    string,
    number[]
  >;
  await client.close();
  await publisher.status;
  await baseline.status;

  const added: number[] = [];
  const own: number[] = [];
  const base: number[] = [];
  let lost = 0;
  let duplicated = 0;
  let baselineLost = 0;
  sends.forEach((sent, i) => {
    const sequence = first + i;
    const mine = received.get(sequence);
    const theirs = baselineTimes[String(sequence)];
    if (mine === undefined) lost++;
    else {
      duplicated += mine.length - 1;
      own.push(mine[0]! - sent);
    }
    if (theirs === undefined) baselineLost++;
    else base.push(theirs[0]! - sent);
    if (mine !== undefined && theirs !== undefined) {
      added.push(mine[0]! - theirs[0]!);
    }
  });
  return {
    rate,
    isolation,
    messages: count,
    added: stats(added),
    client: stats(own),
    baseline: stats(base),
    lost,
    duplicated,
    baselineLost,
  };
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    rates: { type: "string", default: "1000,5000" },
    isolation: { type: "string", default: "subprocess,none" },
  },
});
const seconds = Number(values.seconds);
const rates = values.rates.split(",").map(Number);
const isolations = values.isolation.split(",") as ("subprocess" | "none")[];
const body = await rawtxBody();
const ms = (n: number) => n.toFixed(2);
const cell = (s: Stats) => `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}`;

console.log(
  `rawtx body ${
    body.length / 2
  } bytes, ${seconds} s per row, ${Deno.build.os}, ${navigator.hardwareConcurrency} CPUs, load ${
    Deno.loadavg().map((n) => n.toFixed(2)).join(" ")
  }\n`,
);
console.log(
  "| rate (msg/s) | isolation | added over pyzmq p50 / p99 / max (ms) | client p50 / p99 / max (ms) | pyzmq p50 / p99 / max (ms) | lost | duplicated | pyzmq lost |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const rate of rates) {
  for (const isolation of isolations) {
    const r = await run(rate, seconds, isolation, body);
    console.log(
      `| ${r.rate} | ${r.isolation} | ${cell(r.added)} | ${cell(r.client)} | ${
        cell(r.baseline)
      } | ${r.lost} | ${r.duplicated} | ${r.baselineLost} |`,
    );
  }
}
libc.close();
