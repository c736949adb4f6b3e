import assert from "node:assert/strict";
import {
  encodeCloseFrame,
  FrameGuard,
  type FrameVerdict,
} from "../lib/websocket/_frame_guard.ts";

/** A client frame: masked, with the shortest length encoding. */
function frame(
  opcode: number,
  payloadLength: number,
  { fin = true, mask = true, rsv = 0, announce }: {
    fin?: boolean;
    mask?: boolean;
    rsv?: number;
    announce?: number;
  } = {},
): Uint8Array {
  const length = announce ?? payloadLength;
  const ext = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const head = new Uint8Array(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? length : ext === 2 ? 126 : 127);
  const view = new DataView(head.buffer);
  if (ext === 2) view.setUint16(2, length);
  if (ext === 8) view.setBigUint64(2, BigInt(length));
  if (mask) head.set([1, 2, 3, 4], 2 + ext);
  const out = new Uint8Array(head.length + payloadLength);
  out.set(head);
  out.fill(0x61, head.length);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds `bytes` in chunks of `size` bytes; returns the last verdict. */
function feedIn(
  guard: FrameGuard,
  bytes: Uint8Array,
  size: number,
): FrameVerdict {
  let verdict: FrameVerdict = { kind: "ok" };
  for (let i = 0; i < bytes.length; i += size) {
    verdict = guard.feed(bytes.subarray(i, i + size));
  }
  return verdict;
}

const stream = concat(
  frame(1, 5),
  frame(2, 125),
  frame(2, 126),
  frame(1, 65536),
  frame(9, 4), // ping
  frame(1, 1000, { fin: false }),
  frame(10, 0), // pong between fragments
  frame(0, 1000, { fin: false }),
  frame(0, 63536), // total 65536: at the limit
  frame(2, 0),
);

Deno.test("FrameGuard.feed() follows frames in any chunking", () => {
  for (const size of [1, 2, 3, 7, 13, 64, 1000, stream.length]) {
    const guard = new FrameGuard({ maxMessageBytes: 65536 });
    assert.deepEqual(
      feedIn(guard, stream, size),
      { kind: "ok" },
      `chunk ${size}`,
    );
  }
});

Deno.test("FrameGuard.feed() flags a frame announcing more than the limit at its header", () => {
  const guard = new FrameGuard({ maxMessageBytes: 65536 });
  const big = frame(2, 0, { announce: 60 * 1024 * 1024 }); // header only
  assert.equal(big.length, 14);
  assert.deepEqual(guard.feed(big.subarray(0, 13)), { kind: "ok" });
  assert.deepEqual(guard.feed(big.subarray(13)), {
    kind: "too_big",
    length: 60 * 1024 * 1024,
  });
  // Sticky.
  assert.equal(guard.feed(frame(1, 1)).kind, "too_big");
  assert.equal(guard.verdict.kind, "too_big");
  // Text too, one byte over, 16-bit length.
  const text = new FrameGuard({ maxMessageBytes: 1000 });
  assert.deepEqual(text.feed(frame(1, 0, { announce: 1001 })), {
    kind: "too_big",
    length: 1001,
  });
  // Huge 64-bit lengths.
  const huge = new FrameGuard();
  assert.equal(huge.feed(frame(2, 0, { announce: 2 ** 40 })).kind, "too_big");
});

Deno.test("FrameGuard.feed() adds up the fragments of one message", () => {
  const guard = new FrameGuard({ maxMessageBytes: 3000 });
  assert.equal(guard.feed(frame(2, 1000, { fin: false })).kind, "ok");
  assert.equal(guard.feed(frame(9, 10)).kind, "ok"); // ping in between
  assert.equal(guard.feed(frame(0, 1000, { fin: false })).kind, "ok");
  assert.deepEqual(guard.feed(frame(0, 0, { announce: 1001 })), {
    kind: "too_big",
    length: 3001,
  });
  // A finished message resets the count.
  const fresh = new FrameGuard({ maxMessageBytes: 3000 });
  fresh.feed(frame(2, 2000, { fin: false }));
  fresh.feed(frame(0, 1000));
  assert.equal(fresh.feed(frame(2, 3000)).kind, "ok");
});

Deno.test("FrameGuard.feed() reports protocol errors", () => {
  const cases: [string, Uint8Array][] = [
    ["not masked", frame(1, 3, { mask: false })],
    ["reserved bits", frame(1, 3, { rsv: 4 })],
    ["reserved data opcode", frame(3, 1)],
    ["reserved control opcode", frame(11, 1)],
    ["fragmented control frame", frame(9, 1, { fin: false })],
    ["long control frame", frame(9, 126)],
    ["continuation without a message", frame(0, 1)],
    [
      "new message inside a fragmented one",
      concat(frame(1, 1, { fin: false }), frame(1, 1)),
    ],
  ];
  for (const [name, bytes] of cases) {
    const verdict = new FrameGuard().feed(bytes);
    assert.equal(verdict.kind, "protocol_error", name);
  }
  const bad = new Uint8Array(14);
  bad.set([0x82, 0xff, 0x80]);
  assert.equal(new FrameGuard().feed(bad).kind, "protocol_error");
  assert.equal(
    new FrameGuard({ requireMask: false }).feed(frame(1, 3, { mask: false }))
      .kind,
    "ok",
  );
});

Deno.test("FrameGuard.feed() stops reading at a close frame", () => {
  const guard = new FrameGuard({ maxMessageBytes: 10 });
  const bytes = concat(
    frame(1, 2),
    frame(8, 2),
    frame(2, 0, { announce: 999 }),
  );
  assert.deepEqual(guard.feed(bytes), { kind: "closed" });
});

Deno.test("FrameGuard rejects a bad limit with RangeError", () => {
  assert.throws(() => new FrameGuard({ maxMessageBytes: 0 }), RangeError);
  assert.throws(() => new FrameGuard({ maxMessageBytes: 1.5 }), RangeError);
});

Deno.test("encodeCloseFrame() writes code and a reason cut to 123 bytes", () => {
  assert.deepEqual(
    [...encodeCloseFrame(1009, "big")],
    [0x88, 5, 0x03, 0xf1, 0x62, 0x69, 0x67],
  );
  const long = encodeCloseFrame(1000, "é".repeat(100)); // 200 bytes
  assert.equal(long[1], 2 + 122); // cut before a split character
  assert.throws(() => encodeCloseFrame(999), RangeError);
});

Deno.test("FrameGuard reads the frames of Deno's own WebSocket client", async () => {
  // A raw TCP server answers the upgrade and keeps every byte that follows.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: Uint8Array[] = [];
  const served = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(1 << 16);
    let head = "";
    let rest = new Uint8Array(0);
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("closed before the upgrade");
      const chunk = buf.slice(0, n);
      head += new TextDecoder("latin1").decode(chunk);
      const end = head.indexOf("\r\n\r\n");
      if (end !== -1) {
        rest = chunk.slice(chunk.length - (head.length - end - 4));
      }
    }
    const key = /sec-websocket-key: *(\S+)/i.exec(head)![1]!;
    const digest = await crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC11B85"),
    );
    const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
    await conn.write(new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    ));
    if (rest.length > 0) received.push(rest);
    let total = rest.length;
    const want = (2 + 4 + 5) + (2 + 8 + 4 + 200_000); // two masked frames
    while (total < want) {
      const n = await conn.read(buf);
      if (n === null) break;
      received.push(buf.slice(0, n));
      total += n;
    }
    conn.close();
  })();
  const ws = new WebSocket(
    `ws://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`,
  );
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  ws.send("hello");
  ws.send(new Uint8Array(200_000));
  const closed = new Promise((resolve) => (ws.onclose = resolve));
  await served;
  await closed;
  listener.close();
  const guard = new FrameGuard({ maxMessageBytes: 65536 });
  const all = concat(...received);
  const verdict = guard.feed(all.subarray(0, 5 + 6)); // "hello" frame
  assert.deepEqual(verdict, { kind: "ok" });
  assert.deepEqual(guard.feed(all.subarray(11)), {
    kind: "too_big",
    length: 200_000,
  });
});
