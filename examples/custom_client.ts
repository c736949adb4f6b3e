/**
 * A custom client, as in the design document: a subclass with
 * `handleBlock` and `handleTransaction`, and its own `processMessages` loop
 * that calls them. The client never calls the hooks by itself (only
 * `listen()` does), so each message is counted once.
 *
 * Run the demo server in one terminal, this example in another:
 *
 * ```sh
 * deno task demo
 * deno run -A examples/custom_client.ts
 * ```
 *
 * Environment: `EVR_WS_URI` (default `ws://localhost:8765`),
 * `EVR_EXAMPLE_MESSAGES` (stop after that many messages; default never).
 *
 * @module
 */

import {
  type BlockData,
  EvrmoreWebSocketClient,
  type TransactionData,
} from "@evrmore/rpc/client";
import { connectOrExit } from "./_connect.ts";

class CustomWebSocketClient extends EvrmoreWebSocketClient {
  blockCount = 0;
  txCount = 0;

  /** Handles a block message. */
  override handleBlock(block: BlockData): void {
    this.blockCount++;
    console.log(`New block: ${block.hash} (height: ${block.height})`);
    console.log(`Total blocks received: ${this.blockCount}`);
  }

  /** Handles a transaction message. */
  override handleTransaction(tx: TransactionData): void {
    this.txCount++;
    console.log(`New transaction: ${tx.txid}`);
    console.log(`Total transactions received: ${this.txCount}`);
  }

  /**
   * Processes messages from the server until disconnected (or
   * `maxMessages`). `await this.listen()` does the same dispatch.
   */
  async processMessages(maxMessages = Infinity): Promise<void> {
    let received = 0;
    for await (const message of this) {
      if (message.type === "block") {
        await this.handleBlock(message.data);
      } else if (message.type === "transaction") {
        await this.handleTransaction(message.data);
      }
      if (++received >= maxMessages) break;
    }
  }
}

const uri = Deno.env.get("EVR_WS_URI") ?? "ws://localhost:8765";
const maxMessages = Number(Deno.env.get("EVR_EXAMPLE_MESSAGES") ?? Infinity);

// Create a custom client and connect to the server.
await using client = new CustomWebSocketClient({ uri });
await connectOrExit(client);

// Subscribe to topics.
await client.subscribe("blocks");
await client.subscribe("transactions");

// Process messages; Ctrl+C disconnects, which ends processMessages().
const onInterrupt = () => void client.disconnect();
Deno.addSignalListener("SIGINT", onInterrupt);
try {
  await client.processMessages(maxMessages);
} finally {
  Deno.removeSignalListener("SIGINT", onInterrupt);
}
console.log(
  `Received ${client.blockCount} blocks and ${client.txCount} transactions`,
);
