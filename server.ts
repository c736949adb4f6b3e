/**
 * Runnable WebSocket server (work in progress).
 *
 * @module
 */
if (import.meta.main) {
  console.log("not yet");
}
