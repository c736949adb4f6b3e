/**
 * Shared by the end-to-end WebSocket tests: receive from a client until a
 * condition holds, failing with what arrived when the deadline passes.
 *
 * @module
 */

import type {
  EvrmoreWebSocketClient,
  WebSocketServerMessage,
} from "../lib/websocket/mod.ts";

/**
 * Receives messages until `done` says so; rejects after `timeoutMs` with the
 * types (and block heights) of what did arrive.
 */
export async function collect(
  client: EvrmoreWebSocketClient,
  done: (messages: WebSocketServerMessage[]) => boolean,
  timeoutMs = 10_000,
): Promise<WebSocketServerMessage[]> {
  const messages: WebSocketServerMessage[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    while (!done(messages)) {
      messages.push(await client.receive({ signal: controller.signal }));
    }
  } catch (error) {
    if (controller.signal.aborted) {
      const seen = messages.map((m) =>
        m.type === "block" ? `block ${m.data.height}` : m.type
      );
      throw new Error(`timed out; received: ${JSON.stringify(seen)}`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return messages;
}
