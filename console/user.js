// One user (#user/<id>): live sessions, recent sessions from the ledger, limit and expiry, Close all and
// Revoke. A user is a built-in login or whatever user id a backend or token named; both work here.
import { html, useEffect, useState } from "./vendor/htm-preact.js";
import { api } from "./api.js";
import { formatBytes, formatCount, formatDuration, formatTime } from "./format.js";

const REFRESH_MS = 5_000;

/** The user named in the page's hash (`#user/alice`), or "" when none. */
export function userFromHash() {
  const match = /^#user\/(.+)$/.exec(location.hash);
  if (match === null) return "";
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return "";
  }
}

/** The link to a user's page. */
export function userHref(user) {
  return `#user/${encodeURIComponent(user)}`;
}

export function UserPage() {
  const user = userFromHash();
  const [live, setLive] = useState(undefined);
  const [recent, setRecent] = useState(undefined);
  const [builtIn, setBuiltIn] = useState(undefined);
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const path = encodeURIComponent(user);
  const loadLive = () =>
    api("GET", `sessions?user=${path}`).then(
      (d) => (setLive(d.sessions.filter((s) => s.userId === user || (s.userId === undefined && s.name === user))), setError("")),
      (e) => setError(e.message),
    );
  const loadRecent = () =>
    api("GET", `stats/users/${path}/sessions?limit=50`).then(
      (d) => setRecent({ sessions: d.sessions }),
      (e) => setRecent({ off: e.status === 404 ? "Statistics are off: set stats.file to keep past sessions." : e.message }),
    );
  useEffect(() => {
    if (user === "") return undefined;
    loadLive();
    loadRecent();
    api("GET", `users/${path}`).then(
      (d) => setBuiltIn(d.user),
      () => setBuiltIn(null),
    );
    const timer = setInterval(loadLive, REFRESH_MS);
    return () => clearInterval(timer);
  }, [user]);
  if (user === "") return html`<h1>User</h1><p class="empty">No user named: open one from the Users or the Live page.</p>`;

  const act = async (what) => {
    try {
      if (what === "close") {
        const { closed } = await api("DELETE", `users/${path}/sessions`);
        setMessage(`${closed.length} session(s) closed.`);
      } else {
        if (!confirm(`Revoke ${user}? Every session is cut and the user is refused until the revocation lapses or is lifted.`)) return;
        const revoked = await api("POST", "revocations", { user });
        setMessage(`User revoked until ${formatTime(Date.parse(revoked.until))}: ${revoked.closed.length} session(s) closed.`);
      }
      await loadLive();
      await loadRecent();
    } catch (e) {
      setMessage(`Failed: ${e.message}`);
    }
  };

  return html`
    <div class="user-page">
      <h1>User <span data-value="user">${user}</span></h1>
      <div class="buttons">
        <button type="button" data-action="close-all" onClick=${() => act("close")}>Close all</button>
        <button type="button" class="danger" data-action="revoke" onClick=${() => act("revoke")}>Revoke</button>
      </div>
      ${message !== "" && html`<p class="notice" role="status">${message}</p>`}
      ${error !== "" && html`<p class="error">${error}</p>`}
      <div class="cards">
        <article class="card">
          <h2>Limit and expiry</h2>
          ${
            builtIn === undefined
              ? html`<p class="muted">Loading…</p>`
              : builtIn === null
                ? html`<p class="muted">Not a built-in user: its limit and expiry come from the backend or the token that named it.</p>`
                : html`<dl class="facts">
                  <dt>Status</dt><dd><span class=${`badge ${builtIn.enabled ? "up" : "down"}`}>${builtIn.enabled ? "enabled" : "disabled"}</span></dd>
                  <dt>Connections</dt><dd data-value="limit">${live === undefined ? "…" : formatCount(live.length)} of ${builtIn.maxConnections ?? "no limit"}</dd>
                  <dt>Expires</dt><dd>${builtIn.expires === null ? "never" : formatTime(Date.parse(builtIn.expires))}</dd>
                  <dt>Packages</dt><dd>${builtIn.packages.join(", ")}</dd>
                </dl>`
          }
        </article>
      </div>
      <h2>Live sessions <span class="count muted">${live === undefined ? "" : formatCount(live.length)}</span></h2>
      ${live !== undefined && live.length === 0 && html`<p class="empty">No live session: ${user} is not watching now.</p>`}
      ${
        live !== undefined &&
        live.length > 0 &&
        html`<div class="table-wrap"><table class="user-live">
        <thead><tr><th>Channel</th><th>IP</th><th>Protocol</th><th>Player</th><th>Started</th><th>Bytes</th><th></th></tr></thead>
        <tbody>${live.map(
          (s) => html`<tr key=${s.id} data-session=${s.id}>
            <td data-label="Channel">${s.app}/${s.channel}</td><td data-label="IP">${s.ip}</td><td data-label="Protocol">${s.protocol}</td>
            <td data-label="Player">${s.userAgent}</td><td data-label="Started">${formatTime(s.playingSince ?? s.startedAt)}</td>
            <td data-label="Bytes">${formatBytes(s.bytesOut)}</td>
            <td class="col-actions"><button type="button" class="small" onClick=${() => closeOne(s.id)}>Close</button></td>
          </tr>`,
        )}</tbody></table></div>`
      }
      <h2>Recent sessions</h2>
      ${recent?.off !== undefined && html`<p class="empty">${recent.off}</p>`}
      ${recent?.sessions !== undefined && recent.sessions.length === 0 && html`<p class="empty">No finished session of ${user} in the ledger yet.</p>`}
      ${
        recent?.sessions !== undefined &&
        recent.sessions.length > 0 &&
        html`<div class="table-wrap"><table class="user-recent">
        <thead><tr><th>Channel</th><th>IP</th><th>Protocol</th><th>Player</th><th>Started</th><th>Duration</th><th>Bytes</th><th>Ended</th></tr></thead>
        <tbody>${recent.sessions.map(
          (s) => html`<tr key=${s.id}>
            <td data-label="Channel">${s.channel}</td><td data-label="IP">${s.ip}</td><td data-label="Protocol">${s.protocol}</td>
            <td data-label="Player">${s.userAgent ?? "—"}</td><td data-label="Started">${formatTime(s.startedAt)}</td>
            <td data-label="Duration">${s.playingSince === null ? "never played" : formatDuration((s.endedAt - s.playingSince) / 1000)}</td>
            <td data-label="Bytes">${formatBytes(s.bytesOut)}</td><td data-label="Ended">${s.endReason}</td>
          </tr>`,
        )}</tbody></table></div>`
      }
    </div>`;

  async function closeOne(id) {
    try {
      await api("DELETE", `sessions/${encodeURIComponent(id)}`);
      setMessage("Session closed.");
      await loadLive();
    } catch (e) {
      setMessage(`Failed: ${e.message}`);
    }
  }
}
