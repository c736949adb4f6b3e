/**
 * Client commands of `EvrmoreWebSocketServer`'s sessions: the allowlist,
 * the global command gate (costs, caps, single-flight, abort when a client
 * leaves), reply size, and node errors turned into protocol errors.
 *
 * Internal.
 *
 * @module
 */

import {
  AuthError,
  ConnectionError,
  RpcError,
  TimeoutError,
} from "../errors.ts";
import { isDenied } from "./_commands.ts";
import { CommandGate, CommandGateError } from "./_command_gate.ts";
import type { Hub } from "./_hub.ts";
import { errorMessage, sanitizeNodeMessage } from "./_protocol.ts";
import type { ServerConfig } from "./_server_config.ts";
import type { ServerCounters } from "./_server_metrics.ts";
import type { WebSocketServerRpc } from "./_server_options.ts";
import { serialize, utf8Length } from "./_wire.ts";
import type { ErrorMessage, WebSocketMessageId } from "./types.ts";

/** A result as JSON text, and its UTF-8 length. */
interface Serialized {
  text: string;
  bytes: number;
}

/** What the runner needs of the sessions. */
export interface CommandRunnerHost {
  /** Reports an error that reaches no client. */
  report(error: unknown): void;
  /** Takes `bytes` from the unsent-data budget; `false` when it is spent. */
  reserve(bytes: number): boolean;
}

/** Runs the clients' commands under one gate. */
export class CommandRunner {
  #rpc: WebSocketServerRpc;
  #hub: Hub;
  #signal: () => AbortSignal;
  #report: (error: unknown) => void;
  #reserve: (bytes: number) => boolean;
  #config: ServerConfig;
  #counters: ServerCounters;
  #gate: CommandGate;
  /** Unsent bytes past which a client's new commands are refused. */
  #unreadLimit: number;
  /** Serialized results, by result object (see `#serialized`). */
  #texts = new WeakMap<object, Serialized>();

  constructor(
    parts: { rpc: WebSocketServerRpc; hub: Hub; signal: () => AbortSignal },
    host: CommandRunnerHost,
    config: ServerConfig,
    counters: ServerCounters,
  ) {
    this.#rpc = parts.rpc;
    this.#hub = parts.hub;
    this.#signal = parts.signal;
    this.#report = (error) => host.report(error);
    this.#reserve = (bytes) => host.reserve(bytes);
    this.#config = config;
    this.#counters = counters;
    this.#unreadLimit = Math.min(1 << 20, config.maxBufferedAmount / 4);
    this.#gate = new CommandGate({
      maxInFlight: config.maxCommandsInFlight,
      maxQueued: config.maxQueuedCommands,
      maxPerClient: config.maxPendingCommands,
    });
  }

  /** Aborts the commands a client has queued or running (it left). */
  leave(socket: WebSocket): void {
    this.#gate.leave(socket);
  }

  /** Runs an allowed command for a client and sends the answer (or an error). */
  async run(
    socket: WebSocket,
    command: string,
    params: unknown[],
    id: WebSocketMessageId | undefined,
  ): Promise<void> {
    const counters = this.#counters;
    const hub = this.#hub;
    if (isDenied(command) || !this.#config.allowedCommands.has(command)) {
      counters.count(counters.commands, "not_allowed");
      hub.send(
        socket,
        errorMessage(
          "command_not_allowed",
          `Cannot run ${command}: not an allowed command`,
          { id, command },
        ),
      );
      return;
    }
    // A client that leaves its earlier replies unread gets no more node
    // work, and no more serialization, until it reads them.
    if (socket.bufferedAmount > this.#unreadLimit) {
      this.#busy(socket, command, id, "earlier replies are still unread");
      return;
    }
    const signal = this.#signal();
    let value: unknown;
    try {
      ({ value } = await this.#gate.run(
        socket,
        command,
        params,
        (mine) =>
          this.#rpc.call(command, params, {
            signal: AbortSignal.any([mine, signal]),
          }),
      ));
    } catch (cause) {
      if (signal.aborted) return;
      if (cause instanceof CommandGateError) {
        if (cause.code === "aborted") return; // The client left.
        if (cause.code === "server_busy") {
          this.#busy(
            socket,
            command,
            id,
            "the server is busy, try again later",
          );
          return;
        }
        counters.count(counters.commands, "too_many_requests");
        hub.send(
          socket,
          errorMessage(
            "too_many_requests",
            `Cannot run ${command}: ${this.#config.maxPendingCommands} commands already running`,
            { id, command },
          ),
        );
        return;
      }
      const error = this.#commandError(command, cause, id);
      counters.count(counters.commands, "error");
      hub.send(socket, error);
      return;
    }
    if (socket.readyState !== WebSocket.OPEN) return;
    let data: Serialized;
    try {
      data = this.#serialized(value);
    } catch (cause) {
      this.#report(cause);
      counters.count(counters.commands, "error");
      hub.send(
        socket,
        errorMessage(
          "internal_error",
          `Cannot run ${command}: unserializable result`,
          { id, command },
        ),
      );
      return;
    }
    if (data.bytes > this.#config.maxReplySize) {
      counters.count(counters.commands, "error");
      hub.send(
        socket,
        errorMessage(
          "reply_too_large",
          `Cannot run ${command}: the reply (${data.bytes} bytes) is larger than ${this.#config.maxReplySize} bytes`,
          { id, command },
        ),
      );
      return;
    }
    if (
      socket.bufferedAmount > this.#unreadLimit || !this.#reserve(data.bytes)
    ) {
      this.#busy(socket, command, id, "the server is busy, try again later");
      return;
    }
    counters.count(counters.commands, "ok");
    // The shared result's text, between this request's own fields: the
    // same bytes as serialize(withId({type, command, data}, id)).
    hub.send(
      socket,
      `{"type":"result","command":${
        JSON.stringify(command)
      },"data":${data.text}${
        id === undefined ? "" : `,"id":${JSON.stringify(id)}`
      }}`,
    );
  }

  /** Answers `server_busy` (counted). */
  #busy(
    socket: WebSocket,
    command: string,
    id: WebSocketMessageId | undefined,
    why: string,
  ): void {
    this.#counters.count(this.#counters.commands, "server_busy");
    this.#hub.send(
      socket,
      errorMessage("server_busy", `Cannot run ${command}: ${why}`, {
        id,
        command,
      }),
    );
  }

  /**
   * A result's JSON text and UTF-8 length, computed once per result object
   * (identical commands in flight together share one result).
   */
  #serialized(value: unknown): Serialized {
    const cacheable = typeof value === "object" && value !== null;
    const cached = cacheable ? this.#texts.get(value) : undefined;
    if (cached !== undefined) return cached;
    const text = value === undefined ? "null" : serialize(value as object);
    const data = { text, bytes: utf8Length(text) };
    if (cacheable) this.#texts.set(value, data);
    return data;
  }

  #commandError(
    command: string,
    cause: unknown,
    id: WebSocketMessageId | undefined,
  ): ErrorMessage {
    const context = { id, command };
    if (cause instanceof RpcError) {
      return errorMessage(
        cause.code,
        sanitizeNodeMessage(cause.message, command),
        context,
      );
    }
    if (cause instanceof TimeoutError) {
      return errorMessage(
        "timeout",
        `Cannot run ${command}: the node did not answer in time`,
        context,
      );
    }
    if (cause instanceof AuthError || cause instanceof ConnectionError) {
      return errorMessage(
        "node_unavailable",
        `Cannot run ${command}: node unavailable`,
        context,
      );
    }
    if (cause instanceof TypeError || cause instanceof RangeError) {
      return errorMessage(
        "invalid_params",
        sanitizeNodeMessage(cause.message, command),
        context,
      );
    }
    this.#report(cause);
    return errorMessage(
      "internal_error",
      `Cannot run ${command}: internal error`,
      context,
    );
  }
}
