import assert from "node:assert/strict";
import {
  evrprogpowHash,
  mainnetHeaderHashes,
} from "../lib/encoding/_progpow.ts";

const FIXTURES = new URL(
  "../../shared/fixtures/evrmore-mainnet/",
  import.meta.url,
);

function fromHex(hex: string): Uint8Array {
  assert.equal(hex.length % 2, 0);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function readText(name: string): string {
  return Deno.readTextFileSync(new URL(name, FIXTURES));
}

interface Vector {
  header_hex: string;
  hash: string;
  headerhash: string;
  height: number;
  mixhash: string;
}

function loadVectors(): { vectors: Vector[]; nonces: bigint[] } {
  const text = readText("evrprogpow_vectors.json");
  const vectors = JSON.parse(text) as Vector[];
  // nonce64 values exceed 2^53, so read them exactly from the JSON text.
  const nonces = Array.from(
    text.matchAll(/"nonce64":\s*(\d+)/g),
    (m) => BigInt(m[1]!),
  );
  assert.equal(nonces.length, vectors.length);
  return { vectors, nonces };
}

function genesisHeader(): Uint8Array {
  return fromHex(readText("genesis.hex").trim().slice(0, 240));
}

const GENESIS_HASH =
  "0000007b11d0481b2420a7c656ef76775d54ab5b29ee7ea250bc768535693b05";
const GENESIS_HEADERHASH =
  "26a7d11a694d2ced42bc8defef310946e53b99ad0fbdcd7171450df3959c476b";

Deno.test("mainnetHeaderHashes() matches the node for the mainnet genesis", () => {
  const header = genesisHeader();
  const got = mainnetHeaderHashes(header);
  const headerJson = JSON.parse(readText("genesis.getblockheader_true.json"));
  const blockJson = JSON.parse(readText("genesis.getblock1.json"));
  assert.equal(got.hash, GENESIS_HASH);
  assert.equal(got.hash, headerJson.hash);
  assert.equal(got.hash, blockJson.hash);
  assert.equal(got.headerhash, GENESIS_HEADERHASH);
  assert.equal(got.headerhash, blockJson.headerhash);
  assert.equal(got.mixhash, blockJson.mixhash);
  assert.equal(got.nonce64, BigInt(blockJson.nonce64));
  assert.equal(got.height, blockJson.height);
  // The genesis is followed by its transactions; the header prefix is untouched.
  assert.equal(toHex(header), readText("genesis.hex").trim().slice(0, 240));
});

Deno.test("mainnetHeaderHashes() matches all 30 node vectors", () => {
  const { vectors, nonces } = loadVectors();
  assert.equal(vectors.length, 30);
  vectors.forEach((v, i) => {
    const got = mainnetHeaderHashes(fromHex(v.header_hex));
    assert.deepEqual(got, {
      hash: v.hash,
      headerhash: v.headerhash,
      mixhash: v.mixhash,
      nonce64: nonces[i],
      height: v.height,
    }, `vector ${i}`);
  });
});

Deno.test("mainnetHeaderHashes() reads a header inside a larger buffer", () => {
  const { vectors } = loadVectors();
  const v = vectors[7]!;
  const backing = new Uint8Array(3 + 120 + 5).fill(0xaa);
  backing.set(fromHex(v.header_hex), 3);
  const got = mainnetHeaderHashes(backing.subarray(3, 123));
  assert.equal(got.hash, v.hash);
  assert.equal(got.height, v.height);
});

Deno.test("evrprogpowHash() takes and returns internal byte order", () => {
  const { vectors, nonces } = loadVectors();
  vectors.forEach((v, i) => {
    const header = fromHex(v.header_hex);
    const headerHash = fromHex(v.headerhash).reverse(); // raw SHA-256d output
    const mixHash = header.slice(88, 120); // as stored in the header
    assert.equal(toHex(mixHash), toHex(fromHex(v.mixhash).reverse()));
    const nonce = nonces[i]!;
    assert.equal(nonce, new DataView(header.buffer).getBigUint64(80, true));
    const hash = evrprogpowHash(headerHash, nonce, mixHash);
    assert.equal(hash.length, 32);
    assert.equal(toHex(hash.slice().reverse()), v.hash, `vector ${i}`);
  });
});

Deno.test("evrprogpowHash() reproduces the genesis hash and leaves inputs untouched", () => {
  const headerHash = fromHex(GENESIS_HEADERHASH).reverse();
  const mixHash = new Uint8Array(32);
  const before = toHex(headerHash);
  const hash = evrprogpowHash(headerHash, 1777396n, mixHash);
  assert.equal(toHex(hash.reverse()), GENESIS_HASH);
  assert.equal(toHex(headerHash), before);
  assert.deepEqual(mixHash, new Uint8Array(32));
});

Deno.test("evrprogpowHash() depends on every input", () => {
  const headerHash = fromHex(GENESIS_HEADERHASH).reverse();
  const base = toHex(evrprogpowHash(headerHash, 1777396n, new Uint8Array(32)));
  const mix = new Uint8Array(32);
  mix[31] = 1;
  assert.notEqual(toHex(evrprogpowHash(headerHash, 1777396n, mix)), base);
  assert.notEqual(
    toHex(
      evrprogpowHash(headerHash, 1777396n | (1n << 63n), new Uint8Array(32)),
    ),
    base,
  );
  const otherHeader = headerHash.slice();
  otherHeader[0]! ^= 0x80;
  assert.notEqual(
    toHex(evrprogpowHash(otherHeader, 1777396n, new Uint8Array(32))),
    base,
  );
});

Deno.test("evrprogpowHash() accepts the full u64 nonce range", () => {
  const zero = new Uint8Array(32);
  assert.equal(evrprogpowHash(zero, 0n, zero).length, 32);
  assert.equal(evrprogpowHash(zero, (1n << 64n) - 1n, zero).length, 32);
});

Deno.test("evrprogpowHash() throws RangeError for bad lengths and nonces", () => {
  const ok = new Uint8Array(32);
  for (const len of [0, 31, 33, 64]) {
    assert.throws(
      () => evrprogpowHash(new Uint8Array(len), 0n, ok),
      RangeError,
    );
    assert.throws(
      () => evrprogpowHash(ok, 0n, new Uint8Array(len)),
      RangeError,
    );
  }
  assert.throws(() => evrprogpowHash(ok, -1n, ok), RangeError);
  assert.throws(() => evrprogpowHash(ok, 1n << 64n, ok), RangeError);
  assert.throws(
    () => evrprogpowHash(ok, 0n, new Uint8Array(31)),
    /^RangeError: Cannot compute EvrProgPoW hash: mixHash must be 32 bytes, got 31$/,
  );
});

Deno.test("evrprogpowHash() throws TypeError for wrong argument types", () => {
  const ok = new Uint8Array(32);
  assert.throws(
    () => evrprogpowHash(ok, 1 as unknown as bigint, ok),
    TypeError,
  );
  assert.throws(
    () => evrprogpowHash("00" as unknown as Uint8Array, 0n, ok),
    TypeError,
  );
  assert.throws(
    () => evrprogpowHash(ok, 0n, null as unknown as Uint8Array),
    TypeError,
  );
});

Deno.test("mainnetHeaderHashes() throws for a header that is not 120 bytes", () => {
  for (const len of [0, 80, 119, 121]) {
    assert.throws(() => mainnetHeaderHashes(new Uint8Array(len)), RangeError);
  }
  assert.throws(
    () => mainnetHeaderHashes(undefined as unknown as Uint8Array),
    TypeError,
  );
});
