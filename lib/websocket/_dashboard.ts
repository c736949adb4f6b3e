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
 * - `#block-count`, `#tx-count`, `#asset-count` (events seen since loading);
 * - `#block-interval` (average seconds between the recent blocks' times),
 *   `#tx-rate` (transactions per minute over the last 5 minutes);
 * - `svg#mempool-chart` (`data-points`: samples kept) and `svg#tx-chart`
 *   (`data-points`: bars drawn, `data-total`: transactions in them), the
 *   last 30 minutes (or since loading, at least 30 s, while younger);
 * - `#reconnects` (`data-count`: reconnections since loading);
 * - the watch box: `form#search-form`, `input#search-input`,
 *   `#search-status` (`data-state`: `idle`, `connecting`, `watching`,
 *   `error`; `data-filter`: the JSON filter), and `tbody#search-results`,
 *   one `tr[data-kind][data-txid]` (plus `data-asset`, `data-type` for
 *   asset events) per event of its own subscription, on a second
 *   connection, so only the watched events show.
 *
 * @module
 */

import { DASHBOARD_SCRIPT, DASHBOARD_STYLE } from "./_dashboard_script.ts";

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
<style nonce="${nonce}">${DASHBOARD_STYLE}</style>
</head>
<body>
<header>
  <h1>Evrmore live dashboard</h1>
  <span id="reconnects" data-count="0"></span>
  <span id="status" data-state="connecting">connecting</span>
</header>
<main>
  <section class="cards">
    <div class="card"><span class="label">Mempool transactions</span><span class="value" id="mempool-size">–</span></div>
    <div class="card"><span class="label">Mempool bytes</span><span class="value" id="mempool-bytes">–</span></div>
    <div class="card"><span class="label">Mempool memory</span><span class="value" id="mempool-usage">–</span></div>
    <div class="card"><span class="label">Block interval (avg)</span><span class="value" id="block-interval">–</span></div>
    <div class="card"><span class="label">Transactions / min</span><span class="value" id="tx-rate">–</span></div>
    <div class="card"><span class="label">Blocks seen</span><span class="value" id="block-count">0</span></div>
    <div class="card"><span class="label">Transactions seen</span><span class="value" id="tx-count">0</span></div>
    <div class="card"><span class="label">Asset events seen</span><span class="value" id="asset-count">0</span></div>
  </section>
  <section class="charts">
    <figure class="chart">
      <figcaption><span>Mempool size · up to 30 min</span><span class="range" id="mempool-range"></span></figcaption>
      <svg id="mempool-chart" viewBox="0 0 300 80" preserveAspectRatio="none" data-points="0" role="img" aria-label="Mempool size over the last 30 minutes">
        <polygon class="area" points=""></polygon>
        <polyline class="line" points=""></polyline>
      </svg>
      <div class="axis"><span id="mempool-start">−30 min</span><span>now</span></div>
    </figure>
    <figure class="chart">
      <figcaption><span>Transactions per minute · up to 30 min</span><span class="range" id="tx-range"></span></figcaption>
      <svg id="tx-chart" viewBox="0 0 300 80" preserveAspectRatio="none" data-points="0" data-total="0" role="img" aria-label="Transactions per minute over the last 30 minutes"></svg>
      <div class="axis"><span id="tx-start">−30 min</span><span>now</span></div>
    </figure>
  </section>
  <section class="search">
    <h2>Watch an asset or an address</h2>
    <form id="search-form" autocomplete="off">
      <input id="search-input" type="search" maxlength="40" spellcheck="false" placeholder="Asset name (e.g. MYASSET) or address">
      <button type="submit">Watch</button>
      <button type="button" id="search-clear">Clear</button>
      <span id="search-status" data-state="idle">Shows only the events of what you watch.</span>
    </form>
    <table>
      <thead><tr><th>Time</th><th>Event</th><th>Asset</th><th>Amount</th><th>Txid</th></tr></thead>
      <tbody id="search-results"></tbody>
    </table>
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
<script nonce="${nonce}">${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
}
