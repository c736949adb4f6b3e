/**
 * The options and the public types of `EvrmoreWebSocketClient`, and its
 * request error.
 *
 * Uses only Web APIs, so it runs in browsers too.
 *
 * @module
 */

import { EvrmoreError, type EvrmoreErrorOptions } from "../errors.ts";
import type { WebSocketFilter } from "./types.ts";

/** The options {@linkcode EvrmoreWebSocketClient} reads (unknown ones throw). */
export const CLIENT_OPTION_KEYS: readonly string[] = [
  "uri",
  "pingInterval",
  "pingTimeout",
  "reconnect",
  "reconnectDelay",
  "maxReconnectDelay",
  "maxReconnectAttempts",
  "requestTimeout",
  "maxQueueSize",
  "onError",
  "welcomeTimeout",
  "token",
];

/**
 * Options of {@linkcode EvrmoreWebSocketClient}.
 *
 * @example
 * ```ts
 * import type { EvrmoreWebSocketClientOptions } from "@evrmore/rpc";
 *
 * const options: EvrmoreWebSocketClientOptions = {
 *   uri: "ws://example.com:8765",
 *   pingInterval: 30,
 *   pingTimeout: 10,
 *   maxReconnectAttempts: 10,
 *   token: "change-me-to-a-long-random-token",
 * };
 * console.log(options.uri);
 * ```
 */
export interface EvrmoreWebSocketClientOptions {
  /** The server's URI (default `"ws://localhost:8765"`). */
  uri?: string;
  /**
   * Seconds between the client's `{"action":"ping"}` messages (default 20);
   * `0` or `null` turns the client heartbeat off.
   */
  pingInterval?: number | null;
  /**
   * Seconds to wait for any message after a ping (default 20); when none
   * comes the connection counts as dropped (and is reconnected). `0` or
   * `null` never gives up.
   */
  pingTimeout?: number | null;
  /** Reconnect when the connection drops (default `true`). */
  reconnect?: boolean;
  /** First reconnection delay in ms (default 500); doubles per failed attempt, with jitter. */
  reconnectDelay?: number;
  /** Longest reconnection delay in ms (default 30000). */
  maxReconnectDelay?: number;
  /** Attempts before giving up (default `Infinity`). */
  maxReconnectAttempts?: number;
  /** How long `subscribe`, `unsubscribe` and `command` wait for the answer, in ms (default 30000). */
  requestTimeout?: number;
  /**
   * Messages kept for `receive()` (default 1000); when full the oldest is
   * dropped and counted in `droppedMessages`.
   */
  maxQueueSize?: number;
  /** Receives errors that reach no caller (malformed messages, failing handlers). Default: ignored. */
  onError?: (error: Error) => void;
  /**
   * How long, in ms, to wait for the server's `welcome` (default 1000).
   * Servers that speak only the design document send none and do not answer
   * `subscribe`; see {@linkcode EvrmoreWebSocketClient} for how the client
   * tells them apart.
   */
  welcomeTimeout?: number;
  /**
   * The server's `authToken`, when it has one. Sent the way browsers can:
   * as the WebSocket subprotocol `evrmore.token.<token>` (next to
   * `evrmore`, which the server echoes), so it never appears in the URI.
   * 1 to 1024 characters from ``A-Z a-z 0-9 !#$%&'*+-.^_`|~``.
   */
  token?: string;
}

/**
 * Options of {@linkcode EvrmoreWebSocketClient.command} and friends.
 *
 * @example
 * ```ts
 * import type { WebSocketRequestOptions } from "@evrmore/rpc";
 *
 * const options: WebSocketRequestOptions = { timeout: 5000 };
 * console.log(options.timeout); // 5000
 * ```
 */
export interface WebSocketRequestOptions {
  /** Stops waiting for the answer. */
  signal?: AbortSignal;
  /** How long to wait for the answer, in ms (default: the client's `requestTimeout`). */
  timeout?: number;
}

/**
 * Options of {@linkcode EvrmoreWebSocketClient.subscribe}.
 *
 * @example Resume the blocks after the last one seen
 * ```ts
 * import type { WebSocketSubscribeOptions } from "@evrmore/rpc";
 *
 * const options: WebSocketSubscribeOptions = { since: 1234, timeout: 5000 };
 * console.log(options.since); // 1234
 * ```
 */
export interface WebSocketSubscribeOptions extends WebSocketRequestOptions {
  /**
   * `blocks` only: the height or hash of the last block already had. The
   * server replays the blocks after it before the live ones (it answers
   * `unknown_cursor` or `cursor_too_old` when it cannot). After a
   * reconnection the client resumes on its own from the last block it
   * received (or from this cursor when none came).
   */
  since?: number | string;
  /**
   * `assets` and `transactions` only: receive only the matching events
   * (`{asset: "NAME"}`, `{address: "..."}`). Each filter is a subscription
   * of its own, remembered and subscribed again after a reconnection; an
   * unfiltered subscription to the same topic still receives everything.
   */
  filter?: WebSocketFilter;
}

/**
 * Options of {@linkcode EvrmoreWebSocketClient.unsubscribe}.
 *
 * @example Drop one filter, keep the others
 * ```ts
 * import type { WebSocketUnsubscribeOptions } from "@evrmore/rpc";
 *
 * const options: WebSocketUnsubscribeOptions = { filter: { asset: "MYASSET" } };
 * console.log(JSON.stringify(options.filter)); // {"asset":"MYASSET"}
 * ```
 */
export interface WebSocketUnsubscribeOptions extends WebSocketRequestOptions {
  /**
   * Remove only this filter of the topic; without it, the whole topic is
   * unsubscribed (its filters too).
   */
  filter?: WebSocketFilter;
}

/**
 * Options of {@linkcode WebSocketRequestError}.
 *
 * @example
 * ```ts
 * import { WebSocketRequestError, type WebSocketRequestErrorOptions } from "@evrmore/rpc";
 *
 * const options: WebSocketRequestErrorOptions = { code: "unknown_topic" };
 * console.log(new WebSocketRequestError("Cannot subscribe: unknown topic", options).code);
 * ```
 */
export interface WebSocketRequestErrorOptions extends EvrmoreErrorOptions {
  /** The server's error code (`"unknown_topic"`, `"command_not_allowed"`, ...). */
  code: string;
  /** The command that was refused, for commands. */
  command?: string;
}

/**
 * The server refused a request for a reason of its own (an unknown topic, a
 * command that is not allowed, bad parameters). Errors of the node itself
 * are {@linkcode RpcError}s.
 *
 * @example
 * ```ts
 * import { WebSocketRequestError } from "@evrmore/rpc";
 *
 * const error = new WebSocketRequestError("Cannot run stop: not an allowed command", {
 *   code: "command_not_allowed",
 *   command: "stop",
 * });
 * console.log(error.code); // "command_not_allowed"
 * ```
 */
export class WebSocketRequestError extends EvrmoreError {
  /** The server's error code. */
  readonly code: string;
  /** The command, for command errors. */
  readonly command: string | undefined;

  /**
   * Creates the error.
   *
   * @param message What was refused and why.
   * @param options The server's code, and the command.
   */
  constructor(message: string, options: WebSocketRequestErrorOptions) {
    super(message, options);
    this.name = "WebSocketRequestError";
    this.code = options.code;
    this.command = options.command;
  }
}

/**
 * Where the connection of an {@linkcode EvrmoreWebSocketClient} stands.
 *
 * @example
 * ```ts
 * import { EvrmoreWebSocketClient, type WebSocketClientState } from "@evrmore/rpc";
 *
 * const state: WebSocketClientState = new EvrmoreWebSocketClient().state;
 * console.log(state); // "idle"
 * ```
 */
export type WebSocketClientState =
  | "idle"
  | "connecting"
  | "open"
  | "reconnecting"
  | "closed";
