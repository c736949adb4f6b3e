/**
 * Shared by the client examples: connect, or explain in one line how to get
 * a server and exit with code 1 (no stack trace).
 *
 * @module
 */

/**
 * Connects an `EvrmoreWebSocketClient`; without a server there, says how
 * to start one and exits 1.
 */
export async function connectOrExit(
  client: { readonly uri: string; connect(): Promise<void> },
): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    if (!(error instanceof Error) || error.name !== "ConnectionError") {
      throw error;
    }
    console.error(
      `Cannot connect to ${client.uri}: no Evrmore WebSocket server there. ` +
        "Start one with `deno task demo` (or `deno task start` for a node), " +
        "or set EVR_WS_URI to the URI of a running one.",
    );
    Deno.exit(1);
  }
}
