/**
 * A custom server: a subclass of `EvrmoreWebSocketServer` with two topics of
 * its own, `large_blocks` (blocks of more than 100 transactions) and
 * `asset_transfers` (each asset transfer output), next to the standard ones.
 *
 * It needs a node, like `basic_server.ts` (see there). Then:
 *
 * ```sh
 * deno run -A examples/custom_server.ts
 * ```
 *
 * and subscribe from a client with `client.subscribe("asset_transfers")`,
 * or send `{"action":"subscribe","topic":"asset_transfers"}`.
 *
 * Environment: as `basic_server.ts` (`EVR_RPC_URL`, `EVR_RPC_USER`,
 * `EVR_RPC_PASSWORD`, `EVR_ZMQ_ADDRESS`, `EVR_WS_HOST`, `EVR_WS_PORT`).
 *
 * @module
 */

import {
  EvrmoreRPCClient,
  EvrmoreWebSocketServer,
  EvrmoreZMQClient,
  parseNetwork,
  type ZMQNotification,
} from "@evrmore/rpc";

/** Blocks with more transactions than this go to `large_blocks`. */
const LARGE_BLOCK_TXS = 100;

class CustomWebSocketServer extends EvrmoreWebSocketServer<EvrmoreRPCClient> {
  /** Subscribers of the custom topics. */
  readonly customTopics = new Map<string, Set<WebSocket>>([
    ["large_blocks", new Set()],
    ["asset_transfers", new Set()],
  ]);

  /** Handles a block notification (once per block). */
  override async handleBlock(notification: ZMQNotification): Promise<void> {
    // Call the parent method: it announces the block to `blocks`.
    await super.handleBlock(notification);

    // Get block details (`rawblock` notifications carry the decoded block;
    // a `hashblock` one carries just the hash).
    const hash = notification.block?.hash ?? notification.hex;
    const block = await this.rpcClient.getblock(hash, 1);

    // Check if this is a large block.
    if (block.tx.length > LARGE_BLOCK_TXS) {
      await this.broadcast("large_blocks", {
        type: "large_block",
        data: {
          hash: block.hash,
          height: block.height,
          time: block.time,
          tx_count: block.tx.length,
          size: block.size,
        },
      });
    }
  }

  /** Handles a transaction notification (once per transaction). */
  override async handleTransaction(
    notification: ZMQNotification,
  ): Promise<void> {
    // Call the parent method: it announces to `transactions` and `assets`.
    await super.handleTransaction(notification);

    // The ZMQ client has decoded the transaction already, exactly as the
    // node's getrawtransaction would print it: no RPC call needed.
    const tx = notification.transaction;
    if (tx === undefined) return;

    // Check for asset transfers.
    for (const vout of tx.vout) {
      const { type, asset, addresses } = vout.scriptPubKey;
      if (type !== "transfer_asset" || asset === undefined) continue;
      await this.broadcast("asset_transfers", {
        type: "asset_transfer",
        data: {
          txid: tx.txid,
          asset: asset.name,
          amount: asset.amount,
          from: "unknown", // Would need to look up the input address
          to: addresses?.[0] ?? "unknown",
        },
      });
    }
  }

  /** Handles a message from a client. */
  override handleClientMessage(
    socket: WebSocket,
    message: string,
  ): Promise<boolean> {
    const request = parseRequest(message);
    const subscribers = this.customTopics.get(String(request?.topic));

    // Handle custom subscriptions.
    if (
      request !== undefined && subscribers !== undefined &&
      (request.action === "subscribe" || request.action === "unsubscribe")
    ) {
      if (request.action === "subscribe") {
        subscribers.add(socket);
        socket.addEventListener("close", () => subscribers.delete(socket));
      } else {
        subscribers.delete(socket);
      }
      socket.send(JSON.stringify({
        type: "subscription",
        status: "success",
        topic: request.topic,
        action: request.action,
        // Echo the request's id, as the standard answers do.
        ...(request.id === undefined ? {} : { id: request.id }),
      }));
      console.log(
        request.action === "subscribe"
          ? `Client subscribed to custom topic: ${request.topic}`
          : `Client unsubscribed from custom topic: ${request.topic}`,
      );
      return Promise.resolve(true);
    }

    // Everything else (standard topics, commands, invalid JSON, which gets
    // an error answer): let the parent class handle it.
    return super.handleClientMessage(socket, message);
  }

  /** Broadcasts a message to the subscribers of a topic. */
  override broadcast(topic: string, message: object): Promise<void> {
    const subscribers = this.customTopics.get(topic);
    // Use the parent method for the standard topics.
    if (subscribers === undefined) return super.broadcast(topic, message);
    // Handle custom topics: serialize once, send to each open socket.
    const text = JSON.stringify(message);
    for (const socket of subscribers) {
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
    }
    return Promise.resolve();
  }
}

/** The JSON object a client sent, or undefined when it is not one. */
function parseRequest(
  message: string,
): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(message);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

// Create clients.
await using rpcClient = new EvrmoreRPCClient();
const { chain } = await rpcClient.getblockchaininfo();
await using zmqClient = new EvrmoreZMQClient({
  address: Deno.env.get("EVR_ZMQ_ADDRESS") ?? "tcp://127.0.0.1:28332",
  network: parseNetwork(chain),
});

// Create the custom server and start it.
const server = new CustomWebSocketServer({
  rpcClient,
  zmqClient,
  host: Deno.env.get("EVR_WS_HOST") ?? "localhost",
  port: Number(Deno.env.get("EVR_WS_PORT") ?? 8765),
});
await server.start();
console.log(
  `Custom WebSocket server started on ws://${server.host}:${server.port}`,
);

// Keep running until Ctrl+C or SIGTERM.
const signals: Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM"];
await new Promise<void>((resolve) => {
  const stop = () => {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    resolve();
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
});
console.log("Interrupted");
await server.stop();
console.log("Custom WebSocket server stopped");
