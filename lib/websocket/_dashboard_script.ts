/**
 * The dashboard page's inline stylesheet and script (see `_dashboard.ts`,
 * which places them under the response's CSP nonce). Plain strings, no I/O.
 *
 * @module
 */

/** The page's stylesheet. */
export const DASHBOARD_STYLE: string = `
:root { color-scheme: dark; --bg: #0f1420; --fg: #e6e9ef; --muted: #8a93a6; --card: #182033; --line: #26304a; --ok: #3ecf8e; --bad: #ef5b5b; --wait: #f0b429; --accent: #5b9cf0; --accent2: #b48cf2; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: center; gap: 0.75rem; padding: 0.75rem 1.25rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.2rem; margin: 0; flex: 1; }
h2 { font-size: 1rem; margin: 1rem 0 0.5rem; color: var(--muted); font-weight: 600; }
main { padding: 0 1.25rem 1.25rem; }
#status { padding: 0.2rem 0.6rem; border-radius: 1rem; font-size: 0.85rem; background: var(--wait); color: #000; }
#status[data-state="open"] { background: var(--ok); }
#status[data-state="closed"] { background: var(--bad); color: #fff; }
#reconnects { color: var(--muted); font-size: 0.85rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: 0.75rem; margin-top: 1rem; }
.card { background: var(--card); border-radius: 0.5rem; padding: 0.6rem 0.8rem; display: flex; flex-direction: column; }
.label { color: var(--muted); font-size: 0.8rem; }
.value { font-size: 1.3rem; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 0.75rem; margin-top: 0.75rem; }
.chart { margin: 0; background: var(--card); border-radius: 0.5rem; padding: 0.6rem 0.8rem; }
.chart figcaption { display: flex; justify-content: space-between; color: var(--muted); font-size: 0.8rem; margin-bottom: 0.3rem; }
.chart svg { display: block; width: 100%; height: 6rem; background: #121a2b; border-radius: 0.3rem; }
.chart .line { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.chart .area { fill: var(--accent); fill-opacity: 0.18; stroke: none; }
.chart .bar { fill: var(--accent2); }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 0.7rem; margin-top: 0.2rem; }
.search form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
.search input { flex: 0 1 26rem; min-width: 12rem; padding: 0.4rem 0.6rem; border-radius: 0.35rem; border: 1px solid var(--line); background: var(--card); color: var(--fg); font: inherit; }
.search button { padding: 0.4rem 0.9rem; border-radius: 0.35rem; border: 1px solid var(--line); background: #243152; color: var(--fg); font: inherit; cursor: pointer; }
.search button[type="submit"] { background: var(--accent); border-color: var(--accent); color: #06101f; font-weight: 600; }
#search-status { color: var(--muted); font-size: 0.85rem; }
#search-status[data-state="watching"] { color: var(--ok); }
#search-status[data-state="error"] { color: var(--bad); }
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
// reaches the DOM through textContent, dataset or SVG attributes computed
// from numbers, never as markup.
/** The page's script. */
export const DASHBOARD_SCRIPT: string = `
"use strict";
(() => {
  const MAX_BLOCKS = 25;
  const MAX_TXS = 50;
  const MAX_ASSETS = 50;
  const MAX_RESULTS = 50;
  const WINDOW_MS = 30 * 60 * 1000;
  const MINUTE_MS = 60 * 1000;
  const INTERVAL_BLOCKS = 10;
  const TOPICS = ["blocks", "transactions", "assets", "mempool"];
  const ADDRESS = /^[1-9A-HJ-NP-Za-km-z]{26,35}$/;
  const $ = (id) => document.getElementById(id);
  const path = document.documentElement.dataset.wsPath || "/";
  const url = (location.protocol === "https:" ? "wss://" : "ws://") +
    location.host + path + location.search;
  const loadedAt = Date.now();
  const counts = { block: 0, tx: 0, asset: 0 };
  const seenBlocks = new Set();
  const seenTxs = new Set();
  /** Mempool size samples, oldest first: { t, v }. */
  const mempoolSamples = [];
  /** Arrival times of the transactions of the last 30 minutes, oldest first. */
  const txTimes = [];
  /** Block times (header seconds) by height, for the interval. */
  const blockTimes = new Map();
  let socket;
  let attempt = 0;
  let reconnects = 0;
  let everOpen = false;
  let nextId = 1;
  const pending = new Map();
  let drawQueued = false;

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
  function clock(ms) {
    return new Date(ms).toISOString().slice(11, 19);
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

  // --- Charts ---------------------------------------------------------------
  function svgNode(name, attributes) {
    // The SVG namespace, taken from the page's own chart (no URL in the page).
    const node = document.createElementNS($("tx-chart").namespaceURI, name);
    for (const key in attributes) node.setAttribute(key, String(attributes[key]));
    return node;
  }
  function queueDraw() {
    if (drawQueued) return;
    drawQueued = true;
    setTimeout(() => { drawQueued = false; draw(); }, 100);
  }
  /**
   * The span the charts show: the last 30 minutes, or less while the page
   * is younger (at least 30 s), so the first minutes fill the chart.
   */
  function span(now) {
    return Math.min(WINDOW_MS, Math.max(30000, now - loadedAt));
  }
  function spanText(ms) {
    return ms >= 2 * MINUTE_MS ? "−" + Math.round(ms / MINUTE_MS) + " min" : "−" + Math.round(ms / 1000) + " s";
  }
  function drawMempool(now, shown) {
    while (mempoolSamples.length > 2 && mempoolSamples[1].t < now - WINDOW_MS) mempoolSamples.shift();
    const svg = $("mempool-chart");
    const start = now - shown;
    const points = mempoolSamples.filter((s, i) => i + 1 === mempoolSamples.length || mempoolSamples[i + 1].t >= start)
      .map((s) => ({ t: Math.max(s.t, start), v: s.v }));
    if (points.length > 0) points.push({ t: now, v: points[points.length - 1].v });
    const max = Math.max(1, ...points.map((p) => p.v));
    const xy = points.map((p) => [
      ((p.t - start) / shown * 300).toFixed(1),
      (78 - p.v / max * 72).toFixed(1),
    ]);
    // A step line: the size holds until the next sample.
    const steps = [];
    xy.forEach((p, i) => {
      if (i > 0) steps.push(p[0] + "," + xy[i - 1][1]);
      steps.push(p[0] + "," + p[1]);
    });
    svg.querySelector(".line").setAttribute("points", steps.join(" "));
    svg.querySelector(".area").setAttribute(
      "points",
      steps.length === 0 ? "" : xy[0][0] + ",80 " + steps.join(" ") + " " + xy[xy.length - 1][0] + ",80",
    );
    svg.dataset.points = String(mempoolSamples.length);
    const last = mempoolSamples[mempoolSamples.length - 1];
    $("mempool-range").textContent = last === undefined ? "" : "now " + number(last.v) + " · max " + number(max);
  }
  function drawTransactions(now, shown) {
    const svg = $("tx-chart");
    while (txTimes.length > 0 && txTimes[0] < now - WINDOW_MS) txTimes.shift();
    // 30 bars across the span shown, in transactions per minute.
    const BARS = 30;
    const bucket = shown / BARS;
    const start = now - shown;
    const bars = new Array(BARS).fill(0);
    let total = 0;
    for (const t of txTimes) {
      if (t < start) continue;
      bars[Math.min(BARS - 1, Math.floor((t - start) / bucket))]++;
      total++;
    }
    const perMinute = bars.map((n) => n * MINUTE_MS / bucket);
    const max = Math.max(1e-9, ...perMinute);
    while (svg.firstChild) svg.firstChild.remove();
    const width = 300 / BARS;
    let drawn = 0;
    perMinute.forEach((rate, i) => {
      if (rate === 0) return;
      drawn++;
      const height = Math.max(1, rate / max * 72);
      svg.append(svgNode("rect", {
        class: "bar",
        x: (i * width + 1).toFixed(1),
        y: (80 - height).toFixed(1),
        width: (width - 2).toFixed(1),
        height: height.toFixed(1),
      }));
    });
    svg.dataset.points = String(drawn);
    svg.dataset.total = String(total);
    $("tx-range").textContent = total === 0 ? "" : number(total) + " txs · peak " + rateText(max) + "/min";
    for (const id of ["mempool-start", "tx-start"]) $(id).textContent = spanText(shown);
    let recent = 0;
    for (const t of txTimes) if (t >= now - 5 * MINUTE_MS) recent++;
    const minutes = Math.max(1, Math.min(5, (now - loadedAt) / MINUTE_MS));
    $("tx-rate").textContent = counts.tx === 0 ? "–" : rateText(recent / minutes);
  }
  function drawInterval() {
    const heights = [...blockTimes.keys()].sort((a, b) => b - a).slice(0, INTERVAL_BLOCKS + 1);
    let sum = 0;
    let n = 0;
    for (let i = 0; i + 1 < heights.length; i++) {
      if (heights[i] !== heights[i + 1] + 1) continue;
      sum += blockTimes.get(heights[i]) - blockTimes.get(heights[i + 1]);
      n++;
    }
    const el = $("block-interval");
    el.dataset.intervals = String(n);
    if (n === 0) { el.textContent = "–"; return; }
    const seconds = sum / n;
    el.textContent = seconds >= 120 ? (seconds / 60).toFixed(1) + " min" : Math.round(seconds) + " s";
  }
  function rateText(rate) {
    return rate < 10 ? rate.toFixed(1) : number(Math.round(rate));
  }
  function draw() {
    const now = Date.now();
    const shown = span(now);
    drawMempool(now, shown);
    drawTransactions(now, shown);
    drawInterval();
  }
  function sampleMempool(size) {
    if (typeof size !== "number" || !Number.isFinite(size)) return;
    const now = Date.now();
    const n = mempoolSamples.length;
    // An unchanged size only moves the last sample along.
    if (n >= 2 && mempoolSamples[n - 1].v === size && mempoolSamples[n - 2].v === size) {
      mempoolSamples[n - 1].t = now;
    } else {
      mempoolSamples.push({ t: now, v: size });
    }
    queueDraw();
  }
  function noteBlockTime(height, seconds) {
    if (typeof height !== "number" || typeof seconds !== "number") return;
    blockTimes.set(height, seconds);
    if (blockTimes.size > 4 * INTERVAL_BLOCKS) {
      blockTimes.delete(Math.min(...blockTimes.keys()));
    }
    queueDraw();
  }

  // --- Feeds ----------------------------------------------------------------
  function addBlock(data) {
    if (!data || typeof data.hash !== "string" || seenBlocks.has(data.hash)) return;
    seenBlocks.add(data.hash);
    noteBlockTime(data.height, data.time);
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
    txTimes.push(Date.now());
    if (txTimes.length > 200000) txTimes.shift();
    queueDraw();
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
    sampleMempool(data.size);
  }

  function command(name, params, done) {
    const id = "dashboard-" + nextId++;
    pending.set(id, done);
    socket.send(JSON.stringify({ command: name, params, id }));
  }
  /** The block times before \`hash\`, for the interval, a few at a time. */
  function headersBefore(hash, left) {
    if (left <= 0 || typeof hash !== "string") return;
    command("getblockheader", [hash, true], (header) => {
      if (!header || typeof header.height !== "number") return;
      noteBlockTime(header.height, header.time);
      headersBefore(header.previousblockhash, left - 1);
    });
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
        headersBefore(block.previousblockhash, INTERVAL_BLOCKS);
      });
    });
  }

  function parse(event) {
    try {
      const message = JSON.parse(event.data);
      return message && typeof message === "object" ? message : undefined;
    } catch {
      return undefined;
    }
  }
  function onMessage(event) {
    const message = parse(event);
    if (!message) return;
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
      if (everOpen) {
        reconnects++;
        const el = $("reconnects");
        el.dataset.count = String(reconnects);
        el.textContent = reconnects + (reconnects === 1 ? " reconnect" : " reconnects");
      }
      everOpen = true;
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

  // --- Watch box: its own connection, so only its events arrive -------------
  let watch;
  let watchGeneration = 0;
  function setWatch(state, text, filter) {
    const el = $("search-status");
    el.dataset.state = state;
    el.dataset.filter = filter === undefined ? "" : JSON.stringify(filter);
    el.textContent = text;
  }
  function stopWatch() {
    watchGeneration++;
    if (watch !== undefined) { watch.close(); watch = undefined; }
  }
  function addResult(kind, data) {
    if (!data || typeof data.txid !== "string") return;
    const tbody = $("search-results");
    const tr = document.createElement("tr");
    tr.className = "fresh";
    tr.dataset.kind = kind;
    tr.dataset.txid = data.txid;
    if (kind === "asset") {
      tr.dataset.asset = String(data.asset);
      tr.dataset.type = String(data.type);
    }
    tr.append(
      cell(clock(Date.now())),
      cell(kind === "asset" ? "asset " + data.type : "transaction"),
      cell(kind === "asset" ? data.asset : "–"),
      cell(kind === "asset" && typeof data.amount === "number" ? data.amount : "–"),
      cell(data.txid, "hash"),
    );
    tbody.insertBefore(tr, tbody.firstChild);
    trim(tbody, MAX_RESULTS);
  }
  function startWatch(text, again) {
    stopWatch();
    const value = text.trim();
    if (value === "") { setWatch("idle", "Shows only the events of what you watch."); return; }
    const filter = ADDRESS.test(value) && /[a-z]/.test(value)
      ? { address: value }
      : { asset: value.toUpperCase() };
    const topics = "address" in filter ? ["assets", "transactions"] : ["assets"];
    const generation = watchGeneration;
    const label = "address" in filter ? "address " + filter.address : "asset " + filter.asset;
    if (!again) $("search-results").replaceChildren();
    setWatch("connecting", "Connecting to watch " + label + "…", filter);
    const ws = new WebSocket(url);
    watch = ws;
    let confirmed = 0;
    ws.addEventListener("open", () => {
      topics.forEach((topic, i) => {
        ws.send(JSON.stringify({ action: "subscribe", topic, filter, id: "watch-" + i }));
      });
    });
    ws.addEventListener("message", (event) => {
      if (generation !== watchGeneration) return;
      const message = parse(event);
      if (!message) return;
      if (message.type === "subscription") {
        if (++confirmed === topics.length) setWatch("watching", "Watching " + label, filter);
      } else if (message.type === "error") {
        setWatch("error", String(message.message || "Cannot watch " + label), filter);
      } else if (message.type === "asset") {
        addResult("asset", message.data);
      } else if (message.type === "transaction") {
        addResult("transaction", message.data);
      }
    });
    ws.addEventListener("close", () => {
      if (generation !== watchGeneration) return;
      watch = undefined;
      // Watch again once the main connection is back.
      setWatch("connecting", "Connection lost; watching " + label + " again…", filter);
      setTimeout(() => { if (generation === watchGeneration) startWatch(value, true); }, 2000);
    });
  }
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startWatch($("search-input").value);
  });
  $("search-clear").addEventListener("click", () => {
    $("search-input").value = "";
    startWatch("");
  });

  setInterval(queueDraw, 5000);
  connect();
})();
`;
