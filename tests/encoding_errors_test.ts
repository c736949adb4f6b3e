/**
 * Bad input never escapes as anything but a DecodeError with an offset:
 * truncation, oversized counts, trailing bytes, bad hex, and a bounded,
 * seeded mutation fuzz over the real-node fixtures.
 */
import assert from "node:assert/strict";
import { DecodeError } from "../lib/errors.ts";
import {
  bytesToHex,
  ByteWriter,
  decodeBlock,
  decodeScript,
  decodeTransaction,
  hexToBytes,
  parseBlock,
  parseTransaction,
} from "../lib/encoding/mod.ts";

const REGTEST = new URL(
  "../../shared/fixtures/evrmore-regtest/",
  import.meta.url,
);

function fixtureHex(dir: string, filter: (name: string) => boolean): string[] {
  const url = new URL(dir, REGTEST);
  return [...Deno.readDirSync(url)].map((e) => e.name).filter(filter).sort()
    .map((name) => Deno.readTextFileSync(new URL(name, url)).trim());
}

const TXS = fixtureHex("txs/", (n) => n.endsWith(".hex")).map(hexToBytes);
const BLOCKS = fixtureHex(
  "blocks/",
  (n) =>
    n.endsWith(".hex") && !n.endsWith(".header.hex") && !n.startsWith("0000_"),
).map(hexToBytes);

function expectDecodeError(fn: () => unknown, offset?: number): DecodeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(
    caught instanceof DecodeError,
    `expected DecodeError, got ${caught}`,
  );
  assert.equal(typeof caught.offset, "number");
  if (offset !== undefined) assert.equal(caught.offset, offset);
  return caught;
}

Deno.test("decodeTransaction() rejects every truncation of a fixture with DecodeError", () => {
  for (const tx of TXS.slice(0, 6)) {
    for (let n = 0; n < tx.length; n++) {
      const e = expectDecodeError(() => decodeTransaction(tx.subarray(0, n)));
      assert.ok(e.offset! <= n, `offset ${e.offset} beyond ${n}`);
    }
  }
});

Deno.test("decodeBlock() rejects truncations of a block with DecodeError", () => {
  const block = BLOCKS[3]!;
  for (let n = 0; n < block.length; n += 7) {
    expectDecodeError(() =>
      decodeBlock(block.subarray(0, n), { network: "regtest" })
    );
  }
  // A regtest block read as mainnet (120-byte header) fails cleanly too.
  expectDecodeError(() => decodeBlock(block));
});

Deno.test("decodeTransaction() and decodeBlock() reject trailing bytes at their offset", () => {
  const tx = TXS[0]!;
  const longer = new Uint8Array(tx.length + 1);
  longer.set(tx);
  expectDecodeError(() => decodeTransaction(longer), tx.length);
  expectDecodeError(() => parseTransaction(longer), tx.length);
  const block = BLOCKS[0]!;
  const longerBlock = new Uint8Array(block.length + 3);
  longerBlock.set(block);
  expectDecodeError(
    () => decodeBlock(longerBlock, { network: "regtest" }),
    block.length,
  );
  expectDecodeError(
    () => parseBlock(longerBlock, { network: "regtest" }),
    block.length,
  );
});

Deno.test("oversized counts are rejected before allocating", () => {
  // Version, then 0xffffffff inputs announced in a 9-byte transaction.
  const w = new ByteWriter();
  w.writeI32LE(2).writeU8(0xfe).writeU32LE(0x01ffffff);
  const start = performance.now();
  expectDecodeError(() => decodeTransaction(w.toBytes()), 4);
  // A script length far beyond the data.
  const w2 = new ByteWriter();
  w2.writeI32LE(2).writeU8(1).writeBytes(new Uint8Array(36)).writeU8(0xfe)
    .writeU32LE(0x01000000);
  expectDecodeError(() => decodeTransaction(w2.toBytes()), 41);
  // CompactSize above the node's 32 MiB limit, and a non-canonical one.
  const w3 = new ByteWriter();
  w3.writeI32LE(2).writeU8(0xff).writeU64LE(0xffffffffffffffffn);
  expectDecodeError(() => decodeTransaction(w3.toBytes()), 4);
  expectDecodeError(() => decodeTransaction("02000000fd0100"), 4);
  // A block announcing 2^25 transactions in 81 bytes.
  const header = BLOCKS[0]!.subarray(0, 80);
  const w4 = new ByteWriter();
  w4.writeBytes(header).writeCompactSize(0x02000000);
  expectDecodeError(
    () => decodeBlock(w4.toBytes(), { network: "regtest" }),
    80,
  );
  assert.ok(performance.now() - start < 1000);
});

Deno.test("bad hex is a DecodeError with the byte offset", () => {
  const hex = bytesToHex(TXS[0]!);
  expectDecodeError(() => decodeTransaction(hex.slice(0, -1)));
  expectDecodeError(
    () => decodeTransaction(hex.slice(0, 10) + "zz" + hex.slice(12)),
    5,
  );
  expectDecodeError(() => decodeBlock("0x00", { network: "regtest" }), 0);
  expectDecodeError(() => decodeScript("abc"));
  expectDecodeError(() => hexToBytes(" 00"), 0);
});

Deno.test("witness flag without witness data and unknown flags are rejected", () => {
  // marker 00, flag 01, one input, one output, empty witness stack.
  const body = "01" + "11".repeat(32) + "00000000" + "00" + "ffffffff" + "01" +
    "0000000000000000" + "00";
  expectDecodeError(() =>
    decodeTransaction("020000000001" + body + "00" + "00000000")
  );
  expectDecodeError(() =>
    decodeTransaction("020000000002" + body + "00000000")
  );
});

Deno.test("wrong argument types are TypeErrors, not DecodeErrors", () => {
  assert.throws(() => decodeTransaction(42 as unknown as string), TypeError);
  assert.throws(
    () => decodeTransaction("00", { network: "nope" as "main" }),
    TypeError,
  );
});

/** mulberry32: small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(input: Uint8Array, rand: () => number): Uint8Array {
  let bytes = input.slice();
  const steps = 1 + Math.floor(rand() * 4);
  for (let s = 0; s < steps; s++) {
    const at = Math.floor(rand() * Math.max(1, bytes.length));
    switch (Math.floor(rand() * 7)) {
      case 0: // flip a bit
        if (bytes.length) {
          bytes[at] = bytes[at]! ^ (1 << Math.floor(rand() * 8));
        }
        break;
      case 1: // random byte
        if (bytes.length) bytes[at] = Math.floor(rand() * 256);
        break;
      case 2: // CompactSize-looking byte
        if (bytes.length) {
          bytes[at] = [
            0xfd,
            0xfe,
            0xff,
            0x00,
            0x4c,
            0xc0,
          ][Math.floor(rand() * 6)]!;
        }
        break;
      case 3: { // delete a range
        const n = Math.floor(rand() * 16);
        bytes = new Uint8Array([
          ...bytes.subarray(0, at),
          ...bytes.subarray(at + n),
        ]);
        break;
      }
      case 4: { // insert random bytes
        const extra = Array.from(
          { length: 1 + Math.floor(rand() * 8) },
          () => Math.floor(rand() * 256),
        );
        bytes = new Uint8Array([
          ...bytes.subarray(0, at),
          ...extra,
          ...bytes.subarray(at),
        ]);
        break;
      }
      case 5: // truncate
        bytes = bytes.slice(0, at);
        break;
      default: { // duplicate a range
        const n = Math.floor(rand() * 40);
        const piece = bytes.slice(at, at + n);
        bytes = new Uint8Array([
          ...bytes.subarray(0, at),
          ...piece,
          ...bytes.subarray(at),
        ]);
      }
    }
  }
  return bytes;
}

Deno.test("mutation fuzz: 4000 seeded mutations of fixtures give only results or DecodeError", () => {
  const rand = prng(0x5eed);
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  for (let i = 0; i < 4000; i++) {
    const useBlock = i % 5 === 0;
    const pool = useBlock ? BLOCKS : TXS;
    const source = pool[Math.floor(rand() * pool.length)]!;
    const bytes = mutate(source, rand);
    try {
      if (useBlock) {
        const block = decodeBlock(bytes, {
          network: "regtest",
          valueSat: i % 2 === 0,
        });
        JSON.stringify(block, (_k, v) => typeof v === "bigint" ? String(v) : v);
      } else {
        const tx = decodeTransaction(bytes, { network: "regtest" });
        JSON.stringify(tx);
        parseTransaction(bytes);
      }
      ok++;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      assert.equal(typeof e.offset, "number");
      assert.ok(
        e.offset! >= 0 && e.offset! <= bytes.length,
        `offset ${e.offset}`,
      );
      failed++;
    }
  }
  assert.equal(ok + failed, 4000);
  assert.ok(ok > 0 && failed > 0, `ok ${ok} failed ${failed}`);
  assert.ok(performance.now() - start < 20_000);
});

Deno.test("script fuzz: decodeScript() never throws on random scripts (both formats bounded)", () => {
  const rand = prng(42);
  const seeds = TXS.flatMap((tx) =>
    parseTransaction(tx).outputs.map((o) => o.script)
  );
  for (let i = 0; i < 3000; i++) {
    const base = seeds[Math.floor(rand() * seeds.length)]!;
    const script = mutate(base, rand);
    const spk = decodeScript(script, { network: "regtest" });
    assert.equal(typeof spk.asm, "string");
    try {
      decodeScript(script, {
        network: "main",
        format: "decodescript",
        valueSat: true,
      });
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
  }
});
