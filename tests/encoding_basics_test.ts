import assert from "node:assert/strict";
import { DecodeError } from "../lib/errors.ts";
import {
  addressScript,
  assetScript,
  blockHash,
  ByteReader,
  bytesToHex,
  bytesToReversedHex,
  ByteWriter,
  decodeAddress,
  encodeAddress,
  globalRestrictionScript,
  hash160,
  heightPush,
  hexToBytes,
  merkleRoot,
  nullAssetTagScript,
  p2pkhScript,
  parseBlock,
  parseTransaction,
  reversedHexToBytes,
  serializeBlock,
  serializeBlockHeader,
  serializeTransaction,
  sha256,
  sha256d,
  txid,
  verifierScript,
  witnessCommitment,
  witnessCommitmentScript,
  wtxid,
} from "../lib/encoding/mod.ts";

const REGTEST = new URL(
  "../../shared/fixtures/evrmore-regtest/",
  import.meta.url,
).pathname;

function readTx(label: string): { hex: string; id: string } {
  for (const f of Deno.readDirSync(REGTEST + "txs")) {
    if (f.name.startsWith(label + "_") && f.name.endsWith(".hex")) {
      return {
        hex: Deno.readTextFileSync(REGTEST + "txs/" + f.name).trim(),
        id: f.name.slice(0, -4).split("_").pop()!,
      };
    }
  }
  throw new Error(`no fixture ${label}`);
}

function decodeErrorAt(fn: () => unknown, offset?: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DecodeError, `expected DecodeError, got ${e}`);
    assert.equal(typeof e.offset, "number");
    if (offset !== undefined) assert.equal(e.offset, offset);
    return true;
  });
}

Deno.test("hexToBytes() and bytesToHex() round trip", () => {
  const bytes = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
  assert.deepEqual(hexToBytes(bytesToHex(bytes)), bytes);
  assert.equal(bytesToHex(new Uint8Array([0, 1, 0xab])), "0001ab");
  assert.deepEqual(hexToBytes("ABcd"), new Uint8Array([0xab, 0xcd]));
  assert.equal(bytesToReversedHex(new Uint8Array([1, 2, 3])), "030201");
  assert.deepEqual(reversedHexToBytes("030201"), new Uint8Array([1, 2, 3]));
});

Deno.test("hexToBytes() rejects bad hex with DecodeError and offset", () => {
  decodeErrorAt(() => hexToBytes("abc"), 1);
  decodeErrorAt(() => hexToBytes("00zz"), 1);
  decodeErrorAt(() => hexToBytes("0g"), 0);
});

Deno.test("ByteReader reads LE ints and CompactSize, bounds-checked", () => {
  const w = new ByteWriter(4);
  w.writeU8(1).writeU16LE(0x1234).writeU32LE(0xfffffffe).writeI32LE(-2)
    .writeU64LE(0xffffffffffffffffn).writeI64LE(-5n)
    .writeCompactSize(0xfc).writeCompactSize(0xfd).writeCompactSize(0x10000)
    .writeVarBytes(new Uint8Array([9, 8]));
  const r = new ByteReader(w.toBytes());
  assert.equal(r.readU8(), 1);
  assert.equal(r.readU16LE(), 0x1234);
  assert.equal(r.readU32LE(), 0xfffffffe);
  assert.equal(r.readI32LE(), -2);
  assert.equal(r.readU64LE(), 0xffffffffffffffffn);
  assert.equal(r.readI64LE(), -5n);
  assert.equal(r.readCompactSize(), 0xfc);
  assert.equal(r.readCompactSize(), 0xfd);
  assert.equal(r.readCompactSize(), 0x10000);
  assert.deepEqual(r.readVarBytes(), new Uint8Array([9, 8]));
  r.assertEnd();
  decodeErrorAt(() => r.readU8(), r.offset);
});

Deno.test("ByteReader rejects non-canonical and oversized counts before allocating", () => {
  decodeErrorAt(
    () => new ByteReader(new Uint8Array([0xfd, 0x10, 0])).readCompactSize(),
    0,
  );
  decodeErrorAt(
    () =>
      new ByteReader(new Uint8Array([0xfe, 1, 0, 0, 0x02])).readCompactSize(),
    0,
  );
  decodeErrorAt(
    () => new ByteReader(new Uint8Array([0xfd, 0xff, 0xff, 1])).readCount(1),
    0,
  );
  decodeErrorAt(
    () => new ByteReader(new Uint8Array([0x05, 1, 2])).readVarBytes(),
    0,
  );
  decodeErrorAt(() => new ByteReader(new Uint8Array([1, 2])).readU32LE(), 0);
});

Deno.test("sha256d() and hash160() match known vectors", () => {
  assert.equal(
    bytesToHex(sha256d(new Uint8Array())),
    "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456",
  );
  assert.equal(
    bytesToHex(hash160(new Uint8Array())),
    "b472a266d0bd89c13706a4132ccfb16f7c3b9fcb",
  );
});

Deno.test("parseTransaction() / serializeTransaction() round trip with txid and wtxid", () => {
  const cb = readTx("coinbase_block1");
  const tx = parseTransaction(cb.hex);
  assert.equal(bytesToHex(serializeTransaction(tx)), cb.hex);
  assert.equal(txid(tx), cb.id);
  assert.equal(
    wtxid(tx),
    "de737ea9378cce5a7ea5e82220dee6a512f2f430dec02379236edcad877d9ec5",
  );
  assert.equal(tx.inputs[0]!.witness.length, 1);
  const send = readTx("send_evr");
  const tx2 = parseTransaction(hexToBytes(send.hex));
  assert.equal(txid(tx2), send.id);
  assert.equal(wtxid(tx2), send.id);
  assert.equal(tx2.outputs[0]!.value, 1_250_000_000n);
});

Deno.test("parseTransaction() rejects truncation and trailing bytes", () => {
  const { hex } = readTx("send_evr");
  const bytes = hexToBytes(hex);
  decodeErrorAt(() => parseTransaction(bytes.subarray(0, bytes.length - 1)));
  decodeErrorAt(() => parseTransaction(hex + "00"), bytes.length);
  decodeErrorAt(() => parseTransaction("zz"), 0);
});

Deno.test("parseBlock() / serializeBlock() / blockHash() / merkleRoot() on a regtest block", () => {
  let file = "";
  for (const f of Deno.readDirSync(REGTEST + "blocks")) {
    if (
      f.name.startsWith("0162_") && f.name.endsWith(".hex") &&
      !f.name.endsWith(".header.hex")
    ) {
      file = f.name;
    }
  }
  const hex = Deno.readTextFileSync(REGTEST + "blocks/" + file).trim();
  const block = parseBlock(hex, { network: "regtest" });
  assert.equal(bytesToHex(serializeBlock(block)), hex);
  assert.equal(
    bytesToHex(serializeBlockHeader(block.header)),
    hex.slice(0, 160),
  );
  assert.equal(
    blockHash(block.header, "regtest"),
    file.slice(0, -4).split("_").pop(),
  );
  assert.equal(
    merkleRoot(block.transactions.map(txid)),
    block.header.merkleRoot,
  );
});

Deno.test("blockHash() hashes the mainnet genesis with EvrProgPoW", () => {
  const hex = Deno.readTextFileSync(
    new URL(
      "../../shared/fixtures/evrmore-mainnet/genesis.hex",
      import.meta.url,
    ),
  ).trim();
  const block = parseBlock(hex);
  assert.equal(block.header.nonce64, 1777396n);
  assert.equal(
    blockHash(block.header, "main"),
    "0000007b11d0481b2420a7c656ef76775d54ab5b29ee7ea250bc768535693b05",
  );
  assert.equal(bytesToHex(serializeBlock(block)), hex);
});

Deno.test("encodeAddress() / decodeAddress() use network prefixes", () => {
  const hash = hexToBytes("043221054d49c157fc65a58e0f37c0c63513a237");
  const addr = encodeAddress(hash, { network: "regtest", type: "pubkeyhash" });
  assert.equal(addr, "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe");
  assert.deepEqual(decodeAddress(addr), {
    hash,
    type: "pubkeyhash",
    network: "test",
  });
  const main = encodeAddress(hash);
  assert.equal(main[0], "E");
  assert.equal(decodeAddress(main).network, "main");
  const p2sh = encodeAddress(hash, { network: "main", type: "scripthash" });
  assert.equal(p2sh[0], "e");
  assert.equal(decodeAddress(p2sh).type, "scripthash");
  decodeErrorAt(() =>
    decodeAddress(addr.slice(0, -1) + (addr.endsWith("e") ? "f" : "e"))
  );
  decodeErrorAt(() => decodeAddress("0OIl"));
});

Deno.test("p2pkhScript() / addressScript() build P2PKH", () => {
  const hash = hexToBytes("043221054d49c157fc65a58e0f37c0c63513a237");
  assert.equal(
    bytesToHex(p2pkhScript(hash)),
    "76a914043221054d49c157fc65a58e0f37c0c63513a23788ac",
  );
  assert.deepEqual(
    addressScript("mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe"),
    p2pkhScript(hash),
  );
});

Deno.test("assetScript() reproduces the node's asset scripts", () => {
  const mr = "mrhbJYDoPWPsfx5JFdGVFymGZaKTqyQiNy";
  assert.equal(
    bytesToHex(assetScript(mr, {
      kind: "issue",
      name: "MYASSET",
      amount: 100_000_000_000n,
      units: 2,
      reissuable: true,
      ipfsHash: "QmTqu3Lk3gmTsQVtjU7rYYM37EAW4xNmbuEAp2Mjr4AV7E",
    })),
    "76a9147aac6faf192eaaaa0eaee8152ebb746b6505561b88acc03965767271074d59415353455400e8764817000000020101122051c87ba0b5f1bc07f19513007f22f4a9dd9211560d416094cd15de1e5080f31175",
  );
  assert.equal(
    bytesToHex(assetScript(mr, { kind: "owner", name: "MYASSET!" })),
    "76a9147aac6faf192eaaaa0eaee8152ebb746b6505561b88acc00d6576726f084d5941535345542175",
  );
  assert.equal(
    bytesToHex(assetScript(mr, {
      kind: "reissue",
      name: "MYASSET",
      amount: 50_000_000_000n,
      units: 3,
      reissuable: true,
      ipfsHash: "QmWWQSuPMS6aXCbZKpEjPHPUZN2NjB3YrhJTHsV4X3vb2t",
    })),
    "76a9147aac6faf192eaaaa0eaee8152ebb746b6505561b88acc03865767272074d59415353455400743ba40b00000003011220795d2d620fcff3f3a71b706513aaf2063e40f982243e567a2013cc51244c871d75",
  );
  assert.equal(
    bytesToHex(assetScript("mohP6ygsH3uQgm6uEwvq3SGA7u6YUdTgh9", {
      kind: "transfer",
      name: "MYASSET",
      amount: 100_000_000n,
      message: "QmTqu3Lk3gmTsQVtjU7rYYM37EAW4xNmbuEAp2Mjr4AV7E",
      expireTime: 1827167348,
    })),
    "76a91459b9e01c2660df2d910302542bd224af43d3537488acc03e65767274074d59415353455400e1f50500000000122051c87ba0b5f1bc07f19513007f22f4a9dd9211560d416094cd15de1e5080f311745ce86c0000000075",
  );
  assert.equal(
    bytesToHex(assetScript("msDGoYdUKyVjgAwe9Tve7xrhHqcmKckWY5", {
      kind: "transfer",
      name: "MYASSET!",
      amount: 100_000_000n,
      message:
        "faf24d636f68aab8f01819790a01115e8e51411a5436ea158a28384d5eeb558d",
    })),
    "76a914804978e1fb2436fdb9d44bdfadbf61d1bbdf95aa88acc03765767274084d5941535345542100e1f505000000005420faf24d636f68aab8f01819790a01115e8e51411a5436ea158a28384d5eeb558d75",
  );
});

Deno.test("null-asset data builders reproduce the node's scripts", () => {
  assert.equal(
    bytesToHex(
      nullAssetTagScript("mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe", {
        name: "$MYASSET",
        flag: 1,
      }),
    ),
    "c014043221054d49c157fc65a58e0f37c0c63513a2370a08244d59415353455401",
  );
  assert.equal(
    bytesToHex(globalRestrictionScript("$MYASSET", { flag: 0 })),
    "c050500a08244d59415353455400",
  );
  assert.equal(bytesToHex(verifierScript("KYC")), "c05004034b5943");
});

Deno.test("heightPush() and witness commitment helpers match the node's coinbase", () => {
  assert.equal(bytesToHex(heightPush(1)), "51");
  assert.equal(bytesToHex(heightPush(162)), "02a200");
  assert.equal(bytesToHex(heightPush(128)), "028000");
  assert.equal(bytesToHex(heightPush(0)), "00");
  const { hex } = readTx("coinbase_block1");
  const tx = parseTransaction(hex);
  // Block 1 holds only the coinbase: its commitment is over a zero wtxid.
  const script = witnessCommitmentScript(witnessCommitment([wtxid(tx)]));
  assert.deepEqual(script, tx.outputs[1]!.script);
});

Deno.test("sha256() / sha256d() / hash160() equal node:crypto across block and size boundaries", async () => {
  const { createHash } = await import("node:crypto");
  const ref = (alg: string, d: Uint8Array) =>
    new Uint8Array(createHash(alg).update(d).digest());
  for (let n = 0; n <= 1100; n += n < 140 ? 1 : 37) {
    const data = new Uint8Array(n).map((_, i) => (i * 131 + n) & 0xff);
    const once = ref("sha256", data);
    assert.deepEqual(sha256(data), once, `sha256 ${n}`);
    assert.deepEqual(sha256d(data), ref("sha256", once), `sha256d ${n}`);
    assert.deepEqual(hash160(data), ref("ripemd160", once), `hash160 ${n}`);
  }
});
