import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg, stopProcess } from "../helpers/ffmpeg.js";
import { hasChromium, launchChromium } from "../helpers/chromium.js";
import { TEST_API_TOKEN, TEST_CREDENTIALS, TEST_OPERATOR_TOKEN, TEST_VIEWER_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

const USERS_FILE = `users:
  - login: alice
    tokens: [alice-token-0001]
    packages: ["*"]
`;

/** An ffmpeg viewer on HTTP-FLV: it exits when the server ends its connection. */
function flvViewer(url: string): { child: ChildProcess; exited: Promise<number | null> } {
  const args = ["-hide_banner", "-nostdin", "-loglevel", "error", "-rw_timeout", "10000000", "-i", url, "-c", "copy", "-f", "null", "-"];
  const child = spawn("ffmpeg", args, { stdio: "ignore" });
  return { child, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

interface AuditAnswer {
  storage: string;
  entries: { actor: string; role: string | null; action: string; target: string | null }[];
}

describe("console roles in a real Chromium: a viewer sees no actions, an operator closes a session, the audit keeps it across a restart", function () {
  this.timeout(120_000);
  let dir: string;
  let run: RunningServer | undefined;
  let browser: Browser;
  const viewers: ChildProcess[] = [];
  let closedSession = "";

  const serverConfig = () => ({
    server: { dataDir: dir },
    auth: { usersFile: join(dir, "users.yaml") },
    api: { enabled: true, port: 0, token: TEST_API_TOKEN, credentials: [...TEST_CREDENTIALS] },
  });
  const apiBase = () => `http://127.0.0.1:${run!.server.ports.api}`;
  const audit = async (query: string): Promise<AuditAnswer> =>
    (await (
      await apiFetch(`${apiBase()}/api/audit?${query}`, { headers: { Authorization: `Bearer ${TEST_API_TOKEN}` } })
    ).json()) as AuditAnswer;

  async function signedInPage(credential: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${apiBase()}/console/#live`); // the landing page is the overview
    await page.fill("input[name=credential]", credential);
    await page.click("button[type=submit]");
    // The console opens on the Overview; these tests start from the Live page.
    await page.click("a[href='#live']");
    await page.waitForSelector("table.sessions");
    return page;
  }
  const rowOf = (page: Page, user: string) =>
    page.locator("table.sessions tbody tr", { has: page.locator("td.col-user", { hasText: user }) });

  before(async function () {
    if (!hasFfmpeg || !hasChromium) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-console-roles-"));
    writeFileSync(join(dir, "users.yaml"), USERS_FILE, { mode: 0o600 });
    run = await startBundledServer(serverConfig());
    await waitFor("HLS output", () => (existsSync(join(dir, "hls/live/test/index.m3u8")) ? true : undefined));
    browser = await launchChromium();
    const viewer = flvViewer(`${run.httpBase}/live/test.flv?token=alice-token-0001`);
    viewers.push(viewer.child);
    await waitFor(
      "alice playing",
      () => (run!.server.auth.sessions.list({ user: "alice", state: "playing" }).length > 0 ? true : undefined),
      30_000,
    );
  });
  after(async () => {
    await Promise.all(viewers.map((v) => stopProcess(v)));
    await browser?.close();
    await run?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("signed in as a viewer: the session is listed, with no Close, no Revoke, no Audit page", async () => {
    const page = await signedInPage(TEST_VIEWER_TOKEN);
    await rowOf(page, "alice").waitFor({ timeout: 20_000 });
    expect(await page.locator(".who").textContent()).to.equal("victor (viewer)");
    expect(await rowOf(page, "alice").locator("button").count(), "no action buttons in the row").to.equal(0);
    expect(await page.locator("button[data-action]").count()).to.equal(0);
    expect(await page.locator("form.revoke").count(), "no Revoke form").to.equal(0);
    expect(await page.locator("nav a[href='#audit']").count(), "no Audit page").to.equal(0);
    await page.goto(`${apiBase()}/console/#users`);
    await page.waitForSelector("table.users");
    expect(await page.locator("table.users button").count(), "no user edits").to.equal(0);
    await page.context().close();
  });

  it("signed in as an operator: Close cuts the real FLV viewer, and the Audit page lists the close by the credential's name", async () => {
    const page = await signedInPage(TEST_OPERATOR_TOKEN);
    expect(await page.locator(".who").textContent()).to.equal("olivia (operator)");
    const [session] = run!.server.auth.sessions.list({ user: "alice", state: "playing" });
    closedSession = session!.id;
    await rowOf(page, "alice").locator("button[data-action=close]").click();
    await page.waitForSelector("text=Session closed.");
    const code = await Promise.race([
      new Promise((resolve) => viewers[0]!.once("exit", resolve)),
      waitFor(
        "alice gone",
        () => (run!.server.auth.sessions.list({ user: "alice", state: "playing" }).length === 0 ? true : undefined),
        20_000,
      ),
    ]);
    expect(code).to.not.equal(undefined);
    await page.click("nav a[href='#audit']");
    const row = page.locator("table.audit tbody tr", { hasText: "session.close" });
    await row.waitFor({ timeout: 20_000 });
    expect(await row.locator("td[data-label=Who]").textContent()).to.equal("olivia");
    expect(await row.locator("td[data-label=Target]").textContent()).to.equal(closedSession);
    expect((await audit("action=sign-in")).entries.map((e) => e.actor)).to.include.members(["olivia", "victor"]);
    await page.context().close();
  });

  it("keeps the audit in the statistics database: a restarted server still lists the close", async () => {
    const before = await audit("action=session.close");
    expect(before.storage).to.equal("database");
    await run!.stop(); // its own temporary folder goes; `dir` stays
    run = await startBundledServer(serverConfig());
    const after = await audit("action=session.close");
    expect(after.entries).to.deep.include({ ...before.entries[0]!, actor: "olivia", role: "operator", target: closedSession });
    expect(after.entries).to.deep.equal(before.entries);
  });
});
