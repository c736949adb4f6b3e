/**
 * Checking and defaulting the options of `EvrmoreZMQClient`.
 *
 * @module
 */

import { type Network, parseNetwork } from "../network.ts";
import {
  type EvrmoreZMQClientOptions,
  ZMQ_TOPICS,
  type ZMQTopic,
} from "./types.ts";

const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 28332;
const DEFAULT_BUFFER_SIZE = 1024;
const DEFAULT_HANG_TIMEOUT = 10_000;

/** The options, checked, with defaults applied. */
export interface ResolvedOptions {
  address: string;
  topics: readonly ZMQTopic[];
  decode: boolean;
  network: Network;
  bufferSize: number;
  isolation: "subprocess" | "none";
  hangTimeout: number;
  subscriberCommand: readonly string[] | undefined;
}

/**
 * Checks the options and applies defaults.
 *
 * @throws {TypeError} On an unknown topic, network or isolation, or options
 * of the wrong type.
 * @throws {RangeError} On a port, buffer size or hang timeout out of range.
 */
export function resolveOptions(
  options: EvrmoreZMQClientOptions,
): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      "Cannot create ZMQ client: options must be an object",
    );
  }
  const address = resolveAddress(options);
  const topics = resolveTopics(options.topics);
  if (options.decode !== undefined && typeof options.decode !== "boolean") {
    throw new TypeError(
      "Cannot create ZMQ client: decode must be a boolean",
    );
  }
  const network = parseNetwork(options.network ?? "main");
  const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
    throw new RangeError(
      `Cannot create ZMQ client: bufferSize ${bufferSize} must be a positive integer`,
    );
  }
  const isolation = options.isolation ?? "subprocess";
  if (isolation !== "subprocess" && isolation !== "none") {
    throw new TypeError(
      `Cannot create ZMQ client: isolation ${
        JSON.stringify(isolation)
      } is not "subprocess" or "none"`,
    );
  }
  const hangTimeout = options.hangTimeout ?? DEFAULT_HANG_TIMEOUT;
  if (
    typeof hangTimeout !== "number" || !Number.isFinite(hangTimeout) ||
    hangTimeout < 40
  ) {
    throw new RangeError(
      `Cannot create ZMQ client: hangTimeout ${hangTimeout} must be a number >= 40`,
    );
  }
  const command = options.subscriberCommand;
  if (
    command !== undefined &&
    (!Array.isArray(command) || command.length === 0 ||
      !command.every((part) => typeof part === "string"))
  ) {
    throw new TypeError(
      "Cannot create ZMQ client: subscriberCommand must be a non-empty array of strings",
    );
  }
  return {
    address,
    topics,
    decode: options.decode ?? true,
    network,
    bufferSize,
    isolation,
    hangTimeout,
    subscriberCommand: command === undefined
      ? undefined
      : Object.freeze([...command]),
  };
}

function resolveAddress(options: EvrmoreZMQClientOptions): string {
  const { address, host, port } = options;
  if (address !== undefined) {
    if (host !== undefined || port !== undefined) {
      throw new TypeError(
        "Cannot create ZMQ client: give either address or host/port, not both",
      );
    }
    if (
      typeof address !== "string" || !/^[a-z][a-z0-9+.-]*:\/\/.+/i.test(address)
    ) {
      throw new TypeError(
        `Cannot create ZMQ client: address ${
          JSON.stringify(address)
        } is not an endpoint like "tcp://127.0.0.1:28332"`,
      );
    }
    return address;
  }
  if (host !== undefined && (typeof host !== "string" || host === "")) {
    throw new TypeError(
      "Cannot create ZMQ client: host must be a non-empty string",
    );
  }
  const portNumber = port ?? DEFAULT_PORT;
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    throw new RangeError(
      `Cannot create ZMQ client: port ${portNumber} is not from 1 to 65535`,
    );
  }
  const hostName = host ?? DEFAULT_HOST;
  const bracketed = hostName.includes(":") && !hostName.startsWith("[")
    ? `[${hostName}]`
    : hostName;
  return `tcp://${bracketed}:${portNumber}`;
}

function resolveTopics(
  topics: readonly ZMQTopic[] | undefined,
): readonly ZMQTopic[] {
  if (topics === undefined) return ZMQ_TOPICS;
  if (!Array.isArray(topics) || topics.length === 0) {
    throw new TypeError(
      "Cannot create ZMQ client: topics must be a non-empty array",
    );
  }
  const result: ZMQTopic[] = [];
  for (const topic of topics) {
    if (!(ZMQ_TOPICS as readonly unknown[]).includes(topic)) {
      throw new TypeError(
        `Cannot subscribe to ${JSON.stringify(topic)}: expected one of ${
          ZMQ_TOPICS.join(", ")
        }`,
      );
    }
    if (!result.includes(topic)) result.push(topic);
  }
  return Object.freeze(result);
}
