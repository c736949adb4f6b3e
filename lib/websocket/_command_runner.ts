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
import { serialize, utf8Length, withId } from "./_wire.ts";
import type {
  ErrorMessage,
  ResultMessage,
  WebSocketMessageId,
} from "./types.ts";

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
    const signal = this.#signal();
    let answer: ResultMessage | ErrorMessage;
    try {
      const { value } = await this.#gate.run(
        socket,
        command,
        params,
        (mine) =>
          this.#rpc.call(command, params, {
            signal: AbortSignal.any([mine, signal]),
          }),
      );
      answer = withId({ type: "result", command, data: value }, id);
    } catch (cause) {
      if (signal.aborted) return;
      if (cause instanceof CommandGateError) {
        if (cause.code === "aborted") return; // The client left.
        const busy = cause.code === "server_busy";
        counters.count(
          counters.commands,
          busy ? "server_busy" : "too_many_requests",
        );
        hub.send(
          socket,
          errorMessage(
            busy ? "server_busy" : "too_many_requests",
            busy
              ? `Cannot run ${command}: the server is busy, try again later`
              : `Cannot run ${command}: ${this.#config.maxPendingCommands} commands already running`,
            { id, command },
          ),
        );
        return;
      }
      answer = this.#commandError(command, cause, id);
    }
    let text: string;
    try {
      text = serialize(answer);
      counters.count(
        counters.commands,
        answer.type === "result" ? "ok" : "error",
      );
      if (answer.type === "error") counters.count(counters.errors, answer.code);
      const bytes = utf8Length(text);
      if (bytes > this.#config.maxReplySize) {
        counters.count(counters.errors, "reply_too_large");
        text = serialize(
          errorMessage(
            "reply_too_large",
            `Cannot run ${command}: the reply (${bytes} bytes) is larger than ${this.#config.maxReplySize} bytes`,
            { id, command },
          ),
        );
      } else if (!this.#reserve(bytes)) {
        counters.count(counters.errors, "server_busy");
        text = serialize(
          errorMessage(
            "server_busy",
            `Cannot run ${command}: the server is busy, try again later`,
            { id, command },
          ),
        );
      }
    } catch (cause) {
      this.#report(cause);
      counters.count(counters.commands, "error");
      counters.count(counters.errors, "internal_error");
      text = serialize(
        errorMessage(
          "internal_error",
          `Cannot run ${command}: unserializable result`,
          { id, command },
        ),
      );
    }
    hub.send(socket, text);
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
