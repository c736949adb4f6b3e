import assert from "node:assert/strict";
import {
  addressKey,
  clientAddress,
  formatIp,
  parseHop,
  parseIp,
  TrustedProxies,
} from "../lib/websocket/_client_address.ts";

const canon = (text: string) => {
  const bytes = parseIp(text);
  return bytes === undefined ? undefined : formatIp(bytes);
};

Deno.test("parseIp() and formatIp() round-trip IPv4 and IPv6 canonically", () => {
  assert.equal(canon("192.0.2.1"), "192.0.2.1");
  assert.equal(canon("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(canon("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
  assert.equal(canon("::"), "::");
  assert.equal(canon("::1"), "::1");
  assert.equal(canon("fe80::"), "fe80::");
  assert.equal(canon("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
  assert.equal(canon("::ffff:192.0.2.9"), "192.0.2.9");
  assert.equal(canon("64:ff9b::192.0.2.33"), "64:ff9b::c000:221");
});

Deno.test("parseIp() rejects what is not an address", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1.2.3.4.5",
      "a.b.c.d",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "::g",
      "unknown",
      "1.2.3.4 ",
      "1:2:3:4:5:6:7::8:9",
    ]
  ) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("parseHop() strips quotes, brackets and ports", () => {
  const hop = (t: string) => {
    const b = parseHop(t);
    return b === undefined ? undefined : formatIp(b);
  };
  assert.equal(hop(" 203.0.113.7 "), "203.0.113.7");
  assert.equal(hop("203.0.113.7:4711"), "203.0.113.7");
  assert.equal(hop('"[2001:db8:cafe::17]:4711"'), "2001:db8:cafe::17");
  assert.equal(hop("[2001:db8::1]"), "2001:db8::1");
  assert.equal(hop("2001:db8::1"), "2001:db8::1");
  assert.equal(hop("unknown"), undefined);
  assert.equal(hop("_hidden"), undefined);
  assert.equal(hop("[::1]x"), undefined);
  assert.equal(hop("1.2.3.4:port"), undefined);
});

Deno.test("TrustedProxies matches addresses, CIDR ranges and keywords", () => {
  const p = new TrustedProxies(["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]);
  assert.equal(p.has("10.255.0.1"), true);
  assert.equal(p.has("11.0.0.1"), false);
  assert.equal(p.has("192.0.2.1"), true);
  assert.equal(p.has("192.0.2.2"), false);
  assert.equal(p.has("2001:db8:ffff::1"), true);
  assert.equal(p.has("2001:db9::1"), false);
  assert.equal(p.has("::ffff:10.1.1.1"), true);
  assert.equal(p.has("not-an-ip"), false);
  const k = new TrustedProxies(["loopback", "private"]);
  assert.equal(k.has("127.0.0.2"), true);
  assert.equal(k.has("::1"), true);
  assert.equal(k.has("172.31.255.255"), true);
  assert.equal(k.has("172.32.0.0"), false);
  assert.equal(k.has("fd12::1"), true);
  assert.equal(new TrustedProxies(["0.0.0.0/0"]).has("8.8.8.8"), true);
  assert.equal(new TrustedProxies(["10.0.0.0/12"]).has("10.16.0.0"), false);
  assert.equal(new TrustedProxies(["10.0.0.0/12"]).has("10.15.0.0"), true);
});

Deno.test("TrustedProxies rejects bad entries with TypeError", () => {
  for (const bad of ["10.0.0.0/33", "proxy.local", "::1/129", "10.0.0.0/x"]) {
    assert.throws(() => new TrustedProxies([bad]), TypeError, bad);
  }
});

Deno.test("clientAddress() never reads headers from an untrusted peer", () => {
  const headers = new Headers({
    "x-forwarded-for": "1.1.1.1",
    forwarded: "for=1.1.1.1",
  });
  assert.equal(clientAddress("198.51.100.9", headers), "198.51.100.9");
  const trustProxy = new TrustedProxies(["10.0.0.1"]);
  assert.equal(
    clientAddress("198.51.100.9", headers, { trustProxy }),
    "198.51.100.9",
  );
  assert.equal(clientAddress("::ffff:198.51.100.9", headers), "198.51.100.9");
  assert.equal(clientAddress("[2001:DB8::9]", headers), "2001:db8::9");
});

Deno.test("clientAddress() takes the right-most untrusted X-Forwarded-For hop", () => {
  const trustProxy = new TrustedProxies(["10.0.0.0/8"]);
  const at = (xff: string | null) =>
    clientAddress(
      "10.0.0.1",
      new Headers(xff === null ? {} : { "x-forwarded-for": xff }),
      { trustProxy },
    );
  // The client wrote 6.6.6.6 itself; the proxy appended the real peer.
  assert.equal(at("6.6.6.6, 203.0.113.7"), "203.0.113.7");
  assert.equal(at("6.6.6.6, 203.0.113.7, 10.0.0.2"), "203.0.113.7");
  assert.equal(at("2001:db8::7"), "2001:db8::7");
  assert.equal(at(null), "10.0.0.1");
  // All hops trusted: the left-most one.
  assert.equal(at("10.0.0.3, 10.0.0.2"), "10.0.0.3");
  // Garbage stops the walk at the trusted proxy that reported it.
  assert.equal(at("203.0.113.7, unknown, 10.0.0.2"), "10.0.0.2");
  assert.equal(at("garbage"), "10.0.0.1");
  // Two header lines are one list.
  const two = new Headers();
  two.append("x-forwarded-for", "6.6.6.6");
  two.append("x-forwarded-for", "203.0.113.8");
  assert.equal(clientAddress("10.0.0.1", two, { trustProxy }), "203.0.113.8");
});

Deno.test("clientAddress() reads RFC 7239 Forwarded only when told to", () => {
  const trustProxy = new TrustedProxies(["loopback"]);
  const headers = new Headers({
    forwarded:
      'for=6.6.6.6;proto=http, for="[2001:db8:cafe::17]:4711";by=127.0.0.1, for=127.0.0.5',
    "x-forwarded-for": "203.0.113.1",
  });
  assert.equal(
    clientAddress("127.0.0.1", headers, { trustProxy, header: "forwarded" }),
    "2001:db8:cafe::17",
  );
  assert.equal(
    clientAddress("127.0.0.1", headers, { trustProxy }),
    "203.0.113.1",
  );
  const quoted = new Headers({ forwarded: 'For="192.0.2.60:80", for=unknown' });
  assert.equal(
    clientAddress("127.0.0.1", quoted, { trustProxy, header: "forwarded" }),
    "127.0.0.1",
  );
});

Deno.test("addressKey() groups IPv6 by /64 and leaves IPv4 alone", () => {
  assert.equal(addressKey("192.0.2.1"), "192.0.2.1");
  assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:db8:1:2:bbbb::2"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:db8:1:2::1", 48), "2001:db8:1::/48");
  assert.equal(addressKey("2001:db8::1", 128), "2001:db8::1");
  assert.equal(addressKey("weird"), "weird");
});
