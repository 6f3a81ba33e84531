import { expect } from "chai";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { TEST_API_TOKEN, TEST_CREDENTIALS, TEST_METRICS_TOKEN, TEST_OPERATOR_TOKEN, TEST_VIEWER_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";
import { credentialKeyOfGiven } from "../../plugin/src/sessions/credential-key.js";

const TOKENS = { metrics: TEST_METRICS_TOKEN, viewer: TEST_VIEWER_TOKEN, operator: TEST_OPERATOR_TOKEN, admin: TEST_API_TOKEN };
type Role = keyof typeof TOKENS;
const JSON_TYPE = { "Content-Type": "application/json" };

/** One route of each kind, with the weakest role that may call it. */
const ROUTE_CLASSES: { what: string; method: string; path: string; body?: string; needs: Role }[] = [
  { what: "the scrape", method: "GET", path: "/metrics", needs: "metrics" },
  { what: "a look", method: "GET", path: "/api/health", needs: "viewer" },
  { what: "a look at users (tokens masked)", method: "GET", path: "/api/users", needs: "viewer" },
  { what: "the event stream", method: "GET", path: "/api/events", needs: "viewer" },
  { what: "a look that mints a play link", method: "GET", path: "/api/console/preview?channel=live/x", needs: "operator" },
  { what: "the audit", method: "GET", path: "/api/audit", needs: "operator" },
  { what: "a close", method: "DELETE", path: "/api/sessions/no-such-session", needs: "operator" },
  { what: "a revocation", method: "POST", path: "/api/revocations", body: '{"user":"role-probe","ttlSec":60}', needs: "operator" },
  { what: "a lift", method: "DELETE", path: "/api/revocations/user/role-probe", needs: "operator" },
  { what: "a dry run", method: "POST", path: "/api/explain", body: '{"url":"rtmp://h/live/x","ip":"127.0.0.1"}', needs: "operator" },
  { what: "a user edit", method: "POST", path: "/api/users", body: '{"login":"dave","tokens":["dave-token-00000001"]}', needs: "admin" },
  { what: "a webhook test", method: "POST", path: "/api/webhooks/test", body: "{}", needs: "admin" },
];
const ORDER: Role[] = ["metrics", "viewer", "operator", "admin"];

describe("API roles: each role against every kind of route (real API on port 0)", function () {
  this.timeout(30000);
  let nms: NmsInstance;
  const url = (path: string) => `http://127.0.0.1:${nms.auth.api!.port}${path}`;
  const call = (method: string, path: string, token: string, body?: string, headers: Record<string, string> = {}) =>
    apiFetch(url(path), { method, headers: { Authorization: `Bearer ${token}`, ...(body ? JSON_TYPE : {}), ...headers }, body });

  before(async () => {
    nms = await startNms({
      auth: { users: [{ login: "carol", tokens: ["carol-token-0000001"], packages: ["*"] }], trustedProxies: ["127.0.0.1/32"] },
      api: { enabled: true, port: 0, token: TEST_API_TOKEN, credentials: [...TEST_CREDENTIALS] },
    });
    await nms.auth.ready;
  });
  after(async () => nms?.stop());

  it("answers a weaker role 403 VA_API_FORBIDDEN_ROLE, and lets the route's role and every stronger one through", async () => {
    for (const route of ROUTE_CLASSES) {
      for (const role of ORDER) {
        const controller = new AbortController();
        const answer = await apiFetch(url(route.path), {
          method: route.method,
          headers: { Authorization: `Bearer ${TOKENS[role]}`, ...(route.body ? JSON_TYPE : {}) },
          body: route.body,
          signal: controller.signal,
        });
        const allowed = ORDER.indexOf(role) >= ORDER.indexOf(route.needs);
        if (allowed) {
          expect(answer.status, `${role} on ${route.what}`).to.not.be.oneOf([401, 403]);
          controller.abort(); // the event stream never ends
        } else {
          expect(answer.status, `${role} on ${route.what}`).to.equal(403);
          expect(((await answer.json()) as { code: string }).code).to.equal("VA_API_FORBIDDEN_ROLE");
        }
      }
    }
    expect(nms.logs.events("api.unauthorized"), "a right credential of a weaker role is no failure").to.have.length(0);
  });

  it("signs the console in with any credential but a metrics one, keeping its name and role; the cookie has the role too", async () => {
    const signIn = (credential: string) =>
      apiFetch(url("/api/console/sign-in"), { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ credential }) });
    const metrics = await signIn(TEST_METRICS_TOKEN);
    expect(metrics.status).to.equal(403);
    expect(((await metrics.json()) as { code: string }).code).to.equal("VA_API_FORBIDDEN_ROLE");
    const viewer = await signIn(TEST_VIEWER_TOKEN);
    expect(viewer.status).to.equal(200);
    const session = (await viewer.json()) as { csrf: string; name: string; role: string };
    expect(session).to.include({ name: "victor", role: "viewer" });
    const cookie = viewer.headers.get("set-cookie")!.split(";")[0]!;
    const again = await apiFetch(url("/api/console/session"), { headers: { Cookie: cookie } });
    expect(await again.json()).to.deep.equal(session);
    const headers = { Cookie: cookie, "X-CSRF-Token": session.csrf };
    expect((await apiFetch(url("/api/health"), { headers })).status).to.equal(200);
    const close = await apiFetch(url("/api/sessions/x"), { method: "DELETE", headers });
    expect(close.status, "the API refuses what the console hides").to.equal(403);
    expect((await apiFetch(url("/api/console/sign-out"), { method: "POST", headers })).status).to.equal(200);
  });

  it("audits sign-ins (a wrong one as unknown), revocations and lifts by credential name, from the address the trusted proxy reports, never a token", async () => {
    const forwarded = { "X-Forwarded-For": "203.0.113.7" };
    const wrong = await apiFetch(url("/api/console/sign-in"), {
      method: "POST",
      headers: { ...JSON_TYPE, ...forwarded },
      body: JSON.stringify({ credential: "not-a-credential" }),
    });
    expect(wrong.status).to.equal(401);
    const viewerToken = "carol-token-0000001";
    expect(
      (await call("POST", "/api/revocations", TEST_OPERATOR_TOKEN, JSON.stringify({ token: viewerToken }), forwarded)).status,
    ).to.equal(201);
    expect((await call("DELETE", `/api/revocations/token/${viewerToken}`, TEST_OPERATOR_TOKEN, undefined, forwarded)).status).to.equal(200);
    const listed = await call("GET", "/api/audit?limit=1000", TEST_OPERATOR_TOKEN);
    expect(listed.status).to.equal(200);
    const { storage, entries } = (await listed.json()) as {
      storage: string;
      entries: { actor: string; role: string | null; action: string; target: string | null; address: string; at: string }[];
    };
    expect(storage, "no stats.file: kept in memory").to.equal("memory");
    const digest = credentialKeyOfGiven(viewerToken)!;
    const mine = entries
      .filter((e) => e.address === "203.0.113.7")
      .map(({ actor, role, action, target }) => ({ actor, role, action, target }));
    expect(mine).to.deep.equal([
      { actor: "olivia", role: "operator", action: "revocation.lift", target: `token:${digest}` },
      { actor: "olivia", role: "operator", action: "revoke", target: `token:${digest}` },
      { actor: "unknown", role: null, action: "sign-in-failed", target: null },
    ]);
    expect(JSON.stringify(entries)).to.not.include(viewerToken);
    expect(entries.some((e) => e.actor === "victor" && e.action === "sign-in" && e.address === "127.0.0.1")).to.equal(true);
    expect(entries.some((e) => e.action === "revoke" && e.target === "user:role-probe" && e.actor === "olivia")).to.equal(true);
    const filtered = (await (await call("GET", "/api/audit?actor=victor&action=sign-in", TEST_API_TOKEN)).json()) as { entries: unknown[] };
    expect(filtered.entries).to.have.length(1);
    expect((await call("GET", "/api/audit?action=nope", TEST_API_TOKEN)).status).to.equal(400);
    expect((await call("GET", "/api/audit?limit=0", TEST_API_TOKEN)).status).to.equal(400);
    const future = (await (await call("GET", `/api/audit?since=${Date.now() + 60_000}`, TEST_API_TOKEN)).json()) as { entries: unknown[] };
    expect(future.entries).to.deep.equal([]);
  });
});
