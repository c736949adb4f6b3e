/**
 * The live dashboard `EvrmoreWebSocketServer` serves on `GET /` and
 * `GET /dashboard`: one self-contained HTML page (inline CSS and script, no
 * external resources) that connects back to the server's WebSocket path,
 * subscribes to every topic and shows blocks, transactions, asset events and
 * the mempool as they arrive, reconnecting with backoff when the connection
 * drops.
 *
 * Pure: builds strings, no I/O. The server draws the CSP nonce.
 *
 * Elements the tests (and anyone scripting the page) can rely on:
 *
 * - `#status` (`data-state`: `connecting`, `open`, `closed`);
 * - `tbody#blocks`, one `tr[data-hash][data-height]` per block, newest first;
 * - `tbody#transactions`, one `tr[data-txid]` per transaction, newest first;
 * - `tbody#assets`, one `tr[data-txid][data-asset][data-type]` per asset event;
 * - `#mempool-size`, `#mempool-bytes`, `#mempool-usage`;
 * - `#block-count`, `#tx-count`, `#asset-count` (events seen since loading).
 *
 * @module
 */

/** The paths the dashboard answers on (besides nothing else). */
export const DASHBOARD_PATHS: ReadonlySet<string> = new Set([
  "/",
  "/dashboard",
]);

/** What {@linkcode dashboardPage} needs. */
export interface DashboardPageOptions {
  /** The server's WebSocket path (the page connects to it on the same host). */
  path: string;
  /** The CSP nonce of this response's inline script and style. */
  nonce: string;
}

/** Escapes text for an HTML attribute value or text node. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The WebSocket origin of the page at `pageUrl`: `wss://host:port` for an
 * `https:` page, `ws://host:port` for an `http:` one; `undefined` when the
 * URL cannot be parsed or is neither.
 */
function socketOrigin(pageUrl: string | undefined): string | undefined {
  if (pageUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(pageUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  // URL parsing leaves no spaces, quotes or semicolons in a host.
  return `${url.protocol === "https:" ? "wss" : "ws"}://${url.host}`;
}

/**
 * The Content-Security-Policy of the page: nothing but its own nonce-bearing
 * script and style, and WebSocket/fetch connections to its own origin only
 * (`'self'` plus the `ws:`/`wss:` origin of the same host and port; older
 * browsers do not count WebSocket URLs as `'self'`).
 *
 * @param nonce The nonce given to {@linkcode dashboardPage}.
 * @param pageUrl The URL the page was requested at (the request's `url`).
 * @returns The header value.
 */
export function dashboardCsp(nonce: string, pageUrl?: string): string {
  const socket = socketOrigin(pageUrl);
  return [
    "default-src 'none'",
    socket === undefined
      ? "connect-src 'self'"
      : `connect-src 'self' ${socket}`,
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The response headers of the page (content type, CSP, no caching, no
 * sniffing, no referrer).
 *
 * @param nonce The nonce given to {@linkcode dashboardPage}.
 * @param pageUrl The URL the page was requested at (the request's `url`).
 * @returns The headers.
 */
export function dashboardHeaders(
  nonce: string,
  pageUrl?: string,
): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": dashboardCsp(nonce, pageUrl),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

/**
 * A fresh CSP nonce: 16 random bytes, base64.
 *
 * @returns The nonce.
 */
export function dashboardNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The page's HTML.
 *
 * @param options The WebSocket path and the CSP nonce.
 * @returns The whole document.
 */
export function dashboardPage(options: DashboardPageOptions): string {
  const nonce = escapeHtml(options.nonce);
  return `<!DOCTYPE html>
<html lang="en" data-ws-path="${escapeHtml(options.path)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evrmore live dashboard</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
  <h1>Evrmore live dashboard</h1>
  <span id="status" data-state="connecting">connecting</span>
</header>
<main>
  <section class="cards">
    <div class="card"><span class="label">Mempool transactions</span><span class="value" id="mempool-size">–</span></div>
    <div class="card"><span class="label">Mempool bytes</span><span class="value" id="mempool-bytes">–</span></div>
    <div class="card"><span class="label">Mempool memory</span><span class="value" id="mempool-usage">–</span></div>
    <div class="card"><span class="label">Blocks seen</span><span class="value" id="block-count">0</span></div>
    <div class="card"><span class="label">Transactions seen</span><span class="value" id="tx-count">0</span></div>
    <div class="card"><span class="label">Asset events seen</span><span class="value" id="asset-count">0</span></div>
  </section>
  <section>
    <h2>Latest blocks</h2>
    <table>
      <thead><tr><th>Height</th><th>Hash</th><th>Txs</th><th>Size</th><th>Time (UTC)</th></tr></thead>
      <tbody id="blocks"></tbody>
    </table>
  </section>
  <section class="split">
    <div>
      <h2>Transactions</h2>
      <table>
        <thead><tr><th>Txid</th><th>Size</th><th>In</th><th>Out</th></tr></thead>
        <tbody id="transactions"></tbody>
      </table>
    </div>
    <div>
      <h2>Asset events</h2>
      <table>
        <thead><tr><th>Type</th><th>Asset</th><th>Amount</th><th>Txid</th></tr></thead>
        <tbody id="assets"></tbody>
      </table>
    </div>
  </section>
</main>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light dark; --bg: #0f1420; --fg: #e6e9ef; --muted: #8a93a6; --card: #182033; --line: #26304a; --ok: #3ecf8e; --bad: #ef5b5b; --wait: #f0b429; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: center; gap: 1rem; padding: 0.75rem 1.25rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.2rem; margin: 0; flex: 1; }
h2 { font-size: 1rem; margin: 1rem 0 0.5rem; color: var(--muted); }
main { padding: 0 1.25rem 1.25rem; }
#status { padding: 0.2rem 0.6rem; border-radius: 1rem; font-size: 0.85rem; background: var(--wait); color: #000; }
#status[data-state="open"] { background: var(--ok); }
#status[data-state="closed"] { background: var(--bad); color: #fff; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: 0.75rem; margin-top: 1rem; }
.card { background: var(--card); border-radius: 0.5rem; padding: 0.6rem 0.8rem; display: flex; flex-direction: column; }
.label { color: var(--muted); font-size: 0.8rem; }
.value { font-size: 1.3rem; font-variant-numeric: tabular-nums; }
.split { display: grid; grid-template-columns: repeat(auto-fit, minmax(24rem, 1fr)); gap: 1.25rem; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; }
td.hash { font-family: ui-monospace, monospace; max-width: 28rem; overflow: hidden; text-overflow: ellipsis; }
.split > div { min-width: 0; overflow-x: auto; }
.split td.hash { max-width: 14rem; }
tr.fresh { animation: fresh 1.5s ease-out; }
@keyframes fresh { from { background: #2b3a5c; } to { background: transparent; } }
`;

// The page's script. Plain ES2020 for any browser; every piece of event data
// reaches the DOM through textContent or dataset, never as markup.
const SCRIPT = `
"use strict";
(() => {
  const MAX_BLOCKS = 25;
  const MAX_TXS = 50;
  const MAX_ASSETS = 50;
  const TOPICS = ["blocks", "transactions", "assets", "mempool"];
  const $ = (id) => document.getElementById(id);
  const path = document.documentElement.dataset.wsPath || "/";
  const url = (location.protocol === "https:" ? "wss://" : "ws://") +
    location.host + path + location.search;
  const counts = { block: 0, tx: 0, asset: 0 };
  const seenBlocks = new Set();
  const seenTxs = new Set();
  let socket;
  let attempt = 0;
  let nextId = 1;
  const pending = new Map();

  function setStatus(state, text) {
    const el = $("status");
    el.dataset.state = state;
    el.textContent = text;
  }
  function number(n) {
    return typeof n === "number" && Number.isFinite(n) ? n.toLocaleString("en-US") : "–";
  }
  function time(seconds) {
    if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "–";
    return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
  }
  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = String(text);
    if (className) td.className = className;
    return td;
  }
  function trim(tbody, max) {
    while (tbody.rows.length > max) tbody.deleteRow(tbody.rows.length - 1);
  }

  function addBlock(data) {
    if (!data || typeof data.hash !== "string" || seenBlocks.has(data.hash)) return;
    seenBlocks.add(data.hash);
    const tbody = $("blocks");
    const tr = document.createElement("tr");
    tr.className = "fresh";
    tr.dataset.hash = data.hash;
    tr.dataset.height = String(data.height);
    tr.append(
      cell(number(data.height)),
      cell(data.hash, "hash"),
      cell(number(data.tx_count)),
      cell(number(data.size)),
      cell(time(data.time)),
    );
    let before = null;
    for (const row of tbody.rows) {
      if (Number(row.dataset.height) < data.height) { before = row; break; }
    }
    tbody.insertBefore(tr, before);
    while (tbody.rows.length > MAX_BLOCKS) {
      const last = tbody.rows[tbody.rows.length - 1];
      seenBlocks.delete(last.dataset.hash);
      last.remove();
    }
  }
  function onBlock(data) {
    counts.block++;
    $("block-count").textContent = number(counts.block);
    addBlock(data);
  }
  function onTransaction(data) {
    if (!data || typeof data.txid !== "string") return;
    counts.tx++;
    $("tx-count").textContent = number(counts.tx);
    if (seenTxs.has(data.txid)) return;
    seenTxs.add(data.txid);
    if (seenTxs.size > 1000) seenTxs.delete(seenTxs.values().next().value);
    const tbody = $("transactions");
    const tr = document.createElement("tr");
    tr.className = "fresh";
    tr.dataset.txid = data.txid;
    tr.append(
      cell(data.txid, "hash"),
      cell(number(data.size)),
      cell(number(data.vin_count)),
      cell(number(data.vout_count)),
    );
    tbody.insertBefore(tr, tbody.firstChild);
    trim(tbody, MAX_TXS);
  }
  function onAsset(data) {
    if (!data || typeof data.asset !== "string") return;
    counts.asset++;
    $("asset-count").textContent = number(counts.asset);
    const tbody = $("assets");
    const tr = document.createElement("tr");
    tr.className = "fresh";
    tr.dataset.txid = String(data.txid);
    tr.dataset.asset = data.asset;
    tr.dataset.type = String(data.type);
    tr.append(
      cell(data.type),
      cell(data.asset),
      cell(typeof data.amount === "number" ? data.amount : "–"),
      cell(data.txid, "hash"),
    );
    tbody.insertBefore(tr, tbody.firstChild);
    trim(tbody, MAX_ASSETS);
  }
  function onMempool(data) {
    if (!data) return;
    $("mempool-size").textContent = number(data.size);
    $("mempool-bytes").textContent = number(data.bytes);
    $("mempool-usage").textContent = number(data.usage);
  }

  function command(name, params, done) {
    const id = "dashboard-" + nextId++;
    pending.set(id, done);
    socket.send(JSON.stringify({ command: name, params, id }));
  }
  function prefill() {
    command("getmempoolinfo", [], onMempool);
    command("getbestblockhash", [], (hash) => {
      if (typeof hash !== "string") return;
      command("getblock", [hash, 1], (block) => {
        if (!block || typeof block.hash !== "string") return;
        addBlock({
          hash: block.hash,
          height: block.height,
          time: block.time,
          size: block.size,
          tx_count: Array.isArray(block.tx) ? block.tx.length : block.nTx,
        });
      });
    });
  }

  function onMessage(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    if (message.id !== undefined && pending.has(message.id)) {
      const done = pending.get(message.id);
      pending.delete(message.id);
      if (message.type === "result") done(message.data);
      return;
    }
    switch (message.type) {
      case "block": onBlock(message.data); break;
      case "transaction": onTransaction(message.data); break;
      case "asset": onAsset(message.data); break;
      case "mempool": onMempool(message.data); break;
    }
  }

  function connect() {
    setStatus("connecting", attempt === 0 ? "connecting" : "reconnecting");
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      attempt = 0;
      setStatus("open", "live");
      for (const topic of TOPICS) {
        socket.send(JSON.stringify({ action: "subscribe", topic }));
      }
      prefill();
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", () => {
      pending.clear();
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt++;
      setStatus("closed", "disconnected, retrying in " + Math.ceil(delay / 1000) + " s");
      setTimeout(connect, delay);
    });
  }
  connect();
})();
`;
