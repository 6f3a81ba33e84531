import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { hasChromium, launchChromium } from "../helpers/chromium.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

const ADMIN = TEST_API_TOKEN;
const USERS_FILE = `users:
  - login: alice
    tokens: [alice-token-0001]
    packages: ["*"]
    maxConnections: 3
`;

describe("console overview, history and per-user page (real bundled server, real viewers, real Chromium)", function () {
  this.timeout(120_000);
  let dir: string;
  let dataDir: string;
  let run: RunningServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  const aborts: AbortController[] = [];

  const start = () =>
    startBundledServer({
      server: { dataDir },
      auth: { usersFile: join(dir, "users.yaml") },
      api: { enabled: true, port: 0, token: ADMIN },
    });
  const api = async (path: string) => {
    const res = await apiFetch(`http://127.0.0.1:${run!.server.ports.api}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return (await res.json()) as any;
  };
  const play = (token: string) => {
    const abort = new AbortController();
    aborts.push(abort);
    return httpGetFor(`${run!.httpBase}/live/test.flv?token=${token}`, 60_000, { abortSignal: abort.signal });
  };
  const waitUp = () =>
    waitFor("the channel on air", () => (existsSync(join(dataDir, "hls/live/test/index.m3u8")) ? true : undefined), 30_000);
  /** The viewport's width, the page's scroll width, and every element that reaches past the viewport's right edge. */
  const widest = (p: Page) =>
    p.evaluate(`(() => {
      const width = document.documentElement.clientWidth;
      const over = [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > width + 1)
        .map((e) => e.tagName.toLowerCase() + "." + e.className);
      return { width, scrollWidth: document.documentElement.scrollWidth, over };
    })()`) as Promise<{ width: number; scrollWidth: number; over: string[] }>;

  before(async function () {
    if (!hasFfmpeg || !hasChromium) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-overview-"));
    dataDir = mkdtempSync(join(tmpdir(), "va-overview-data-"));
    writeFileSync(join(dir, "users.yaml"), USERS_FILE, { mode: 0o600 });
    run = await start();
    await waitUp();
    browser = await launchChromium();
  });
  after(async () => {
    for (const a of aborts) a.abort();
    await browser?.close();
    await run?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it("the concurrent viewers of the day survive a restart of the server (statistics database)", async () => {
    void play("alice-token-0001");
    void play("alice-token-0001");
    const before = await waitFor(
      "two viewers in the day's history",
      async () => {
        const h = await api("/api/history?channel=live/test&range=24h");
        return h.points.at(-1).viewers === 2 ? h.points.at(-1) : undefined;
      },
      30_000,
      500,
    );
    for (const a of aborts.splice(0)) a.abort();
    await run!.server.stop(); // not run.stop(): that would remove the helper's folder, not this data directory
    rmSync(run!.dataDir, { recursive: true, force: true });
    run = await start();
    const after = await api("/api/history?channel=live/test&range=24h");
    expect(after.points.find((p: { at: number }) => p.at === before.at)).to.deep.equal(before);
    const week = await api("/api/history?channel=live/test&range=7d");
    expect(Math.max(...week.points.map((p: { viewers: number }) => p.viewers))).to.equal(2);
    await waitUp();
  });

  it("the overview renders the numbers of /api/overview, at 1280 px and 390 px without overflow", async () => {
    context = await browser!.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
    page = await context.newPage();
    const violations: string[] = [];
    page.on("console", (m) => /Content Security Policy/i.test(m.text()) && violations.push(m.text()));
    void play("alice-token-0001");
    await waitFor("a viewer playing", () => (run!.server.auth.sessions.count({ state: "playing" }) === 1 ? true : undefined));
    await page.goto(`http://127.0.0.1:${run!.server.ports.api}/console/`);
    await page.fill("input[name=credential]", ADMIN);
    await page.click("button[type=submit]");
    await page.waitForSelector("main[data-page=overview]");
    await page.waitForSelector("[data-value=viewers-total] >> text=1");
    const overview = await api("/api/overview");
    expect(overview.viewers.total).to.equal(1);
    expect(await page.locator("[data-value=viewers-protocols]").textContent()).to.include("HTTP-FLV: 1");
    expect(await page.locator("[data-card=viewers] tr[data-channel='live/test']").textContent()).to.include("1");
    expect(await page.locator("[data-card=channels] li[data-channel='live/test'] .badge").textContent()).to.equal("up");
    expect(await page.locator("[data-card=backend]").textContent()).to.include("No backend configured");
    const admitted = await page.locator("[data-card=decisions] h2").textContent();
    expect(admitted).to.include(`${overview.decisions.admitted} admitted`);
    expect(await page.locator("[data-card=decisions] svg rect.hover").count()).to.equal(60);
    await page.waitForSelector("[data-card=history] svg path.line");
    expect(await page.locator("[data-card=history] svg").getAttribute("aria-label")).to.match(/peak [12]$/);
    await waitFor("a bandwidth on the page", async () =>
      /bit\/s/.test((await page.locator("[data-value=bandwidth]").textContent()) ?? "") &&
      (await page.locator("[data-value=bandwidth]").textContent()) !== "0 bit/s"
        ? true
        : undefined,
    );
    expect((await widest(page)).over).to.deep.equal([]);
    await page.screenshot({ path: join(import.meta.dirname, "..", "..", "docs", "console", "overview.png"), fullPage: true });

    const phone = await browser!.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, colorScheme: "dark" });
    await phone.addCookies(await context.cookies());
    const small = await phone.newPage();
    await small.goto(`http://127.0.0.1:${run!.server.ports.api}/console/`);
    await small.waitForSelector("[data-value=viewers-total] >> text=1");
    await small.waitForSelector("[data-card=history] svg path.line");
    const layout = await widest(small);
    expect(layout.over, "elements wider than a phone").to.deep.equal([]);
    expect(layout.scrollWidth).to.be.at.most(390);
    await phone.close();
    expect(violations).to.deep.equal([]);
  });

  it("the per-user page lists a live session, its limit, recent sessions, and Close all cuts it", async () => {
    await page.goto(`http://127.0.0.1:${run!.server.ports.api}/console/#users`);
    await page.click("tr[data-login=alice] a");
    await page.waitForSelector("main[data-page=user] [data-value=user] >> text=alice");
    const row = page.locator("table.user-live tbody tr");
    await row.first().waitFor();
    expect(await row.count()).to.equal(1);
    expect(await row.first().textContent())
      .to.include("live/test")
      .and.include("127.0.0.1")
      .and.include("http-flv");
    expect(await page.locator("[data-value=limit]").textContent()).to.equal("1 of 3");
    // The two viewers of the first test ended before the restart: the ledger lists them.
    await page.waitForSelector("table.user-recent tbody tr");
    expect(await page.locator("table.user-recent tbody tr").count()).to.be.at.least(2);
    await page.screenshot({ path: join(import.meta.dirname, "..", "..", "docs", "console", "user.png"), fullPage: true });
    const viewer = aborts.at(-1)!;
    await page.click("button[data-action=close-all]");
    await page.waitForSelector("text=1 session(s) closed.");
    expect(run!.server.auth.sessions.count({ state: "playing" })).to.equal(0);
    await page.waitForSelector("text=No live session: alice is not watching now.");
    viewer.abort();
    expect((await widest(page)).over).to.deep.equal([]);
    await page.setViewportSize({ width: 390, height: 844 });
    expect((await widest(page)).over, "the user page on a phone").to.deep.equal([]);
    await page.setViewportSize({ width: 1280, height: 900 });
    // A session's user on the Live page opens the same page.
    void play("alice-token-0001");
    await page.goto(`http://127.0.0.1:${run!.server.ports.api}/console/#live`);
    await page.locator("table.sessions td.col-user a", { hasText: "alice" }).click();
    await page.waitForSelector("main[data-page=user] table.user-live tbody tr");
    expect(page.url()).to.match(/#user\/alice$/);
  });
});
