import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasChromium, launchChromium } from "../helpers/chromium.js";
import { freePort } from "../helpers/free-port.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";
import { WebhookReceiver } from "../helpers/webhook-receiver.js";

const ADMIN = TEST_API_TOKEN;
const SECRET = "console-webhook-secret-0123456789";
const DENIED_NET = "198.51.100.0/24";
const USERS_FILE = `users:
  - login: alice
    tokens: [alice-token-0001]
    packages: ["*"]
    maxConnections: 2
`;
const SHOTS = join(import.meta.dirname, "..", "..", "docs", "console");

/** The fields of an explain answer the page renders. */
interface Explained {
  verdict: string;
  decidedBy: string;
  reason: string;
  steps: { step: string; verdict: string; reason: string; ms: number }[];
  identity: { name?: string } | null;
  limits: { limits: { what: string; max: number; playing: number; outcome: string }[] };
}

/** What the page shows of one explain: the verdict, the deciding step, and each step row's cells. */
interface Rendered {
  verdict: string;
  decidedBy: string;
  steps: { step: string; verdict: string; reason: string }[];
}

describe("console: Try a URL (explain) and the webhooks view, in a real Chromium (real bundled server)", function () {
  this.timeout(90_000);
  let run: RunningServer;
  let dir: string;
  let receiver: WebhookReceiver;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let api: string;
  const cspViolations: string[] = [];

  const explainByApi = async (body: Record<string, unknown>) => {
    const res = await apiFetch(`${api}/api/explain`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Explained & { error?: string; code?: string } };
  };
  /** Everything the server keeps about plays: a dry run must leave all of it as it was. */
  const playState = async () => {
    const res = await apiFetch(`${api}/api/decisions?limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return {
      decisions: ((await res.json()) as { decisions: unknown[] }).decisions.length,
      sessions: run.server.auth.sessions.list().length,
    };
  };
  const form = () => page.locator("form.explain-form");
  const fillExplain = async (fields: { url: string; ip: string; userAgent?: string }) => {
    await page.getByLabel("URL", { exact: true }).fill(fields.url);
    await page.getByLabel("Viewer's address").fill(fields.ip);
    await page.getByLabel("User agent (optional)").fill(fields.userAgent ?? "");
  };
  const rendered = async (): Promise<Rendered> => {
    const result = page.locator(".explain-result");
    const column = (c: string) => result.locator(`table.explain-steps tbody td.${c}`).allTextContents();
    const [steps, verdicts, reasons] = await Promise.all([column("col-step"), column("col-verdict"), column("col-reason")]);
    const rows = steps.map((step, i) => ({ step, verdict: verdicts[i] ?? "", reason: reasons[i] ?? "" }));
    return {
      verdict: (await result.locator(".verdict-badge").getAttribute("data-verdict")) ?? "",
      decidedBy: (await result.locator(".decided-by").textContent()) ?? "",
      steps: rows,
    };
  };
  const asRendered = (answer: Explained): Rendered => ({
    verdict: answer.verdict,
    decidedBy: answer.decidedBy,
    steps: answer.steps.map(({ step, verdict, reason }) => ({ step, verdict, reason })),
  });
  /** Submits the form from the keyboard (Enter in the last field) and waits for its answer or error. */
  const submitAndWait = async () => {
    const section = page.locator("section.try-url");
    const before = Number(await section.getAttribute("data-answered"));
    await page.getByLabel("User agent (optional)").press("Enter");
    await waitFor("the explain's answer", async () => (Number(await section.getAttribute("data-answered")) > before ? true : undefined));
  };

  before(async function () {
    if (!hasChromium) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-console-explain-"));
    writeFileSync(join(dir, "users.yaml"), USERS_FILE, { mode: 0o600 });
    receiver = new WebhookReceiver(SECRET);
    await receiver.listen();
    const closedPort = await freePort();
    run = await startBundledServer({
      channels: [],
      auth: { usersFile: join(dir, "users.yaml"), denyIps: [DENIED_NET] },
      api: { enabled: true, port: 0, token: ADMIN },
      events: {
        webhooks: [
          { name: "billing", url: receiver.url, secret: SECRET, events: ["session.start"] },
          { name: "down", url: `http://127.0.0.1:${closedPort}/hook`, secret: SECRET, events: ["session.start"] },
        ],
        retry: { initialMs: 200, maxMs: 1000 },
      },
    });
    api = `http://127.0.0.1:${run.server.ports.api}`;
    base = `${api}/console/`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
    page = await context.newPage();
    page.on("console", (m) => /Content Security Policy/i.test(m.text()) && cspViolations.push(m.text()));
    await page.goto(`${base}#live`); // the landing page is the overview; these checks start from the live list
    await page.fill("input[name=credential]", ADMIN);
    await page.click("button[type=submit]");
    // The console opens on the Overview; these tests start from the Live page.
    await page.click("a[href='#live']");
    await page.waitForSelector("table.sessions");
  });
  after(async () => {
    await browser?.close();
    await run?.stop();
    await receiver?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("explains a URL a built-in user's token allows: the verdict and step rows are the API's, and nothing changes", async () => {
    await page.click("a[href='#decisions']");
    const body = { url: `${run.httpBase}/live/test.flv?token=alice-token-0001`, ip: "203.0.113.7", userAgent: "VLC/3.0.20" };
    const before = await playState();
    await fillExplain(body);
    await submitAndWait();
    const answer = await explainByApi(body);
    expect(answer.status).to.equal(200);
    expect(answer.body).to.include({ verdict: "allow", decidedBy: "users" });
    expect(await rendered()).to.deep.equal(asRendered(answer.body));
    const result = page.locator(".explain-result");
    expect(await result.locator(".explain-identity").textContent()).to.include("alice");
    const limit = answer.body.limits.limits.find((l) => l.what.includes("alice"))!;
    expect(limit).to.include({ max: 2, playing: 0, outcome: "room" });
    expect(await result.locator(`.explain-limits li[data-outcome=room]`).textContent()).to.equal(
      `${limit.what}: 0 of 2 playing — room for this play`,
    );
    expect(await playState(), "a dry run opens no session and logs no decision").to.deep.equal(before);
    await page.screenshot({ path: join(SHOTS, "explain.png"), fullPage: true });
  });

  it("explains the same URL from a deny-listed address: refused by ip-deny, rows as the API answers", async () => {
    const body = { url: `${run.httpBase}/live/test.flv?token=alice-token-0001`, ip: "198.51.100.9" };
    await fillExplain(body);
    await submitAndWait();
    const answer = await explainByApi(body);
    expect(answer.body).to.include({ verdict: "deny", decidedBy: "ip-deny" });
    expect(await rendered()).to.deep.equal(asRendered(answer.body));
    expect(await page.locator(".explain-result .badge.down").count(), "a refusal shows as a red badge").to.equal(1);
  });

  it("shows the API's error text next to the field it blames (bad URL, bad address)", async () => {
    await fillExplain({ url: "ftp://example.com/live/test", ip: "203.0.113.7" });
    await submitAndWait();
    const badUrl = await explainByApi({ url: "ftp://example.com/live/test", ip: "203.0.113.7" });
    expect([badUrl.status, badUrl.body.code]).to.deep.equal([400, "VA_API_EXPLAIN_BAD_URL"]);
    expect(await page.locator("#explain-url-error").textContent()).to.equal(badUrl.body.error);
    expect(await page.getByLabel("URL", { exact: true }).getAttribute("aria-invalid")).to.equal("true");
    expect(await page.locator(".explain-result").count(), "no stale answer beside an error").to.equal(0);

    await fillExplain({ url: `${run.httpBase}/live/test.flv`, ip: "not-an-address" });
    await submitAndWait();
    const badIp = await explainByApi({ url: `${run.httpBase}/live/test.flv`, ip: "not-an-address" });
    expect(badIp.body.code).to.equal("VA_API_EXPLAIN_BAD_IP");
    expect(await page.locator("#explain-ip-error").textContent()).to.equal(badIp.body.error);
    expect(await page.locator("#explain-url-error").count()).to.equal(0);
    expect(await page.getByLabel("Viewer's address").getAttribute("aria-describedby")).to.include("explain-ip-error");
    expect(await form().locator("button[type=submit]").count()).to.equal(1);
  });

  it("sends Cache only and the user agent as the API's cacheOnly and userAgent, and only when set", async () => {
    const body = { url: `${run.httpBase}/live/test.flv?token=alice-token-0001`, ip: "203.0.113.7" };
    await fillExplain(body);
    const plain = page.waitForRequest((r) => r.url().endsWith("/api/explain"));
    await submitAndWait();
    expect((await plain).postDataJSON()).to.deep.equal(body);
    await fillExplain({ ...body, userAgent: "VLC/3.0.20" });
    await page.getByLabel("Cache only (do not ask the backend)").check();
    const cached = page.waitForRequest((r) => r.url().endsWith("/api/explain"));
    await submitAndWait();
    expect((await cached).postDataJSON()).to.deep.equal({ ...body, userAgent: "VLC/3.0.20", cacheOnly: true });
    expect(await page.locator(".explain-result .verdict-badge").getAttribute("data-verdict")).to.equal("allow");
    await page.getByLabel("Cache only (do not ask the backend)").uncheck();
  });

  it("fits a 390 px phone with an answer shown (no horizontal scrolling)", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark", isMobile: true });
    try {
      await phone.addCookies(await context.cookies());
      const small = await phone.newPage();
      await small.goto(`${base}#decisions`);
      await small.getByLabel("URL", { exact: true }).fill(`${run.httpBase}/live/test.flv?token=alice-token-0001`);
      await small.getByLabel("Viewer's address").fill("203.0.113.7");
      await small.click("form.explain-form button[type=submit]");
      await small.waitForSelector(".explain-result table.explain-steps tbody tr");
      const width = await small.locator("html").evaluate((h) => h.scrollWidth);
      expect(width, "no horizontal scrolling on a phone").to.be.at.most(390);
      await small.goto(`${base}#webhooks`);
      await small.locator("tr[data-webhook=billing]").waitFor();
      expect(await small.locator("html").evaluate((h) => h.scrollWidth), "the webhooks page on a phone").to.be.at.most(390);
    } finally {
      await phone.close();
    }
  });

  it("lists each webhook's backlog, and Send test event delivers a signed test event to the receiver", async () => {
    await page.click("a[href='#webhooks']");
    const billing = page.locator("tr[data-webhook=billing]");
    const down = page.locator("tr[data-webhook=down]");
    await billing.waitFor();
    expect(await billing.locator("td.col-url").textContent()).to.equal(receiver.url);
    expect(await billing.locator("td.col-success").textContent()).to.equal("never");

    await billing.locator("button:text('Send test event')").click();
    const delivered = await waitFor("the test event at the receiver", () => receiver.ofType("test")[0]);
    expect(delivered.signatureValid, "signed with the webhook's secret").to.equal(true);
    expect(await page.locator(".notice").textContent()).to.equal(`Test event ${delivered.id} queued for billing.`);
    await waitFor("the last success on the page", async () =>
      (await billing.locator("td.col-success").textContent()) !== "never" ? true : undefined,
    );
    expect(await billing.locator("td.col-pending").textContent()).to.equal("0");

    await down.locator("button:text('Send test event')").click();
    await waitFor("the failing receiver's backlog and error on the page", async () =>
      (await down.locator("td.col-pending").textContent()) === "1" && (await down.locator("td.col-error").textContent()) !== "none"
        ? true
        : undefined,
    );
    const status = await apiFetch(`${api}/api/webhooks`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const hooks = ((await status.json()) as { webhooks: { name: string; lastError: string | null; pending: number }[] }).webhooks;
    const failing = hooks.find((h) => h.name === "down")!;
    expect(failing.pending).to.equal(1);
    expect(await down.locator("td.col-error").textContent()).to.include(failing.lastError!);
    expect(receiver.ofType("test"), "the failing webhook's event never reaches the other receiver").to.have.length(1);
    await page.reload();
    await page.locator("tr[data-webhook=down]").waitFor();
    expect(await page.locator("nav a[aria-current=page]").textContent(), "a reload stays on the page").to.equal("Webhooks");
    expect(cspViolations).to.deep.equal([]);
  });
});
