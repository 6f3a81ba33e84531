// The console's shell: sign-in, navigation between the pages (by #hash, so links stay relative), sign-out.
// preact + htm without a build step: what ships is what runs. Every text is rendered as text.
import { html, render, useEffect, useState } from "./vendor/htm-preact.js";
import { api, may, resumeSession, signIn, signOut, whenSignedOut, whoAmI } from "./api.js";
import { LivePage } from "./live.js";
import { ChannelsPage } from "./channels.js";
import { UsersPage } from "./users.js";
import { StatsPage } from "./stats.js";
import { DecisionsPage } from "./decisions.js";
import { WebhooksPage } from "./webhooks.js";
import { AuditPage } from "./audit.js";
import { OverviewPage } from "./overview.js";
import { UserPage } from "./user.js";

const PAGES = [
  { id: "overview", title: "Overview", component: OverviewPage },
  { id: "live", title: "Live", component: LivePage },
  { id: "channels", title: "Channels", component: ChannelsPage },
  { id: "users", title: "Users", component: UsersPage },
  { id: "stats", title: "Statistics", component: StatsPage },
  { id: "decisions", title: "Decisions", component: DecisionsPage },
  // Only when webhooks are configured: without them GET /api/webhooks is 404 VA_API_FEATURE_OFF.
  { id: "webhooks", title: "Webhooks", component: WebhooksPage, optional: true },
  { id: "audit", title: "Audit", component: AuditPage, role: "operator" },
];

/** Pages reached by a link rather than the navigation: one user's (`#user/<id>`). */
const LINKED_PAGES = [{ id: "user", title: "User", component: UserPage, nav: "users" }];

function pageFromHash(pages) {
  const id = location.hash.replace(/^#/, "").split("/")[0];
  return pages.find((p) => p.id === id) ?? LINKED_PAGES.find((p) => p.id === id) ?? pages[0];
}

/** Whether the server has webhooks (asked once per sign-in: they come from the configuration). */
function useHasWebhooks() {
  const [hasWebhooks, setHasWebhooks] = useState(false);
  useEffect(() => {
    api("GET", "webhooks").then(
      () => setHasWebhooks(true),
      () => setHasWebhooks(false),
    );
  }, []);
  return hasWebhooks;
}

function SignIn({ onSignedIn }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const field = event.currentTarget.elements.namedItem("credential");
    setBusy(true);
    setError("");
    try {
      await signIn(field.value);
      field.value = "";
      onSignedIn();
    } catch (e) {
      setError(
        e.status === 429
          ? "Too many failed attempts from this address; try again later."
          : e.status === 401
            ? "Wrong credential."
            : e.status === 403
              ? "This credential cannot sign in to the console (a metrics credential)."
              : e.message,
      );
    } finally {
      setBusy(false);
    }
  };
  return html`
    <main class="sign-in">
      <form onSubmit=${submit} class="card">
        <h1>nms-viewer-auth</h1>
        <p class="muted">Operator console. Sign in with a management API credential (<code>api.token</code> or one of <code>api.credentials</code>).</p>
        <label>Credential <input name="credential" type="password" autocomplete="current-password" required autofocus /></label>
        <button type="submit" disabled=${busy}>Sign in</button>
        ${error !== "" && html`<p class="error" role="alert">${error}</p>`}
      </form>
    </main>`;
}

function Shell({ onSignedOut }) {
  const hasWebhooks = useHasWebhooks();
  // The pages the signed-in role may see, and Webhooks only when the server has webhooks.
  const pages = PAGES.filter((p) => (p.optional !== true || hasWebhooks) && (p.role === undefined || may(p.role)));
  // The hash, not the page: #user/alice → #user/bob is the same page with another user.
  const [hash, setHash] = useState(location.hash);
  const page = pageFromHash(pages);
  useEffect(() => {
    const onHash = () => setHash(location.hash);
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  const leave = async () => {
    try {
      await signOut();
    } finally {
      onSignedOut();
    }
  };
  const Page = page.component;
  return html`
    <header class="top">
      <span class="brand">nms-viewer-auth</span>
      <nav>
        ${pages.map((p) => html`<a href=${`#${p.id}`} class=${p.id === (page.nav ?? page.id) ? "active" : ""} aria-current=${p.id === page.id ? "page" : undefined}>${p.title}</a>`)}
      </nav>
      <span class="muted who" data-role=${whoAmI().role}>${whoAmI().name} (${whoAmI().role})</span>
      <button class="link sign-out" onClick=${leave}>Sign out</button>
    </header>
    <main class="page" data-page=${page.id}><${Page} key=${hash} /></main>`;
}

function App() {
  const [state, setState] = useState("checking");
  useEffect(() => {
    whenSignedOut(() => setState("signed-out"));
    resumeSession().then(
      (live) => setState(live ? "signed-in" : "signed-out"),
      () => setState("signed-out"),
    );
  }, []);
  if (state === "checking") return html`<p class="loading">Loading the console…</p>`;
  if (state === "signed-out") return html`<${SignIn} onSignedIn=${() => setState("signed-in")} />`;
  return html`<${Shell} onSignedOut=${() => setState("signed-out")} />`;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
