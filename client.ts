/**
 * Browser-safe entry of `@evrmore/rpc`: the WebSocket client only.
 *
 * @module
 */
export { EvrmoreError } from "./lib/errors.ts";
