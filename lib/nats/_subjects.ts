/**
 * NATS subject names of the chain feed, and the reversible encoding of asset
 * names into one subject token. Pure: no I/O.
 *
 * Events go to `evrmore.<network>.block`, `.reorg`, `.transaction`,
 * `.mempool` and `.asset.<NAME>`; commands to `evrmore.<network>.command`
 * (which the stream must not capture, so the stream lists the five event
 * subjects rather than `evrmore.<network>.>`).
 *
 * @module
 */

import { type Network, NETWORKS } from "../network.ts";
import type { FeedEvent, FeedTopic } from "./_types.ts";

/** Characters an asset name token keeps as they are; the rest is `%XX`. */
const PLAIN = /^[A-Za-z0-9_-]$/;
const HEX = "0123456789ABCDEF";
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes an asset name as one NATS subject token: `A-Z a-z 0-9 _ -` stay,
 * every other byte of its UTF-8 form becomes `%XX` (upper-case hex), so
 * `.`, `*`, `>`, `/`, `#`, `$`, `!`, `~` and `%` itself never reach the
 * subject. Reversible with {@linkcode decodeAssetToken}.
 *
 * @throws {TypeError} On an empty name.
 */
export function encodeAssetToken(name: string): string {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError("Cannot encode asset name: empty");
  }
  let out = "";
  for (const ch of name) {
    if (PLAIN.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of encoder.encode(ch)) {
      out += "%" + HEX[byte >> 4] + HEX[byte & 15];
    }
  }
  return out;
}

/**
 * Decodes a token made by {@linkcode encodeAssetToken}; `undefined` when the
 * token is not one (bad escape, a character that should have been escaped,
 * invalid UTF-8, or a non-canonical escape).
 */
export function decodeAssetToken(token: string): string | undefined {
  if (token.length === 0) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const ch = token[i]!;
    if (ch === "%") {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      const byte = parseInt(hex, 16);
      // A plain character escaped is not canonical: reject, so that each
      // name has exactly one token.
      if (byte < 0x80 && PLAIN.test(String.fromCharCode(byte))) {
        return undefined;
      }
      bytes.push(byte);
      i += 2;
    } else if (PLAIN.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      return undefined;
    }
  }
  try {
    return decoder.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/** Checks a network name and returns the subject prefix `evrmore.<network>`. */
export function subjectPrefix(network: Network): string {
  if (typeof network !== "string" || !Object.hasOwn(NETWORKS, network)) {
    throw new TypeError(
      `Cannot use network ${JSON.stringify(network)}: expected one of ${
        Object.keys(NETWORKS).join(", ")
      }`,
    );
  }
  return `evrmore.${network}`;
}

/** The five event subjects a stream for `network` captures. */
export function streamSubjects(network: Network): string[] {
  const p = subjectPrefix(network);
  return [
    `${p}.block`,
    `${p}.reorg`,
    `${p}.transaction`,
    `${p}.mempool`,
    `${p}.asset.>`,
  ];
}

/** The request/reply subject of node commands. */
export function commandSubject(network: Network): string {
  return `${subjectPrefix(network)}.command`;
}

/**
 * The subject an event is published on.
 *
 * @throws {TypeError} On an unknown topic, or an `assets` event without
 *   `match.asset`.
 */
export function subjectForEvent(network: Network, event: FeedEvent): string {
  const p = subjectPrefix(network);
  switch (event.topic) {
    case "blocks":
      return event.message.type === "reorg" ? `${p}.reorg` : `${p}.block`;
    case "transactions":
      return `${p}.transaction`;
    case "mempool":
      return `${p}.mempool`;
    case "assets": {
      const asset = event.match?.asset;
      if (typeof asset !== "string" || asset.length === 0) {
        throw new TypeError(
          `Cannot publish event ${event.id}: an assets event needs match.asset`,
        );
      }
      return `${p}.asset.${encodeAssetToken(asset)}`;
    }
    default:
      throw new TypeError(
        `Cannot publish event ${
          String((event as FeedEvent).id)
        }: unknown topic ${JSON.stringify((event as FeedEvent).topic)}`,
      );
  }
}

/** What a subject says about the event on it. */
export interface SubjectInfo {
  /** The topic the event is pushed on. */
  topic: FeedTopic;
  /** The asset name, on `.asset.<NAME>` subjects. */
  asset?: string;
}

/** Reads a subject back; `undefined` when it is not an event subject. */
export function parseEventSubject(
  network: Network,
  subject: string,
): SubjectInfo | undefined {
  const p = subjectPrefix(network) + ".";
  if (!subject.startsWith(p)) return undefined;
  const rest = subject.slice(p.length);
  switch (rest) {
    case "block":
    case "reorg":
      return { topic: "blocks" };
    case "transaction":
      return { topic: "transactions" };
    case "mempool":
      return { topic: "mempool" };
  }
  if (rest.startsWith("asset.")) {
    const asset = decodeAssetToken(rest.slice("asset.".length));
    return asset === undefined ? undefined : { topic: "assets", asset };
  }
  return undefined;
}

/** The subjects that carry the events of `topics`. */
export function subjectsForTopics(
  network: Network,
  topics: readonly FeedTopic[],
): string[] {
  const p = subjectPrefix(network);
  const out: string[] = [];
  for (const topic of new Set(topics)) {
    switch (topic) {
      case "blocks":
        out.push(`${p}.block`, `${p}.reorg`);
        break;
      case "transactions":
        out.push(`${p}.transaction`);
        break;
      case "mempool":
        out.push(`${p}.mempool`);
        break;
      case "assets":
        out.push(`${p}.asset.>`);
        break;
      default:
        throw new TypeError(
          `Cannot filter on topic ${JSON.stringify(topic)}: unknown topic`,
        );
    }
  }
  return out;
}
