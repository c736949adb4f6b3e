/**
 * The live dashboard: the page `EvrmoreWebSocketServer` serves on `GET /`,
 * checked over HTTP, then in a real headless Chromium driven over the Chrome
 * DevTools Protocol (Deno's own WebSocket, no npm package) against the
 * embedded devnet.
 *
 * The browser test is ignored, with a note on stdout, when no Chromium is
 * found (`CHROME_PATH`, else `chromium`, `chromium-browser`, `google-chrome`
 * or `google-chrome-stable` on the PATH). `.ci/run` tries to install
 * Debian's `chromium` first.
 */

import assert from "node:assert/strict";
import {
  EvrmoreWebSocketClient,
  type EvrmoreWebSocketServer,
  type EvrmoreWebSocketServerOptions,
} from "../lib/websocket/mod.ts";
import { dashboardPage } from "../lib/websocket/_dashboard.ts";
import { stubServer } from "./_ws_hardening_helpers.ts";
import { nodeServer, startNode } from "./_ws_stack.ts";

// ---------------------------------------------------------------------------
// Over HTTP, with stand-ins for the node

/** A started server over stand-ins: every RPC call answers 7. */
function fakeServer(
  options: Partial<EvrmoreWebSocketServerOptions> = {},
): Promise<EvrmoreWebSocketServer> {
  return stubServer(options, { answer: 7 });
}

function inlineScript(html: string): string {
  const match = /<script nonce="([^"]+)">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(match, "the page has one nonce-bearing inline script");
  return match[2] ?? "";
}

Deno.test("dashboard: GET / and GET /dashboard serve the page under a strict CSP", async () => {
  await using server = await fakeServer();
  for (const path of ["/", "/dashboard"]) {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
    assert.equal(response.status, 200);
    assert.equal(
      response.headers.get("content-type"),
      "text/html; charset=utf-8",
    );
    const csp = response.headers.get("content-security-policy") ?? "";
    const html = await response.text();
    const nonce = /<script nonce="([^"]+)">/.exec(html)?.[1];
    assert.ok(nonce);
    assert.match(csp, /default-src 'none'/);
    assert.ok(
      csp.includes(`connect-src 'self' ws://127.0.0.1:${server.port};`),
      csp,
    );
    assert.ok(!/ ws: | wss: |ws:;|wss:;/.test(csp), csp);
    assert.ok(csp.includes(`script-src 'nonce-${nonce}'`), csp);
    assert.ok(csp.includes(`style-src 'nonce-${nonce}'`), csp);
    assert.ok(!csp.includes("unsafe"), csp);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.equal(response.headers.get("cache-control"), "no-store");
    // Self-contained: no external scripts, styles, images or fetches.
    assert.ok(!/\bsrc=|https?:\/\//.test(html), "no external resources");
    assert.match(html, /<tbody id="blocks">/);
    assert.match(html, /<html lang="en" data-ws-path="\/">/);
    // The script parses, and never writes event data as markup.
    const script = inlineScript(html);
    new Function(script);
    assert.ok(
      !/innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(
        script,
      ),
    );
  }
  // A fresh nonce per response.
  const [a, b] = await Promise.all(
    [1, 2].map(() =>
      fetch(`http://127.0.0.1:${server.port}/`).then(async (r) => {
        await r.body?.cancel();
        return r.headers.get("content-security-policy");
      })
    ),
  );
  assert.notEqual(a, b);
  const head = await fetch(`http://127.0.0.1:${server.port}/`, {
    method: "HEAD",
  });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
});

Deno.test("dashboard: WebSocket upgrades on / still work next to the page", async () => {
  await using server = await fakeServer();
  const client = new EvrmoreWebSocketClient({
    uri: `ws://127.0.0.1:${server.port}`,
  });
  try {
    await client.connect();
    await client.subscribe("blocks");
    assert.equal(await client.command("getblockcount"), 7);
  } finally {
    await client.disconnect();
  }
});

Deno.test("dashboard: with a WebSocket path elsewhere, the page points at it", async () => {
  await using server = await fakeServer({ path: "/ws" });
  const html = await fetch(`http://127.0.0.1:${server.port}/`).then((r) =>
    r.text()
  );
  assert.match(html, /data-ws-path="\/ws"/);
  const plain = await fetch(`http://127.0.0.1:${server.port}/ws`);
  assert.equal(plain.status, 426);
  await plain.body?.cancel();
});

Deno.test("dashboard: dashboard false gives 426 on the WebSocket path and 404 elsewhere", async () => {
  await using server = await fakeServer({ dashboard: false });
  const base = `http://127.0.0.1:${server.port}`;
  const root = await fetch(`${base}/`);
  assert.equal(root.status, 426);
  assert.equal(root.headers.get("upgrade"), "websocket");
  await root.body?.cancel();
  const page = await fetch(`${base}/dashboard`);
  assert.equal(page.status, 404);
  await page.body?.cancel();
});

Deno.test("dashboard: the WebSocket path is escaped into the page", () => {
  const html = dashboardPage({ path: '/a"><script>x</script>', nonce: "n" });
  assert.ok(!html.includes("<script>x"));
  assert.match(html, /data-ws-path="\/a&#34;&#62;&#60;script&#62;x/);
});

// ---------------------------------------------------------------------------
// In a real browser

function findChromium(): string | undefined {
  const fromEnv = Deno.env.get("CHROME_PATH");
  if (fromEnv) return fromEnv;
  const names = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
  ];
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    for (const name of names) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch {
        // Not there.
      }
    }
  }
  return undefined;
}

const chromium = findChromium();
if (chromium === undefined) {
  console.log(
    "dashboard_test: no Chromium found (set CHROME_PATH or install chromium); the browser test is ignored",
  );
}

interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

/** A Chrome DevTools Protocol connection over Deno's WebSocket. */
class Cdp {
  #ws: WebSocket;
  #nextId = 1;
  #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  #closed: Promise<void>;
  onEvent: (event: CdpEvent) => void = () => {};

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.#closed = new Promise((resolve) =>
      ws.addEventListener("close", () => {
        for (const { reject } of this.#pending.values()) {
          reject(new Error("CDP connection closed"));
        }
        this.#pending.clear();
        resolve();
      })
    );
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data));
      if (typeof message.id === "number") {
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) {
          waiter?.reject(new Error(`CDP: ${message.error.message}`));
        } else {
          waiter?.resolve(message.result);
        }
      } else if (typeof message.method === "string") {
        this.onEvent(message);
      }
    });
  }

  static connect(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(new Cdp(ws)), { once: true });
      ws.addEventListener(
        "error",
        () => reject(new Error(`Cannot connect to ${url}`)),
        { once: true },
      );
    });
  }

  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.#ws.send(JSON.stringify({
        id,
        method,
        params,
        ...(sessionId === undefined ? {} : { sessionId }),
      }));
    });
  }

  async close(): Promise<void> {
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.close();
    await this.#closed;
  }
}

interface Browser {
  cdp: Cdp;
  stderr: () => string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts headless Chromium and connects to its DevTools endpoint. */
async function launch(executable: string): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "evr-dashboard-" });
  const child = new Deno.Command(executable, {
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-breakpad",
      "--no-first-run",
      "--no-default-browser-check",
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();

  // Read stderr to the end (so Chromium never blocks on a full pipe),
  // resolving `endpoint` at the "DevTools listening on" line.
  let log = "";
  let found: (url: string) => void = () => {};
  const endpoint = new Promise<string>((resolve) => (found = resolve));
  const reader = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      log += chunk;
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(log);
      if (match?.[1]) found(match[1]);
    }
  })();

  let cdp: Cdp | undefined;
  const cleanup = async () => {
    if (cdp !== undefined) {
      await cdp.send("Browser.close").catch(() => {});
      await cdp.close();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<false>((
        resolve,
      ) => (timer = setTimeout(resolve, 5000, false))),
    ]);
    clearTimeout(timer);
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await child.status;
    await reader.catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };

  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const url = await Promise.race([
      endpoint,
      child.status.then((status) => {
        throw new Error(`Chromium exited (${status.code}): ${log}`);
      }),
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new Error(`No DevTools endpoint after 30 s: ${log}`)),
          30000,
        )
      ),
    ]).finally(() => clearTimeout(timer));
    cdp = await Cdp.connect(url);
    const connected = cdp;
    return {
      cdp: connected,
      stderr: () => log,
      [Symbol.asyncDispose]: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

interface EvaluateResult {
  result: { value?: unknown };
  exceptionDetails?: unknown;
}

/**
 * Waits, in the page, until `expression` is truthy or a DOM change or one
 * second passes; returns its value (undefined on any error).
 */
async function evaluateWhen(
  cdp: Cdp,
  sessionId: string,
  expression: string,
): Promise<unknown> {
  const source = `new Promise((resolve) => {
    const check = () => { try { return (${expression}); } catch { return undefined; } };
    const first = check();
    if (first) { resolve(first); return; }
    let timer;
    const observer = new MutationObserver(() => {
      const value = check();
      if (value) { observer.disconnect(); clearTimeout(timer); resolve(value); }
    });
    observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    timer = setTimeout(() => { observer.disconnect(); resolve(check()); }, 1000);
  })`;
  try {
    const answer = await cdp.send<EvaluateResult>("Runtime.evaluate", {
      expression: source,
      awaitPromise: true,
      returnByValue: true,
    }, sessionId);
    return answer.exceptionDetails === undefined
      ? answer.result.value
      : undefined;
  } catch {
    return undefined; // e.g. the context went away during navigation
  }
}

/** Polls `expression` over CDP until truthy; throws after `timeoutMs`. */
async function waitInPage(
  cdp: Cdp,
  sessionId: string,
  expression: string,
  what: string,
  timeoutMs = 20000,
): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let value: unknown;
  while (Date.now() < deadline) {
    value = await evaluateWhen(cdp, sessionId, expression);
    if (value) return value;
  }
  throw new Error(
    `Timed out waiting for ${what}; last value ${JSON.stringify(value)}`,
  );
}

Deno.test({
  name:
    "dashboard: a headless Chromium shows mined blocks, transactions, assets and the mempool live",
  ignore: chromium === undefined,
  async fn() {
    await using node = await startNode();
    const { devnet, rpc } = node;
    const errors: Error[] = [];
    const options = {
      mempoolInterval: 50,
      onError: (error: Error) => errors.push(error),
    };
    let server = nodeServer(node, options);
    try {
      await server.start();
      await using browser = await launch(chromium!);
      const { cdp } = browser;
      const problems: string[] = [];
      cdp.onEvent = ({ method, params }) => {
        if (method === "Runtime.exceptionThrown") {
          problems.push(`exception: ${JSON.stringify(params)}`);
        } else if (
          method === "Runtime.consoleAPICalled" &&
          (params.type === "error" || params.type === "assert")
        ) {
          problems.push(`console.${params.type}: ${JSON.stringify(params)}`);
        } else if (
          method === "Log.entryAdded" &&
          (params.entry as { level?: string }).level === "error"
        ) {
          problems.push(`log: ${JSON.stringify(params.entry)}`);
        }
      };
      const { targetId } = await cdp.send<{ targetId: string }>(
        "Target.createTarget",
        { url: "about:blank" },
      );
      const { sessionId } = await cdp.send<{ sessionId: string }>(
        "Target.attachToTarget",
        { targetId, flatten: true },
      );
      await cdp.send("Runtime.enable", {}, sessionId);
      await cdp.send("Log.enable", {}, sessionId);
      await cdp.send("Page.enable", {}, sessionId);
      const page = `http://127.0.0.1:${server.port}/`;
      await cdp.send("Page.navigate", { url: page }, sessionId);
      const wait = (expression: string, what: string) =>
        waitInPage(cdp, sessionId, expression, what);

      await wait(
        `location.href === ${JSON.stringify(page)} && ` +
          `document.getElementById("status").dataset.state === "open"`,
        "the page to connect",
      );
      // The prefill shows the current tip before any event.
      await wait(
        `document.querySelector('#blocks tr[data-hash="${devnet.tip}"]')`,
        "the current tip",
      );
      // Let the server see the page's four subscriptions before any event.
      const deadline = Date.now() + 10000;
      while (server.subscriptions.get("mempool")?.size !== 1) {
        assert.ok(Date.now() < deadline, "the page subscribed");
        await evaluateWhen(cdp, sessionId, "true");
      }

      const txid = await devnet.sendPayment(undefined, 1.5);
      await wait(
        `document.querySelector('#transactions tr[data-txid="${txid}"]')`,
        "the payment in the transactions feed",
      );
      await wait(
        `document.getElementById("mempool-size").textContent === "1"`,
        "the mempool size",
      );
      // The charts got their data points: mempool samples, and the payment
      // in the current minute's bar.
      await wait(
        `(() => { const svg = document.getElementById("mempool-chart");
           return Number(svg.dataset.points) >= 2 &&
             svg.querySelector(".line").getAttribute("points").split(" ").length >= 3; })()`,
        "mempool chart points",
      );
      await wait(
        `(() => { const svg = document.getElementById("tx-chart");
           return Number(svg.dataset.total) >= 1 && Number(svg.dataset.points) >= 1 &&
             svg.querySelectorAll("rect.bar").length >= 1 &&
             Number(svg.querySelector("rect.bar").getAttribute("height")) > 0; })()`,
        "transaction chart bar",
      );
      assert.notEqual(
        await evaluateWhen(
          cdp,
          sessionId,
          `document.getElementById("tx-rate").textContent`,
        ),
        "–",
      );

      // The watch box: a filtered subscription of its own, showing only
      // the watched asset's events.
      await cdp.send("Runtime.evaluate", {
        expression: `document.getElementById("search-input").value = "dashtest";
          document.getElementById("search-form").requestSubmit();`,
      }, sessionId);
      await wait(
        `document.getElementById("search-status").dataset.state === "watching" &&
         document.getElementById("search-status").dataset.filter === '{"asset":"DASHTEST"}'`,
        "the watch subscription",
      );
      const other = await devnet.issueAsset("DASHOTHER", 10);
      await wait(
        `document.querySelector('#assets tr[data-txid="${other}"][data-asset="DASHOTHER"]')`,
        "the other asset in the main feed",
      );
      const issued = await devnet.issueAsset("DASHTEST", 1000);
      await wait(
        `document.querySelector('#assets tr[data-txid="${issued}"][data-asset="DASHTEST"][data-type="issue"]')`,
        "the asset issue",
      );
      await wait(
        `document.querySelector('#search-results tr[data-kind="asset"][data-txid="${issued}"][data-asset="DASHTEST"][data-type="issue"]')`,
        "the watched asset's event in the results",
      );
      assert.deepEqual(
        await evaluateWhen(
          cdp,
          sessionId,
          `[...document.querySelectorAll("#search-results tr")].map((tr) => tr.dataset.asset).join(",") || "none"`,
        ),
        "DASHTEST",
        "only the watched asset's events",
      );

      const [hash] = await devnet.mine(1);
      assert.ok(hash);
      const cells = await wait(
        `(() => { const row = document.querySelector('#blocks tr[data-hash="${hash}"]');
           return row && [...row.cells].map((c) => c.textContent); })()`,
        "the mined block",
      ) as string[];
      const block = await rpc.call<
        { height: number; size: number; tx: string[] }
      >("getblock", [hash, 1]);
      assert.deepEqual(cells.slice(0, 4), [
        block.height.toLocaleString("en-US"),
        hash,
        String(block.tx.length),
        block.size.toLocaleString("en-US"),
      ]);
      assert.equal(block.tx.length, 4); // coinbase, payment, two issues
      // Newest first.
      assert.equal(
        await evaluateWhen(
          cdp,
          sessionId,
          `document.querySelector("#blocks tr").dataset.hash`,
        ),
        hash,
      );
      await wait(
        `document.getElementById("mempool-size").textContent === "0"`,
        "the emptied mempool",
      );
      // Block interval: the mined block and the ones before it.
      await wait(
        `Number(document.getElementById("block-interval").dataset.intervals) >= 1 &&
         document.getElementById("block-interval").textContent !== "–"`,
        "the block interval",
      );

      // The server goes away and comes back on the same port: the page
      // reconnects, subscribes again and shows the next block.
      const port = server.port;
      await server.stop();
      await wait(
        `document.getElementById("status").dataset.state === "closed"`,
        "the page to notice the disconnection",
      );
      server = nodeServer(node, { ...options, port });
      await server.start();
      await wait(
        `document.getElementById("status").dataset.state === "open"`,
        "the page to reconnect",
      );
      const again = Date.now() + 10000;
      while (server.subscriptions.get("blocks")?.size !== 1) {
        assert.ok(Date.now() < again, "the page subscribed again");
        await evaluateWhen(cdp, sessionId, "true");
      }
      const [next] = await devnet.mine(1);
      await wait(
        `document.querySelector('#blocks tr[data-hash="${next}"]')`,
        "a block after reconnecting",
      );
      assert.equal(
        await evaluateWhen(
          cdp,
          sessionId,
          `document.getElementById("reconnects").dataset.count`,
        ),
        "1",
      );
      // The watch box watches again on its own.
      await wait(
        `document.getElementById("search-status").dataset.state === "watching"`,
        "the watch box to watch again",
      );
      const again2 = await devnet.issueAsset("DASHTEST/SUB", 5);
      await wait(
        `document.querySelector('#assets tr[data-txid="${again2}"]')`,
        "the sub-asset in the main feed",
      );
      const moved = await devnet.transferAsset("DASHTEST", 10);
      await wait(
        `document.querySelector('#search-results tr[data-txid="${moved}"][data-asset="DASHTEST"]')`,
        "a watched transfer after reconnecting",
      );
      assert.equal(
        await evaluateWhen(
          cdp,
          sessionId,
          `document.querySelector('#search-results tr[data-asset="DASHTEST/SUB"]') === null`,
        ),
        true,
        "the sub-asset is another asset",
      );

      // Watching an address: its payments show, others do not.
      const address = "mfu93qvvNCZwVZgYpxv7qe5D1cu274t5fe";
      await cdp.send("Runtime.evaluate", {
        expression: `document.getElementById("search-input").value = ${
          JSON.stringify(address)
        };
          document.getElementById("search-form").requestSubmit();`,
      }, sessionId);
      await wait(
        `document.getElementById("search-status").dataset.state === "watching" &&
         document.getElementById("search-status").dataset.filter === ${
          JSON.stringify(JSON.stringify({ address }))
        } &&
         document.querySelectorAll("#search-results tr").length === 0`,
        "the address watch",
      );
      const elsewhere = await devnet.sendPayment(undefined, 1);
      await wait(
        `document.querySelector('#transactions tr[data-txid="${elsewhere}"]')`,
        "the payment elsewhere in the main feed",
      );
      const paid = await devnet.sendPayment(address, 2);
      await wait(
        `document.querySelector('#search-results tr[data-kind="transaction"][data-txid="${paid}"]')`,
        "the payment to the watched address",
      );
      assert.equal(
        await evaluateWhen(
          cdp,
          sessionId,
          `[...document.querySelectorAll("#search-results tr")].map((tr) => tr.dataset.txid).join(",")`,
        ),
        paid,
        "only the watched address's payment",
      );

      // A screenshot for people to look at.
      await cdp.send("Emulation.setDeviceMetricsOverride", {
        width: 1280,
        height: 1300,
        deviceScaleFactor: 1,
        mobile: false,
      }, sessionId);
      await evaluateWhen(cdp, sessionId, "false"); // let it lay out
      const shot = await cdp.send<{ data: string }>("Page.captureScreenshot", {
        format: "png",
      }, sessionId);
      const png = Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0));
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
      const dir = Deno.env.get("TMPDIR") || "/tmp";
      const file = `${dir}/evrmore-dashboard.png`;
      await Deno.writeFile(file, png);
      console.log(`dashboard screenshot: ${file}`);

      assert.deepEqual(problems, [], browser.stderr());
      assert.deepEqual(errors, []);
    } finally {
      await server.stop();
    }
  },
});
