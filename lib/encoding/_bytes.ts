/**
 * Byte-level helpers: hex conversion, bounds-checked reader and growable
 * writer using Bitcoin serialization (little-endian integers, CompactSize).
 *
 * @module
 */

import { DecodeError } from "../errors.ts";

/**
 * Largest CompactSize the node accepts (`MAX_SIZE`, 32 MiB); larger counts
 * and lengths are a {@linkcode DecodeError}.
 *
 * @example
 * ```ts
 * import { MAX_COMPACT_SIZE } from "@evrmore/rpc";
 *
 * console.log(MAX_COMPACT_SIZE); // 33554432
 * ```
 */
export const MAX_COMPACT_SIZE = 0x02000000;

/**
 * Display-order (reversed) hex of `len` bytes at `offset`, without copying.
 *
 * @param bytes The bytes.
 * @param offset First byte.
 * @param len Number of bytes (at most 64 take the fast path).
 * @returns Hex of the bytes read back to front.
 */
export function reversedHexAt(
  bytes: Uint8Array,
  offset: number,
  len: number,
): string {
  if (len > 64) {
    return bytesToReversedHex(bytes.subarray(offset, offset + len));
  }
  // Reverse into a reused buffer, then one native toHex (much faster than
  // building the string from char codes).
  const buf = REVERSED[len]!;
  const last = offset + len - 1;
  for (let i = 0; i < len; i++) buf[i] = bytes[last - i]!;
  return buf.toHex();
}
const REVERSED: Uint8Array[] = [];
for (let i = 0; i <= 64; i++) REVERSED.push(new Uint8Array(i));

function hexError(hex: string, what: string): DecodeError {
  for (let i = 0; i < hex.length; i++) {
    const c = hex.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 97 && c <= 102) ||
      (c >= 65 && c <= 70);
    if (!ok) {
      return new DecodeError(
        `Cannot decode ${what}: invalid hex character at position ${i}`,
        { offset: i >> 1 },
      );
    }
  }
  return new DecodeError(
    `Cannot decode ${what}: odd number of hex digits (${hex.length})`,
    { offset: hex.length >> 1 },
  );
}

/**
 * Makes the {@linkcode DecodeError} for text that is not valid hex.
 *
 * @param hex The text.
 * @param what What was being decoded.
 * @returns The error, with the byte offset of the first bad digit.
 */
export function hexDecodeError(hex: string, what: string): DecodeError {
  return hexError(hex, what);
}

/**
 * Converts hex text (either case) to bytes.
 *
 * @example
 * ```ts
 * import { hexToBytes } from "@evrmore/rpc";
 *
 * console.log(hexToBytes("00ff")); // Uint8Array(2) [ 0, 255 ]
 * ```
 *
 * @param hex Hex text with an even number of digits.
 * @returns The bytes.
 * @throws {DecodeError} On odd length or a non-hex character; `offset` is
 * the byte index of the bad digit.
 * @throws {TypeError} When `hex` is not a string.
 */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== "string") {
    throw new TypeError(
      `Cannot decode hex: expected a string, got ${typeof hex}`,
    );
  }
  try {
    return Uint8Array.fromHex(hex);
  } catch (cause) {
    const error = hexError(hex, "hex");
    throw new DecodeError(error.message, {
      offset: error.offset ?? 0,
      cause,
    });
  }
}

/**
 * Converts bytes to lower-case hex.
 *
 * @example
 * ```ts
 * import { bytesToHex } from "@evrmore/rpc";
 *
 * console.log(bytesToHex(new Uint8Array([0, 255]))); // "00ff"
 * ```
 *
 * @param bytes The bytes.
 * @returns Lower-case hex text, two digits per byte.
 */
export function bytesToHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/**
 * Converts bytes to hex in reverse byte order: the display (RPC) form of
 * hashes stored little-endian, such as txids and block hashes.
 *
 * @example
 * ```ts
 * import { bytesToReversedHex } from "@evrmore/rpc";
 *
 * console.log(bytesToReversedHex(new Uint8Array([1, 2, 3]))); // "030201"
 * ```
 *
 * @param bytes The bytes in internal (serialized) order.
 * @returns Hex of the bytes read back to front.
 */
export function bytesToReversedHex(bytes: Uint8Array): string {
  const n = bytes.length;
  const copy = new Uint8Array(n);
  for (let i = 0; i < n; i++) copy[i] = bytes[n - 1 - i]!;
  return copy.toHex();
}

/**
 * Converts display-order hex (a txid or block hash as the node prints it)
 * to bytes in internal (serialized) order.
 *
 * @example
 * ```ts
 * import { reversedHexToBytes } from "@evrmore/rpc";
 *
 * console.log(reversedHexToBytes("030201")); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 *
 * @param hex Hex text with an even number of digits.
 * @returns The bytes, reversed.
 * @throws {DecodeError} On bad hex.
 */
export function reversedHexToBytes(hex: string): Uint8Array {
  return hexToBytes(hex).reverse();
}

/** Options of {@linkcode ByteReader}. */
export interface ByteReaderOptions {
  /** What is being decoded, used in error messages (default "bytes"). */
  what?: string;
  /** Starting offset (default 0). */
  offset?: number;
}

/**
 * A bounds-checked reader of Bitcoin-serialized data.
 *
 * Every read past the end throws a {@linkcode DecodeError} whose `offset`
 * is where the read started; counts read from the data are checked
 * against the bytes left before anything is allocated. Byte strings are
 * returned as `subarray` views, not copies.
 *
 * @example
 * ```ts
 * import { ByteReader } from "@evrmore/rpc";
 *
 * const reader = new ByteReader(new Uint8Array([0x02, 0xaa, 0xbb, 1, 0, 0, 0]));
 * console.log(reader.readVarBytes()); // Uint8Array(2) [ 170, 187 ]
 * console.log(reader.readU32LE()); // 1
 * reader.assertEnd();
 * ```
 */
export class ByteReader {
  /** The underlying bytes. */
  readonly bytes: Uint8Array;
  /** Current read position. */
  offset: number;
  /** What is being decoded, used in error messages. */
  readonly what: string;
  #view: DataView | undefined;

  /**
   * Creates a reader.
   *
   * @param bytes The data to read.
   * @param options What is decoded (for messages) and the start offset.
   */
  constructor(bytes: Uint8Array, options?: ByteReaderOptions) {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError("Cannot read bytes: expected a Uint8Array");
    }
    this.bytes = bytes;
    this.offset = options?.offset ?? 0;
    this.what = options?.what ?? "bytes";
  }

  /** Number of bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /**
   * Checks that `n` more bytes can be read.
   *
   * @param n Number of bytes needed.
   * @throws {DecodeError} When fewer are left.
   */
  need(n: number): void {
    if (n > this.bytes.length - this.offset) {
      throw readerError(
        this,
        `need ${n} bytes, only ${this.bytes.length - this.offset} left`,
      );
    }
  }

  /**
   * Checks that everything was read.
   *
   * @throws {DecodeError} On trailing bytes.
   */
  assertEnd(): void {
    if (this.offset !== this.bytes.length) {
      throw readerError(
        this,
        `${this.bytes.length - this.offset} unexpected trailing bytes`,
      );
    }
  }

  /**
   * Reads the next byte.
   *
   * @returns The next byte.
   */
  readU8(): number {
    if (this.offset >= this.bytes.length) this.need(1);
    return this.bytes[this.offset++]!;
  }

  /**
   * Reads the next unsigned 16-bit little-endian integer.
   *
   * @returns The next unsigned 16-bit little-endian integer.
   */
  readU16LE(): number {
    this.need(2);
    const b = this.bytes, o = this.offset;
    this.offset = o + 2;
    return b[o]! | (b[o + 1]! << 8);
  }

  /**
   * Reads the next unsigned 32-bit little-endian integer.
   *
   * @returns The next unsigned 32-bit little-endian integer.
   */
  readU32LE(): number {
    const o = this.offset;
    if (o + 4 > this.bytes.length) this.need(4);
    const b = this.bytes;
    this.offset = o + 4;
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) +
      b[o + 3]! * 0x1000000;
  }

  /**
   * Reads the next signed 32-bit little-endian integer.
   *
   * @returns The next signed 32-bit little-endian integer.
   */
  readI32LE(): number {
    const o = this.offset;
    if (o + 4 > this.bytes.length) this.need(4);
    const b = this.bytes;
    this.offset = o + 4;
    return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
  }

  #dataView(): DataView {
    return this.#view ??= new DataView(
      this.bytes.buffer,
      this.bytes.byteOffset,
      this.bytes.byteLength,
    );
  }

  /**
   * Reads the next unsigned 64-bit little-endian integer.
   *
   * @returns The next unsigned 64-bit little-endian integer.
   */
  readU64LE(): bigint {
    this.need(8);
    const v = this.#dataView().getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }

  /**
   * Reads the next signed 64-bit little-endian integer.
   *
   * @returns The next signed 64-bit little-endian integer.
   */
  readI64LE(): bigint {
    this.need(8);
    const v = this.#dataView().getBigInt64(this.offset, true);
    this.offset += 8;
    return v;
  }

  /**
   * Reads a CompactSize the way the node does: canonical encodings only,
   * at most {@linkcode MAX_COMPACT_SIZE} unless `max` says otherwise.
   *
   * @param max Largest accepted value.
   * @returns The value.
   * @throws {DecodeError} On truncation, non-canonical encoding or a value above `max`.
   */
  readCompactSize(max: number = MAX_COMPACT_SIZE): number {
    const start = this.offset;
    const first = this.readU8();
    let value: number;
    if (first < 0xfd) {
      value = first;
    } else if (first === 0xfd) {
      value = this.readU16LE();
      if (value < 0xfd) {
        throw readerError(this, "non-canonical CompactSize", start);
      }
    } else if (first === 0xfe) {
      value = this.readU32LE();
      if (value < 0x10000) {
        throw readerError(this, "non-canonical CompactSize", start);
      }
    } else {
      const big = this.readU64LE();
      if (big < 0x100000000n) {
        throw readerError(this, "non-canonical CompactSize", start);
      }
      throw readerError(this, `CompactSize ${big} too large`, start);
    }
    if (value > max) {
      throw readerError(this, `CompactSize ${value} too large`, start);
    }
    return value;
  }

  /**
   * Reads a count of items and checks that the bytes left can hold that many
   * items of at least `minItemSize` bytes each, before anything is allocated.
   *
   * @param minItemSize Smallest serialized size of one item.
   * @returns The count.
   * @throws {DecodeError} When the count cannot fit in the bytes left.
   */
  readCount(minItemSize: number): number {
    const start = this.offset;
    const n = this.readCompactSize();
    if (n * minItemSize > this.bytes.length - this.offset) {
      throw readerError(
        this,
        `count ${n} needs at least ${n * minItemSize} bytes, only ${
          this.bytes.length - this.offset
        } left`,
        start,
      );
    }
    return n;
  }

  /**
   * Reads `n` bytes as a view (no copy).
   *
   * @param n Number of bytes.
   * @returns A `subarray` of the input.
   */
  readBytes(n: number): Uint8Array {
    const o = this.offset;
    if (o + n > this.bytes.length) this.need(n);
    this.offset = o + n;
    return this.bytes.subarray(o, o + n);
  }

  /**
   * Reads compactSize-prefixed bytes, as a view.
   *
   * @returns CompactSize-prefixed bytes, as a view.
   */
  readVarBytes(): Uint8Array {
    const start = this.offset;
    const n = this.readCompactSize();
    if (n > this.bytes.length - this.offset) {
      throw readerError(
        this,
        `length ${n} exceeds the ${this.bytes.length - this.offset} bytes left`,
        start,
      );
    }
    return this.readBytes(n);
  }

  /**
   * Reads a 32-byte hash as display-order (reversed) hex.
   *
   * @returns A 32-byte hash as display-order (reversed) hex.
   */
  readHashHex(): string {
    const o = this.offset;
    if (o + 32 > this.bytes.length) this.need(32);
    this.offset = o + 32;
    return reversedHexAt(this.bytes, o, 32);
  }
}

/**
 * Makes a {@linkcode DecodeError} for a reader, at its current offset or a
 * given one.
 *
 * @param r The reader.
 * @param detail What went wrong.
 * @param offset Byte offset to report (default: the reader's offset).
 * @returns The error, to throw.
 */
export function readerError(
  r: ByteReader,
  detail: string,
  offset: number = r.offset,
): DecodeError {
  return new DecodeError(
    `Cannot decode ${r.what}: ${detail} at byte ${offset}`,
    { offset },
  );
}

/**
 * A growable writer of Bitcoin-serialized data.
 *
 * @example
 * ```ts
 * import { ByteWriter, bytesToHex } from "@evrmore/rpc";
 *
 * const writer = new ByteWriter();
 * writer.writeCompactSize(300);
 * writer.writeU64LE(1n);
 * console.log(bytesToHex(writer.toBytes())); // "fd2c010100000000000000"
 * ```
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /**
   * Creates a writer.
   *
   * @param capacity Initial capacity in bytes.
   */
  constructor(capacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, capacity));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Number of bytes written. */
  get length(): number {
    return this.#len;
  }

  #reserve(n: number): number {
    const at = this.#len;
    const need = at + n;
    if (need > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#len = need;
    return at;
  }

  /**
   * Appends one byte.
   *
   * @param v Value 0..255.
   * @returns This writer.
   */
  writeU8(v: number): this {
    const at = this.#reserve(1);
    this.#buf[at] = v;
    return this;
  }

  /**
   * Appends an unsigned 16-bit little-endian integer.
   *
   * @param v The value.
   * @returns This writer.
   */
  writeU16LE(v: number): this {
    const at = this.#reserve(2);
    this.#view.setUint16(at, v, true);
    return this;
  }

  /**
   * Appends an unsigned 32-bit little-endian integer.
   *
   * @param v The value.
   * @returns This writer.
   */
  writeU32LE(v: number): this {
    const at = this.#reserve(4);
    this.#view.setUint32(at, v >>> 0, true);
    return this;
  }

  /**
   * Appends a signed 32-bit little-endian integer.
   *
   * @param v The value.
   * @returns This writer.
   */
  writeI32LE(v: number): this {
    const at = this.#reserve(4);
    this.#view.setInt32(at, v | 0, true);
    return this;
  }

  /**
   * Appends an unsigned 64-bit little-endian integer.
   *
   * @param v The value.
   * @returns This writer.
   */
  writeU64LE(v: bigint | number): this {
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
    return this;
  }

  /**
   * Appends a signed 64-bit little-endian integer.
   *
   * @param v The value.
   * @returns This writer.
   */
  writeI64LE(v: bigint | number): this {
    const at = this.#reserve(8);
    this.#view.setBigInt64(at, BigInt.asIntN(64, BigInt(v)), true);
    return this;
  }

  /**
   * Appends a CompactSize.
   *
   * @param v The value.
   * @returns This writer.
   */
  writeCompactSize(v: number | bigint): this {
    const n = Number(v);
    if (!(n >= 0) || !Number.isInteger(n)) {
      throw new RangeError(
        `Cannot write CompactSize ${v}: not a non-negative integer`,
      );
    }
    if (n < 0xfd) return this.writeU8(n);
    if (n <= 0xffff) return this.writeU8(0xfd).writeU16LE(n);
    if (n <= 0xffffffff) return this.writeU8(0xfe).writeU32LE(n);
    return this.writeU8(0xff).writeU64LE(BigInt(v));
  }

  /**
   * Appends bytes.
   *
   * @param bytes The bytes.
   * @returns This writer.
   */
  writeBytes(bytes: Uint8Array): this {
    const at = this.#reserve(bytes.length);
    this.#buf.set(bytes, at);
    return this;
  }

  /**
   * Appends CompactSize-prefixed bytes.
   *
   * @param bytes The bytes.
   * @returns This writer.
   */
  writeVarBytes(bytes: Uint8Array): this {
    return this.writeCompactSize(bytes.length).writeBytes(bytes);
  }

  /**
   * Appends a 32-byte hash given in display (reversed) hex.
   *
   * @param hex 64 hex digits, as the node prints hashes.
   * @returns This writer.
   */
  writeHashHex(hex: string): this {
    if (typeof hex !== "string" || hex.length !== 64) {
      throw new TypeError(
        `Cannot write hash ${JSON.stringify(hex)}: expected 64 hex digits`,
      );
    }
    return this.writeBytes(reversedHexToBytes(hex));
  }

  /**
   * Returns a copy of the bytes written.
   *
   * @returns A copy of the bytes written.
   */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
