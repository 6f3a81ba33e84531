// Overview, the landing page: viewers now, bandwidth, decisions per minute, backend health, channels and
// edges from one call (GET /api/overview, every 5 s), and concurrent viewers over a day or a week.
import { html, useEffect, useState } from "./vendor/htm-preact.js";
import { api } from "./api.js";
import { SeriesChart, StackedBars } from "./chart.js";
import { formatBytes, formatCount, formatRate } from "./format.js";

// Every 2 s: one request costs the server about 0.7 ms of CPU (bench/console-overview.bench.ts), 0.04 % of a core.
const REFRESH_MS = 2_000;
const MINUTE_MS = 60_000;
const PROTOCOL_NAMES = { rtmp: "RTMP", "http-flv": "HTTP-FLV", "ws-flv": "WS-FLV", hls: "HLS" };

/** Polls `path` every `everyMs` (and at once when `path` changes); returns [data, error]. */
function usePolled(path, everyMs) {
  const [data, setData] = useState(undefined);
  const [error, setError] = useState("");
  useEffect(() => {
    let stopped = false;
    const load = () =>
      api("GET", path).then(
        (d) => stopped || (setData(d), setError("")),
        (e) => stopped || setError(e.message),
      );
    load();
    const timer = setInterval(load, everyMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [path]);
  return [data, error];
}

export function OverviewPage() {
  const [data, error] = usePolled("overview", REFRESH_MS);
  if (data === undefined)
    return html`<h1>Overview</h1>${error !== "" ? html`<p class="error">${error}</p>` : html`<p class="muted">Loading…</p>`}`;
  const channels = [...new Set([...Object.keys(data.viewers.perChannel), ...(data.channels ?? []).map((c) => c.channel)])].sort();
  return html`
    <h1>Overview</h1>
    ${error !== "" && html`<p class="error">${error}</p>`}
    <div class="cards overview">
      <${Viewers} viewers=${data.viewers} />
      <${Bandwidth} bandwidth=${data.bandwidth} />
      <${Backend} backend=${data.backend} />
      ${data.channels !== null && html`<${Channels} channels=${data.channels} />`}
      ${data.cluster !== null && html`<${Cluster} cluster=${data.cluster} />`}
    </div>
    <div class="cards two overview">
      <${Decisions} decisions=${data.decisions} at=${data.at} />
      <${History} channels=${channels} />
    </div>`;
}

function Viewers({ viewers }) {
  const channels = Object.entries(viewers.perChannel).sort((a, b) => total(b[1]) - total(a[1]));
  return html`<article class="card" data-card="viewers">
    <h2>Viewers now</h2>
    <p class="big" data-value="viewers-total">${formatCount(viewers.total)}</p>
    <ul class="kv" data-value="viewers-protocols">
      ${Object.entries(viewers.perProtocol).map(([p, n]) => html`<li>${PROTOCOL_NAMES[p] ?? p}: <strong>${formatCount(n)}</strong></li>`)}
    </ul>
    ${
      viewers.total === 0
        ? html`<p class="empty">Nobody is watching. Play a channel (for example <code>…/live/test.flv?token=…</code>) and it shows here within 5 s.</p>`
        : html`<div class="table-wrap"><table>
          <thead><tr><th>Channel</th><th>Viewers</th><th>Per protocol</th></tr></thead>
          <tbody>${channels.map(
            ([channel, perProtocol]) =>
              html`<tr data-channel=${channel}><td data-label="Channel">${channel}</td><td data-label="Viewers">${formatCount(total(perProtocol))}</td>
                <td data-label="Per protocol">${Object.entries(perProtocol)
                  .map(([p, n]) => `${PROTOCOL_NAMES[p] ?? p} ${n}`)
                  .join(", ")}</td></tr>`,
          )}</tbody></table></div>`
    }
  </article>`;
}

function Bandwidth({ bandwidth }) {
  return html`<article class="card" data-card="bandwidth">
    <h2>Bandwidth out</h2>
    <p class="big" data-value="bandwidth">${formatRate(bandwidth.bytesPerSec)}</p>
    <p class="muted">${
      bandwidth.windowSec > 0
        ? `${formatBytes(bandwidth.bytesPerSec)}/s over the last ${Math.round(bandwidth.windowSec)} s · ${formatBytes(bandwidth.sentBytes)} sent since start`
        : "Measured every 5 s: the first rate shows 5 s after start."
    }</p>
  </article>`;
}

function Backend({ backend }) {
  if (backend === null)
    return html`<article class="card" data-card="backend"><h2>Backend</h2>
      <p class="empty">No backend configured: viewers are decided by the built-in steps only. Set <code>auth.backend.url</code> to ask a middleware.</p></article>`;
  const ms = (v) => (v === null ? "—" : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);
  return html`<article class="card" data-card="backend">
    <h2>Backend</h2>
    <dl class="facts">
      <dt>Calls</dt><dd data-value="backend-calls">${formatCount(backend.calls)}</dd>
      <dt>Latency p50 / p99</dt><dd>${ms(backend.p50Ms)} / ${ms(backend.p99Ms)}</dd>
      <dt>Errors</dt><dd class=${backend.errors > 0 ? "error" : ""}>${formatCount(backend.errors)}</dd>
      <dt>Unreachable</dt><dd class=${backend.unreachable > 0 ? "error" : ""}>${formatCount(backend.unreachable)}</dd>
      <dt>Cache hit ratio</dt><dd>${backend.cacheHitRatio === null ? "—" : `${Math.round(backend.cacheHitRatio * 100)} %`}</dd>
    </dl>
    ${backend.calls === 0 && html`<p class="empty">No call yet: the first viewer that reaches the backend step shows here.</p>`}
  </article>`;
}

function Channels({ channels }) {
  const up = channels.filter((c) => c.up).length;
  return html`<article class="card" data-card="channels">
    <h2>Channels <span class="count muted">${up} up, ${channels.length - up} down</span></h2>
    ${
      channels.length === 0
        ? html`<p class="empty">No channel configured: add one under <code>channels</code> in the server's configuration.</p>`
        : html`<ul class="kv">${channels.map(
            (
              c,
            ) => html`<li data-channel=${c.channel}><span class=${`badge ${c.up ? "up" : "down"}`}>${c.up ? "up" : "down"}</span> ${c.channel}
            ${
              Object.values(c.restarts).some((n) => n > 0) &&
              html`<span class="muted"> (${Object.entries(c.restarts)
                .map(([k, n]) => `${k} ${n}`)
                .join(", ")} restarts)</span>`
            }</li>`,
          )}</ul>`
    }
  </article>`;
}

function Cluster({ cluster }) {
  return html`<article class="card" data-card="cluster">
    <h2>Edges <span class=${`badge ${cluster.redis === "up" ? "up" : "down"}`}>Redis ${cluster.redis}</span></h2>
    <p class="muted">This edge: ${cluster.node}. While Redis is down: ${cluster.onRedisDown === "local" ? "admit on local counts" : "refuse"}.</p>
    ${
      cluster.edges === null
        ? html`<p class="empty">Redis is unreachable: the other edges cannot be listed.</p>`
        : html`<ul class="kv">${cluster.edges.map((e) => html`<li>${e.node}${e.node === cluster.node ? " (this)" : ""}: ${formatCount(e.sessions)} sessions</li>`)}</ul>`
    }
  </article>`;
}

function Decisions({ decisions, at }) {
  const reasons = Object.keys(decisions.refused).sort((a, b) => decisions.refused[b] - decisions.refused[a]);
  const keys = ["admitted", ...reasons];
  const last = Math.floor(at / MINUTE_MS) * MINUTE_MS;
  const byMinute = new Map(decisions.perMinute.map((m) => [m.minute, m]));
  const columns = [];
  for (let i = 59; i >= 0; i--) {
    const minute = last - i * MINUTE_MS;
    const m = byMinute.get(minute) ?? { admitted: 0, refused: {} };
    columns.push({
      label: new Date(minute).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }),
      parts: [{ key: "admitted", value: m.admitted }, ...reasons.map((r) => ({ key: r, value: m.refused[r] ?? 0 }))],
    });
  }
  const refusedTotal = reasons.reduce((a, r) => a + decisions.refused[r], 0);
  return html`<article class="card" data-card="decisions">
    <h2>Admissions and refusals per minute <span class="count muted">last hour: ${formatCount(decisions.admitted)} admitted, ${formatCount(refusedTotal)} refused</span></h2>
    <${StackedBars} columns=${columns} keys=${keys} label="admissions and refusals per minute over the last hour, by reason"
      ticks=${[
        [0, "60 min ago"],
        [30, "30 min ago"],
        [59, "now"],
      ]} xTitle="minute" yTitle="decisions / min" />
    <ul class="legend">${keys.map((k, i) => html`<li><span class=${`swatch s${Math.min(5, i)}`}></span>${k === "admitted" ? "admitted" : `refused by ${k}`}</li>`)}</ul>
    ${decisions.perMinute.length === 0 && html`<p class="empty">No viewer has asked in the last hour.</p>`}
  </article>`;
}

function History({ channels }) {
  const [channel, setChannel] = useState("");
  const [range, setRange] = useState("24h");
  const [data, error] = usePolled(`history?range=${range}${channel === "" ? "" : `&channel=${encodeURIComponent(channel)}`}`, 60_000);
  const day = range === "24h";
  const tick = (ms) =>
    day
      ? new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })
      : new Date(ms).toLocaleDateString("en-GB", { weekday: "short", day: "numeric" });
  const hover = (ms) =>
    new Date(ms).toLocaleString("en-GB", { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  const peak = data === undefined ? 0 : Math.max(0, ...data.points.map((p) => p.viewers));
  return html`<article class="card" data-card="history">
    <h2>Concurrent viewers</h2>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <select aria-label="Channel" name="history-channel" value=${channel} onChange=${(e) => setChannel(e.currentTarget.value)}>
        <option value="">All channels</option>
        ${channels.map((c) => html`<option value=${c}>${c}</option>`)}
      </select>
      <select aria-label="Range" name="history-range" value=${range} onChange=${(e) => setRange(e.currentTarget.value)}>
        <option value="24h">Last 24 hours (per minute)</option>
        <option value="7d">Last 7 days (per 10 minutes)</option>
      </select>
    </form>
    ${error !== "" && html`<p class="error">${error}</p>`}
    ${
      data !== undefined &&
      html`<${SeriesChart} points=${data.points} label=${`most viewers at once per ${day ? "minute" : "10 minutes"}, ${channel || "all channels"}, ${day ? "last 24 hours" : "last 7 days"}; peak ${peak}`}
        formatTick=${tick} formatHover=${hover} yTitle="viewers" unit=" viewers" />
      <p class="muted">Most viewers at once per ${day ? "minute" : "10 minutes"}; peak ${formatCount(peak)}.</p>`
    }
    ${data !== undefined && peak === 0 && html`<p class="empty">No viewer in this range yet: counts are taken every 10 s and kept ${day ? "a day" : "a week"} (across restarts with <code>stats.file</code>).</p>`}
  </article>`;
}

function total(perProtocol) {
  return Object.values(perProtocol).reduce((a, n) => a + n, 0);
}
