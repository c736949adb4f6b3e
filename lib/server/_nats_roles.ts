/**
 * `server.ts --nats`: one chain feed, many gateways. An ingest runs the
 * chain feed against the node and publishes every event to a JetStream
 * stream (and answers allowed commands over NATS); a gateway needs no node:
 * it pushes the stream's events to its WebSocket clients, with the stream's
 * sequence numbers as cursors, and sends commands to an ingest.
 *
 * Internal.
 *
 * @module
 */

import { RpcError } from "../errors.ts";
import type { BlockData } from "../websocket/types.ts";
import type { Network } from "../network.ts";
import {
  connectNats,
  type FeedEvent,
  NatsFeedPublisher,
  NatsFeedSource,
  type NatsLink,
  requestCommand,
  serveCommands,
} from "../nats/mod.ts";
import { allowedCommandSet, isDenied } from "../websocket/_commands.ts";
import {
  EvrmoreWebSocketServer,
  type EvrmoreWebSocketServerOptions,
  type WebSocketServerRpc,
  type WebSocketServerZmq,
} from "../websocket/mod.ts";

/** Where the stream is, and how long it keeps events. */
export interface NatsSettings {
  servers: string[];
  network: Network;
  stream?: string;
  maxAgeMs?: number;
  maxBytes?: number;
}

/** Something started; `close()` stops it. */
export interface Running {
  close(): Promise<void>;
}

/**
 * Starts an ingest: the chain feed of `options` (its RPC and ZMQ clients)
 * publishing to JetStream, and allowed commands answered over NATS. It
 * listens for WebSocket clients only when `options.listen` is true.
 */
export async function startIngest(
  nats: NatsSettings,
  options: EvrmoreWebSocketServerOptions,
  report: (error: Error) => void,
): Promise<Running> {
  const link = await connectNats(nats.servers, { name: "evrmore-ingest" });
  const closers: Array<() => Promise<void>> = [() => link.close()];
  const close = async () => {
    for (const closer of closers.reverse()) {
      await closer().catch((error) => report(error as Error));
    }
  };
  try {
    const publisher = await NatsFeedPublisher.create(link, {
      network: nats.network,
      ...(nats.stream === undefined ? {} : { stream: nats.stream }),
      ...(nats.maxAgeMs === undefined ? {} : { maxAgeMs: nats.maxAgeMs }),
      ...(nats.maxBytes === undefined ? {} : { maxBytes: nats.maxBytes }),
      onError: report,
    });
    closers.push(() => publisher.close());
    const allowed = allowedCommandSet(options.allowedCommands);
    const rpc = options.rpcClient;
    const commands = serveCommands(link, (method, params) => {
      if (isDenied(method) || !allowed.has(method)) {
        return Promise.reject(
          new RpcError(`Cannot run ${method}: not an allowed command`, {
            code: -32601,
            method,
          }),
        );
      }
      return rpc.call(method, params);
    }, { network: nats.network, onError: report });
    closers.push(() => commands.close());
    // Resume after the stream's last block: what was mined while no
    // ingest ran is backfilled from RPC (the stream drops duplicates).
    const last = await publisher.lastBlock();
    const server = new EvrmoreWebSocketServer({
      ...options,
      ...(last === undefined || options.resumeAfter !== undefined
        ? {}
        : { resumeAfter: last as unknown as BlockData }),
      onEvent: (event) => {
        publisher.publish(event as FeedEvent);
      },
    });
    await server.start();
    closers.push(() => server.stop());
    return { close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A ZMQ client that never publishes: a gateway's events come from NATS. */
const NO_ZMQ: WebSocketServerZmq = {
  on: () => () => {},
  start: () => Promise.resolve(),
};

/**
 * Starts a gateway: a WebSocket server fed from the stream (warming its
 * window of recent events from it first), commands sent to an ingest.
 *
 * @returns The gateway and its server (for its address).
 */
export async function startGateway(
  nats: NatsSettings,
  options: Omit<EvrmoreWebSocketServerOptions, "rpcClient" | "zmqClient">,
  report: (error: Error) => void,
): Promise<Running & { server: EvrmoreWebSocketServer }> {
  const link = await connectNats(nats.servers, { name: "evrmore-gateway" });
  const stop = new AbortController();
  const server = new EvrmoreWebSocketServer({
    ...options,
    rpcClient: natsRpc(link, nats.network),
    zmqClient: NO_ZMQ,
    startZmq: false,
    cursors: "external",
  });
  const follow = followStream(link, nats, server, {
    tail: options.maxLoggedEvents ?? 10000,
    signal: stop.signal,
    report,
  });
  try {
    await server.start();
  } catch (error) {
    stop.abort();
    await follow;
    await link.close();
    throw error;
  }
  return {
    server,
    async close() {
      stop.abort();
      await server.stop();
      await follow;
      await link.close();
    },
  };
}

/** Commands over NATS request/reply, as the server's RPC client. */
function natsRpc(link: NatsLink, network: Network): WebSocketServerRpc {
  const call = (
    method: string,
    params: unknown[] = [],
    options: { signal?: AbortSignal } = {},
  ) =>
    requestCommand(link, {
      network,
      method,
      params,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  return {
    call,
    getmempoolinfo: (options) =>
      call("getmempoolinfo", [], options) as Promise<
        { size: number; bytes: number; usage: number }
      >,
  };
}

/**
 * Pushes the stream's events to the server until `signal` aborts; opens
 * the stream again (after the last event pushed) when it fails or does
 * not exist yet (a gateway started before any ingest).
 */
async function followStream(
  link: NatsLink,
  nats: NatsSettings,
  server: EvrmoreWebSocketServer,
  options: { tail: number; signal: AbortSignal; report: (e: Error) => void },
): Promise<void> {
  const { signal, report } = options;
  let last: string | undefined;
  let wait = 250;
  let reported = false;
  while (!signal.aborted) {
    try {
      await using source = await NatsFeedSource.open(link, {
        network: nats.network,
        ...(nats.stream === undefined ? {} : { stream: nats.stream }),
        ...(last === undefined ? { tail: options.tail } : { since: last }),
        signal,
        onError: report,
      });
      wait = 250;
      reported = false;
      for await (const event of source) {
        server.publish(event);
        last = event.cursor;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (!reported) {
        reported = true;
        report(error as Error);
      }
      if ((error as { code?: unknown }).code === "cursor_too_old") {
        last = undefined; // Start over from what the stream still has.
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done, { once: true });
      });
      wait = Math.min(wait * 2, 5000);
    }
  }
}
