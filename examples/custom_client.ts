/**
 * A custom client: a subclass that counts blocks and transactions in the
 * `handleBlock` and `handleTransaction` hooks.
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

class CustomWebSocketClient extends EvrmoreWebSocketClient {
  blockCount = 0;
  txCount = 0;

  // The client calls the handle* hooks itself, once for each message, as it
  // arrives (before queueing it for receive() and `for await`): there is no
  // need to dispatch messages to them, which would count each one twice.

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
   * Keeps the messages flowing until disconnected (or `maxMessages`): the
   * hooks have handled each message by the time the loop sees it.
   */
  async processMessages(maxMessages = Infinity): Promise<void> {
    let received = 0;
    for await (const _message of this) {
      if (++received >= maxMessages) break;
    }
  }
}

const uri = Deno.env.get("EVR_WS_URI") ?? "ws://localhost:8765";
const maxMessages = Number(Deno.env.get("EVR_EXAMPLE_MESSAGES") ?? Infinity);

// Create a custom client and connect to the server.
await using client = new CustomWebSocketClient({ uri });
await client.connect();

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
