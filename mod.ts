/**
 * `@evrmore/rpc`: reach an Evrmore node from Deno and push its chain events
 * to web clients.
 *
 * @module
 */

export {
  AuthError,
  ConnectionError,
  DecodeError,
  type DecodeErrorOptions,
  EvrmoreError,
  type EvrmoreErrorOptions,
  RpcError,
  type RpcErrorOptions,
  TimeoutError,
} from "./lib/errors.ts";
export {
  type Network,
  type NetworkParams,
  NETWORKS,
  parseNetwork,
} from "./lib/network.ts";
