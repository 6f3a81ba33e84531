// "Try a URL": what the server would do if a viewer opened this URL from this address. It asks
// POST /api/explain, the pipeline's own dry run, so trying a URL opens, closes and counts nothing.
import { html, useState } from "./vendor/htm-preact.js";
import { api } from "./api.js";
import { ExplainResult } from "./explain-result.js";

// The API's 400 codes that blame one field: its text goes next to that field, not above the form.
const FIELD_OF_CODE = { VA_API_EXPLAIN_BAD_URL: "url", VA_API_EXPLAIN_BAD_IP: "ip" };
const NO_ERROR = { field: "", text: "" };

/** The explain body from the form: optional fields only when filled, as the API's closed schema wants. */
function bodyOf(fields) {
  const body = { url: fields.namedItem("url").value.trim(), ip: fields.namedItem("ip").value.trim() };
  const userAgent = fields.namedItem("userAgent").value;
  if (userAgent !== "") body.userAgent = userAgent;
  if (fields.namedItem("cacheOnly").checked) body.cacheOnly = true;
  return body;
}

export function ExplainForm() {
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState(NO_ERROR);
  const [busy, setBusy] = useState(false);
  // Answers (or errors) so far: a script driving the page waits for this to move instead of guessing.
  const [answered, setAnswered] = useState(0);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(NO_ERROR);
    try {
      setAnswer(await api("POST", "explain", bodyOf(event.currentTarget.elements)));
    } catch (e) {
      setAnswer(null);
      setError({ field: FIELD_OF_CODE[e.code] ?? "", text: e.message });
    } finally {
      setBusy(false);
      setAnswered((n) => n + 1);
    }
  };
  const errorId = (field) => `explain-${field}-error`;
  const invalid = (field) => (error.field === field ? "true" : undefined);
  const fieldError = (field) =>
    error.field === field && html`<span class="error field-error" id=${errorId(field)} role="alert">${error.text}</span>`;
  return html`
    <section class="card try-url" aria-labelledby="try-url-title" data-answered=${answered}>
      <h2 id="try-url-title">Try a URL</h2>
      <p class="muted">What the server would do if a viewer opened this URL from this address. A dry run: nothing is opened, closed or counted.</p>
      <form class="explain-form" onSubmit=${submit}>
        <div class="field wide">
          <label for="explain-url">URL</label>
          <input id="explain-url" name="url" inputmode="url" autocomplete="off" spellcheck="false" required maxlength="16384"
            placeholder="http://host:8000/live/test.flv?token=…"
            aria-invalid=${invalid("url")} aria-describedby=${invalid("url") && errorId("url")} />
          ${fieldError("url")}
        </div>
        <div class="field">
          <label for="explain-ip">Viewer's address</label>
          <input id="explain-ip" name="ip" autocomplete="off" spellcheck="false" required maxlength="64" placeholder="203.0.113.7"
            aria-invalid=${invalid("ip")} aria-describedby=${`explain-ip-hint${invalid("ip") ? ` ${errorId("ip")}` : ""}`} />
          <small class="muted" id="explain-ip-hint">Required: the address the viewer connects from, e.g. 203.0.113.7.</small>
          ${fieldError("ip")}
        </div>
        <div class="field">
          <label for="explain-user-agent">User agent (optional)</label>
          <input id="explain-user-agent" name="userAgent" autocomplete="off" maxlength="1024" placeholder="VLC/3.0.20" />
        </div>
        <div class="actions">
          <label class="check"><input type="checkbox" name="cacheOnly" /> Cache only (do not ask the backend)</label>
          <button type="submit" disabled=${busy}>${busy ? "Explaining…" : "Explain"}</button>
        </div>
      </form>
      ${error.text !== "" && error.field === "" && html`<p class="error" role="alert">${error.text}</p>`}
      <div aria-live="polite">${answer !== null && html`<${ExplainResult} answer=${answer} />`}</div>
    </section>`;
}
