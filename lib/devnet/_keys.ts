/**
 * secp256k1 wallet keys of the devnet: real key pairs and real ECDSA
 * signatures (low-S, DER) made with `node:crypto`.
 *
 * @module
 */

import {
  createECDH,
  createHash,
  createPrivateKey,
  type KeyObject,
  sign,
} from "node:crypto";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;

function b64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

function bigFromBytes(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function derInteger(value: bigint): Uint8Array {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Uint8Array.from(
    hex.match(/../g)!.map((pair) => parseInt(pair, 16)),
  );
  return (bytes[0]! & 0x80) ? Uint8Array.of(0, ...bytes) : bytes;
}

/** Re-encodes a DER signature with S in the lower half of the order (BIP62). */
export function lowS(der: Uint8Array): Uint8Array {
  // 30 len 02 rlen r 02 slen s
  const rLen = der[3]!;
  const r = der.subarray(4, 4 + rLen);
  const sLen = der[5 + rLen]!;
  const s = bigFromBytes(der.subarray(6 + rLen, 6 + rLen + sLen));
  const sFixed = s > HALF_N ? N - s : s;
  const rBytes = derInteger(bigFromBytes(r));
  const sBytes = derInteger(sFixed);
  return Uint8Array.of(
    0x30,
    4 + rBytes.length + sBytes.length,
    0x02,
    rBytes.length,
    ...rBytes,
    0x02,
    sBytes.length,
    ...sBytes,
  );
}

/** One wallet key: private key, compressed public key, and its hash160. */
export class WalletKey {
  /** 33-byte compressed public key. */
  readonly publicKey: Uint8Array;
  /** 32-byte private key. */
  readonly privateKey: Uint8Array;
  #key: KeyObject;

  /** Makes a fresh random key. */
  constructor() {
    const ecdh = createECDH("secp256k1");
    ecdh.generateKeys();
    const uncompressed = new Uint8Array(ecdh.getPublicKey());
    this.publicKey = new Uint8Array(ecdh.getPublicKey(null, "compressed"));
    const raw = new Uint8Array(ecdh.getPrivateKey()).slice(-32);
    const d = new Uint8Array(32);
    d.set(raw, 32 - raw.length);
    this.privateKey = d;
    this.#key = createPrivateKey({
      key: {
        kty: "EC",
        crv: "secp256k1",
        d: b64url(d),
        x: b64url(uncompressed.subarray(1, 33)),
        y: b64url(uncompressed.subarray(33, 65)),
      },
      format: "jwk",
    });
  }

  /**
   * Signs the double SHA-256 of `preimage` (ECDSA, DER, low S).
   *
   * @param preimage The sighash preimage.
   * @returns The DER signature (without the sighash-type byte).
   */
  signDoubleSha256(preimage: Uint8Array): Uint8Array {
    const once = createHash("sha256").update(preimage).digest();
    // sign("sha256", x) hashes x once more: ECDSA over SHA-256d(preimage).
    const der = new Uint8Array(sign("sha256", once, this.#key));
    return lowS(der);
  }
}
