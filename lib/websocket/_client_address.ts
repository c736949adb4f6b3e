/**
 * The client's IP address behind trusted reverse proxies: parses IPv4/IPv6
 * addresses and CIDR ranges, `X-Forwarded-For` and RFC 7239 `Forwarded`,
 * and takes the right-most hop that is not a trusted proxy. Headers are read
 * only when the TCP peer itself is a trusted proxy, so a direct client can
 * never choose its own address.
 *
 * @module
 */

/** An IP address as bytes: 4 for IPv4 (also IPv4-mapped IPv6), 16 for IPv6. */
export type IpBytes = Uint8Array;

/**
 * Parses an IPv4 or IPv6 address (no port, no brackets, no zone); an
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) gives the 4 IPv4 bytes.
 * Returns `undefined` for anything else.
 */
export function parseIp(text: string): IpBytes | undefined {
  if (text.includes(":")) {
    const bytes = parseIpv6(text);
    if (bytes === undefined) return undefined;
    const mapped = bytes.subarray(0, 10).every((b) => b === 0) &&
      bytes[10] === 0xff && bytes[11] === 0xff;
    return mapped ? bytes.slice(12) : bytes;
  }
  return parseIpv4(text);
}

function parseIpv4(text: string): IpBytes | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseIpv6(text: string): IpBytes | undefined {
  if (text.length > 45) return undefined;
  let tail: IpBytes | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) !== -1) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    body = text.slice(0, lastColon + 1) + "0:0"; // placeholder hextets
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const split = (s: string) => (s === "" ? [] : s.split(":"));
  const head = split(halves[0]!);
  const rest = halves.length === 2 ? split(halves[1]!) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...head, ...Array(8 - total).fill("0"), ...rest];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const group = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    const value = parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  }
  if (tail !== undefined) bytes.set(tail, 12);
  return bytes;
}

/** Canonical text of an address: dotted IPv4, or RFC 5952 IPv6. */
export function formatIp(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Longest run (≥2) of zero groups, first one on ties.
  let bestStart = -1, bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLength).join(":");
  return `${left}::${right}`;
}

interface Range {
  bytes: IpBytes;
  bits: number;
}

function inRange(ip: IpBytes, range: Range): boolean {
  if (ip.length !== range.bytes.length) return false;
  let bits = range.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

/**
 * A list of trusted proxies: addresses (`10.0.0.1`, `::1`) and CIDR ranges
 * (`10.0.0.0/8`, `fd00::/8`). The word `loopback` stands for `127.0.0.0/8`
 * and `::1`, `private` for the RFC 1918 and RFC 4193 ranges.
 *
 * @example
 * ```ts
 * import { TrustedProxies } from "./_client_address.ts";
 * const proxies = new TrustedProxies(["10.0.0.0/8", "::1"]);
 * console.log(proxies.has("10.1.2.3"), proxies.has("192.0.2.1")); // true false
 * ```
 */
export class TrustedProxies {
  #ranges: Range[] = [];

  /** @throws {TypeError} When an entry is not an address, range or keyword. */
  constructor(entries: readonly string[] = []) {
    for (const entry of entries) {
      const text = entry.trim();
      if (text === "loopback") {
        this.#ranges.push(range("127.0.0.0/8"), range("::1/128"));
      } else if (text === "private") {
        for (const r of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]) {
          this.#ranges.push(range(r));
        }
        this.#ranges.push(range("fc00::/7"));
      } else {
        this.#ranges.push(range(text));
      }
    }
  }

  /** Whether nothing is trusted. */
  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /** Whether `address` (text or bytes) is a trusted proxy. */
  has(address: string | IpBytes): boolean {
    const ip = typeof address === "string" ? parseIp(address) : address;
    if (ip === undefined) return false;
    return this.#ranges.some((r) => inRange(ip, r));
  }
}

function range(text: string): Range {
  const slash = text.indexOf("/");
  const ipText = slash === -1 ? text : text.slice(0, slash);
  const bytes = parseIp(ipText);
  if (bytes === undefined) {
    throw new TypeError(
      `Cannot trust proxy "${text}": not an IP address or CIDR range`,
    );
  }
  const max = bytes.length * 8;
  let bits = max;
  if (slash !== -1) {
    const bitsText = text.slice(slash + 1);
    bits = /^[0-9]{1,3}$/.test(bitsText) ? Number(bitsText) : -1;
    // An IPv4-mapped range given in IPv6 form counts its prefix past ::ffff:0:0/96.
    if (ipText.includes(":") && bytes.length === 4) bits -= 96;
    if (bits < 0 || bits > max) {
      throw new TypeError(
        `Cannot trust proxy "${text}": prefix length must be 0-${max}`,
      );
    }
  }
  return { bytes, bits };
}

/**
 * Parses one hop of `X-Forwarded-For` or a `Forwarded` `for=` value:
 * strips quotes, brackets and a port. Returns `undefined` when not an IP
 * (`unknown`, `_hidden`, garbage).
 */
export function parseHop(value: string): IpBytes | undefined {
  let text = value.trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) {
    text = text.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) return undefined;
    const rest = text.slice(close + 1);
    if (rest !== "" && !/^:[0-9]{1,5}$/.test(rest)) return undefined;
    return parseIp(text.slice(1, close));
  }
  const colon = text.indexOf(":");
  if (colon !== -1 && colon === text.lastIndexOf(":")) {
    // IPv4 with a port
    if (!/^[0-9]{1,5}$/.test(text.slice(colon + 1))) return undefined;
    text = text.slice(0, colon);
  }
  return parseIp(text);
}

const MAX_HOPS = 64;

/** The `for=` values of `Forwarded`, in order; `undefined` marks a bad hop. */
function forwardedHops(header: string): (IpBytes | undefined)[] {
  const hops: (IpBytes | undefined)[] = [];
  // Split on commas and semicolons outside quotes.
  let inQuotes = false, start = 0;
  const pairs: string[] = [];
  for (let i = 0; i <= header.length; i++) {
    const c = header[i];
    if (c === '"' && header[i - 1] !== "\\") inQuotes = !inQuotes;
    if (i === header.length || (!inQuotes && (c === "," || c === ";"))) {
      pairs.push(header.slice(start, i));
      start = i + 1;
    }
  }
  for (const text of pairs) {
    const eq = text.indexOf("=");
    if (eq === -1) continue;
    if (text.slice(0, eq).trim().toLowerCase() !== "for") continue;
    hops.push(parseHop(text.slice(eq + 1)));
    if (hops.length > MAX_HOPS) break;
  }
  return hops;
}

function xffHops(header: string): (IpBytes | undefined)[] {
  return header.split(",").slice(-MAX_HOPS - 1).map(parseHop);
}

/** Options of {@linkcode clientAddress}. */
export interface ClientAddressOptions {
  /** Proxies whose forwarding headers are believed. Default: none. */
  trustProxy?: TrustedProxies;
  /**
   * The one header the proxies write. Default `"x-forwarded-for"` (nginx,
   * HAProxy, most load balancers). Only the header the proxy itself appends
   * to may be read: a proxy passes other headers through untouched, so a
   * client could write them.
   */
  header?: "x-forwarded-for" | "forwarded";
}

/**
 * The client's address for a connection from `peer` carrying `headers`.
 * Without a trusted proxy list, or when `peer` is not on it, that is `peer`
 * itself. Otherwise the hops of the one header named by `header` (lines of
 * it joined) are walked from the right, skipping trusted proxies;
 * the first untrusted hop is the client. A hop that is not an IP address
 * stops the walk at the trusted proxy that reported it.
 *
 * @example
 * ```ts
 * import { clientAddress, TrustedProxies } from "./_client_address.ts";
 * const trustProxy = new TrustedProxies(["10.0.0.0/8"]);
 * const headers = new Headers({ "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.2" });
 * console.log(clientAddress("10.0.0.1", headers, { trustProxy })); // 203.0.113.7
 * console.log(clientAddress("198.51.100.9", headers, { trustProxy })); // 198.51.100.9
 * ```
 */
export function clientAddress(
  peer: string,
  headers: Headers,
  options: ClientAddressOptions = {},
): string {
  const peerBytes = parseIp(peer.startsWith("[") ? peer.slice(1, -1) : peer);
  if (peerBytes === undefined) return peer;
  const trusted = options.trustProxy;
  if (trusted === undefined || trusted.empty || !trusted.has(peerBytes)) {
    return formatIp(peerBytes);
  }
  const name = options.header ?? "x-forwarded-for";
  const value = headers.get(name); // several lines arrive joined by ", "
  const hops = value === null
    ? []
    : name === "forwarded"
    ? forwardedHops(value)
    : xffHops(value);
  let client = peerBytes;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop === undefined) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return formatIp(client);
}

/**
 * The key a per-address cap counts under: the address itself for IPv4, its
 * `/ipv6PrefixBits` network for IPv6 (one host usually holds a whole /64).
 *
 * @example
 * ```ts
 * import { addressKey } from "./_client_address.ts";
 * console.log(addressKey("2001:db8:1:2:aaaa::1")); // 2001:db8:1:2::/64
 * ```
 */
export function addressKey(address: string, ipv6PrefixBits = 64): string {
  const bytes = parseIp(address);
  if (bytes === undefined || bytes.length === 4) return address;
  if (ipv6PrefixBits >= 128) return formatIp(bytes);
  const masked = bytes.slice();
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, ipv6PrefixBits - i * 8));
    masked[i] = masked[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return `${formatIp(masked)}/${ipv6PrefixBits}`;
}
