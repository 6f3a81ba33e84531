import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { answer, startStubBackend, type StubBackend } from "../helpers/stub-backend.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";
import { waitFor } from "../helpers/wait-for.js";
import { makeSecureLink } from "../../plugin/src/securetoken/make-secure-link.js";

const SECRET = "explain-test-secret-0123456789abcdef";

/** The explain answer's fields the tests read. */
interface Explained {
  verdict: string;
  decidedBy: string;
  reason: string;
  steps: { step: string; verdict: string; reason: string; ms: number }[];
  identity: Record<string, unknown> | null;
  limits: { refusal: string | null; limits: { kind: string; playing: number; outcome: string }[]; sameViewer: string[] };
}

describe("POST /api/explain against real plays on NMS 4.4.3", function () {
  this.timeout(90000);
  let backend: StubBackend;
  let nms: NmsInstance;
  let dir: string;
  const flv = (query: string) => `http://127.0.0.1:${nms.httpPort}/live/ex.flv?${query}`;
  const api = () => `http://127.0.0.1:${nms.auth.api!.port}`;

  async function explain(body: Record<string, unknown>): Promise<{ status: number; body: Explained & { code?: string; error?: string } }> {
    const res = await apiFetch(`${api()}/api/explain`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Explained & { code?: string } };
  }

  /** The last `auth.decision` line of a real play, as the chain logged it. */
  function lastDecision(): Record<string, unknown> {
    return nms.logs.events("auth.decision").at(-1)!;
  }

  async function decisionCounters(): Promise<string> {
    const res = await apiFetch(`${api()}/metrics`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    const text = await res.text();
    return text
      .split("\n")
      .filter((line) => line.startsWith("va_decisions_total") || line.startsWith("va_backend"))
      .join("\n");
  }

  async function decisionLogSize(): Promise<number> {
    const res = await apiFetch(`${api()}/api/decisions?limit=1000`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    const body = (await res.json()) as { decisions: unknown[]; anonymousRefusals: unknown };
    return body.decisions.length + JSON.stringify(body.anonymousRefusals).length;
  }

  function ledgerRows(): string {
    const ledger = nms.auth.ledger!;
    return `${ledger.exportCsv(0, Date.now() + 86_400_000)}|${JSON.stringify(ledger.refusals(0, Date.now() + 86_400_000))}`;
  }

  before(async function () {
    if (!hasFfmpeg) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-explain-"));
    backend = await startStubBackend();
    backend.respond = (req, res) => {
      const query = new URL(req.url ?? "/", "http://x").searchParams;
      if (query.get("ticket") === "good") return answer(200, { "X-UserId": "bob", "X-Max-Sessions": "5" })(req, res);
      answer(403)(req, res);
    };
    nms = await startPublishingNms(
      {
        auth: {
          defaultAction: "deny",
          denyIps: ["10.66.0.0/16"],
          trustedProxies: ["127.0.0.2/32"],
          packages: { news: ["ex"] },
          users: [
            { login: "alice", password: "alice-password-1", tokens: ["alice-token-0123456789"], packages: ["news"], maxConnections: 1 },
          ],
          securetoken: { secrets: [SECRET], bindIp: false },
          bruteForce: { maxFailures: 3, windowSec: 60, banSec: 60 },
          backend: { type: "http-request", url: `${backend.base}/auth`, allowTtlSec: 60, denyTtlSec: 60 },
        },
        api: { enabled: true, port: 0, token: TEST_API_TOKEN },
        stats: { file: join(dir, "stats.db") },
      },
      "live/ex",
    );
  });

  after(async () => {
    await nms?.stop();
    await backend?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("allow by a built-in user: the same verdict and step as the real play, with the user's identity and channels", async () => {
    const url = flv("token=alice-token-0123456789");
    const explained = await explain({ url, ip: "127.0.0.1" });
    expect(explained.status).to.equal(200);
    expect(explained.body).to.include({ verdict: "allow", decidedBy: "users" });
    expect(explained.body.steps.map((s) => `${s.step}:${s.verdict}`)).to.deep.equal([
      "revoked:pass",
      "ip-deny:pass",
      "ip-allow:pass",
      "users:allow",
      "limits:allow",
    ]);
    expect(explained.body.identity).to.deep.include({ userId: "alice", maxSessions: 1, channels: ["ex"] });
    expect(explained.body.limits.limits).to.deep.equal([{ kind: "user", what: "user alice", max: 1, playing: 0, outcome: "room" }]);
    const real = await httpGetFor(url, 300);
    expect(real.status).to.equal(200);
    expect(lastDecision()).to.include({ verdict: "allow", step: "users", reason: explained.body.reason });
  });

  it("deny by the deny list, for an address behind a trusted proxy (X-Forwarded-For read as a real request's)", async () => {
    const url = flv("token=alice-token-0123456789");
    const explained = await explain({ url, ip: "127.0.0.2", headers: { "X-Forwarded-For": "10.66.1.2" } });
    expect(explained.body).to.include({ verdict: "deny", decidedBy: "ip-deny" });
    expect(explained.body.steps.at(-1)).to.include({ step: "ip-deny", verdict: "deny" });
    const untrusted = await explain({ url, ip: "127.0.0.3", headers: { "X-Forwarded-For": "10.66.1.2" } });
    expect(untrusted.body, "a header from an untrusted peer is ignored").to.include({ verdict: "allow" });
    const real = await httpGetFor(url, 300, { localAddress: "127.0.0.2", headers: { "x-forwarded-for": "10.66.1.2" } });
    expect(real.status).to.equal(403);
    expect(lastDecision()).to.include({ verdict: "deny", step: "ip-deny", reason: explained.body.reason });
  });

  it("deny by a bad signed link and allow by a good one, as the real plays", async () => {
    const good = makeSecureLink({ url: flv(""), secret: SECRET, lifetimeSec: 600 });
    const bad = good.replace(/.(?=$)/, (c) => (c === "0" ? "1" : "0"));
    const explainedGood = await explain({ url: good, ip: "127.0.0.1" });
    expect(explainedGood.body).to.include({ verdict: "allow", decidedBy: "securetoken" });
    const explainedBad = await explain({ url: bad, ip: "127.0.0.1" });
    expect(explainedBad.body).to.include({ verdict: "deny", decidedBy: "securetoken" });
    expect((await httpGetFor(bad, 300)).status).to.equal(403);
    expect(lastDecision()).to.include({ verdict: "deny", step: "securetoken", reason: explainedBad.body.reason });
    expect((await httpGetFor(good, 300)).status).to.equal(200);
    expect(lastDecision()).to.include({ verdict: "allow", step: "securetoken" });
  });

  it("backend allow and deny: the backend is asked by an explain, its answer is not cached (the real play asks again)", async () => {
    backend.calls.length = 0;
    const allowed = await explain({ url: flv("ticket=good"), ip: "127.0.0.1" });
    expect(allowed.body).to.include({ verdict: "allow", decidedBy: "backend" });
    expect(allowed.body.identity).to.deep.include({ userId: "bob", maxSessions: 5 });
    const denied = await explain({ url: flv("ticket=nope"), ip: "127.0.0.1" });
    expect(denied.body).to.include({ verdict: "deny", decidedBy: "backend" });
    expect(backend.calls).to.have.length(2);
    expect(backend.calls[0]!.headers["x-session-id"]).to.match(/^explain-[0-9a-f]{16}$/);
    const cacheOnly = await explain({ url: flv("ticket=good"), ip: "127.0.0.1", cacheOnly: true });
    expect(cacheOnly.body, "nothing was cached").to.include({ verdict: "unknown", decidedBy: "backend" });
    expect(backend.calls).to.have.length(2);
    expect((await httpGetFor(flv("ticket=good"), 300)).status).to.equal(200);
    expect(backend.calls, "the real play still called the backend").to.have.length(3);
    expect(lastDecision()).to.include({ verdict: "allow", step: "backend" });
    const cachedNow = await explain({ url: flv("ticket=good"), ip: "127.0.0.1", cacheOnly: true });
    expect(cachedNow.body, "the real play's verdict was cached and is read").to.include({ verdict: "allow", decidedBy: "backend" });
    expect(cachedNow.body.reason).to.match(/\(cache\)$/);
    expect((await httpGetFor(flv("ticket=nope"), 300)).status).to.equal(403);
    expect(lastDecision()).to.include({ verdict: "deny", step: "backend", reason: denied.body.reason });
  });

  it("limit reached: the explain says the user limit refuses, and the real second play is refused", async () => {
    const url = flv("token=alice-token-0123456789");
    const holding = httpGetFor(url, 4000);
    await waitFor(
      "alice playing",
      () => (nms.auth.sessions.count({ state: "playing", userId: "alice" }) === 1 ? true : undefined),
      10000,
      50,
    );
    const explained = await explain({ url, ip: "127.0.0.1" });
    expect(explained.body).to.include({ verdict: "deny", decidedBy: "limits", reason: "user alice is at the limit of 1 session(s)" });
    expect(explained.body.limits.limits[0]).to.include({ kind: "user", playing: 1, outcome: "refuse" });
    expect(explained.body.limits.sameViewer).to.have.length(1);
    const second = await httpGetFor(url, 300);
    expect(second.status).to.equal(403);
    await holding;
  });

  it("changes nothing: sessions, statistics rows, brute-force counts, decision counters and log, backend cache", async function () {
    await waitFor("no live session", () => (nms.auth.sessions.size === 0 ? true : undefined), 10000, 50);
    nms.auth.ledger!.flush();
    const before = {
      rows: ledgerRows(),
      counters: await decisionCounters(),
      log: await decisionLogSize(),
      decisions: nms.logs.events("auth.decision").length,
    };
    backend.calls.length = 0;
    // More wrong passwords than bruteForce.maxFailures: a real client would be banned by now.
    for (let i = 0; i < 5; i++) {
      const wrong = await explain({ url: flv("auth=alice:wrong-password"), ip: "127.0.0.1" });
      expect(wrong.body).to.include({ verdict: "deny", decidedBy: "users" });
    }
    const forged = makeSecureLink({ url: flv(""), secret: "another-secret-0123456789abcdef", lifetimeSec: 600 });
    for (let i = 0; i < 5; i++) expect((await explain({ url: forged, ip: "127.0.0.1" })).body).to.include({ verdict: "deny" });
    expect((await explain({ url: flv("ticket=fresh"), ip: "127.0.0.1" })).body).to.include({ decidedBy: "backend" });
    expect((await explain({ url: flv("auth=alice:alice-password-1"), ip: "127.0.0.1" })).body).to.include({ verdict: "allow" });
    expect(nms.auth.sessions.size, "no session opened").to.equal(0);
    nms.auth.ledger!.flush();
    expect(ledgerRows(), "no statistics row").to.equal(before.rows);
    expect(await decisionCounters(), "va_decisions_total and backend call counters").to.equal(before.counters);
    expect(await decisionLogSize(), "the console's decision log").to.equal(before.log);
    expect(nms.logs.events("auth.decision").length, "no auth.decision line").to.equal(before.decisions);
    expect(nms.logs.events("api.explain").length).to.be.greaterThan(10);
    // Not banned: the right password plays for real.
    expect((await httpGetFor(flv("auth=alice:alice-password-1"), 300)).status).to.equal(200);
    // The backend's explain answer was not cached: a real play of the same ticket calls it again.
    const callsBefore = backend.calls.length;
    expect((await httpGetFor(flv("ticket=fresh"), 300)).status).to.equal(403);
    expect(backend.calls.length).to.equal(callsBefore + 1);
  });

  it("answers 400 with a code for a URL or an address that is no play, and 401 without a credential", async () => {
    expect((await explain({ url: "ftp://x/live/ex", ip: "127.0.0.1" })).body.code).to.equal("VA_API_EXPLAIN_BAD_URL");
    expect((await explain({ url: "http://x/live/ex.txt", ip: "127.0.0.1" })).body.code).to.equal("VA_API_EXPLAIN_BAD_URL");
    expect((await explain({ url: flv(""), ip: "not-an-ip" })).body.code).to.equal("VA_API_EXPLAIN_BAD_IP");
    const unknownKey = await explain({ url: flv(""), ip: "127.0.0.1", extra: 1 });
    expect(unknownKey).to.deep.include({ status: 400 });
    expect(unknownKey.body).to.include({ code: "VA_API_BAD_REQUEST" });
    expect(unknownKey.body.error).to.match(/extra|unrecognized/i);
    const anonymous = await apiFetch(`${api()}/api/explain`, { method: "POST", body: JSON.stringify({ url: flv(""), ip: "127.0.0.1" }) });
    expect(anonymous.status).to.equal(401);
  });

  it("explains RTMP and WS-FLV URLs with the fields the hosts build, and an HLS segment without its key", async () => {
    const rtmp = await explain({ url: `rtmp://127.0.0.1:${nms.rtmpPort}/live/ex?token=alice-token-0123456789`, ip: "127.0.0.1" });
    expect(rtmp.body).to.include({ verdict: "allow", decidedBy: "users", protocol: "rtmp" } as never);
    const ws = await explain({ url: `ws://127.0.0.1:${nms.httpPort}/live/ex.flv?token=nobody`, ip: "127.0.0.1" });
    expect(ws.body).to.include({ verdict: "deny", protocol: "ws-flv" } as never);
    const segment = await explain({ url: `http://127.0.0.1:${nms.httpPort}/live/ex/seg-1.ts`, ip: "127.0.0.1" });
    expect(segment.body).to.include({ verdict: "deny", decidedBy: "hls-gate" });
    const keyed = await explain({ url: `http://127.0.0.1:${nms.httpPort}/live/ex/seg-1.ts?vas=nokey`, ip: "127.0.0.1" });
    expect(keyed.body).to.include({ verdict: "deny", decidedBy: "hls-key" });
  });
});
