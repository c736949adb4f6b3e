/**
 * Creating or updating the JetStream stream that holds the chain feed.
 *
 * @module
 */

import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { Network } from "../network.ts";
import { streamSubjects } from "./_subjects.ts";

/** Default stream name (`--nats-stream`). */
export const DEFAULT_STREAM = "EVRMORE";

/** Retention settings of the feed stream. */
export interface StreamRetentionOptions {
  /** Drop events older than this, ms (default 7 days; `0` keeps forever). */
  maxAgeMs?: number;
  /** Drop the oldest events past this many bytes (default `-1`: no limit). */
  maxBytes?: number;
  /** JetStream's de-duplication window, ms (default 10 minutes, at most `maxAgeMs`). */
  duplicateWindowMs?: number;
  /** `file` (default) or `memory`. */
  storage?: "file" | "memory";
  /** Replicas in a clustered JetStream (default 1). */
  replicas?: number;
}

const DAY_MS = 86_400_000;

/** Checks a stream name (JetStream forbids `.`, `*`, `>`, spaces, ...). */
export function checkStreamName(name: string): string {
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new TypeError(
      `Cannot use stream name ${
        JSON.stringify(name)
      }: use 1-64 of A-Z a-z 0-9 _ -`,
    );
  }
  return name;
}

function nonNegative(
  value: number | undefined,
  name: string,
  fallback: number,
) {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Cannot use ${name} ${value}: expected a number ≥ 0`);
  }
  return Math.floor(value);
}

/** The stream configuration wanted for `network` and the options. */
export function wantedStreamConfig(
  name: string,
  network: Network,
  options: StreamRetentionOptions,
): Partial<StreamConfig> & { name: string; subjects: string[] } {
  const maxAgeMs = nonNegative(options.maxAgeMs, "maxAgeMs", 7 * DAY_MS);
  const maxBytes = options.maxBytes === undefined || options.maxBytes === -1
    ? -1
    : nonNegative(options.maxBytes, "maxBytes", -1);
  let dupMs = nonNegative(
    options.duplicateWindowMs,
    "duplicateWindowMs",
    600_000,
  );
  if (dupMs === 0) dupMs = 1; // 0 would mean the server default of 2 min
  if (maxAgeMs > 0 && dupMs > maxAgeMs) dupMs = maxAgeMs;
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new RangeError(`Cannot use replicas ${replicas}: expected 1-5`);
  }
  return {
    name: checkStreamName(name),
    subjects: streamSubjects(network),
    max_age: maxAgeMs * 1_000_000,
    max_bytes: maxBytes,
    duplicate_window: dupMs * 1_000_000,
    storage: (options.storage ?? "file") as StreamConfig["storage"],
    num_replicas: replicas,
  };
}

/**
 * Creates the stream, or updates an existing one: adds our subjects to
 * its own (several networks may share one stream) and applies retention.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  wanted: ReturnType<typeof wantedStreamConfig>,
): Promise<void> {
  let existing: StreamConfig | undefined;
  try {
    existing = (await jsm.streams.info(wanted.name)).config;
  } catch (error) {
    if (
      !(error instanceof JetStreamApiError &&
        error.code === JetStreamApiCodes.StreamNotFound)
    ) throw error;
  }
  if (!existing) {
    try {
      await jsm.streams.add(wanted);
      return;
    } catch (error) {
      // Another ingest created it in between: fall through to update.
      existing = (await jsm.streams.info(wanted.name).catch(() => {
        throw error;
      })).config;
    }
  }
  const subjects = [...new Set([...existing.subjects, ...wanted.subjects])];
  const same = subjects.length === existing.subjects.length &&
    existing.max_age === wanted.max_age &&
    existing.max_bytes === wanted.max_bytes &&
    existing.duplicate_window === wanted.duplicate_window;
  if (same) return;
  await jsm.streams.update(wanted.name, {
    subjects,
    max_age: wanted.max_age!,
    max_bytes: wanted.max_bytes!,
    duplicate_window: wanted.duplicate_window!,
  });
}
