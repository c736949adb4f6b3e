/**
 * TLS without a proxy: `certFile`/`keyFile` on `EvrmoreWebSocketServer` and
 * `--cert`/`--key` on `server.ts` serve `https://` and `wss://` from
 * `Deno.serve` itself. Each run makes a throwaway CA and a server
 * certificate for `localhost`/`127.0.0.1` with Debian's `openssl` in a temp
 * dir, and trusts that CA only: `Deno.createHttpClient({ caCerts })` for
 * fetch, `Deno.connectTls({ caCerts })` for a raw handshake, and `--cert`
 * for a child Deno running `EvrmoreWebSocketClient` (a WHATWG WebSocket
 * takes its roots from the runtime).
 *
 * Ignored, with a note on stdout, when no `openssl` is on the PATH
 * (`.ci/run` installs it).
 *
 * Needs `-A` (openssl and deno subprocesses, temp files, zeromq).
 */

import assert from "node:assert/strict";
import { ConnectionError } from "../lib/errors.ts";
import { EvrmoreWebSocketServer } from "../lib/websocket/mod.ts";
import { main } from "../server.ts";
import { stubServer } from "./_ws_hardening_helpers.ts";

const TIMEOUT_MS = 20_000;
const CLIENT = new URL("../client.ts", import.meta.url).href;
const CONFIG = decodeURIComponent(
  new URL("../deno.json", import.meta.url).pathname,
);

function findOpenssl(): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/openssl`).isFile) return `${dir}/openssl`;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

const openssl = findOpenssl();
if (openssl === undefined) {
  console.log(
    "tls_test: no openssl on the PATH (apt-get install openssl); the TLS tests are ignored",
  );
}

interface Pki {
  dir: string;
  ca: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function run(command: string, args: string[], cwd: string) {
  const { code, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`,
    );
  }
}

/** A throwaway CA and a server certificate it signed, in a temp dir. */
async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "evr-tls-" });
  const ssl = (...args: string[]) => run(openssl!, args, dir);
  await ssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=evrmore test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  );
  await ssl(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\n" +
      "basicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature\n" +
      "extendedKeyUsage=serverAuth\n",
  );
  await ssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
    "-out",
    "server.pem",
  );
  return {
    dir,
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/server.pem`,
    keyFile: `${dir}/server.key`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** The status line and headers of a raw WebSocket handshake over TLS. */
async function tlsHandshake(port: number, ca: string): Promise<string> {
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [ca],
  });
  try {
    await conn.write(new TextEncoder().encode(
      [
        "GET / HTTP/1.1",
        `Host: localhost:${port}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        "",
        "",
      ].join("\r\n"),
    ));
    let text = "";
    const buffer = new Uint8Array(4096);
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

Deno.test({
  name:
    "EvrmoreWebSocketServer with certFile/keyFile serves https:// and wss:// to a client trusting the CA",
  ignore: openssl === undefined,
  async fn() {
    await using pki = await makePki();
    await using server = await stubServer({
      host: "localhost",
      certFile: pki.certFile,
      keyFile: pki.keyFile,
    }, { answer: 7 });
    assert.equal(server.secure, true);
    assert.equal(server.url, `wss://localhost:${server.port}/`);

    using client = Deno.createHttpClient({ caCerts: [pki.ca] });
    const health = await fetch(`https://localhost:${server.port}/health`, {
      client,
    });
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
    const page = await fetch(`https://localhost:${server.port}/`, { client });
    assert.equal(page.status, 200);
    assert.match(
      page.headers.get("content-security-policy") ?? "",
      new RegExp(`connect-src 'self' wss://localhost:${server.port};`),
    );
    await page.body?.cancel();

    const answer = await tlsHandshake(server.port, pki.ca);
    assert.match(answer, /^HTTP\/1\.1 101 /);

    // Without the CA, the certificate is refused.
    await assert.rejects(
      fetch(`https://localhost:${server.port}/health`),
      TypeError,
    );
    // Plain HTTP on the TLS port gets no answer.
    await assert.rejects(
      fetch(`http://localhost:${server.port}/health`),
    );
  },
});

Deno.test("EvrmoreWebSocketServer refuses certFile without keyFile, and rejects start() on an unreadable file", async () => {
  const base = {
    rpcClient: {
      call: () => Promise.resolve(null),
      getmempoolinfo: () => Promise.resolve({ size: 0, bytes: 0, usage: 0 }),
    },
    zmqClient: { on: () => () => {}, start: () => Promise.resolve() },
    host: "127.0.0.1",
    port: 0,
  };
  assert.throws(
    () => new EvrmoreWebSocketServer({ ...base, certFile: "/x.pem" }),
    { name: "TypeError", message: /certFile and keyFile go together/ },
  );
  assert.throws(
    () => new EvrmoreWebSocketServer({ ...base, certFile: "", keyFile: "k" }),
    TypeError,
  );
  const dir = await Deno.makeTempDir({ prefix: "evr-tls-" });
  try {
    const missing = `${dir}/missing.pem`;
    await using server = new EvrmoreWebSocketServer({
      ...base,
      certFile: missing,
      keyFile: missing,
    });
    await assert.rejects(server.start(), (error: Error) => {
      assert.ok(error instanceof ConnectionError);
      assert.match(error.message, /^Cannot read certFile .*missing\.pem: /);
      return true;
    });
    assert.equal(server.listening, false);
    // Readable but not PEM: Deno.serve refuses it.
    await Deno.writeTextFile(`${dir}/bad.pem`, "not a certificate\n");
    await using bad = new EvrmoreWebSocketServer({
      ...base,
      certFile: `${dir}/bad.pem`,
      keyFile: `${dir}/bad.pem`,
    });
    await assert.rejects(bad.start(), ConnectionError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server.ts main() exits 2 on --cert without --key and on an unreadable file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evr-tls-" });
  try {
    const cases: Array<[string[], RegExp]> = [
      [["--cert", `${dir}/a.pem`], /^Cannot use --cert: --key is needed too/],
      [["--key", `${dir}/a.pem`], /^Cannot use --key: --cert is needed too/],
      [
        ["--cert", `${dir}/a.pem`, "--key", `${dir}/b.pem`],
        /^Cannot use --cert .*a\.pem: /,
      ],
    ];
    for (const [args, pattern] of cases) {
      const log: string[] = [];
      const error: string[] = [];
      const code = await main(args, {
        handleSignals: false,
        log: (line) => log.push(line),
        error: (line) => error.push(line),
      });
      assert.equal(code, 2, args.join(" "));
      assert.deepEqual(log, []);
      assert.match(error[0] ?? "", pattern);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "server.ts --devnet --cert --key prints wss:// and serves a block to EvrmoreWebSocketClient in a Deno trusting the CA",
  ignore: openssl === undefined,
  async fn() {
    await using pki = await makePki();
    const controller = new AbortController();
    const log: string[] = [];
    const error: string[] = [];
    let onAddress: (uri: string) => void = () => {};
    const address = new Promise<string>((resolve) => (onAddress = resolve));
    const running = main([
      "--devnet",
      "--host",
      "localhost",
      "--port",
      "0",
      "--block-interval",
      "0.3",
      "--cert",
      pki.certFile,
      "--key",
      pki.keyFile,
    ], {
      signal: controller.signal,
      handleSignals: false,
      log: (line) => {
        log.push(line);
        const match = line.match(/^WebSocket server started on (\S+)$/);
        if (match) onAddress(match[1]!);
      },
      error: (line) => error.push(line),
    });
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const uri = await Promise.race([
        address,
        running.then((code) => {
          throw new Error(`main() ended (${code}): ${error.join("\n")}`);
        }),
        new Promise<never>((_, reject) =>
          timer = setTimeout(
            () => reject(new Error("no wss:// line")),
            TIMEOUT_MS,
          )
        ),
      ]).finally(() => clearTimeout(timer));
      assert.match(uri, /^wss:\/\/localhost:\d+$/);
      assert.ok(log.includes(`Dashboard: ${uri.replace(/^wss:/, "https:")}/`));

      // A child Deno that trusts the CA (--cert) runs the real client.
      const script = `${pki.dir}/client.ts`;
      await Deno.writeTextFile(
        script,
        `import { EvrmoreWebSocketClient } from ${JSON.stringify(CLIENT)};
await using client = new EvrmoreWebSocketClient({ uri: ${
          JSON.stringify(uri)
        } });
await client.connect();
await client.subscribe("blocks");
const message = await client.receive({ signal: AbortSignal.timeout(${TIMEOUT_MS}) });
console.log(JSON.stringify({ type: message.type, height: message.type === "block" ? message.data.height : null }));
`,
      );
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-lock",
          "--config",
          CONFIG,
          "--allow-net",
          "--allow-read",
          "--allow-env",
          "--cert",
          pki.caFile,
          script,
        ],
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(child.stdout);
      const stderr = new TextDecoder().decode(child.stderr);
      assert.equal(child.code, 0, stderr);
      const received = JSON.parse(stdout.trim().split("\n").at(-1)!);
      assert.equal(received.type, "block");
      assert.equal(typeof received.height, "number");
    } finally {
      controller.abort();
    }
    assert.equal(await running, 0);
    assert.deepEqual(error, []);
  },
});
