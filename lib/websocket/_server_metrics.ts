/**
 * The counters `EvrmoreWebSocketServer`'s parts keep, and the Prometheus
 * families `GET /metrics` renders from them.
 *
 * Internal.
 *
 * @module
 */

import { type MetricFamily, renderMetrics } from "./_metrics.ts";
import { TOPICS } from "./_protocol.ts";
import type { BlockData } from "./types.ts";

/** The server's counters, shared by its parts (each adds to its own). */
export class ServerCounters {
  connections = 0;
  received = 0;
  sent = 0;
  bytesSent = 0;
  rateLimited = 0;
  rateLimitClosed = 0;
  authFailures = 0;
  slowClientsClosed = 0;
  broadcastsTotal = 0;
  transactions = 0;
  blocks = 0;
  readonly broadcasts = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly commands = new Map<string, number>();
  readonly rejected = new Map<string, number>();
  readonly zmq = new Map<string, number>();
  /** Clients closed by the server, by reason (drain_timeout, unsent_budget). */
  readonly closed = new Map<string, number>();

  /** Adds one to a labelled counter. */
  count(map: Map<string, number>, key: unknown): void {
    const label = String(key ?? "none");
    map.set(label, (map.get(label) ?? 0) + 1);
  }
}

/** What the metrics are read from, besides the counters. */
export interface MetricsView {
  counters: ServerCounters;
  startedAt: number;
  clients: number;
  subscriptions: ReadonlyMap<string, ReadonlySet<unknown>>;
  lastBlock: BlockData | null;
  zmqState: "connected" | "disconnected" | "unknown";
}

/** The `GET /metrics` text: every family, prefixed `evrmore_ws_`. */
export function serverMetrics(view: MetricsView): string {
  const c = view.counters;
  const labelled = (
    label: string,
    map: ReadonlyMap<string, number>,
    keys: readonly string[] = [],
  ) => {
    const all = new Map<string, number>(keys.map((key) => [key, 0]));
    for (const [key, value] of map) all.set(key, value);
    return [...all].map(([key, value]) => ({
      labels: { [label]: key },
      value,
    }));
  };
  const one = (value: number) => [{ value }];
  const block = view.lastBlock;
  const families: MetricFamily[] = [
    {
      name: "evrmore_ws_uptime_seconds",
      help: "Seconds since the server started.",
      type: "gauge",
      samples: one(
        view.startedAt === 0 ? 0 : (Date.now() - view.startedAt) / 1000,
      ),
    },
    {
      name: "evrmore_ws_clients",
      help: "WebSocket clients connected now.",
      type: "gauge",
      samples: one(view.clients),
    },
    {
      name: "evrmore_ws_connections_total",
      help: "WebSocket connections accepted.",
      type: "counter",
      samples: one(c.connections),
    },
    {
      name: "evrmore_ws_rejected_connections_total",
      help: "WebSocket requests refused before the upgrade, by reason.",
      type: "counter",
      samples: labelled("reason", c.rejected),
    },
    {
      name: "evrmore_ws_auth_failures_total",
      help: "Requests refused for a missing or wrong token (HTTP 401).",
      type: "counter",
      samples: one(c.authFailures),
    },
    {
      name: "evrmore_ws_subscriptions",
      help: "Clients subscribed to each topic now (without a filter).",
      type: "gauge",
      samples: [...view.subscriptions].map(([topic, set]) => ({
        labels: { topic },
        value: set.size,
      })),
    },
    {
      name: "evrmore_ws_broadcasts_total",
      help: "Messages broadcast to the subscribers of each topic (each once).",
      type: "counter",
      samples: labelled("topic", c.broadcasts, TOPICS),
    },
    {
      name: "evrmore_ws_messages_sent_total",
      help: "Messages sent to clients.",
      type: "counter",
      samples: one(c.sent),
    },
    {
      name: "evrmore_ws_bytes_sent_total",
      help: "Bytes (UTF-8) of the messages sent to clients.",
      type: "counter",
      samples: one(c.bytesSent),
    },
    {
      name: "evrmore_ws_client_messages_total",
      help: "Messages received from clients.",
      type: "counter",
      samples: one(c.received),
    },
    {
      name: "evrmore_ws_errors_total",
      help: "Error messages answered to clients, by code.",
      type: "counter",
      samples: labelled("code", c.errors),
    },
    {
      name: "evrmore_ws_commands_total",
      help:
        "Commands run for clients, by result (ok, error, not_allowed, too_many_requests).",
      type: "counter",
      samples: labelled("result", c.commands, ["ok", "error"]),
    },
    {
      name: "evrmore_ws_slow_clients_closed_total",
      help: "Clients closed (1013) because their send buffer overflowed.",
      type: "counter",
      samples: one(c.slowClientsClosed),
    },
    {
      name: "evrmore_ws_clients_closed_total",
      help:
        "Clients closed (1013) for a send buffer that did not drain in time, or to keep all unsent data under its budget, by reason.",
      type: "counter",
      samples: labelled("reason", c.closed, ["drain_timeout", "unsent_budget"]),
    },
    {
      name: "evrmore_ws_rate_limited_total",
      help: "Client messages refused as over the rate limit.",
      type: "counter",
      samples: one(c.rateLimited),
    },
    {
      name: "evrmore_ws_rate_limit_closed_total",
      help: "Clients closed (1008) for going on over the rate limit.",
      type: "counter",
      samples: one(c.rateLimitClosed),
    },
    {
      name: "evrmore_ws_zmq_notifications_total",
      help: "ZMQ notifications received, by topic.",
      type: "counter",
      samples: labelled("topic", c.zmq, ["hashblock", "rawblock", "rawtx"]),
    },
    {
      name: "evrmore_ws_zmq_connected",
      help: "1 when the ZMQ client reported a connection, else 0.",
      type: "gauge",
      samples: one(view.zmqState === "connected" ? 1 : 0),
    },
    {
      name: "evrmore_ws_blocks_total",
      help: "Blocks announced.",
      type: "counter",
      samples: one(c.blocks),
    },
    {
      name: "evrmore_ws_transactions_total",
      help: "Transactions announced.",
      type: "counter",
      samples: one(c.transactions),
    },
    {
      name: "evrmore_ws_last_block_height",
      help: "Height of the last block announced (no sample before the first).",
      type: "gauge",
      samples: block === null ? [] : one(block.height),
    },
    {
      name: "evrmore_ws_last_block_time_seconds",
      help: "Header time of the last block announced, in Unix seconds.",
      type: "gauge",
      samples: block === null ? [] : one(block.time),
    },
  ];
  return renderMetrics(families);
}
