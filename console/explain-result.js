// One explain answer (POST /api/explain): the verdict first, then every step in the order it ran, who the
// deciding allow named, and what the session limits would do. Every string is rendered as text.
import { html } from "./vendor/htm-preact.js";

const VERDICT_CLASS = { allow: "up", deny: "down", unknown: "unknown" };

/** Step times are fractions of a millisecond: three decimals keep them comparable. */
function formatMs(ms) {
  return Number.isFinite(ms) ? ms.toFixed(3) : "—";
}

function outcomeText(limit) {
  if (limit.outcome === "room") return "room for this play";
  if (limit.outcome === "refuse") return "full: refuses this play";
  const victims = limit.wouldClose ?? [];
  return `full: would close ${victims.length === 0 ? "the oldest session" : victims.join(", ")}`;
}

function Steps({ steps }) {
  return html`
    <div class="table-wrap">
      <table class="explain-steps">
        <thead><tr><th>Step</th><th>Verdict</th><th>Reason</th><th>ms</th></tr></thead>
        <tbody>
          ${steps.map(
            (s, i) => html`<tr key=${i}>
            <td data-label="Step" class="col-step">${s.step}</td>
            <td data-label="Verdict" class="col-verdict">${s.verdict}</td>
            <td data-label="Reason" class="col-reason">${s.reason}</td>
            <td data-label="ms" class="col-ms">${formatMs(s.ms)}</td>
          </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
}

function Identity({ identity }) {
  if (identity === null) return html`<p class="muted">No one: the deciding step named no viewer.</p>`;
  const channels = identity.channels === undefined ? undefined : identity.channels === "all" ? "all" : identity.channels.join(", ");
  return html`
    <dl class="facts explain-identity">
      ${identity.name !== undefined && html`<dt>Name</dt><dd>${identity.name}</dd>`}
      ${identity.userId !== undefined && html`<dt>User id</dt><dd>${identity.userId}</dd>`}
      ${identity.maxSessions !== undefined && html`<dt>Max sessions</dt><dd>${identity.maxSessions}</dd>`}
      ${channels !== undefined && html`<dt>Channels</dt><dd>${channels === "" ? "none" : channels}</dd>`}
    </dl>`;
}

function Limits({ limits }) {
  const nothing = limits.refusal === null && limits.limits.length === 0 && limits.joins === null && limits.sameViewer.length === 0;
  return html`
    <ul class="explain-limits">
      ${limits.refusal !== null && html`<li class="error">Refused: ${limits.refusal}</li>`}
      ${limits.limits.map((l) => html`<li data-outcome=${l.outcome}>${l.what}: ${l.playing} of ${l.max} playing — ${outcomeText(l)}</li>`)}
      ${
        limits.joins !== null &&
        html`<li>Would be served under session <code>${limits.joins.sessionId}</code>${limits.joins.user === undefined ? "" : ` (${limits.joins.user})`}</li>`
      }
      ${limits.sameViewer.length > 0 && html`<li>Already playing this channel from this address: ${limits.sameViewer.join(", ")}</li>`}
      ${nothing && html`<li class="muted">No limit applies.</li>`}
      ${limits.edgeOnly && html`<li class="muted">Counts are this edge's own (the cluster's shared slots are not read).</li>`}
    </ul>`;
}

export function ExplainResult({ answer }) {
  return html`
    <div class="explain-result">
      <p class="verdict">
        <span class=${`badge verdict-badge ${VERDICT_CLASS[answer.verdict] ?? "unknown"}`} data-verdict=${answer.verdict}>${answer.verdict}</span>
        <span>by <strong class="decided-by">${answer.decidedBy}</strong>${answer.reason === "" ? "" : ": "}<span class="reason">${answer.reason}</span></span>
      </p>
      <p class="muted">${answer.protocol} · ${answer.app}/${answer.channel} · from ${answer.ip}</p>
      ${answer.redirectUrl !== undefined && html`<p>Redirects to <code class="error-line">${answer.redirectUrl}</code></p>`}
      <${Steps} steps=${answer.steps} />
      <div class="cards two explain-details">
        <article class="card"><h3>Identity</h3><${Identity} identity=${answer.identity} /></article>
        <article class="card"><h3>Limits</h3><${Limits} limits=${answer.limits} /></article>
      </div>
    </div>`;
}
