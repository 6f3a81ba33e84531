// Decisions: "Try a URL" (a dry run of one play), then the chain's recent verdicts (who was refused, by which step, why), filterable.
import { html, useEffect, useRef, useState } from "./vendor/htm-preact.js";
import { api } from "./api.js";
import { formatTime } from "./format.js";
import { ExplainForm } from "./explain-form.js";

// Chain steps, then the stages that refuse around the chain (a malformed field, a revocation, unplayed HLS sessions).
const STEPS = [
  "internal",
  "revoked",
  "ip-deny",
  "ip-allow",
  "geo",
  "origin",
  "users",
  "jwt",
  "securetoken",
  "custom",
  "backend",
  "default",
  "input",
  "hls-unplayed",
];
const REFRESH_MS = 5_000;

export function DecisionsPage() {
  const [filter, setFilter] = useState({ verdict: "deny", step: "", channel: "", ip: "", q: "" });
  const [decisions, setDecisions] = useState([]);
  const [anonymous, setAnonymous] = useState(null);
  const [error, setError] = useState("");
  const current = useRef(filter);
  current.current = filter;
  useEffect(() => {
    const load = async () => {
      const query = new URLSearchParams(Object.entries(current.current).filter(([, v]) => v !== ""));
      try {
        const answer = await api("GET", `decisions?${query}`);
        setDecisions(answer.decisions);
        setAnonymous(answer.anonymousRefusals ?? null);
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
    setFilter({
      verdict: f.namedItem("verdict").value,
      step: f.namedItem("step").value,
      channel: f.namedItem("channel").value.trim(),
      ip: f.namedItem("ip").value.trim(),
      q: f.namedItem("q").value.trim(),
    });
  };
  return html`
    <h1>Decisions</h1>
    <${ExplainForm} />
    <h2>Recent decisions</h2>
    <form class="filters" onChange=${change} onSubmit=${(e) => {
      e.preventDefault();
      change(e);
    }}>
      <select name="verdict" aria-label="Verdict">
        <option value="deny" selected>Refused</option><option value="allow">Allowed</option><option value="">All</option>
      </select>
      <select name="step" aria-label="Step"><option value="">Any step</option>${STEPS.map((s) => html`<option value=${s}>${s}</option>`)}</select>
      <input name="channel" placeholder="Channel" aria-label="Channel" />
      <input name="ip" placeholder="IP" aria-label="IP" />
      <input name="q" placeholder="Search reason, user, player" aria-label="Search" />
    </form>
    ${error !== "" && html`<p class="error">${error}</p>`}
    ${
      anonymous !== null &&
      anonymous.total > 0 &&
      html`<p class="muted">
      ${anonymous.total} refusals that named no one in the last hour (${Object.entries(anonymous.byStep)
        .map(([step, n]) => `${step} ${n}`)
        .join(", ")}); only the newest are listed.
    </p>`
    }
    <div class="table-wrap">
      <table class="decisions">
        <thead><tr><th>When</th><th>Verdict</th><th>Step</th><th>Reason</th><th>Channel</th><th>IP</th><th>Protocol</th><th>User</th><th>Player</th></tr></thead>
        <tbody>
          ${decisions.map(
            (d) => html`<tr key=${`${d.sessionId}-${d.at}`}>
            <td data-label="When">${formatTime(d.at)}</td>
            <td data-label="Verdict"><span class=${`badge ${d.verdict === "allow" ? "up" : "down"}`}>${d.verdict}</span></td>
            <td data-label="Step">${d.step}</td>
            <td data-label="Reason">${d.reason}</td>
            <td data-label="Channel">${`${d.app}/${d.channel}`}</td>
            <td data-label="IP">${d.ip}</td>
            <td data-label="Protocol">${d.protocol}</td>
            <td data-label="User">${d.user ?? "—"}</td>
            <td data-label="Player" class="col-player">${d.userAgent}</td>
          </tr>`,
          )}
        </tbody>
      </table>
      ${
        decisions.length === 0 &&
        error === "" &&
        html`<p class="empty" data-empty="decisions">${
          Object.values(filter).some((v) => v !== "")
            ? "No decision matches: change the filters (Verdict All shows both), or wait for a viewer to ask."
            : "No decision yet: one is kept for every play a viewer asks for; play a channel and it shows here within 5 s."
        }</p>`
      }
    </div>`;
}
