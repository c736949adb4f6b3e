/**
 * JSON writing the way the node's UniValue writes it: amounts keep their
 * fixed decimals (`2778.00000000`, `1500.000`), and numbers above 2^53 are
 * written verbatim.
 *
 * @module
 */

/** A JSON fragment written verbatim (a number the node prints with fixed decimals). */
export class RawJson {
  /** The JSON text. */
  readonly text: string;
  /**
   * Wraps JSON text.
   *
   * @param text Valid JSON text.
   */
  constructor(text: string) {
    this.text = text;
  }
}

/**
 * Formats an amount of 1e-8 units with `decimals` digits (8 for EVR; an
 * asset's `units` for asset amounts), like the node's `ValueFromAmount`.
 */
export function amount(sat: bigint, decimals = 8): RawJson {
  const negative = sat < 0n;
  const abs = negative ? -sat : sat;
  const whole = abs / 100_000_000n;
  const frac = (abs % 100_000_000n).toString().padStart(8, "0").slice(
    0,
    decimals,
  );
  const text = decimals > 0 ? `${whole}.${frac}` : `${whole}`;
  return new RawJson(negative ? `-${text}` : text);
}

/**
 * Writes a value as compact JSON; {@linkcode RawJson} values are written
 * verbatim, `bigint`s as plain integers, `undefined` object members skipped.
 */
export function stringify(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof RawJson) return value.text;
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : "null";
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "true" : "false";
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => stringify(item)).join(",")}]`;
  }
  if (value instanceof Uint8Array) return JSON.stringify(Array.from(value));
  const parts: string[] = [];
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${stringify(item)}`);
  }
  return `{${parts.join(",")}}`;
}
