/**
 * What travels over NATS: one zod schema per message, and pure functions to
 * build and parse them.
 *
 * @module
 */

import { z } from "zod";

/** Stored event payload: `{message, match}` (topic, id and cursor come from subject, header and sequence). */
export const FeedPayloadSchema = z.object({
  message: z.looseObject({ type: z.string(), data: z.unknown() }),
  match: z.object({
    asset: z.string().optional(),
    addresses: z.array(z.string()).readonly().optional(),
  }).optional(),
});

/** A command request: `{method, params}`. */
export const CommandRequestSchema = z.object({
  method: z.string().min(1).max(100),
  params: z.array(z.unknown()).default([]),
});

/** A command reply: `{result}` or `{error:{code,message}}`. */
export const CommandReplySchema = z.union([
  z.object({
    error: z.object({
      code: z.union([z.number(), z.string()]),
      message: z.string(),
    }),
  }),
  z.object({ result: z.unknown() }),
]);

/** A parsed command request. */
export interface CommandRequestWire {
  /** RPC method. */
  method: string;
  /** Positional parameters. */
  params: unknown[];
}

/** A parsed command reply. */
export type CommandReplyWire =
  | { error: { code: number | string; message: string } }
  | { result: unknown };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON text → bytes. */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Bytes → JSON value, or `undefined` when not JSON. */
export function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}
