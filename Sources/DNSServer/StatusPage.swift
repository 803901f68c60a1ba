import HTTPTypes
import Hummingbird
import NIOCore

/// The admin listener's status page, served at `/`: one self-contained HTML document (inline CSS
/// and JavaScript, no external fonts, scripts or images) that polls `GET /status` every 3 s and
/// renders the data centers (overall state, per address: check, state, since, reason, history of
/// state changes), each service's policy, TTLs and share of answers per data center, the zones of
/// the current snapshot and the last reload. When `/status` cannot be fetched it shows an error
/// banner and keeps the last data, dimmed.
///
/// Rendered elements carry stable hooks for tests and scripts: `tr.datacenter[data-name][data-state]`,
/// `tr.address[data-datacenter][data-ip][data-check][data-state]`, `div.service[data-name][data-policy]`
/// with `div.share-row[data-service][data-datacenter][data-answers]`, `tr.zone[data-origin][data-serial]`,
/// `#last-reload[data-ok]`, and `body[data-status]` (`loading`, `ok` or `error`).
enum StatusPage {
    /// `GET /`: the page, with a content security policy that lets it fetch nothing but `/status`
    /// from its own origin.
    static func response() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .contentSecurityPolicy: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                    + "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                .cacheControl: "no-cache",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// The document: HTML with its CSS and JavaScript inline.
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>Meridian status</title>
<style>
:root {
  --bg: #f5f6f8; --panel: #ffffff; --text: #1c2128; --muted: #626c78; --faint: #8c959f;
  --border: #e2e5e9; --row: #fafbfc; --track: #eef0f3; --accent: #0a66d8;
  --up: #1a7f37; --up-bg: #dcf5e3; --down: #c9252f; --down-bg: #ffe8e6; --drain: #9a6200; --drain-bg: #fff3c4;
  --shadow: 0 1px 2px rgba(27, 31, 36, .06), 0 1px 8px rgba(27, 31, 36, .04);
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1116; --panel: #161b22; --text: #e6edf3; --muted: #9199a3; --faint: #6e7681;
    --border: #2b323b; --row: #1a2028; --track: #262d36; --accent: #58a6ff;
    --up: #3fb950; --up-bg: rgba(46, 160, 67, .16); --down: #ff6b63; --down-bg: rgba(248, 81, 73, .16);
    --drain: #e3b341; --drain-bg: rgba(187, 128, 9, .18);
    --shadow: 0 1px 2px rgba(0, 0, 0, .4);
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.5 var(--sans); }
.wrap { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header.top { background: var(--panel); border-bottom: 1px solid var(--border); }
header.top .wrap { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 24px; padding-top: 14px; padding-bottom: 14px; }
.brand { display: flex; align-items: center; gap: 10px; margin-right: auto; }
.brand svg { width: 28px; height: 28px; color: var(--accent); flex: none; }
.brand h1 { font-size: 18px; font-weight: 650; margin: 0; letter-spacing: -.01em; }
.brand .sub { color: var(--muted); font-weight: 400; }
.summary { display: flex; flex-wrap: wrap; gap: 8px; }
.updated { color: var(--muted); font-size: 13px; display: flex; align-items: center; gap: 8px; white-space: nowrap; }
.live { width: 8px; height: 8px; border-radius: 50%; background: var(--faint); }
body[data-status="ok"] .live { background: var(--up); box-shadow: 0 0 0 3px var(--up-bg); }
body[data-status="error"] .live { background: var(--down); box-shadow: 0 0 0 3px var(--down-bg); }
.banner { margin: 16px 0 0; padding: 12px 16px; border-radius: 8px; border: 1px solid var(--down);
  background: var(--down-bg); color: var(--text); display: flex; gap: 10px; align-items: flex-start; }
.banner[hidden] { display: none; }
.banner strong { color: var(--down); }
.banner .icon { flex: none; width: 20px; height: 20px; border-radius: 50%; background: var(--down); color: var(--panel);
  font-weight: 800; font-size: 13px; display: grid; place-items: center; margin-top: 1px; }
main { padding-bottom: 32px; }
body[data-status="error"] main { opacity: .55; }
section { margin-top: 28px; }
section > h2 { font-size: 13px; font-weight: 650; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 0 0 10px; display: flex; align-items: baseline; gap: 10px; }
section > h2 .count { font-weight: 500; text-transform: none; letter-spacing: 0; color: var(--faint); }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; box-shadow: var(--shadow); }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 9px 14px; vertical-align: top; }
thead th { font-size: 12px; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--border); white-space: nowrap; }
tbody + tbody tr.datacenter th { border-top: 1px solid var(--border); }
tr.datacenter th { background: var(--row); padding-top: 11px; padding-bottom: 11px; font-weight: 400; }
tr.address td { border-top: 1px solid var(--border); }
tr.datacenter + tr.address td { border-top: 0; }
tr.zone + tr.zone td { border-top: 1px solid var(--border); }
.dc-head { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; }
.dc-name { font-weight: 650; font-size: 15px; }
.swatch { width: 10px; height: 10px; border-radius: 3px; background: var(--dc, var(--faint)); flex: none; display: inline-block; }
.muted { color: var(--muted); }
.faint { color: var(--faint); }
.mono { font-family: var(--mono); font-size: 13px; }
.nowrap { white-space: nowrap; }
.reason { color: var(--muted); max-width: 340px; overflow-wrap: anywhere; }
td.ip { padding-left: 34px; }
.badge { display: inline-flex; align-items: center; gap: 6px; padding: 1px 9px 1px 8px; border-radius: 999px;
  font-size: 12px; font-weight: 600; line-height: 20px; white-space: nowrap; background: var(--track); color: var(--muted); }
.badge::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
.badge.up { background: var(--up-bg); color: var(--up); }
.badge.down { background: var(--down-bg); color: var(--down); }
.badge.drain { background: var(--drain-bg); color: var(--drain); }
.pill { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border: 1px solid var(--border);
  border-radius: 999px; font-size: 12px; color: var(--muted); background: var(--panel); white-space: nowrap; }
.pill b { color: var(--text); font-weight: 650; }
.pill.up b { color: var(--up); } .pill.down b { color: var(--down); } .pill.drain b { color: var(--drain); }
.timeline { display: flex; width: 140px; height: 10px; border-radius: 3px; overflow: hidden; background: var(--track); margin: 5px 0 4px; }
.timeline span { min-width: 2px; }
.timeline span + span { border-left: 1px solid var(--panel); }
.seg-up { background: var(--up); } .seg-down { background: var(--down); } .seg-drain { background: var(--drain); }
details.history summary { cursor: pointer; color: var(--accent); font-size: 12px; list-style-position: outside; }
details.history ol { list-style: none; margin: 6px 0 0; padding: 0; font-size: 12px; }
details.history li { display: grid; grid-template-columns: 74px 60px 1fr; gap: 8px; align-items: baseline; padding: 2px 0; }
details.history li .badge { font-size: 11px; line-height: 16px; padding: 0 7px 0 6px; }
.services { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }
.service { padding: 14px 16px 16px; }
.service-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.service-name { font-family: var(--mono); font-weight: 650; font-size: 14px; overflow-wrap: anywhere; }
.chip { font-size: 11px; font-weight: 600; padding: 1px 8px; border-radius: 6px; border: 1px solid var(--border);
  color: var(--accent); text-transform: lowercase; white-space: nowrap; }
.ttl { margin-top: 4px; color: var(--muted); font-size: 12px; }
.ttl b { color: var(--text); font-weight: 600; }
.share { margin-top: 12px; }
.share-title { font-size: 12px; color: var(--muted); margin-bottom: 6px; }
.share-row { display: grid; grid-template-columns: 64px 1fr 96px; gap: 10px; align-items: center; padding: 3px 0; font-size: 13px; }
.share-row .label { display: flex; align-items: center; gap: 7px; font-weight: 600; overflow: hidden; text-overflow: ellipsis; }
.bar { height: 10px; background: var(--track); border-radius: 5px; overflow: hidden; }
.bar span { display: block; height: 100%; background: var(--dc, var(--accent)); border-radius: 5px; min-width: 0; transition: width .4s ease; }
.share-row .value { text-align: right; color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.share-row .value b { color: var(--text); font-weight: 600; }
.share-row[data-state="drain"] .label, .share-row[data-state="down"] .label { color: var(--muted); }
.empty { padding: 18px; color: var(--muted); text-align: center; }
.num { font-variant-numeric: tabular-nums; }
.reload { margin-top: 12px; padding: 12px 16px; display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; }
.reload ul { flex-basis: 100%; margin: 4px 0 0; padding: 0; list-style: none; }
.reload li { font-family: var(--mono); font-size: 12.5px; color: var(--down); padding: 3px 0 3px 12px; border-left: 2px solid var(--down); margin: 4px 0; overflow-wrap: anywhere; }
footer { color: var(--faint); font-size: 12px; padding: 8px 0 28px; }
@media (max-width: 720px) {
  .wrap { padding: 0 12px; }
  th, td { padding: 8px 10px; }
  td.ip { padding-left: 18px; }
  .services { grid-template-columns: 1fr; }
  .hide-narrow { display: none; }
  .reason { max-width: 220px; }
}
</style>
</head>
<body data-status="loading">
<header class="top">
  <div class="wrap">
    <div class="brand">
      <svg viewBox="0 0 32 32" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
        <circle cx="16" cy="16" r="13"/><ellipse cx="16" cy="16" rx="5.5" ry="13"/><path d="M3 16h26M5.5 9h21M5.5 23h21" stroke-width="1.4"/>
      </svg>
      <h1>Meridian <span class="sub">status</span></h1>
    </div>
    <div class="summary" id="summary"></div>
    <div class="updated"><span class="live" aria-hidden="true"></span><span id="updated">connecting…</span></div>
  </div>
</header>
<div class="wrap">
  <div id="error" class="banner" role="alert" hidden></div>
  <main>
    <section id="datacenters">
      <h2>Data centers <span class="count" id="dc-count"></span></h2>
      <div class="card scroll" id="dc-card"><div class="empty">Loading…</div></div>
    </section>
    <section id="services">
      <h2>Services <span class="count" id="service-count"></span></h2>
      <div id="service-list"><div class="card empty">Loading…</div></div>
    </section>
    <section id="zones">
      <h2>Zones <span class="count" id="zone-count"></span></h2>
      <div class="card scroll" id="zone-card"><div class="empty">Loading…</div></div>
      <div class="card reload" id="last-reload"></div>
    </section>
  </main>
  <footer id="footer">Polls <span class="mono">GET /status</span> every 3 s.</footer>
</div>
<script>
"use strict";
const POLL_MS = 3000;
const PALETTE = ["#3b82f6", "#a855f7", "#f97316", "#14b8a6", "#ec4899", "#84cc16", "#eab308", "#6366f1", "#06b6d4", "#ef4444"];
const POLICIES = {
  "geo-nearest": "the data center nearest to the client",
  "geo-map": "data centers mapped per country or continent",
  "weighted": "data centers in proportion to their weights",
  "round-robin": "every data center in turn",
  "failover": "the first healthy step of an ordered list",
};
let lastOK = 0;           // client time (ms) of the last successful fetch
let skew = 0;             // server clock minus client clock, seconds (from generated_at)
const openHistory = new Set();

const $ = (id) => document.getElementById(id);

/** An element with attributes (null/undefined/false are left out) and children (strings become text). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "style") { for (const [p, x] of Object.entries(v)) el.style.setProperty(p, x); }
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const now = () => Date.now() / 1000 + skew;

function ago(t) {
  if (!t) return "—";
  const d = Math.max(0, now() - t);
  if (d < 5) return "just now";
  if (d < 60) return Math.floor(d) + " s ago";
  if (d < 3600) return Math.floor(d / 60) + " min ago";
  if (d < 86400) { const hrs = Math.floor(d / 3600), m = Math.floor((d % 3600) / 60); return hrs + " h" + (m ? " " + m + " min" : "") + " ago"; }
  return Math.floor(d / 86400) + " d ago";
}

function stamp(t) {
  if (!t) return null;
  return new Date(t * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** A relative time kept fresh by tick(); the absolute time as a tooltip. */
function when(t) {
  return h("time", { "data-ago": t || 0, datetime: t ? new Date(t * 1000).toISOString() : null, title: stamp(t) }, ago(t));
}

function tick() {
  for (const el of document.querySelectorAll("[data-ago]")) el.textContent = ago(Number(el.dataset.ago));
  if (lastOK) $("updated").textContent = (document.body.dataset.status === "error" ? "last update " : "updated ") + ago(lastOK / 1000 + skew);
}

function badge(state) {
  const s = ["up", "down", "drain"].includes(state) ? state : "unknown";
  return h("span", { class: "badge " + s, "data-state": state }, state || "unknown");
}

function renderSummary(s) {
  const dcs = s.datacenters || [];
  const count = (st) => dcs.filter((d) => d.state === st).length;
  const pill = (cls, n, label) => h("span", { class: "pill " + cls, "data-kind": label }, h("b", {}, n), label);
  const pills = [pill("", dcs.length, dcs.length === 1 ? "data center" : "data centers")];
  for (const st of ["up", "drain", "down"]) if (count(st)) pills.push(pill(st, count(st), st === "drain" ? "drained" : st));
  pills.push(pill("", (s.services || []).length, (s.services || []).length === 1 ? "service" : "services"));
  pills.push(pill("", (s.zones || []).length, (s.zones || []).length === 1 ? "zone" : "zones"));
  $("summary").replaceChildren(...pills);
}

function colours(dcs) {
  const map = new Map();
  dcs.forEach((d, i) => map.set(d.name, PALETTE[i % PALETTE.length]));
  return map;
}

function timeline(history, current) {
  if (!history.length) return null;
  const end = now(), start = history[0].at, span = Math.max(1, end - start);
  const segs = history.map((c, i) => {
    const to = i + 1 < history.length ? history[i + 1].at : end;
    const pct = Math.max(0, (to - c.at) / span * 100);
    return h("span", { class: "seg-" + c.state, style: { width: pct.toFixed(2) + "%" },
      title: c.state + " " + ago(c.at) + (c.reason ? ": " + c.reason : "") });
  });
  return h("div", { class: "timeline", role: "img", "aria-label": "state history, now " + current }, segs);
}

function historyCell(dc, a) {
  if (!Array.isArray(a.history)) return h("td", { class: "faint" }, "—");
  const key = dc.name + "|" + a.ip + "|" + (a.check || "");
  if (!a.history.length) return h("td", { class: "faint" }, "no changes");
  const list = h("ol", {}, a.history.slice().reverse().map((c) =>
    h("li", { class: "change", "data-state": c.state, "data-at": c.at }, when(c.at), badge(c.state), h("span", { class: "muted" }, c.reason || ""))));
  const details = h("details", { class: "history", "data-count": a.history.length, open: openHistory.has(key) },
    h("summary", {}, a.history.length + (a.history.length === 1 ? " change" : " changes")), list);
  details.addEventListener("toggle", () => details.open ? openHistory.add(key) : openHistory.delete(key));
  return h("td", {}, timeline(a.history, a.state), details);
}

function renderDatacenters(dcs, colour) {
  $("dc-count").textContent = dcs.length ? String(dcs.length) : "";
  if (!dcs.length) { $("dc-card").replaceChildren(h("div", { class: "empty" }, "No data centers: this configuration has no routing.")); return; }
  // The history column appears once the server reports histories.
  const withHistory = dcs.some((dc) => (dc.addresses || []).some((a) => Array.isArray(a.history)));
  const head = h("thead", {}, h("tr", {},
    h("th", {}, "Address"), h("th", { class: "hide-narrow" }, "Check"), h("th", {}, "State"), h("th", {}, "Since"),
    h("th", { class: "hide-narrow" }, "Reason"), withHistory ? h("th", {}, "History") : null));
  const bodies = dcs.map((dc) => {
    const addrs = dc.addresses || [];
    const up = addrs.filter((a) => a.state === "up").length;
    const row = h("tr", { class: "datacenter", "data-name": dc.name, "data-state": dc.state },
      h("th", { colspan: withHistory ? 6 : 5, scope: "rowgroup" }, h("div", { class: "dc-head" },
        h("span", { class: "swatch", style: { "--dc": colour.get(dc.name) } }),
        h("span", { class: "dc-name" }, dc.name), badge(dc.state),
        h("span", { class: "muted" }, up + " of " + addrs.length + (addrs.length === 1 ? " address" : " addresses") + " up"))));
    const rows = addrs.map((a) => h("tr", { class: "address", "data-datacenter": dc.name, "data-ip": a.ip, "data-check": a.check || null, "data-state": a.state },
      h("td", { class: "ip mono nowrap" }, a.ip),
      h("td", { class: (a.check ? "mono" : "faint") + " hide-narrow" }, a.check || "none"),
      h("td", {}, badge(a.state)),
      h("td", { class: "nowrap" }, when(a.since)),
      h("td", { class: "reason hide-narrow" }, a.reason || ""),
      withHistory ? historyCell(dc, a) : null));
    return h("tbody", { class: "dc-group" }, row, rows);
  });
  $("dc-card").replaceChildren(h("table", { id: "dc-table" }, head, bodies));
}

function renderServices(services, dcs, colour) {
  $("service-count").textContent = services.length ? String(services.length) : "";
  if (!services.length) { $("service-list").replaceChildren(h("div", { class: "card empty" }, "No services.")); return; }
  const stateOf = new Map(dcs.map((d) => [d.name, d.state]));
  const cards = services.map((s) => {
    const headRow = h("div", { class: "service-head" },
      h("span", { class: "service-name" }, s.name),
      s.policy ? h("span", { class: "chip policy", title: POLICIES[s.policy] || null }, s.policy) : null);
    const ttl = h("div", { class: "ttl", title: "TTL; degraded TTL while a candidate is down or changing" },
        "TTL ", h("b", { class: "num" }, s.ttl + " s"),
        s.degraded_ttl !== undefined && s.degraded_ttl !== s.ttl ? [" · degraded ", h("b", { class: "num" }, s.degraded_ttl + " s")] : null);
    let share = null;
    if (s.share && s.share.answers) {
      const entries = Object.entries(s.share.answers).sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
      const total = entries.reduce((n, e) => n + e[1], 0);
      const win = s.share.window_seconds || 0;
      // An answer can hold several data centers: the shares are of the sum of the counts.
      const title = h("div", { class: "share-title" },
        "Answers per data center, last " + (win >= 120 ? Math.round(win / 60) + " min" : Math.round(win) + " s"));
      const rows = entries.length ? entries.map(([name, n]) => {
        const pct = total ? n / total * 100 : 0;
        return h("div", { class: "share-row", "data-service": s.name, "data-datacenter": name, "data-answers": n, "data-state": stateOf.get(name) || null },
          h("span", { class: "label", title: name }, h("span", { class: "swatch", style: { "--dc": colour.get(name) || "var(--faint)" } }), name),
          h("div", { class: "bar" }, h("span", { style: { width: pct.toFixed(1) + "%", "--dc": colour.get(name) || "var(--faint)" } })),
          h("span", { class: "value" }, h("b", {}, Math.round(pct) + "%"), " · " + n.toLocaleString()));
      }) : h("div", { class: "faint" }, "no answers in this window");
      share = h("div", { class: "share", "data-window": win }, title, rows);
    }
    return h("div", { class: "card service", "data-name": s.name, "data-policy": s.policy || null, "data-ttl": s.ttl }, headRow, ttl, share);
  });
  $("service-list").replaceChildren(h("div", { class: "services" }, cards));
}

function renderZones(zones, reload) {
  $("zone-count").textContent = zones.length ? String(zones.length) : "";
  if (!zones.length) $("zone-card").replaceChildren(h("div", { class: "empty" }, "No zones."));
  else $("zone-card").replaceChildren(h("table", { id: "zone-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Origin"), h("th", {}, "Serial"), h("th", {}, "Records"),
      h("th", {}, "Loaded"), h("th", { class: "hide-narrow" }, "File"))),
    h("tbody", {}, zones.map((z) => h("tr", { class: "zone", "data-origin": z.origin, "data-serial": z.serial ?? null },
      h("td", { class: "mono nowrap" }, h("b", {}, z.origin)),
      h("td", { class: "serial mono num" }, z.serial ?? "—"),
      h("td", { class: "records num" }, (z.records ?? 0).toLocaleString()),
      h("td", { class: "nowrap" }, when(z.loaded_at)),
      h("td", { class: "mono muted hide-narrow" }, z.file || ""))))));
  const box = $("last-reload");
  if (!reload) {
    box.removeAttribute("data-ok");
    box.replaceChildren(h("span", { class: "muted" }, "Last reload:"), h("span", {}, "none since start"));
    return;
  }
  box.setAttribute("data-ok", reload.ok ? "true" : "false");
  const n = (reload.problems || []).length;
  box.replaceChildren(h("span", { class: "muted" }, "Last reload"), when(reload.at),
    h("span", { class: "badge " + (reload.ok ? "up" : "down") }, reload.ok ? "ok" : "rejected"),
    reload.ok ? null : h("span", { class: "muted" }, n + (n === 1 ? " problem" : " problems") + "; the previous data keeps serving"),
    n ? h("ul", { class: "problems" }, reload.problems.map((p) => h("li", {}, p))) : null);
}

function render(s) {
  const dcs = s.datacenters || [];
  const colour = colours(dcs);
  renderSummary(s);
  renderDatacenters(dcs, colour);
  renderServices(s.services || [], dcs, colour);
  renderZones(s.zones || [], s.last_reload);
  $("footer").replaceChildren(h("span", {}, "Polls ", h("span", { class: "mono" }, "GET /status"), " every " + POLL_MS / 1000 + " s",
    s.generated_at ? [" · generated at ", h("time", { title: stamp(s.generated_at) }, new Date(s.generated_at * 1000).toLocaleTimeString())] : null, "."));
}

function showError(message) {
  document.body.dataset.status = "error";
  const since = lastOK ? "Showing data from " + ago(lastOK / 1000 + skew) + "; retrying every " + POLL_MS / 1000 + " s." : "Retrying every " + POLL_MS / 1000 + " s.";
  $("error").replaceChildren(h("span", { class: "icon" }, "!"),
    h("div", {}, h("strong", {}, "Cannot fetch /status: "), message, h("br"), h("span", { class: "muted" }, since)));
  $("error").hidden = false;
  if (!lastOK) for (const el of document.querySelectorAll(".empty")) el.textContent = "No data yet.";
  $("updated").textContent = lastOK ? "last update " + ago(lastOK / 1000 + skew) : "not connected";
}

async function poll() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), POLL_MS + 2000);
  try {
    const response = await fetch("status", { cache: "no-store", signal: abort.signal, headers: { accept: "application/json" } });
    if (!response.ok) throw new Error("HTTP " + response.status + " " + response.statusText);
    const s = await response.json();
    if (typeof s.generated_at === "number") skew = s.generated_at - Date.now() / 1000;
    lastOK = Date.now();
    render(s);
    document.body.dataset.status = "ok";
    $("error").hidden = true;
    tick();
  } catch (e) {
    showError(e.name === "AbortError" ? "no answer within " + (POLL_MS + 2000) / 1000 + " s" : (e.message || String(e)));
  } finally {
    clearTimeout(timer);
    setTimeout(poll, POLL_MS);
  }
}

setInterval(tick, 1000);
poll();
</script>
</body>
</html>
"""#
}
