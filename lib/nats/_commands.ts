/**
 * Node commands over NATS request/reply: the ingest answers
 * (`serveCommands`, a queue group so several ingests share the load), the
 * gateway asks (`requestCommand`).
 *
 * @module
 */

import {
  type Msg,
  NoRespondersError,
  RequestError,
  type Subscription,
  TimeoutError as NatsTimeoutError,
} from "@nats-io/transport-node";
import {
  AuthError,
  ConnectionError,
  RpcError,
  TimeoutError,
} from "../errors.ts";
import type { Network } from "../network.ts";
import { linkInternals, type NatsLink } from "./_connection.ts";
import { NatsFeedError, NodeUnavailableError } from "./_errors.ts";
import { errorText } from "./_publisher.ts";
import { commandSubject } from "./_subjects.ts";
import {
  CommandReplySchema,
  type CommandReplyWire,
  CommandRequestSchema,
  decodeJson,
  encodeJson,
} from "./_wire.ts";

/** Runs one node command on the ingest; what it returns is the reply's `result`. */
export type CommandHandler = (
  method: string,
  params: unknown[],
) => Promise<unknown>;

/** Options of {@linkcode serveCommands}. */
export interface ServeCommandsOptions {
  /** The chain's network: the subject is `evrmore.<network>.command`. */
  network: Network;
  /** Queue group shared by the ingests (default `evrmore-ingest`). */
  queue?: string;
  /** Called with requests that could not be answered (bad request, failed reply). */
  onError?: (error: Error) => void;
}

/**
 * A running command responder; see {@linkcode serveCommands}.
 *
 * @example
 * ```ts
 * import { connectNats, serveCommands } from "./mod.ts";
 *
 * async function ingest(): Promise<void> {
 *   await using link = await connectNats("nats://127.0.0.1:4222");
 *   await using server = serveCommands(link, async (method) => method === "getblockcount" ? 42 : null, {
 *     network: "regtest",
 *   });
 *   console.log(server.subject); // "evrmore.regtest.command"
 * }
 * ```
 */
export class NatsCommandServer {
  #sub: Subscription;
  #inFlight = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;
  /** The subject answered. */
  readonly subject: string;

  private constructor(
    link: NatsLink,
    handler: CommandHandler,
    options: ServeCommandsOptions,
  ) {
    this.subject = commandSubject(options.network);
    const queue = options.queue ?? "evrmore-ingest";
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(queue)) {
      throw new TypeError(
        `Cannot serve commands: bad queue group ${JSON.stringify(queue)}`,
      );
    }
    const onError = options.onError ?? (() => {});
    const report = (error: Error) => {
      try {
        onError(error);
      } catch {
        // a throwing hook must not stop the responder
      }
    };
    const { nc } = linkInternals(link);
    if (nc.isClosed()) {
      throw new ConnectionError(
        `Cannot serve commands on ${this.subject}: the NATS connection is closed`,
      );
    }
    this.#sub = nc.subscribe(this.subject, {
      queue,
      callback: (error, msg) => {
        if (error) {
          report(
            new NatsFeedError(`Cannot serve commands: ${error.message}`, {
              code: "subscription_failed",
              cause: error,
            }),
          );
          return;
        }
        const task = answer(msg, handler, report);
        this.#inFlight.add(task);
        task.finally(() => this.#inFlight.delete(task));
      },
    });
  }

  /** @internal Used by {@linkcode serveCommands}. */
  static start(
    link: NatsLink,
    handler: CommandHandler,
    options: ServeCommandsOptions,
  ): NatsCommandServer {
    return new NatsCommandServer(link, handler, options);
  }

  /** Stops answering; waits for the answers in progress. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        this.#sub.unsubscribe();
      } catch {
        // connection already closed
      }
      await Promise.allSettled([...this.#inFlight]);
    })();
    return this.#closing;
  }

  /** Same as {@linkcode NatsCommandServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Answers node commands sent by gateways with {@linkcode requestCommand}.
 * Requests are `{method, params}`; replies `{result}` or
 * `{error:{code,message}}`, where `code` is the node's numeric code for an
 * {@linkcode RpcError}, else `timeout`, `node_unavailable`,
 * `invalid_params`, the `code` of an error that has a string one (such as
 * `command_not_allowed`), or `internal_error`.
 *
 * @example
 * ```ts
 * import { connectNats, serveCommands } from "./mod.ts";
 *
 * async function ingest(): Promise<void> {
 *   const link = await connectNats("nats://127.0.0.1:4222");
 *   const server = serveCommands(link, async (method, params) => {
 *     if (method === "getblockhash") return `hash of ${params[0]}`;
 *     throw new RangeError(`Cannot run ${method}: not allowed`);
 *   }, { network: "main" });
 *   await server.close();
 *   await link.close();
 * }
 * ```
 *
 * @param link A connection from {@linkcode connectNats}.
 * @param handler Runs one command; its result is the reply.
 * @param options Network, queue group, error hook.
 * @throws {ConnectionError} When the link is closed.
 */
export function serveCommands(
  link: NatsLink,
  handler: CommandHandler,
  options: ServeCommandsOptions,
): NatsCommandServer {
  if (typeof handler !== "function") {
    throw new TypeError("Cannot serve commands: handler is not a function");
  }
  return NatsCommandServer.start(link, handler, options);
}

async function answer(
  msg: Msg,
  handler: CommandHandler,
  report: (error: Error) => void,
): Promise<void> {
  let reply: CommandReplyWire;
  const request = CommandRequestSchema.safeParse(decodeJson(msg.data));
  if (!request.success) {
    reply = {
      error: {
        code: "invalid_message",
        message: "Cannot run command: expected {method, params}",
      },
    };
  } else {
    const { method, params } = request.data;
    try {
      reply = { result: await handler(method, params) };
    } catch (cause) {
      reply = { error: errorReply(method, cause) };
    }
  }
  if (!msg.reply) return; // a publish, not a request: nobody to answer
  try {
    let bytes: Uint8Array;
    try {
      bytes = encodeJson(reply);
    } catch (cause) {
      bytes = encodeJson({
        error: {
          code: "internal_error",
          message: `Cannot run command: the result is not JSON (${
            errorText(cause)
          })`,
        },
      });
    }
    msg.respond(bytes);
  } catch (cause) {
    report(
      new NatsFeedError(`Cannot answer command: ${errorText(cause)}`, {
        code: "reply_failed",
        cause,
      }),
    );
  }
}

function errorReply(
  method: string,
  cause: unknown,
): { code: number | string; message: string } {
  if (cause instanceof RpcError) {
    return { code: cause.code, message: cause.message };
  }
  if (cause instanceof TimeoutError) {
    return { code: "timeout", message: cause.message };
  }
  if (cause instanceof AuthError || cause instanceof ConnectionError) {
    return {
      code: "node_unavailable",
      message: `Cannot run ${method}: node unavailable`,
    };
  }
  if (cause instanceof TypeError || cause instanceof RangeError) {
    return { code: "invalid_params", message: cause.message };
  }
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[a-z_]{1,40}$/.test(code)) {
    return { code, message: errorText(cause) };
  }
  return {
    code: "internal_error",
    message: `Cannot run ${method}: internal error`,
  };
}

/** Options of {@linkcode requestCommand}. */
export interface RequestCommandOptions {
  /** The chain's network: the subject is `evrmore.<network>.command`. */
  network: Network;
  /** RPC method. */
  method: string;
  /** Positional parameters (default none). */
  params?: readonly unknown[];
  /** How long to wait for an ingest's reply, ms (default 30,000). */
  timeoutMs?: number;
  /** Gives up early (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * Sends a node command to an ingest and returns its result.
 *
 * @example
 * ```ts
 * import { connectNats, NodeUnavailableError, requestCommand } from "./mod.ts";
 *
 * async function height(): Promise<unknown> {
 *   await using link = await connectNats("nats://127.0.0.1:4222");
 *   try {
 *     return await requestCommand(link, { network: "regtest", method: "getblockcount" });
 *   } catch (error) {
 *     if (error instanceof NodeUnavailableError) return undefined; // no ingest
 *     throw error;
 *   }
 * }
 * ```
 *
 * @param link A connection from {@linkcode connectNats}.
 * @param options Network, method, params, timeout, signal.
 * @throws {NodeUnavailableError} `node_unavailable`: no ingest is
 *   subscribed, or the ingest cannot reach its node.
 * @throws {TimeoutError} No reply within `timeoutMs`, or the node timed out.
 * @throws {RpcError} The node answered with an error (its numeric code).
 * @throws {TypeError} Bad arguments, or the ingest found the params invalid.
 * @throws {NatsFeedError} Any other error code from the ingest.
 */
export async function requestCommand(
  link: NatsLink,
  options: RequestCommandOptions,
): Promise<unknown> {
  const { method } = options;
  if (typeof method !== "string" || method.length === 0) {
    throw new TypeError(
      "Cannot run command: method must be a non-empty string",
    );
  }
  const subject = commandSubject(options.network);
  const params = options.params ?? [];
  if (!Array.isArray(params)) {
    throw new TypeError(`Cannot run ${method}: params must be an array`);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`Cannot run ${method}: bad timeoutMs ${timeoutMs}`);
  }
  options.signal?.throwIfAborted();
  const { nc } = linkInternals(link);
  let msg: Msg;
  try {
    const request = nc.request(subject, encodeJson({ method, params }), {
      timeout: timeoutMs,
    });
    msg = await abortable(request, options.signal);
  } catch (cause) {
    if (options.signal?.aborted && cause === options.signal.reason) throw cause;
    if (isNoResponders(cause)) {
      throw new NodeUnavailableError(
        `Cannot run ${method}: no ingest answers on ${subject}`,
        { cause },
      );
    }
    if (cause instanceof NatsTimeoutError) {
      throw new TimeoutError(
        `Cannot run ${method}: no reply within ${timeoutMs} ms`,
        { cause },
      );
    }
    throw new NodeUnavailableError(
      `Cannot run ${method}: ${errorText(cause)}`,
      { cause },
    );
  }
  if (msg.data.length === 0 && msg.headers?.code === 503) {
    throw new NodeUnavailableError(
      `Cannot run ${method}: no ingest answers on ${subject}`,
    );
  }
  const reply = CommandReplySchema.safeParse(decodeJson(msg.data));
  if (!reply.success) {
    throw new NatsFeedError(`Cannot run ${method}: malformed reply`, {
      code: "invalid_message",
      cause: reply.error,
    });
  }
  if ("error" in reply.data) {
    const { code, message } = reply.data.error;
    if (typeof code === "number") throw new RpcError(message, { code, method });
    if (code === "node_unavailable") throw new NodeUnavailableError(message);
    if (code === "timeout") throw new TimeoutError(message);
    if (code === "invalid_params") throw new TypeError(message);
    throw new NatsFeedError(message, { code });
  }
  return reply.data.result;
}

function isNoResponders(cause: unknown): boolean {
  if (cause instanceof NoRespondersError) return true;
  if (cause instanceof RequestError && cause.isNoResponders()) return true;
  return false;
}

function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  });
}
