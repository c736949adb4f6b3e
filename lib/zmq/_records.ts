/**
 * The byte stream from the subscriber process to the client: length-prefixed
 * records, each a ZMQ message (its frames) or a control message (JSON).
 *
 * ```text
 * record  := u32le bodyLength, u8 kind, body
 * kind 1  := message: (u32le frameLength, frame)*
 * kind 2  := control: UTF-8 JSON object with a string "type"
 * ```
 *
 * Pure: no I/O.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";

/** Record kind of a ZMQ message. */
export const RECORD_MESSAGE = 1;
/** Record kind of a control message. */
export const RECORD_CONTROL = 2;
/** Largest record body accepted (256 MiB; a block is at most a few MB). */
export const MAX_RECORD = 256 * 1024 * 1024;

/** A control message of the subscriber process. */
export type ControlMessage =
  | { type: "ready"; pid: number }
  | { type: "connect"; address: string }
  | { type: "disconnect"; address: string }
  | { type: "heartbeat" }
  | { type: "error"; message: string }
  | { type: "fatal"; message: string; code?: string };

/** One decoded record. */
export type DecodedRecord =
  | { kind: "message"; frames: Uint8Array[] }
  | { kind: "control"; control: ControlMessage };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The size of the record {@linkcode writeMessage} writes for `frames`. */
export function messageRecordSize(frames: readonly Uint8Array[]): number {
  let size = 5;
  for (const frame of frames) size += 4 + frame.length;
  return size;
}

/**
 * Writes the message record of `frames` into `target` at `offset`.
 *
 * @returns The offset after the record.
 */
export function writeMessage(
  frames: readonly Uint8Array[],
  target: Uint8Array,
  offset: number,
): number {
  const view = new DataView(target.buffer, target.byteOffset);
  const size = messageRecordSize(frames);
  view.setUint32(offset, size - 5, true);
  target[offset + 4] = RECORD_MESSAGE;
  let at = offset + 5;
  for (const frame of frames) {
    view.setUint32(at, frame.length, true);
    target.set(frame, at + 4);
    at += 4 + frame.length;
  }
  return at;
}

/** The message record of `frames`. */
export function encodeMessage(frames: readonly Uint8Array[]): Uint8Array {
  const record = new Uint8Array(messageRecordSize(frames));
  writeMessage(frames, record, 0);
  return record;
}

/** The control record of `control`. */
export function encodeControl(control: ControlMessage): Uint8Array {
  const body = encoder.encode(JSON.stringify(control));
  const record = new Uint8Array(5 + body.length);
  new DataView(record.buffer).setUint32(0, body.length, true);
  record[4] = RECORD_CONTROL;
  record.set(body, 5);
  return record;
}

/**
 * Splits a byte stream into records, whatever the chunk boundaries.
 * Frames of a decoded message are copies: they stay valid.
 */
export class RecordReader {
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /** Bytes received but not yet part of a whole record. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /**
   * Adds a chunk and returns the records it completes.
   *
   * @throws {DecodeError} On a malformed record (the stream is then unusable).
   */
  push(chunk: Uint8Array): DecodedRecord[] {
    this.#append(chunk);
    const records: DecodedRecord[] = [];
    const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset);
    while (this.#end - this.#start >= 5) {
      const length = view.getUint32(this.#start, true);
      if (length > MAX_RECORD) {
        throw new DecodeError(
          `Cannot read subscriber record: ${length} bytes is over the limit`,
        );
      }
      if (this.#end - this.#start < 5 + length) break;
      const kind = this.#buffer[this.#start + 4];
      const bodyStart = this.#start + 5;
      const bodyEnd = bodyStart + length;
      this.#start = bodyEnd;
      if (kind === RECORD_MESSAGE) {
        records.push({
          kind: "message",
          frames: splitFrames(this.#buffer, view, bodyStart, bodyEnd),
        });
      } else if (kind === RECORD_CONTROL) {
        records.push({
          kind: "control",
          control: parseControl(this.#buffer.subarray(bodyStart, bodyEnd)),
        });
      } else {
        throw new DecodeError(
          `Cannot read subscriber record: unknown kind ${kind}`,
        );
      }
    }
    return records;
  }

  #append(chunk: Uint8Array): void {
    const pending = this.#end - this.#start;
    if (pending === 0) {
      this.#start = 0;
      this.#end = 0;
    }
    if (this.#end + chunk.length <= this.#buffer.length) {
      this.#buffer.set(chunk, this.#end);
      this.#end += chunk.length;
      return;
    }
    if (pending + chunk.length <= this.#buffer.length) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      const next = new Uint8Array(
        Math.max(65_536, (pending + chunk.length) * 2),
      );
      next.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = next;
    }
    this.#buffer.set(chunk, pending);
    this.#start = 0;
    this.#end = pending + chunk.length;
  }
}

function splitFrames(
  buffer: Uint8Array,
  view: DataView,
  start: number,
  end: number,
): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let at = start;
  while (at < end) {
    if (end - at < 4) {
      throw new DecodeError("Cannot read subscriber record: truncated frame");
    }
    const length = view.getUint32(at, true);
    if (end - at - 4 < length) {
      throw new DecodeError("Cannot read subscriber record: truncated frame");
    }
    frames.push(buffer.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return frames;
}

function parseControl(body: Uint8Array): ControlMessage {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch (cause) {
    throw new DecodeError(
      "Cannot read subscriber record: control body is not JSON",
      { cause },
    );
  }
  if (
    typeof value !== "object" || value === null ||
    typeof (value as { type?: unknown }).type !== "string"
  ) {
    throw new DecodeError(
      "Cannot read subscriber record: control body has no type",
    );
  }
  return value as ControlMessage;
}
