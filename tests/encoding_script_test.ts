import assert from "node:assert/strict";
import {
  assetScript,
  bytesToHex,
  decodeScript,
  encodeAddress,
  hash160,
  hexToBytes,
  p2shScript,
} from "../lib/encoding/mod.ts";

const KEY1 = "02" + "11".repeat(32);
const KEY2 = "03" + "22".repeat(32);
const opts = { network: "regtest" as const };

function address(pubkeyHex: string): string {
  return encodeAddress(hash160(hexToBytes(pubkeyHex)), { network: "regtest" });
}

Deno.test("decodeScript() classifies multisig like the node (reqSigs, valid keys only)", () => {
  const hex = "51" + "21" + KEY1 + "21" + KEY2 + "52ae";
  assert.deepStrictEqual(decodeScript(hex, opts), {
    asm: `1 ${KEY1} ${KEY2} 2 OP_CHECKMULTISIG`,
    hex,
    reqSigs: 1,
    type: "multisig",
    addresses: [address(KEY1), address(KEY2)],
  });
  // m > n is no multisig.
  const bad = "53" + "21" + KEY1 + "21" + KEY2 + "52ae";
  assert.equal(decodeScript(bad, opts).type, "nonstandard");
});

Deno.test("decodeScript() gives P2PK an address only for a valid public key", () => {
  const good = "21" + KEY1 + "ac";
  assert.deepStrictEqual(decodeScript(good, opts), {
    asm: `${KEY1} OP_CHECKSIG`,
    hex: good,
    reqSigs: 1,
    type: "pubkey",
    addresses: [address(KEY1)],
  });
  const invalid = "21" + "05" + "11".repeat(32) + "ac";
  assert.deepStrictEqual(decodeScript(invalid, opts), {
    asm: `05${"11".repeat(32)} OP_CHECKSIG`,
    hex: invalid,
    type: "pubkey",
  });
});

Deno.test("decodeScript() handles witness programs, OP_RETURN, P2SH and nonstandard scripts", () => {
  const wpkh = "0014" + "33".repeat(20);
  assert.deepStrictEqual(decodeScript(wpkh, opts), {
    asm: `0 ${"33".repeat(20)}`,
    hex: wpkh,
    type: "witness_v0_keyhash",
  });
  assert.equal(
    decodeScript("0020" + "44".repeat(32), opts).type,
    "witness_v0_scripthash",
  );
  assert.equal(
    decodeScript("5114" + "33".repeat(20), opts).type,
    "nonstandard",
  );
  assert.deepStrictEqual(decodeScript("6a0401020304", opts), {
    asm: "OP_RETURN 67305985",
    hex: "6a0401020304",
    type: "nulldata",
  });
  assert.equal(decodeScript("6a76", opts).type, "nonstandard");
  const p2sh = bytesToHex(p2shScript(hexToBytes("55".repeat(20))));
  const spk = decodeScript(p2sh, opts);
  assert.equal(spk.type, "scripthash");
  assert.equal(spk.addresses![0]![0], "2");
  assert.deepStrictEqual(decodeScript("", opts), {
    asm: "",
    hex: "",
    type: "nonstandard",
  });
});

Deno.test("decodeScript() prints numbers, opcodes and [error] in asm like ScriptToAsmStr", () => {
  assert.equal(
    decodeScript("00514f60b1b2c0", opts).asm,
    "0 1 -1 16 OP_CHECKLOCKTIMEVERIFY OP_CHECKSEQUENCEVERIFY OP_EVR_ASSET",
  );
  assert.equal(decodeScript("0281ff", opts).asm, "-32641");
  assert.equal(decodeScript("0180", opts).asm, "0");
  assert.equal(decodeScript("4c0201", opts).asm, "[error]");
  assert.equal(decodeScript("76ba", opts).asm, "OP_DUP OP_UNKNOWN");
  // OP_EVR_ASSET takes the rest of the script as data.
  assert.equal(
    decodeScript("c0050102030405", opts).asm,
    "OP_EVR_ASSET 050102030405",
  );
});

Deno.test("decodeScript() decodes P2SH asset scripts with a script-hash address", () => {
  const script = assetScript(p2shScript(hexToBytes("66".repeat(20))), {
    kind: "transfer",
    name: "MYASSET",
    amount: 250_000_000n,
  });
  const spk = decodeScript(script, opts);
  assert.equal(spk.type, "transfer_asset");
  assert.deepStrictEqual(spk.asset, { name: "MYASSET", amount: 2.5 });
  assert.equal(spk.addresses![0]![0], "2");
});

Deno.test("decodeScript() decodes every asset kind built by assetScript()", () => {
  const dest = "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe";
  const issue = decodeScript(
    assetScript(dest, {
      kind: "issue",
      name: "COIN",
      amount: 21n * 10n ** 16n,
      units: 8,
    }),
    { network: "regtest", valueSat: true },
  );
  assert.equal(issue.type, "new_asset");
  // 2.1e9 whole units: above 2^53 in 1e-8 units, still exact.
  assert.equal(issue.asset!.amount, 2100000000);
  assert.equal(issue.asset!.amountSat, 210000000000000000n);
  // The node's uninitialised expire_time: omitted unless asked for.
  assert.equal(issue.asset!.expire_time, undefined);
  const reissue = decodeScript(
    assetScript(dest, {
      kind: "reissue",
      name: "COIN",
      amount: 1n,
      units: -1,
      reissuable: false,
    }),
    opts,
  );
  assert.deepStrictEqual(reissue.asset, {
    name: "COIN",
    amount: 1e-8,
    reissuable: 0,
  });
  const owner = decodeScript(
    assetScript(dest, { kind: "owner", name: "COIN!" }),
    opts,
  );
  assert.deepStrictEqual(owner.asset, {
    name: "COIN!",
    amount: 1,
  });
  const message = decodeScript(
    assetScript(dest, {
      kind: "transfer",
      name: "COIN",
      amount: 1n,
      message: "ab".repeat(32),
      expireTime: 1900000000n,
    }),
    opts,
  );
  assert.deepStrictEqual(message.asset, {
    name: "COIN",
    amount: 1e-8,
    message: "ab".repeat(32),
    expire_time: 1900000000,
  });
  const rpc = decodeScript(
    assetScript(dest, { kind: "reissue", name: "COIN", amount: 5n }),
    {
      network: "regtest",
      format: "decodescript",
    },
  );
  assert.equal(rpc.asset_name, "COIN");
  assert.equal(rpc.reissuable, true);
  assert.equal((rpc as Record<string, unknown>).hex, undefined);
  assert.equal(typeof rpc.p2sh, "string");
});

Deno.test("decodeScript() null-asset data: tag, freeze, global freeze, verifier", () => {
  const tag = decodeScript(
    "c014043221054d49c157fc65a58e0f37c0c63513a2370604234b594300",
    opts,
  );
  assert.deepStrictEqual(tag.asset_data, {
    asset_name: "#KYC",
    qualifier_type: "removing qualifier",
    address: "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe",
  });
  assert.deepStrictEqual(decodeScript("c05004034b5943", opts), {
    asm: "OP_EVR_ASSET 5004034b5943",
    hex: "c05004034b5943",
    type: "nullassetdata",
  });
  // An unknown name kind gives an empty asset_data object.
  const other = decodeScript(
    "c014043221054d49c157fc65a58e0f37c0c63513a2370604434f494e01",
    opts,
  );
  assert.deepStrictEqual(other.asset_data, {});
});
