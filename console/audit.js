// Audit: the operator actions (sign-ins, closes, revocations, user edits, webhook tests), newest first.
// Shown to operator and admin credentials only, like GET /api/audit.
import { html, useEffect, useRef, useState } from "./vendor/htm-preact.js";
import { api } from "./api.js";
import { formatTime } from "./format.js";

const ACTIONS = [
  "sign-in",
  "sign-in-failed",
  "session.close",
  "user.sessions.close",
  "revoke",
  "revocation.lift",
  "user.create",
  "user.edit",
  "user.delete",
  "webhook.test",
];
const REFRESH_MS = 10_000;

export function AuditPage() {
  const [filter, setFilter] = useState({ actor: "", action: "" });
  const [answer, setAnswer] = useState({ storage: "", entries: [] });
  const [error, setError] = useState("");
  const current = useRef(filter);
  current.current = filter;
  useEffect(() => {
    const load = async () => {
      const query = new URLSearchParams(Object.entries({ ...current.current, limit: "500" }).filter(([, v]) => v !== ""));
      try {
        setAnswer(await api("GET", `audit?${query}`));
        setError("");
      } catch (e) {
        setError(e.message);
      }
    };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [filter]);
  const change = (event) => {
    const f = event.currentTarget.elements;
    setFilter({ actor: f.namedItem("actor").value.trim(), action: f.namedItem("action").value });
  };
  return html`
    <h1>Audit <span class="muted count">${answer.storage === "memory" ? "kept in memory (no stats.file): lost at restart" : ""}</span></h1>
    <form class="filters" onChange=${change} onSubmit=${(e) => {
      e.preventDefault();
      change(e);
    }}>
      <input name="actor" placeholder="Credential name" aria-label="Credential name" />
      <select name="action" aria-label="Action"><option value="">Any action</option>${ACTIONS.map((a) => html`<option value=${a}>${a}</option>`)}</select>
    </form>
    ${error !== "" && html`<p class="error">${error}</p>`}
    <div class="table-wrap">
      <table class="audit">
        <thead><tr><th>When</th><th>Who</th><th>Role</th><th>Action</th><th>Target</th><th>From</th></tr></thead>
        <tbody>
          ${answer.entries.map(
            (e, i) => html`<tr key=${`${e.at}-${i}`}>
            <td data-label="When">${formatTime(Date.parse(e.at))}</td>
            <td data-label="Who">${e.actor}</td>
            <td data-label="Role">${e.role ?? "—"}</td>
            <td data-label="Action">${e.action}</td>
            <td data-label="Target">${e.target ?? "—"}</td>
            <td data-label="From">${e.address}</td>
          </tr>`,
          )}
        </tbody>
      </table>
      ${
        answer.entries.length === 0 &&
        error === "" &&
        html`<p class="empty" data-empty="audit">${
          filter.actor !== "" || filter.action !== ""
            ? "No action matches: change the filters (an empty credential name and Any action show all)."
            : "No operator action yet: sign-ins, closes, revocations, user edits and webhook tests show here."
        }</p>`
      }
    </div>`;
}
