// Users: the built-in users through the users API. Secrets are never shown: a password or a token is
// "set" or not (the API masks tokens and never returns passwords).
import { html, useEffect, useRef, useState } from "./vendor/htm-preact.js";
import { api, may } from "./api.js";
import { formatCount } from "./format.js";
import { userHref } from "./user.js";

/** The login rule of the users API (users-schema.ts): said next to the field, in its title and in the browser's message. */
const LOGIN_RULE = "1–64 characters: letters, digits, dot, underscore, @ or hyphen (no spaces, no ':')";
const LOGIN_PATTERN = "[A-Za-z0-9._@\\-]{1,64}";

const list = (text) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

export function UsersPage() {
  const [data, setData] = useState({ editable: false, users: [] });
  const [error, setError] = useState("");
  const [editing, setEditing] = useState(undefined); // undefined: no form; null: a new user; else the user
  const [message, setMessage] = useState("");
  const addButton = useRef(null);
  const load = async () => {
    try {
      setData(await api("GET", "users"));
      setError("");
    } catch (e) {
      setError(e.message);
    }
  };
  useEffect(() => void load(), []);
  // Only an admin edits users; the API refuses the others (403) anyway.
  const editable = data.editable && may("admin");

  const toggle = async (user) => {
    try {
      const { closedSessions } = await api("PATCH", `users/${encodeURIComponent(user.login)}`, { enabled: !user.enabled });
      setMessage(
        `${user.login} ${user.enabled ? "disabled" : "enabled"}${closedSessions.length > 0 ? `; ${closedSessions.length} session(s) closed` : ""}.`,
      );
      await load();
    } catch (e) {
      setMessage(`Failed: ${e.message}`);
    }
  };

  return html`
    <h1>Users <span class="muted count">${formatCount(data.users.length)}</span></h1>
    ${error !== "" && html`<p class="error">${error}</p>`}
    ${message !== "" && html`<p class="notice" role="status">${message}</p>`}
    ${editable && editing === undefined && html`<button type="button" ref=${addButton} onClick=${() => setEditing(null)}>Add user</button>`}
    ${!data.editable && error === "" && html`<p class="muted">These users are read-only: they are written in the main configuration (use auth.usersFile to edit them here).</p>`}
    ${
      editing !== undefined &&
      html`<${UserForm} user=${editing} onDone=${async (text) => {
        const wasNew = editing === null;
        setEditing(undefined);
        if (text) setMessage(text);
        // The focus goes back where the form was opened from (Add user, or the row's Edit).
        requestAnimationFrame(() =>
          (wasNew ? addButton.current : document.querySelector(`tr[data-login="${CSS.escape(editing.login)}"] button`))?.focus(),
        );
        await load();
      }} />`
    }
    <div class="table-wrap">
      <table class="users">
        <thead><tr><th>Login</th><th>Status</th><th>Password</th><th>Tokens</th><th>Bound IPs</th><th>Expires</th><th>Max conn.</th><th>Packages</th><th>Comment</th><th></th></tr></thead>
        <tbody>
          ${data.users.map(
            (u) => html`
            <tr key=${u.login} data-login=${u.login}>
              <td data-label="Login"><a href=${userHref(u.login)}>${u.login}</a></td>
              <td data-label="Status"><span class=${`badge ${u.enabled ? "up" : "down"}`}>${u.enabled ? "enabled" : "disabled"}</span></td>
              <td data-label="Password">${u.password === "none" ? "—" : u.password === "plaintext" ? "set (plaintext!)" : "set"}</td>
              <td data-label="Tokens">${u.tokens.length > 0 ? `${u.tokens.length} set` : "—"}</td>
              <td data-label="Bound IPs">${u.ips.length > 0 ? u.ips.join(", ") : "anywhere"}</td>
              <td data-label="Expires">${u.expires ?? "never"}</td>
              <td data-label="Max conn.">${u.maxConnections ?? "no limit"}</td>
              <td data-label="Packages">${u.packages.join(", ")}</td>
              <td data-label="Comment">${u.comment}</td>
              <td class="col-actions">${
                editable &&
                html`
                <button type="button" class="small" onClick=${() => setEditing(u)}>Edit</button>
                <button type="button" class="small" onClick=${() => toggle(u)}>${u.enabled ? "Disable" : "Enable"}</button>`
              }</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${
        error === "" &&
        data.users.length === 0 &&
        html`<p class="empty" data-empty="users">${
          editable
            ? "No built-in user yet: press Add user, or list users in the auth.usersFile file."
            : "No built-in user: list them under auth.users or in auth.usersFile."
        }</p>`
      }
    </div>`;
}

/** Add (user null) or edit a user. Empty secret fields keep what is set; tokens given replace all tokens. */
function UserForm({ user, onDone }) {
  const [error, setError] = useState("");
  const isNew = user === null;
  const form = useRef(null);
  // The form opens with the focus in its first field; Escape cancels it like the Cancel button.
  useEffect(() => form.current.querySelector("input").focus(), []);
  const onKeyDown = (event) => {
    if (event.key === "Escape") onDone("");
  };
  const submit = async (event) => {
    event.preventDefault();
    const f = event.currentTarget.elements;
    const value = (name) => f.namedItem(name).value.trim();
    const body = {
      ips: list(value("ips")),
      packages: list(value("packages")),
      enabled: f.namedItem("enabled").checked,
      comment: value("comment"),
      expires: value("expires") === "" ? null : value("expires"),
      maxConnections: value("maxConnections") === "" ? null : Number(value("maxConnections")),
    };
    if (value("password") !== "") body.password = f.namedItem("password").value;
    if (value("tokens") !== "") body.tokens = list(value("tokens"));
    try {
      if (isNew) {
        const created = { ...body, login: value("login") };
        for (const key of ["expires", "maxConnections"]) if (created[key] === null) delete created[key];
        await api("POST", "users", created);
        onDone(`User ${created.login} added.`);
      } else {
        await api("PATCH", `users/${encodeURIComponent(user.login)}`, body);
        onDone(`User ${user.login} saved.`);
      }
    } catch (e) {
      setError(e.message);
    }
  };
  return html`
    <form class="card user-form" ref=${form} onSubmit=${submit} onKeyDown=${onKeyDown} aria-labelledby="user-form-title">
      <h2 id="user-form-title">${isNew ? "Add user" : `Edit ${user.login}`}</h2>
      ${
        isNew &&
        html`<label>Login <input name="login" required maxlength="64" pattern=${LOGIN_PATTERN} title=${LOGIN_RULE} aria-describedby="login-rule"
          autocomplete="off" spellcheck="false" onInvalid=${explainLogin} onInput=${(e) => e.currentTarget.setCustomValidity("")} />
          <small class="muted" id="login-rule">${LOGIN_RULE}</small></label>`
      }
      <label>Password <input name="password" type="password" autocomplete="new-password" placeholder=${isNew ? "none: token only" : user.password !== "none" ? "set; leave empty to keep" : "not set"} /></label>
      <label>Tokens <input name="tokens" type="password" autocomplete="off" placeholder=${isNew ? "comma-separated, 12+ characters" : `${user.tokens.length} set; new ones replace them`} /></label>
      <label>Bound IPs <input name="ips" value=${isNew ? "" : user.ips.join(", ")} placeholder="anywhere; e.g. 10.0.0.0/8" /></label>
      <label>Expires <input name="expires" value=${isNew ? "" : (user.expires ?? "")} placeholder="never; e.g. 2027-01-31T23:59:59Z" /></label>
      <label>Connection limit <input name="maxConnections" type="number" min="1" value=${isNew ? "" : (user.maxConnections ?? "")} placeholder="no limit" /></label>
      <label>Packages <input name="packages" required value=${isNew ? "*" : user.packages.join(", ")} /></label>
      <label>Comment <input name="comment" value=${isNew ? "" : user.comment} /></label>
      <label class="check"><input name="enabled" type="checkbox" checked=${isNew ? true : user.enabled} /> Enabled</label>
      <div class="buttons">
        <button type="submit">${isNew ? "Add" : "Save"}</button>
        <button type="button" class="link" onClick=${() => onDone("")}>Cancel</button>
      </div>
      ${error !== "" && html`<p class="error" role="alert">${error}</p>`}
    </form>`;
}

/** The browser's own "Please match the requested format" does not say the format: this message does. */
function explainLogin(event) {
  const field = event.currentTarget;
  field.setCustomValidity("");
  if (field.validity.valueMissing) return;
  if (!field.validity.valid) field.setCustomValidity(`A login is ${LOGIN_RULE}`);
}
