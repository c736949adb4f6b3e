/**
 * Helpers of `EvrmoreWebSocketServer`'s access control: bearer tokens
 * (header, WebSocket subprotocol, query), origins, and per-client rate
 * limits. Server side only (uses `node:crypto`).
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { TOKEN_PROTOCOL_PREFIX, WEBSOCKET_PROTOCOL } from "./_protocol.ts";
import { MessageIdSchema } from "./_schemas.ts";

/** The subprotocols a request offers, in order. */
export function offeredProtocols(request: Request): string[] {
  const header = request.headers.get("sec-websocket-protocol");
  if (header === null) return [];
  return header.split(",").map((p) => p.trim()).filter((p) => p !== "");
}

/**
 * The subprotocol to echo: `evrmore` when offered, else the first
 * `evrmore.token.*` offered (a browser fails the handshake when it offered
 * subprotocols and none comes back), else none.
 */
export function selectProtocol(offered: readonly string[]): string | undefined {
  if (offered.includes(WEBSOCKET_PROTOCOL)) return WEBSOCKET_PROTOCOL;
  return offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
}

/**
 * The tokens a request presents: `Authorization: Bearer <t>`, subprotocols
 * `evrmore.token.<t>`, and `?token=<t>`.
 */
export function presentedTokens(request: Request, url: URL): string[] {
  const tokens: string[] = [];
  const authorization = request.headers.get("authorization");
  if (authorization !== null) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (match?.[1] !== undefined) tokens.push(match[1]);
  }
  for (const protocol of offeredProtocols(request)) {
    if (protocol.startsWith(TOKEN_PROTOCOL_PREFIX)) {
      tokens.push(protocol.slice(TOKEN_PROTOCOL_PREFIX.length));
    }
  }
  for (const token of url.searchParams.getAll("token")) tokens.push(token);
  return tokens;
}

/** SHA-256 of a string's UTF-8 bytes. */
export function digest(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Whether one of `tokens` is the expected token. Compares SHA-256 digests
 * (equal lengths) in constant time, and checks every candidate.
 */
export function tokenMatches(
  tokens: readonly string[],
  expected: Uint8Array,
): boolean {
  let ok = false;
  for (const token of tokens.slice(0, 8)) {
    if (timingSafeEqual(digest(token), expected)) ok = true;
  }
  return ok;
}

/**
 * Normalizes the `allowedOrigins` option: `"*"` and `"null"` stay, others
 * become `scheme://host[:port]` as browsers send them.
 *
 * @throws {TypeError} For an entry that is not an origin.
 */
export function normalizeOrigins(origins: unknown): ReadonlySet<string> {
  if (
    typeof origins !== "object" || origins === null ||
    !(Symbol.iterator in origins)
  ) {
    throw new TypeError(
      "Cannot create server: allowedOrigins must be an array of origins",
    );
  }
  const out = new Set<string>();
  for (const origin of origins as Iterable<unknown>) {
    if (typeof origin !== "string") {
      throw new TypeError(
        "Cannot create server: allowedOrigins entries must be strings",
      );
    }
    if (origin === "*" || origin === "null") {
      out.add(origin);
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (
      url === undefined || url.origin === "null" ||
      (url.pathname !== "/" && url.pathname !== "") || url.search !== "" ||
      url.hash !== "" || url.username !== "" || url.password !== ""
    ) {
      throw new TypeError(
        `Cannot create server: allowedOrigins entry ${
          JSON.stringify(origin)
        } is not an origin such as "https://example.com"`,
      );
    }
    out.add(url.origin);
  }
  return out;
}

/** Whether a request's `Origin` header passes the allowed set (no header passes). */
export function originAllowed(
  origin: string | null,
  allowed: ReadonlySet<string> | undefined,
): boolean {
  if (origin === null || allowed === undefined || allowed.has("*")) return true;
  if (allowed.has(origin)) return true;
  if (origin === "null") return false;
  try {
    return allowed.has(new URL(origin).origin);
  } catch {
    return false;
  }
}

/**
 * A client's message allowance: a token bucket of `burst` messages
 * refilled at `rate` per second; refused messages draw on a second bucket
 * of `10 × rate` refilled at `rate` per second, and a client that empties
 * it is to be closed.
 */
export class RateLimiter {
  #rate: number;
  #burst: number;
  #tokens: number;
  #patience: number;
  #maxPatience: number;
  #last: number;

  /**
   * @param rate Messages per second.
   * @param burst Messages accepted at once after a quiet time.
   * @param now The current time in ms.
   */
  constructor(rate: number, burst: number, now: number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#maxPatience = Math.max(1, 10 * rate);
    this.#patience = this.#maxPatience;
    this.#last = now;
  }

  /**
   * Takes one message: `"ok"` when allowed, `"limited"` when refused,
   * `"abusive"` when refused and the refusals ran out of patience.
   */
  take(now: number): "ok" | "limited" | "abusive" {
    const elapsed = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
    this.#patience = Math.min(
      this.#maxPatience,
      this.#patience + elapsed * this.#rate,
    );
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return "ok";
    }
    this.#patience -= 1;
    return this.#patience < 0 ? "abusive" : "limited";
  }
}

/**
 * The `id` of a client message, when it has a valid one (to answer a
 * refused message so the client's pending request settles).
 */
export function messageId(text: string): string | number | undefined {
  if (!text.includes('"id"')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const id = MessageIdSchema.safeParse((parsed as { id?: unknown }).id);
    if (id.success) return id.data;
  } catch {
    // Not JSON: no id.
  }
  return undefined;
}
