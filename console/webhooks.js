// Webhooks: each webhook's backlog in the outbox (pending, age of the oldest), its last error and last
// success, and a test event to check a receiver end to end. The nav shows the page only when webhooks are configured.
import { html, useEffect, useState } from "./vendor/htm-preact.js";
import { api } from "./api.js";
import { formatCount, formatDuration, formatTime } from "./format.js";

const REFRESH_MS = 3_000;

/** An ISO time of the API as the console shows times, or "never". */
function whenOf(iso) {
  return iso === null ? "never" : formatTime(Date.parse(iso));
}

function WebhookRow({ hook, onTest, sending }) {
  return html`<tr data-webhook=${hook.name}>
    <td data-label="Name" class="col-name">${hook.name}</td>
    <td data-label="URL" class="col-url">${hook.url}</td>
    <td data-label="Pending" class="col-count col-pending">${formatCount(hook.pending)}</td>
    <td data-label="Oldest pending" class="col-oldest">${hook.oldestPendingAgeSec === null ? "—" : formatDuration(hook.oldestPendingAgeSec)}</td>
    <td data-label="Last error" class="col-error">${
      hook.lastError === null
        ? "none"
        : `${hook.lastError} (${whenOf(hook.lastErrorAt)}${hook.consecutiveFailures > 0 ? `, ${hook.consecutiveFailures} failed in a row` : ""})`
    }</td>
    <td data-label="Last success" class="col-success">${whenOf(hook.lastSuccessAt)}</td>
    <td class="col-actions"><button type="button" class="small" disabled=${sending} onClick=${() => onTest(hook.name)}>Send test event</button></td>
  </tr>`;
}

export function WebhooksPage() {
  const [hooks, setHooks] = useState(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [sending, setSending] = useState("");
  const load = async () => {
    try {
      setHooks((await api("GET", "webhooks")).webhooks);
      setError("");
    } catch (e) {
      setError(e.message);
    }
  };
  useEffect(() => {
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const sendTest = async (name) => {
    setSending(name);
    setNotice("");
    try {
      const queued = await api("POST", "webhooks/test", { webhook: name });
      setNotice(`Test event ${queued.id} queued for ${queued.webhooks.join(", ")}.`);
      setError("");
      await load();
    } catch (e) {
      setError(e.message);
    } finally {
      setSending("");
    }
  };
  return html`
    <h1>Webhooks</h1>
    <p class="muted">Events wait in the outbox until their receiver answers 2xx; a failing receiver holds back only its own webhook.</p>
    ${notice !== "" && html`<p class="notice" role="status">${notice}</p>`}
    ${error !== "" && html`<p class="error" role="alert">${error}</p>`}
    <div class="table-wrap">
      <table class="webhooks">
        <thead><tr><th>Name</th><th>URL</th><th>Pending</th><th>Oldest pending</th><th>Last error</th><th>Last success</th><th>Actions</th></tr></thead>
        <tbody>
          ${(hooks ?? []).map((h) => html`<${WebhookRow} key=${h.name} hook=${h} onTest=${sendTest} sending=${sending === h.name} />`)}
        </tbody>
      </table>
      ${hooks !== null && hooks.length === 0 && html`<p class="empty" data-empty="webhooks">No webhook is configured: add one under events.webhooks in the configuration.</p>`}
    </div>`;
}
