/**
 * Checks an options object against the names a constructor knows, so that a
 * misspelt option (or the design document's snake_case name) fails loudly
 * instead of being ignored.
 *
 * Pure; no I/O.
 *
 * @module
 */

/**
 * Throws a `TypeError` naming the first option of `options` that is not in
 * `known`, with the most likely intended name: the camelCase form of a
 * snake_case name (`ping_interval` → `pingInterval`), else the known name
 * within a small edit distance (`pingIntreval` → `pingInterval`), compared
 * without case.
 *
 * `undefined` and `null` options objects pass (the defaults apply).
 *
 * @param name What is being created, for the message (`"EvrmoreWebSocketClient"`).
 * @param options The options given.
 * @param known The option names the constructor reads.
 * @throws {TypeError} On an options value that is not an object, or an unknown option.
 */
export function checkOptions(
  name: string,
  options: unknown,
  known: readonly string[],
): void {
  if (options === undefined || options === null) return;
  if (typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`Cannot create ${name}: options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const suggestion = suggestOption(key, known);
    throw new TypeError(
      `Cannot create ${name}: unknown option ${JSON.stringify(key)}${
        suggestion === undefined
          ? ` (options: ${known.join(", ")})`
          : ` (did you mean ${suggestion}?)`
      }`,
    );
  }
}

/**
 * The known option most likely meant by an unknown `key`, or `undefined`.
 *
 * @param key The unknown option name.
 * @param known The option names the constructor reads.
 */
export function suggestOption(
  key: string,
  known: readonly string[],
): string | undefined {
  const camel = key.replace(
    /[_-]+([a-zA-Z0-9])/g,
    (_, c: string) => c.toUpperCase(),
  );
  if (known.includes(camel)) return camel;
  const wanted = camel.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // At most a third of the name may differ (and never more than 3 edits).
  const limit = Math.min(3, Math.max(1, Math.floor(wanted.length / 3)));
  return bestDistance <= limit ? best : undefined;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + cost,
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
