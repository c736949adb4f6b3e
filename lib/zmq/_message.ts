/**
 * Pure parsing of the node's ZMQ messages: frames → notification.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { DecodeError } from "../errors.ts";
import type { Network } from "../network.ts";
import type { ZMQAssetMessage, ZMQNotification, ZMQTopic } from "./types.ts";
import { ZMQ_TOPICS } from "./types.ts";
import { decodeBlockBody, decodeTransactionBody } from "./_decode.ts";

/** The three frames of a message, checked. */
export interface ZMQFrames {
  /** The topic. */
  topic: ZMQTopic;
  /** The body. */
  body: Uint8Array;
  /** The sequence number (LE uint32). */
  sequence: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Bytes to lowercase hex (native speed, no copy). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString("hex");
}

function isTopic(value: string): value is ZMQTopic {
  return (ZMQ_TOPICS as readonly string[]).includes(value);
}

function preview(bytes: Uint8Array): string {
  try {
    return JSON.stringify(utf8.decode(bytes.subarray(0, 40)));
  } catch {
    return `0x${toHex(bytes.subarray(0, 20))}`;
  }
}

/**
 * Checks the frames of one message: 3 frames, a known topic, a 4-byte
 * sequence.
 *
 * @throws {DecodeError} When the message is malformed.
 */
export function parseFrames(frames: readonly Uint8Array[]): ZMQFrames {
  if (frames.length !== 3) {
    throw new DecodeError(
      `Cannot read ZMQ message: expected 3 frames (topic, body, sequence), got ${frames.length}`,
    );
  }
  const [topicFrame, bodyFrame, sequenceFrame] = frames as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  let topic: string;
  try {
    topic = utf8.decode(topicFrame);
  } catch (cause) {
    throw new DecodeError(
      `Cannot read ZMQ message: topic ${preview(topicFrame)} is not UTF-8`,
      { cause },
    );
  }
  if (!isTopic(topic)) {
    throw new DecodeError(
      `Cannot read ZMQ message: unknown topic ${
        JSON.stringify(topic.slice(0, 40))
      }`,
    );
  }
  if (sequenceFrame.length !== 4) {
    throw new DecodeError(
      `Cannot read ZMQ ${topic} message: sequence frame has ${sequenceFrame.length} bytes, expected 4`,
    );
  }
  const sequence = new DataView(
    sequenceFrame.buffer,
    sequenceFrame.byteOffset,
    4,
  ).getUint32(0, true);
  const body = Object.getPrototypeOf(bodyFrame) === Uint8Array.prototype
    ? bodyFrame
    : new Uint8Array(
      bodyFrame.buffer,
      bodyFrame.byteOffset,
      bodyFrame.byteLength,
    );
  return { topic, body, sequence };
}

/** Options of {@linkcode buildNotification}. */
export interface BuildOptions {
  /** Decode raw bodies. */
  decode: boolean;
  /** The network for decoding. */
  network: Network;
  /** Receive time (ms since the epoch). */
  receivedAt: number;
  /** The hex of the body, when the caller has it already. */
  hex?: string;
}

/**
 * Makes the notification for checked frames, decoding the body. A body that
 * cannot be decoded gives a notification without the decoded field and with
 * `error` set.
 */
export function buildNotification(
  frames: ZMQFrames,
  options: BuildOptions,
): ZMQNotification {
  const { topic, body, sequence } = frames;
  const notification: ZMQNotification = {
    topic,
    body,
    hex: options.hex ?? toHex(body),
    sequence,
    receivedAt: options.receivedAt,
  };
  try {
    switch (topic) {
      case "hashblock":
      case "hashtx":
        if (body.length !== 32) {
          throw new DecodeError(
            `Cannot decode ${topic} #${sequence}: body has ${body.length} bytes, expected 32`,
          );
        }
        break;
      case "rawtx":
        if (options.decode) {
          notification.transaction = decodeTransactionBody(
            body,
            options.network,
            sequence,
          );
        }
        break;
      case "rawblock":
        if (options.decode) {
          notification.block = decodeBlockBody(body, options.network, sequence);
        }
        break;
      case "rawmessage":
        notification.message = parseAssetMessage(body, sequence);
        break;
    }
  } catch (cause) {
    notification.error = cause instanceof DecodeError ? cause : new DecodeError(
      `Cannot decode ${topic} #${sequence}: ${errorMessage(cause)}`,
      { cause },
    );
  }
  return notification;
}

/**
 * Parses a `rawmessage` body: JSON text of an object with `blockheight`,
 * `assetname`, `ipfshash` and `expiretime`.
 *
 * @throws {DecodeError} When the body is not such JSON.
 */
export function parseAssetMessage(
  body: Uint8Array,
  sequence: number,
): ZMQAssetMessage {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch (cause) {
    throw new DecodeError(
      `Cannot decode rawmessage #${sequence}: body is not JSON text (${
        errorMessage(cause)
      })`,
      { cause },
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DecodeError(
      `Cannot decode rawmessage #${sequence}: expected a JSON object, got ${
        preview(body)
      }`,
    );
  }
  const record = value as Record<string, unknown>;
  const checks: [string, boolean][] = [
    ["blockheight is not a number", typeof record.blockheight === "number"],
    ["assetname is not a string", typeof record.assetname === "string"],
    ["ipfshash is not a string", typeof record.ipfshash === "string"],
    ["expiretime is not a number", typeof record.expiretime === "number"],
  ];
  for (const [problem, ok] of checks) {
    if (!ok) {
      throw new DecodeError(
        `Cannot decode rawmessage #${sequence}: ${problem}`,
      );
    }
  }
  return record as ZMQAssetMessage;
}

/** The message of any thrown value. */
export function errorMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
