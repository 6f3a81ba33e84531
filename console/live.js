// Live: every session now, kept current by the /api/events stream (no re-fetch of the list).
import { Component, html, useEffect, useRef, useState } from "./vendor/htm-preact.js";
import { api, apiUrl, may } from "./api.js";
import { formatCount } from "./format.js";
import { LiveTable } from "./live-table.js";

const PROTOCOLS = ["rtmp", "http-flv", "ws-flv", "hls"];

/** A session of the snapshot's compact form (one array per session, field names sent once); null is "not set". */
function sessionOf(fields, row) {
  const session = {};
  fields.forEach((field, i) => {
    if (row[i] !== null) session[field] = row[i];
  });
  return session;
}

export function LivePage() {
  const tbody = useRef(null);
  const viewport = useRef(null);
  const table = useRef(null);
  const [counts, setCounts] = useState({ total: 0, shown: 0 });
  const [stream, setStream] = useState("connecting");
  const [message, setMessage] = useState("");

  useEffect(() => {
    let pending = false;
    // Counting is batched to one per frame: a burst of events costs one count, not one each.
    const onChange = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        setCounts({ total: live.rows.size, shown: live.shown });
      });
    };
    const live = new LiveTable(tbody.current, viewport.current, onChange);
    table.current = live;
    const events = new EventSource(apiUrl("events"), { withCredentials: true });
    // Each event's DOM work is a performance measure ("live:snapshot", "live:opened", "live:bytes"…),
    // visible in the browser's performance tools and read by bench/console-live.bench.ts.
    const on = (name, handler) =>
      events.addEventListener(name, (e) => {
        const data = JSON.parse(e.data);
        const start = performance.now();
        handler(data);
        performance.measure(`live:${name}`, { start, end: performance.now() });
      });
    on("snapshot", (d) => {
      live.load(
        d.rows.map((row) => sessionOf(d.fields, row)),
        d.at,
      );
      setStream("live");
    });
    on("opened", (s) => live.upsert(s, Date.now()));
    on("playing", (s) => live.upsert(s, Date.now()));
    on("ended", (d) => live.remove(d.id));
    on("bytes", (d) => live.bytes(d.sessions, d.at));
    events.onerror = () => {
      setStream("reconnecting");
      // The browser retries by itself after a network error, but not after a refusal (the console
      // session expired or was signed out elsewhere): ask, and a 401 brings the sign-in back.
      if (events.readyState === EventSource.CLOSED) api("GET", "console/session").catch(() => undefined);
    };
    return () => {
      events.close();
      live.detach();
    };
  }, []);

  const act = async (event) => {
    const button = event.target.closest("button[data-action]");
    if (button === null) return;
    const id = button.closest("tr").dataset.id;
    const row = table.current.rows.get(id);
    if (row === undefined) return;
    try {
      if (button.dataset.action === "close") {
        await api("DELETE", `sessions/${encodeURIComponent(id)}`);
        setMessage("Session closed.");
      } else {
        const user = row.session.userId ?? row.session.name;
        const { closed } = await api("DELETE", `users/${encodeURIComponent(user)}/sessions`);
        setMessage(`Closed ${closed.length} session(s) of ${user}.`);
      }
    } catch (e) {
      setMessage(`Failed: ${e.message}`);
    }
  };

  const filter = (event) => {
    const form = event.currentTarget;
    const value = (name) => form.elements.namedItem(name).value.trim();
    table.current.setFilter({ channel: value("channel"), user: value("user"), ip: value("ip"), protocol: value("protocol") });
  };

  const revokeToken = async (event) => {
    event.preventDefault();
    const field = event.currentTarget.elements.namedItem("token");
    try {
      const { closed, until } = await api("POST", "revocations", { token: field.value });
      setMessage(
        `Token revoked: ${closed.length} session(s) closed; it is refused until ${new Date(until).toLocaleString()} (lift it with DELETE /api/revocations/token/…).`,
      );
      field.value = "";
    } catch (e) {
      setMessage(`Failed: ${e.message}`);
    }
  };

  return html`
    <section class="toolbar">
      <h1>Live <span class="muted count">${formatCount(counts.shown)} of ${formatCount(counts.total)} sessions</span>
        <span class=${`badge ${stream === "live" ? "up" : "down"}`}>${stream}</span></h1>
      <form class="filters" onInput=${filter} onSubmit=${(e) => e.preventDefault()}>
        <input name="channel" placeholder="Channel" aria-label="Filter by channel" />
        <input name="user" placeholder="User" aria-label="Filter by user" />
        <input name="ip" placeholder="IP" aria-label="Filter by IP" />
        <select name="protocol" aria-label="Filter by protocol">
          <option value="">All protocols</option>
          ${PROTOCOLS.map((p) => html`<option value=${p}>${p}</option>`)}
        </select>
      </form>
      ${
        may("operator") &&
        html`<form class="revoke" onSubmit=${revokeToken}>
        <input name="token" type="password" placeholder="Token, signed link or sign to revoke" aria-label="Token to revoke" autocomplete="off" required />
        <button type="submit" class="danger">Revoke token</button>
      </form>`
      }
      ${message !== "" && html`<p class="notice" role="status">${message}</p>`}
    </section>
    <${SessionsTable} tbody=${tbody} viewport=${viewport} onClick=${act} />
    ${stream === "live" && counts.shown === 0 && html`<${LiveEmpty} total=${counts.total} />`}`;
}

/** What an empty list means and what to do: nobody watching, or filters that match no one. */
function LiveEmpty({ total }) {
  return html`<p class="empty list-empty card" data-empty="live" role="status">${
    total === 0
      ? "No one is watching now. Play a channel (for example …/live/test.flv?token=… in VLC or ffplay) and the session shows here within a second."
      : `No session matches the filters: clear them to see all ${formatCount(total)}.`
  }</p>`;
}

/** The table's frame, rendered once: its rows belong to LiveTable, and preact never diffs them. */
class SessionsTable extends Component {
  shouldComponentUpdate() {
    return false;
  }

  render({ tbody, viewport, onClick }) {
    return html`
      <div class="table-wrap live-viewport" ref=${viewport}>
        <table class="sessions">
          <thead><tr><th>Channel</th><th>User</th><th>IP</th><th>Protocol</th><th>Player</th><th>Started</th><th>Bytes</th><th>Rate</th><th></th></tr></thead>
          <tbody ref=${tbody} onClick=${onClick}></tbody>
        </table>
      </div>`;
  }
}
