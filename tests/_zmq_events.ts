/**
 * Shared by the ZMQ client tests: awaiting one event, with a deadline that
 * only guards against a hang.
 *
 * @module
 */

import type {
  EvrmoreZMQClient,
  ZMQEventMap,
  ZMQEventName,
} from "../lib/zmq/mod.ts";

/** How long a test waits for one thing before it fails. */
export const DEADLINE = 30_000;

/** Rejects when `promise` has not settled within `ms`; always clears its timer. */
export async function withDeadline<T>(
  promise: Promise<T>,
  what: string,
  ms = DEADLINE,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next `event` the client emits that matches `accept`. */
export function nextEvent<K extends ZMQEventName>(
  client: EvrmoreZMQClient,
  event: K,
  accept: (value: ZMQEventMap[K]) => boolean = () => true,
): Promise<ZMQEventMap[K]> {
  let unsubscribe = () => {};
  const promise = new Promise<ZMQEventMap[K]>((resolve) => {
    unsubscribe = client.on(event, (value) => {
      if (accept(value)) {
        unsubscribe();
        resolve(value);
      }
    });
  });
  return withDeadline(promise, `"${event}"`).finally(() => unsubscribe());
}
