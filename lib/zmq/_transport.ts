/**
 * What `EvrmoreZMQClient` needs from the thing that owns the ZMQ socket: an
 * in-process zeromq socket, or a subscriber process.
 *
 * @module
 */

import type { ZMQRespawnEvent } from "./types.ts";

/** Where a transport reports what happens. Never called after `close()`. */
export interface TransportSink {
  /** One message's frames. */
  frames(frames: Uint8Array[]): void;
  /** Connected to the publisher. */
  connected(address: string): void;
  /** The connection to the publisher was lost. */
  disconnected(address: string): void;
  /** Something went wrong; the transport goes on. */
  error(error: Error): void;
  /** The subscriber process died or hung and a new one is being started. */
  respawned(event: ZMQRespawnEvent): void;
}

/** Owns the socket. */
export interface Transport {
  /**
   * Sets the socket up (connect issued, topics subscribed).
   *
   * @throws {ConnectionError} When the address is refused.
   * @throws {EvrmoreError} When zeromq cannot be loaded or run.
   */
  open(): Promise<void>;
  /** Releases everything; idempotent; never throws. */
  close(): Promise<void>;
  /** The subscriber process id, when there is one. */
  readonly pid: number | undefined;
}
