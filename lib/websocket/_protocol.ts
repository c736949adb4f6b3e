/**
 * The WebSocket wire protocol: building and parsing messages, topics and
 * tokens (the schemas are in `_schemas.ts`, the events' data in
 * `_event_data.ts`).
 *
 * No I/O here.
 *
 * @module
 */

import type {
  ErrorData,
  ErrorMessage,
  PongMessage,
  SubscriptionData,
  SubscriptionMessage,
  WebSocketErrorCode,
  WebSocketFeature,
  WebSocketFilter,
  WebSocketMessageId,
  WebSocketServerMessage,
  WebSocketTopic,
  WelcomeMessage,
} from "./types.ts";
import { WEBSOCKET_TOPICS } from "./types.ts";
import {
  CommandRequestSchema,
  MessageIdSchema,
  ServerMessageSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "./_schemas.ts";
import denoJson from "../../deno.json" with { type: "json" };

// ---------------------------------------------------------------------------
// Tokens (shared by the client and the server's access control)

/** The subprotocol the server echoes when a client offers it. */
export const WEBSOCKET_PROTOCOL = "evrmore";
/** Prefix of the subprotocol that carries a token: `evrmore.token.<token>`. */
export const TOKEN_PROTOCOL_PREFIX = "evrmore.token.";

/** RFC 7230 `token` characters: what a subprotocol (and so a browser token) may hold. */
const TOKEN_CHARS = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const MAX_TOKEN_LENGTH = 1024;

/**
 * Checks that a token can travel as a WebSocket subprotocol (what browsers
 * can send): 1 to 1024 characters from `A-Z a-z 0-9 !#$%&'*+-.^_`|~`.
 *
 * @returns The error text, or `undefined` when the token is valid.
 */
export function tokenProblem(token: unknown): string | undefined {
  if (typeof token !== "string") return "must be a string";
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    return `must be 1 to ${MAX_TOKEN_LENGTH} characters long`;
  }
  if (!TOKEN_CHARS.test(token)) {
    return "may only hold letters, digits and !#$%&'*+-.^_`|~ (it travels as a WebSocket subprotocol)";
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Topics

/** The standard topics, in documentation order. */
export const TOPICS: readonly WebSocketTopic[] = WEBSOCKET_TOPICS;

/** The topic that stands for every standard topic (the 1.2.1 server's). */
export const ALL_TOPIC = "all";

const TOPIC_ALIASES: Readonly<Record<string, WebSocketTopic>> = Object.freeze({
  blocks: "blocks",
  block: "blocks",
  transactions: "transactions",
  transaction: "transactions",
  assets: "assets",
  asset: "assets",
  mempool: "mempool",
  mempools: "mempool",
});

/**
 * The canonical topic for a name or its singular alias, `undefined` for an
 * unknown topic.
 */
export function normalizeTopic(topic: string): WebSocketTopic | undefined {
  return Object.hasOwn(TOPIC_ALIASES, topic) ? TOPIC_ALIASES[topic] : undefined;
}

/**
 * Builds an error message: the error in `data` (what every reader of the
 * design document's `{type, data}` model gets), repeated at the top level;
 * the id only when there is one.
 */
export function errorMessage(
  code: WebSocketErrorCode | number,
  message: string,
  extra: { id?: WebSocketMessageId | undefined; command?: string | undefined } =
    {},
): ErrorMessage {
  const data: ErrorData = { code, message };
  const out: ErrorMessage = { type: "error", data, message, code };
  if (extra.command !== undefined) {
    data.command = extra.command;
    out.command = extra.command;
  }
  if (extra.id !== undefined) out.id = extra.id;
  return out;
}

/**
 * Builds the answer to a subscribe or unsubscribe request: the answer in
 * `data`, repeated at the top level; the id only when there is one.
 */
export function subscriptionMessage(
  action: "subscribe" | "unsubscribe",
  topic: string,
  extra: {
    id?: WebSocketMessageId | undefined;
    filter?: WebSocketFilter | undefined;
  } = {},
): SubscriptionMessage {
  const data: SubscriptionData = { status: "success", topic, action };
  const out: SubscriptionMessage = {
    type: "subscription",
    data,
    status: "success",
    topic,
    action,
  };
  if (extra.filter !== undefined) {
    data.filter = extra.filter;
    out.filter = extra.filter;
  }
  if (extra.id !== undefined) out.id = extra.id;
  return out;
}

/**
 * Builds the answer to a ping: `{"type":"pong","data":{}}`, with the id
 * when there is one (`time`, the server's clock, only when given).
 */
export function pongMessage(
  id?: WebSocketMessageId,
  time?: number,
): PongMessage {
  const out: PongMessage = {
    type: "pong",
    data: time === undefined ? {} : { time },
  };
  if (id !== undefined) out.id = id;
  return out;
}

/** The protocol revision announced in `welcome` (raised when messages change). */
export const PROTOCOL_REVISION = 1;

/** This package's name and version, as announced in `welcome`. */
export const SERVER_NAME = "@evrmore/rpc";
/** The package version announced in `welcome`. */
export const SERVER_VERSION: string = denoJson.version;

/** The extensions `EvrmoreWebSocketServer` speaks, as announced in `welcome`. */
export const SERVER_FEATURES: readonly WebSocketFeature[] = Object.freeze([
  "acks",
  "ping",
  "commands",
  "since",
  "filters",
  "all",
  "ids",
  "cursors",
]);

/** Builds the `welcome` message a server sends first on every connection. */
export function welcomeMessage(
  features: readonly string[] = SERVER_FEATURES,
): WelcomeMessage {
  return {
    type: "welcome",
    data: {
      protocol: PROTOCOL_REVISION,
      server: SERVER_NAME,
      version: SERVER_VERSION,
      features: [...features],
    },
  };
}

// ---------------------------------------------------------------------------
// Parsing client messages (server side)

/** A client message that passed validation, with its canonical topic. */
export type ParsedClientMessage =
  | {
    kind: "subscribe";
    /** A standard topic, or `"all"` (every standard topic). */
    topic: WebSocketTopic | typeof ALL_TOPIC;
    /** `blocks` only: replay the blocks after this height or (lowercase) hash. */
    since?: number | string;
    /** `assets` and `transactions` only: deliver only the matching events. */
    filter?: WebSocketFilter;
    id?: WebSocketMessageId;
  }
  | {
    kind: "unsubscribe";
    /** A standard topic, or `"all"` (every standard topic). */
    topic: WebSocketTopic | typeof ALL_TOPIC;
    /** Remove only this filter (else the whole topic). */
    filter?: WebSocketFilter;
    id?: WebSocketMessageId;
  }
  | { kind: "ping"; id?: WebSocketMessageId }
  | {
    kind: "command";
    command: string;
    params: unknown[];
    id?: WebSocketMessageId;
  };

/** A client message that failed validation, with the error to answer. */
export interface ClientMessageFailure {
  /** Marks a failure. */
  kind: "error";
  /** The error message to send back. */
  error: ErrorMessage;
}

/** Longest accepted command name. */
const MAX_COMMAND_LENGTH = 64;
const COMMAND_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Parses and validates one client text message.
 *
 * Any well-formed id is kept so that error answers echo it too.
 */
export function parseClientMessage(
  text: string,
): ParsedClientMessage | ClientMessageFailure {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail("invalid_json", "Cannot parse message: invalid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(
      "invalid_message",
      "Cannot handle message: expected a JSON object",
    );
  }
  const object = value as Record<string, unknown>;
  let messageId: WebSocketMessageId | undefined;
  if (object.id !== undefined) {
    const parsedId = MessageIdSchema.safeParse(object.id);
    if (!parsedId.success) {
      return fail(
        "invalid_message",
        "Cannot handle message: id must be a string (at most 128 characters) or a number",
      );
    }
    messageId = parsedId.data;
  }
  const withId = <T extends object>(m: T): T & { id?: WebSocketMessageId } =>
    messageId === undefined ? m : { ...m, id: messageId };

  if ("action" in object) {
    const action = object.action;
    if (action === "ping") return withId({ kind: "ping" as const });
    if (action === "subscribe" || action === "unsubscribe") {
      const schema = action === "subscribe"
        ? SubscribeRequestSchema
        : UnsubscribeRequestSchema;
      const parsed = schema.safeParse(object);
      if (!parsed.success) {
        const bad = parsed.error.issues[0]?.path[0];
        return fail(
          "invalid_message",
          bad === "since"
            ? `Cannot ${action}: "since" must be an event's cursor, or on blocks a block height (an integer >= 0) or a block hash (64 hex digits)`
            : bad === "filter"
            ? `Cannot ${action}: "filter" must be {"asset":NAME} (A-Z 0-9 . _ and the node's prefixes and suffixes, at most 32 characters) or {"address":ADDRESS} (base58, 26 to 35 characters)`
            : `Cannot ${action}: "topic" must be a string`,
          messageId,
        );
      }
      if (parsed.data.topic === ALL_TOPIC) {
        if (parsed.data.filter !== undefined || "since" in parsed.data) {
          return fail(
            "invalid_message",
            `Cannot ${action}: the all topic takes no "filter" or "since" (subscribe to the topic itself)`,
            messageId,
          );
        }
        return withId({ kind: action, topic: ALL_TOPIC });
      }
      const topic = normalizeTopic(parsed.data.topic);
      if (topic === undefined) {
        return fail(
          "unknown_topic",
          `Cannot ${action}: unknown topic ${
            JSON.stringify(parsed.data.topic.slice(0, 64))
          } (topics: ${TOPICS.join(", ")}, ${ALL_TOPIC})`,
          messageId,
        );
      }
      const filter = parsed.data.filter;
      const since = "since" in parsed.data ? parsed.data.since : undefined;
      const isCursor = typeof since === "string" &&
        !/^[0-9a-fA-F]{64}$/.test(since);
      if (filter !== undefined) {
        if (topic !== "assets" && topic !== "transactions") {
          return fail(
            "invalid_message",
            `Cannot ${action}: "filter" is only supported on the assets and transactions topics`,
            messageId,
          );
        }
        if (topic === "transactions" && "asset" in filter) {
          return fail(
            "invalid_message",
            `Cannot ${action}: the transactions topic is filtered by address only`,
            messageId,
          );
        }
        if (since !== undefined) {
          if (!isCursor) {
            return fail(
              "invalid_message",
              `Cannot ${action}: with a "filter", "since" must be an event's cursor`,
              messageId,
            );
          }
          return withId({ kind: "subscribe" as const, topic, filter, since });
        }
        return withId({ kind: action, topic, filter });
      }
      if (since !== undefined) {
        if (topic !== "blocks" && !isCursor) {
          return fail(
            "invalid_message",
            `Cannot ${action}: on the ${topic} topic, "since" must be an event's cursor (block heights and hashes are for blocks)`,
            messageId,
          );
        }
        return withId({
          kind: "subscribe" as const,
          topic,
          since: typeof since === "string" && !isCursor
            ? since.toLowerCase()
            : since,
        });
      }
      return withId({ kind: action, topic });
    }
    const shown = typeof action === "string"
      ? JSON.stringify(action.slice(0, 64))
      : typeof action;
    return fail(
      "unknown_action",
      `Cannot handle action ${shown}: expected subscribe, unsubscribe or ping`,
      messageId,
    );
  }

  if ("command" in object) {
    const command = object.command;
    if (
      typeof command !== "string" || command.length > MAX_COMMAND_LENGTH ||
      !COMMAND_PATTERN.test(command)
    ) {
      return fail(
        "invalid_message",
        'Cannot run command: "command" must be a command name',
        messageId,
      );
    }
    const parsed = CommandRequestSchema.safeParse(object);
    if (!parsed.success) {
      return {
        kind: "error",
        error: errorMessage(
          "invalid_params",
          `Cannot run ${command}: "params" must be an array`,
          { id: messageId, command },
        ),
      };
    }
    return withId({
      kind: "command" as const,
      command,
      params: parsed.data.params ?? [],
    });
  }

  return fail(
    "invalid_message",
    'Cannot handle message: expected an "action" or a "command"',
    messageId,
  );
}

function fail(
  code: WebSocketErrorCode,
  message: string,
  messageId?: WebSocketMessageId,
): ClientMessageFailure {
  return {
    kind: "error",
    error: errorMessage(code, message, { id: messageId }),
  };
}

// ---------------------------------------------------------------------------
// Parsing server messages (client side)

/** Result of {@linkcode parseServerMessage}. */
export type ParsedServerMessage =
  | { kind: "known"; message: WebSocketServerMessage }
  | { kind: "unknown"; message: { type: string; [key: string]: unknown } }
  | { kind: "invalid"; reason: string };

const KNOWN_TYPES = new Set([
  "block",
  "reorg",
  "transaction",
  "asset",
  "mempool",
  "subscription",
  "result",
  "error",
  "pong",
  "welcome",
]);

/**
 * Parses one server text message. Known types are validated against their
 * schema and returned unchanged (extra fields kept); other types are
 * returned as they are.
 *
 * Answers of other servers are read in both shapes: a `subscription`,
 * `error` or `pong` without `data` (older servers, the design document's
 * custom server) gets its `data` from the top-level fields, and one with
 * only `data` gets the top-level fields from it, so readers see one shape.
 */
export function parseServerMessage(text: string): ParsedServerMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "invalid", reason: "invalid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { kind: "invalid", reason: "not a JSON object" };
  }
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== "string") {
    return { kind: "invalid", reason: 'no string "type"' };
  }
  if (!KNOWN_TYPES.has(type)) {
    return {
      kind: "unknown",
      message: value as { type: string; [key: string]: unknown },
    };
  }
  const message = bothShapes(type, value as Record<string, unknown>);
  const parsed = ServerMessageSchema.safeParse(message);
  if (!parsed.success) {
    return {
      kind: "invalid",
      reason: `malformed ${type} message: ${
        parsed.error.issues[0]?.path.join(".") ?? ""
      } ${parsed.error.issues[0]?.message ?? ""}`.trim(),
    };
  }
  return {
    kind: "known",
    message: message as unknown as WebSocketServerMessage,
  };
}

const ANSWER_FIELDS: Readonly<Record<string, readonly string[]>> = {
  subscription: ["status", "topic", "action", "filter"],
  error: ["code", "message", "command"],
  pong: [],
};

/** Fills `data` from the top-level fields of an answer, and back. */
function bothShapes(
  type: string,
  value: Record<string, unknown>,
): Record<string, unknown> {
  const fields = ANSWER_FIELDS[type];
  if (fields === undefined) return value;
  const given = value.data;
  const data: Record<string, unknown> =
    typeof given === "object" && given !== null && !Array.isArray(given)
      ? { ...given as Record<string, unknown> }
      : {};
  const out: Record<string, unknown> = { ...value };
  for (const field of fields) {
    if (data[field] === undefined && out[field] !== undefined) {
      data[field] = out[field];
    } else if (out[field] === undefined && data[field] !== undefined) {
      out[field] = data[field];
    }
  }
  if (type === "subscription" && data.action === undefined) {
    data.action = "subscribe";
  }
  out.data = data;
  return out;
}

// ---------------------------------------------------------------------------
// Error sanitizing

const URL_PATTERN = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]*/gi;

/**
 * The node's own text from an RPC error message: drops the client's
 * `Cannot call <method>: ` prefix and hides anything that looks like a URL
 * (which may carry credentials).
 */
export function sanitizeNodeMessage(message: string, method: string): string {
  let text = message;
  const prefix = `Cannot call ${method}: `;
  if (text.startsWith(prefix)) text = text.slice(prefix.length);
  text = text.replace(URL_PATTERN, "[url]");
  return text.length > 1000 ? `${text.slice(0, 1000)}...` : text;
}

/** The message of any thrown value. */
export function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Validates a seconds option of the server or client, named like
 * `"server.pingInterval"`: `undefined` gives the default, `null` gives 0
 * (off).
 *
 * @throws {RangeError} For anything but a finite number >= 0 or null.
 */
export function secondsOption(
  option: `${"server" | "client"}.${string}`,
  value: number | null | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (value === null) return 0;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    const dot = option.indexOf(".");
    throw new RangeError(
      `Cannot create ${option.slice(0, dot)}: ${
        option.slice(dot + 1)
      } must be a number of seconds >= 0 or null`,
    );
  }
  return value;
}
