/**
 * Shared by the devnet end-to-end tests: an embedded devnet with the real
 * RPC and ZMQ clients on it, and a WebSocket server over those clients.
 *
 * Needs `--allow-ffi` (zeromq).
 *
 * @module
 */

import { EvrmoreDevnet } from "../lib/devnet/mod.ts";
import { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import { EvrmoreZMQClient } from "../lib/zmq/mod.ts";
import {
  EvrmoreWebSocketServer,
  type EvrmoreWebSocketServerOptions,
} from "../lib/websocket/mod.ts";

/** A started devnet and clients for it; disposing closes them all. */
export interface Node {
  devnet: EvrmoreDevnet;
  rpc: EvrmoreRPCClient;
  zmq: EvrmoreZMQClient;
  /** Closes the ZMQ and RPC clients, then stops the devnet. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a devnet and makes (unstarted) RPC and ZMQ clients for it. */
export async function startNode(): Promise<Node> {
  const devnet = new EvrmoreDevnet();
  await devnet.start();
  const rpc = new EvrmoreRPCClient({
    url: devnet.rpcUrl,
    user: devnet.rpcUser,
    password: devnet.rpcPassword,
  });
  const zmq = new EvrmoreZMQClient({
    address: devnet.zmqAddress,
    network: devnet.network,
  });
  const close = async () => {
    await zmq.close();
    await rpc.close();
    await devnet.stop();
  };
  return { devnet, rpc, zmq, close, [Symbol.asyncDispose]: close };
}

/** An (unstarted) server over the node's clients on 127.0.0.1, port 0 unless told. */
export function nodeServer(
  node: Node,
  options: Partial<EvrmoreWebSocketServerOptions<EvrmoreRPCClient>> = {},
): EvrmoreWebSocketServer<EvrmoreRPCClient> {
  return new EvrmoreWebSocketServer({
    rpcClient: node.rpc,
    zmqClient: node.zmq,
    host: "127.0.0.1",
    port: 0,
    ...options,
  });
}
