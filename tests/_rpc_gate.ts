/**
 * Test helper: holds the fixture server's answers to requests carrying a
 * marker until released, and records every request body in arrival order,
 * so a test can fill the client's concurrency cap and see what leaves next.
 *
 * @module
 */

import type { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import type { FixtureRpcServer } from "./_rpc_fixture_server.ts";

/** A hold on the requests whose body contains a marker. */
export interface RequestGate {
  /** Every request body (held or not), in arrival order. */
  bodies: string[];
  /** Resolves when the next held request has arrived. */
  arrived(): Promise<void>;
  /** Lets every held request (and later ones) through. */
  release(): void;
}

/** Holds requests whose body contains `marker` until `release()` or close. */
export function gateRequests(
  server: FixtureRpcServer,
  marker: string,
): RequestGate {
  const bodies: string[] = [];
  let arrival = Promise.withResolvers<void>();
  const open = Promise.withResolvers<void>();
  let released = false;
  server.intercept = async ({ body, closed }) => {
    bodies.push(body);
    if (!released && body.includes(marker)) {
      arrival.resolve();
      arrival = Promise.withResolvers<void>();
      await Promise.race([open.promise, closed]);
    }
    return undefined;
  };
  return {
    bodies,
    arrived: () => arrival.promise,
    release: () => {
      released = true;
      open.resolve();
    },
  };
}

/**
 * Resolves the client's settings with one call, then fills its cap (1) with
 * a held `getbestblockhash`; returns that call's promise (wrapped, so
 * awaiting `fillCap` does not wait for it).
 */
export async function fillCap(
  client: EvrmoreRPCClient,
  gate: RequestGate,
): Promise<{ holder: Promise<unknown> }> {
  await client.getblockcount();
  const arrived = gate.arrived();
  const holder = client.call("getbestblockhash");
  await arrived;
  return { holder };
}

/** The JSON-RPC methods of a request body (one, or each of a batch). */
export function methodsOf(body: string): string[] {
  const parsed = JSON.parse(body) as
    | { method: string }
    | { method: string }[];
  return Array.isArray(parsed)
    ? parsed.map((call) => call.method)
    : [parsed.method];
}
