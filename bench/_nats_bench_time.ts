/**
 * Time stamps of `bench/nats_bench.ts`: each bench transaction's txid
 * carries its emission time, read back by the latency receivers.
 *
 * @module
 */

/** Microseconds since the epoch, sub-millisecond, comparable across processes. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** A bench txid: `b3`, the sequence number, the emission time (µs), zeros. */
export function benchTxid(seq: number): string {
  return "b3" + seq.toString(16).padStart(14, "0") +
    nowMicros().toString(16).padStart(16, "0") + "0".repeat(32);
}

/** The emission time (µs) a bench txid carries, or `undefined`. */
export function txidMicros(txid: string): number | undefined {
  if (!txid.startsWith("b3") || txid.length !== 64) return undefined;
  const micros = parseInt(txid.slice(16, 32), 16);
  return Number.isFinite(micros) ? micros : undefined;
}
