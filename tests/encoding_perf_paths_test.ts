/**
 * Direct tests of the decoder's fast paths against references: the
 * TypeScript SHA-256 (one-shot, streaming, ranges, address checksums)
 * against `node:crypto`, Base58 against a BigInt reference, the address
 * cache, and the decoders' layout reader against the parser (same errors
 * on mutated fixtures, same amounts).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  addressChecksum,
  jsSha256,
  jsSha256d,
  jsSha256d3Into,
  jsSha256dInto,
  jsSha256dParts,
  jsSha256Of32Into,
} from "../lib/encoding/_sha256.ts";
import {
  base58CheckEncode,
  base58Decode,
  base58Encode,
} from "../lib/encoding/_base58.ts";
import { sha256d, sha256dInto } from "../lib/encoding/_hash.ts";
import { AddressEncoder, amountToNumber } from "../lib/encoding/_script.ts";
import { NETWORKS } from "../lib/network.ts";
import {
  decodeBlock,
  decodeTransaction,
  hexToBytes,
  parseBlock,
  parseTransaction,
  serializeTransaction,
} from "../lib/encoding/mod.ts";
import { DecodeError } from "../lib/errors.ts";

let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed >>> 8;
}
function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() & 0xff;
  return out;
}
function nodeSha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(b).digest());
}
function nodeSha256d(b: Uint8Array): Uint8Array {
  return nodeSha256(nodeSha256(b));
}

Deno.test("jsSha256() and jsSha256d() match node:crypto for lengths 0..300", () => {
  for (let n = 0; n <= 300; n++) {
    const data = randomBytes(n);
    assert.deepEqual(jsSha256(data), nodeSha256(data), `sha256 n=${n}`);
    assert.deepEqual(jsSha256d(data), nodeSha256d(data), `sha256d n=${n}`);
  }
});

Deno.test("jsSha256dInto() hashes a range of a larger buffer in place", () => {
  const big = randomBytes(2000);
  const view = big.subarray(3, 1900); // non-zero byteOffset
  const out = new Uint8Array(32);
  for (let i = 0; i < 300; i++) {
    const start = rand() % 600;
    const end = start + (rand() % 1200);
    jsSha256dInto(view, start, end, out);
    assert.deepEqual(out, nodeSha256d(view.subarray(start, end)));
    sha256dInto(view, start, end, out);
    assert.deepEqual(out, nodeSha256d(view.subarray(start, end)));
  }
});

Deno.test("jsSha256d3Into() and jsSha256dParts() equal hashing the concatenation", () => {
  const data = randomBytes(1500);
  const out = new Uint8Array(32);
  for (let i = 0; i < 300; i++) {
    const cuts = [0, 0, 0, 0, 0, 0].map(() => rand() % 1500).sort((a, b) =>
      a - b
    );
    const [a0, a1, b0, b1, c0, c1] = cuts as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const joined = new Uint8Array([
      ...data.subarray(a0, a1),
      ...data.subarray(b0, b1),
      ...data.subarray(c0, c1),
    ]);
    const expected = nodeSha256d(joined);
    jsSha256d3Into(data, a0, a1, b0, b1, c0, c1, out);
    assert.deepEqual(out, expected);
    assert.deepEqual(
      jsSha256dParts([
        data.subarray(a0, a1),
        data.subarray(b0, b1),
        data.subarray(c0, c1),
      ]),
      expected,
    );
  }
});

Deno.test("jsSha256Of32Into() is SHA-256 of 32 bytes", () => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 50; i++) {
    const d = randomBytes(32);
    jsSha256Of32Into(d, out);
    assert.deepEqual(out, nodeSha256(d));
  }
});

Deno.test("addressChecksum() is the first 4 bytes of SHA-256d(prefix ‖ hash)", () => {
  const src = randomBytes(100);
  for (let i = 0; i < 200; i++) {
    const prefix = rand() & 0xff;
    const at = rand() % 80;
    const payload = new Uint8Array(21);
    payload[0] = prefix;
    payload.set(src.subarray(at, at + 20), 1);
    const d = nodeSha256d(payload);
    const expected = ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) |
      0;
    assert.equal(addressChecksum(prefix, src, at), expected);
  }
});

Deno.test("sha256d() agrees with node:crypto across the JS/native cut-over", () => {
  for (const n of [0, 55, 56, 63, 64, 511, 512, 513, 4096]) {
    const d = randomBytes(n);
    assert.deepEqual(sha256d(d), nodeSha256d(d));
  }
});

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function referenceBase58(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let s = "";
  while (n > 0n) {
    s = ALPHABET[Number(n % 58n)] + s;
    n /= 58n;
  }
  return "1".repeat(zeros) + s;
}

Deno.test("base58Encode() matches a BigInt reference (leading zeros, all lengths)", () => {
  for (let i = 0; i < 2000; i++) {
    const n = i < 1000 ? 25 : rand() % 80;
    const b = randomBytes(n);
    const zeros = rand() % 4 === 0 ? rand() % 4 : 0;
    for (let z = 0; z < Math.min(zeros, n); z++) b[z] = 0;
    if (i % 7 === 0 && n > 0) b[0] = 0xff;
    const expected = referenceBase58(b);
    assert.equal(base58Encode(b), expected, `bytes ${b.toHex()}`);
    assert.deepEqual(base58Decode(expected), b);
  }
  assert.equal(
    base58Encode(new Uint8Array(25).fill(0xff)),
    referenceBase58(new Uint8Array(25).fill(0xff)),
  );
  assert.equal(base58Encode(new Uint8Array(25)), "1".repeat(25));
});

// ---------------------------------------------------------------------------
// The decoders' layout reader against the parser: same errors, same values

const FIXTURES = new URL(
  "../../shared/fixtures/evrmore-regtest/",
  import.meta.url,
);

function fixtureHex(dir: string, filter: (name: string) => boolean): string[] {
  const url = new URL(`${dir}/`, FIXTURES);
  return [...Deno.readDirSync(url)].map((e) => e.name).filter(filter).sort()
    .map((name) => Deno.readTextFileSync(new URL(name, url)).trim());
}

function outcome(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return `${e.message} @${e.offset}`;
  }
}

function mutations(bytes: Uint8Array, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rand() % 3;
    if (kind === 0) {
      out.push(bytes.slice(0, rand() % (bytes.length + 1)));
    } else if (kind === 1) {
      const m = bytes.slice();
      const at = rand() % m.length;
      m[at] = rand() % 4 === 0 ? [0, 1, 0xfd, 0xfe, 0xff][rand() % 5]! : rand();
      out.push(m);
    } else {
      const at = rand() % (bytes.length + 1);
      const extra = randomBytes(1 + rand() % 3);
      out.push(
        new Uint8Array([
          ...bytes.subarray(0, at),
          ...extra,
          ...bytes.subarray(at),
        ]),
      );
    }
  }
  return out;
}

Deno.test("decodeTransaction() fails exactly like parseTransaction() on mutated fixtures", () => {
  const txs = fixtureHex("txs", (n) => n.endsWith(".hex")).map(hexToBytes);
  assert.ok(txs.length > 10);
  let failures = 0;
  for (const tx of txs) {
    for (const m of mutations(tx, 200)) {
      const parsed = outcome(() => parseTransaction(m));
      const decoded = outcome(() =>
        decodeTransaction(m, { network: "regtest" })
      );
      assert.equal(decoded, parsed, `input ${m.toHex()}`);
      if (parsed !== "ok") failures++;
    }
  }
  assert.ok(failures > 1000);
});

Deno.test("decodeBlock() fails exactly like parseBlock() on mutated fixtures", () => {
  const blocks = fixtureHex(
    "blocks",
    (n) => n.endsWith(".hex") && !n.endsWith(".header.hex"),
  ).map(hexToBytes);
  assert.ok(blocks.length > 5);
  for (const block of blocks) {
    for (const m of mutations(block, 20)) {
      const parsed = outcome(() => parseBlock(m, { network: "regtest" }));
      const decoded = outcome(() => decodeBlock(m, { network: "regtest" }));
      assert.equal(decoded, parsed);
    }
  }
});

Deno.test("decodeTransaction() values equal the parser's amounts, beyond 2^53 too", () => {
  const values = [
    0n,
    1n,
    2_100_000_000_000_000n,
    2n ** 53n - 1n,
    2n ** 53n,
    2n ** 53n + 1n,
    2n ** 62n + 12345n,
    2n ** 63n - 1n,
    -1n,
    -(2n ** 53n) - 7n,
    -(2n ** 63n),
  ];
  const tx = {
    version: 2,
    inputs: [{
      txid: "11".repeat(32),
      vout: 3,
      scriptSig: new Uint8Array([0x51]),
      sequence: 0xffffffff,
      witness: [],
    }],
    outputs: values.map((value) => ({
      value,
      script: new Uint8Array([0x6a]),
    })),
    locktime: 0,
  };
  const bytes = serializeTransaction(tx);
  const plain = decodeTransaction(bytes, { network: "regtest" });
  const exact = decodeTransaction(bytes, {
    network: "regtest",
    valueSat: true,
  });
  values.forEach((v, i) => {
    assert.equal(plain.vout[i]!.value, amountToNumber(v));
    assert.equal(exact.vout[i]!.value, amountToNumber(v));
    assert.equal(exact.vout[i]!.valueSat, v);
  });
});

Deno.test("decodeTransaction() fails exactly like parseTransaction() on mutated segwit transactions", () => {
  const input = (witness: Uint8Array[]) => ({
    txid: randomBytes(32).toHex(),
    vout: rand() % 5,
    scriptSig: randomBytes(rand() % 3),
    sequence: 0xfffffffe,
    witness,
  });
  const output = () => ({
    value: BigInt(rand()),
    script: randomBytes(rand() % 30),
  });
  const txs = [
    [input([randomBytes(72), randomBytes(33)])],
    [input([]), input([randomBytes(3)]), input([new Uint8Array()])],
    [input([randomBytes(1)]), input([])],
  ].map((inputs) =>
    serializeTransaction({
      version: 2,
      inputs,
      outputs: [output(), output()],
      locktime: rand(),
    })
  );
  let checked = 0;
  for (const tx of txs) {
    assert.equal(tx[4], 0); // marker
    const variants = mutations(tx, 300);
    for (const flag of [0, 1, 2, 3, 0x80, 0xff]) {
      const m = tx.slice();
      m[5] = flag;
      variants.push(m);
    }
    // Witness counts zeroed or bumped, and the whole witness section cut.
    for (let at = tx.length - 40; at < tx.length - 4; at++) {
      for (const v of [0, 1, 2]) {
        const m = tx.slice();
        m[at] = v;
        variants.push(m);
      }
    }
    for (const m of variants) {
      const parsed = outcome(() => parseTransaction(m));
      const decoded = outcome(() =>
        decodeTransaction(m, { network: "regtest" })
      );
      assert.equal(decoded, parsed, `input ${m.toHex()}`);
      checked++;
    }
  }
  assert.ok(checked > 900);
});

Deno.test("the address cache gives the right address on hits, slot collisions and prefixes", () => {
  const main = new AddressEncoder("main");
  const regtest = new AddressEncoder("regtest");
  const reference = (prefix: number, hash: Uint8Array) => {
    const payload = new Uint8Array(21);
    payload[0] = prefix;
    payload.set(hash, 1);
    return base58CheckEncode(payload);
  };
  // Hashes that differ only in bytes the slot index ignores share a slot.
  const base = randomBytes(20);
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const h = base.slice();
    h[2 + (i % 17)] = rand() & 0xff;
    hashes.push(h);
  }
  for (let i = 0; i < 2000; i++) hashes.push(randomBytes(20));
  for (let round = 0; round < 3; round++) {
    for (const h of hashes) {
      const src = new Uint8Array(30);
      const at = rand() % 10;
      src.set(h, at);
      for (
        const [enc, net] of [[main, "main"], [regtest, "regtest"]] as const
      ) {
        for (const scripthash of [false, true]) {
          const prefix = scripthash
            ? NETWORKS[net].scriptHashPrefix
            : NETWORKS[net].pubkeyHashPrefix;
          const want = reference(prefix, h);
          assert.equal(enc.encodeAt(src, at, scripthash), want);
          assert.equal(enc.encode(h, scripthash), want);
        }
      }
    }
  }
});
