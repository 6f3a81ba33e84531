// Statistics: watch time and bytes per channel and per user per day, from the ledger, as charts and a CSV.
import { html, useEffect, useState } from "./vendor/htm-preact.js";
import { api, apiUrl } from "./api.js";
import { BarChart } from "./chart.js";
import { formatBytes, formatCount, formatDuration } from "./format.js";

const DAY_MS = 86_400_000;
const RANGES = [
  ["7", "Last 7 days"],
  ["30", "Last 30 days"],
  ["90", "Last 90 days"],
];

/** The UTC days from `from` to today, as YYYY-MM-DD (so a day without viewing shows an empty bar). */
function daysOf(fromMs, toMs) {
  const days = [];
  for (let t = Math.floor(fromMs / DAY_MS) * DAY_MS; t < toMs; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

export function StatsPage() {
  const [days, setDays] = useState("7");
  const [by, setBy] = useState("channels");
  const [rows, setRows] = useState([]);
  const [error, setError] = useState("");
  const to = Date.now();
  const from = Math.floor(to / DAY_MS) * DAY_MS - (Number(days) - 1) * DAY_MS;
  useEffect(() => {
    api("GET", `stats/daily/${by}?from=${from}&to=${to}`).then(
      (d) => {
        setRows(d.rows);
        setError("");
      },
      (e) =>
        setError(
          e.status === 404 ? "Statistics are off: set stats.file to keep finished sessions, then they show here per day." : e.message,
        ),
    );
  }, [days, by]);
  const dayList = daysOf(from, to);
  const keys = [...new Set(rows.map((r) => r.key))];
  const totals = (key) =>
    rows
      .filter((r) => r.key === key)
      .reduce((t, r) => ({ watch: t.watch + r.watchSeconds, bytes: t.bytes + r.bytesOut, sessions: t.sessions + r.sessions }), {
        watch: 0,
        bytes: 0,
        sessions: 0,
      });
  const barsOf = (key, field) =>
    dayList.map((day) => ({
      label: day.slice(5),
      value: rows.filter((r) => r.day === day && (key === undefined || r.key === key)).reduce((a, r) => a + r[field], 0),
    }));
  return html`
    <h1>Statistics</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <select aria-label="Range" value=${days} onChange=${(e) => setDays(e.currentTarget.value)}>
        ${RANGES.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
      </select>
      <select aria-label="Group by" value=${by} onChange=${(e) => setBy(e.currentTarget.value)}>
        <option value="channels">Per channel</option>
        <option value="users">Per user</option>
      </select>
      <a class="button" href=${apiUrl(`stats/sessions.csv?from=${from}&to=${to}`)} download="sessions.csv">Download CSV</a>
    </form>
    ${error !== "" && html`<p class="error card list-empty" data-empty="stats">${error}</p>`}
    <div class="cards two">
      <article class="card"><h2>Watch time per day (all)</h2><${BarChart} bars=${barsOf(undefined, "watchSeconds")} label="watch time per day" formatValue=${formatDuration} xTitle="day (UTC)" yTitle="watch time" /></article>
      <article class="card"><h2>Bytes per day (all)</h2><${BarChart} bars=${barsOf(undefined, "bytesOut")} label="bytes per day" formatValue=${formatBytes} xTitle="day (UTC)" yTitle="bytes sent" /></article>
    </div>
    ${
      keys.length === 0 &&
      error === "" &&
      html`<p class="empty card list-empty" data-empty="stats">No finished session in this range yet: a session counts here once its viewer stops playing; pick a longer range or play a channel.</p>`
    }
    <div class="cards two">
      ${keys.map((key) => {
        const t = totals(key);
        return html`<article class="card" key=${key}>
          <h2>${key}</h2>
          <p class="muted">${formatCount(t.sessions)} sessions · ${formatDuration(t.watch)} watched · ${formatBytes(t.bytes)}</p>
          <${BarChart} bars=${barsOf(key, "watchSeconds")} label=${`watch time of ${key} per day`} formatValue=${formatDuration} xTitle="day (UTC)" yTitle="watch time" />
          <${BarChart} bars=${barsOf(key, "bytesOut")} label=${`bytes of ${key} per day`} formatValue=${formatBytes} xTitle="day (UTC)" yTitle="bytes sent" />
        </article>`;
      })}
    </div>`;
}
