// The console's calls to the management API. Every URL is relative ("../api/…" from "…/console/"), so the
// console works the same behind a reverse proxy that mounts the API under a path prefix.

let csrfToken = "";
/** Who signed in: the credential's name and role (the API refuses what the role may not do anyway). */
let who = { name: "", role: "viewer" };

const ROLES = ["metrics", "viewer", "operator", "admin"];

/** The signed-in credential's name and role. */
export function whoAmI() {
  return who;
}

/** Whether the signed-in role may do what `role` may: the console hides the rest (Close, Revoke, user edits…). */
export function may(role) {
  return ROLES.indexOf(who.role) >= ROLES.indexOf(role);
}

function remember(data) {
  csrfToken = data.csrf;
  who = { name: data.name ?? "", role: data.role ?? "viewer" };
}

/** An API error with the server's own message and its `VA_ERR…`/`VA_API…` code (a form puts it next to its field). */
export class ApiError extends Error {
  constructor(status, message, code = "") {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function apiUrl(path) {
  return new URL(`../api/${path}`, document.baseURI).href;
}

/** Calls the API with the session cookie (and the CSRF token on anything that changes state). */
export async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(apiUrl(path), {
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let data;
  try {
    data = text === "" ? {} : JSON.parse(text);
  } catch {
    data = { error: text };
  }
  if (response.status === 401 && onSignedOut !== undefined) onSignedOut();
  if (!response.ok) throw new ApiError(response.status, data.error ?? `HTTP ${response.status}`, data.code ?? "");
  return data;
}

let onSignedOut;

/** Called when the API says the console session is gone (expired, signed out elsewhere). */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

/** Whether a console session is live (a reload keeps the operator signed in). */
export async function resumeSession() {
  const response = await fetch(apiUrl("console/session"), { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) return false;
  remember(await response.json());
  return true;
}

/** Signs in with the API credential (sent in the body, never in a URL). */
export async function signIn(credential) {
  remember(await api("POST", "console/sign-in", { credential }));
}

export async function signOut() {
  try {
    await api("POST", "console/sign-out");
  } finally {
    csrfToken = "";
    who = { name: "", role: "viewer" };
  }
}
