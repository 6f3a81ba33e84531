import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg, stopProcess } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { hasChromium, launchChromium } from "../helpers/chromium.js";
import { freePort } from "../helpers/free-port.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

const ADMIN = TEST_API_TOKEN;
const XSS = "<img src=x onerror=alert(1)>";
const USERS_FILE = `users:
  - login: alice
    tokens: [alice-token-0001]
    packages: ["*"]
  - login: bob
    tokens: [bob-token-00002]
    packages: ["*"]
    maxConnections: 2
  - login: mallory
    tokens: [mallory-token-3]
    packages: ["*"]
    comment: plays with a hostile user agent
`;
const NGINX = spawnSync("sh", ["-c", "command -v nginx || (test -x /usr/sbin/nginx && echo /usr/sbin/nginx)"]).stdout.toString().trim();
const SHOTS = join(import.meta.dirname, "..", "..", "docs", "console");

/** An ffmpeg viewer on HTTP-FLV: it exits when the server ends its connection. */
function flvViewer(url: string, userAgent = "ffmpeg-viewer/1.0"): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(
    "ffmpeg",
    [
      "-hide_banner",
      "-nostdin",
      "-loglevel",
      "error",
      "-user_agent",
      userAgent,
      "-rw_timeout",
      "10000000",
      "-i",
      url,
      "-c",
      "copy",
      "-f",
      "null",
      "-",
    ],
    { stdio: "ignore" },
  );
  return { child, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

describe("operator console in a real Chromium (real bundled server, real ffmpeg viewers)", function () {
  this.timeout(90_000);
  let run: RunningServer;
  let dir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const viewers: ChildProcess[] = [];
  const dialogs: string[] = [];
  const cspViolations: string[] = [];

  const playingOf = (user: string) => run.server.auth.sessions.list({ user, state: "playing" });
  const rowOf = (user: string) => page.locator("table.sessions tbody tr", { has: page.locator("td.col-user", { hasText: user }) });
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  before(async function () {
    if (!hasFfmpeg || !hasChromium) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-console-"));
    writeFileSync(join(dir, "users.yaml"), USERS_FILE, { mode: 0o600 });
    mkdirSync(SHOTS, { recursive: true });
    run = await startBundledServer({
      auth: { usersFile: join(dir, "users.yaml"), securetoken: { secrets: ["console-test-secret"] } },
      api: { enabled: true, port: 0, token: ADMIN },
    });
    base = `http://127.0.0.1:${run.server.ports.api}/console/`;
    await waitFor("HLS output", () => (existsSync(join(run.dataDir, "hls/live/test/index.m3u8")) ? true : undefined));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
    page = await context.newPage();
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on("console", (m) => /Content Security Policy/i.test(m.text()) && cspViolations.push(m.text()));
  });
  after(async () => {
    await Promise.all(viewers.map((v) => stopProcess(v)));
    await browser?.close();
    await run?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("serves the console with a strict Content-Security-Policy, exact files only", async () => {
    const index = await apiFetch(base);
    expect(index.status).to.equal(200);
    const csp = index.headers.get("content-security-policy") ?? "";
    expect(csp).to.include("default-src 'self'").and.include("script-src 'self'").and.include("media-src 'self' blob:");
    expect(csp).to.not.include("unsafe-inline");
    const api = `http://127.0.0.1:${run.server.ports.api}`;
    expect((await apiFetch(`${base}vendor/hls.mjs`)).status).to.equal(200);
    expect((await apiFetch(`${base}vendor/htm-preact.js`)).status).to.equal(200);
    for (const path of [
      "/console/../package.json",
      "/console/vendor/",
      "/console/%2e%2e/package.json",
      "/console/vendor/../../package.json",
      "/console/node_modules/hls.js/package.json",
    ]) {
      expect((await httpGetFor(`${api}${path}`, 1000)).status, path).to.equal(404);
    }
    const redirect = await apiFetch(`${api}/console`, { redirect: "manual" });
    expect([redirect.status, redirect.headers.get("location")]).to.deep.equal([301, "console/"]);
  });

  it("signs in with the API credential into an HttpOnly, SameSite=Strict cookie (a wrong one is refused)", async () => {
    await page.goto(`${base}#live`);
    await page.fill("input[name=credential]", "not-the-credential");
    await page.click("button[type=submit]");
    await page.waitForSelector("text=Wrong credential.");
    await page.fill("input[name=credential]", ADMIN);
    await page.click("button[type=submit]");
    await page.waitForSelector("table.sessions");
    expect(page.url()).to.not.include(ADMIN);
    const [cookie] = await context.cookies();
    expect(cookie).to.include({ name: "va_console", httpOnly: true, sameSite: "Strict" });
    expect(cookie!.value).to.not.include(ADMIN);
    expect(run.logs.raw.join("\n")).to.not.include(ADMIN);
  });

  it("shows a viewer the test starts within 2 s of its session playing, and Close cuts its connection", async () => {
    await page.waitForSelector(".badge.up >> text=live");
    const playingAt = new Promise<number>((resolve) => {
      const off = run.server.auth.sessions.subscribe("playing", (s) => {
        if (s.identity?.userId !== "alice") return;
        off();
        resolve(Date.now());
      });
    });
    const viewer = flvViewer(`${run.httpBase}/live/test.flv?token=alice-token-0001`);
    viewers.push(viewer.child);
    const started = await playingAt;
    await rowOf("alice").waitFor({ timeout: 20_000 });
    expect(Date.now() - started, "ms from playing to the row").to.be.below(2000);
    await waitFor("bytes counted on the page", async () =>
      (await rowOf("alice").locator("td.col-bytes").textContent()) !== "0 B" ? true : undefined,
    );
    await rowOf("alice").locator("button[data-action=close]").click();
    const code = await Promise.race([viewer.exited, new Promise((r) => setTimeout(() => r("still running"), 20_000))]);
    expect(code, "the viewer's ffmpeg exits once its connection is cut").to.not.equal("still running");
    expect(playingOf("alice")).to.deep.equal([]);
    await rowOf("alice").waitFor({ state: "detached", timeout: 10_000 });
  });

  it("Revoke token cuts its sessions and refuses the token afterwards, whatever spelling the operator pasted", async () => {
    const viewer = flvViewer(`${run.httpBase}/live/test.flv?token=bob-token-00002`);
    viewers.push(viewer.child);
    await rowOf("bob").waitFor({ timeout: 20_000 });
    // Pasted as a query pair in upper case: the credential's key is the same.
    await page.fill("input[name=token]", "token=BOB-TOKEN-00002");
    await page.click("form.revoke button");
    await page.waitForSelector("text=Token revoked: 1 session(s) closed");
    const code = await Promise.race([viewer.exited, new Promise((r) => setTimeout(() => r("still running"), 20_000))]);
    expect(code).to.not.equal("still running");
    expect((await httpGetFor(`${run.httpBase}/live/test.flv?token=bob-token-00002`, 1000)).status).to.equal(403);
    expect(run.logs.events("gate.revoked_refused").length, "the refusal is audited").to.be.greaterThan(0);
  });

  it("renders a hostile user agent as text: no alert, no img element", async () => {
    const viewer = flvViewer(`${run.httpBase}/live/test.flv?token=mallory-token-3`, XSS);
    viewers.push(viewer.child);
    await rowOf("mallory").waitFor({ timeout: 20_000 });
    expect(await rowOf("mallory").locator("td.col-player").textContent()).to.equal(XSS);
    await page.fill("input[name=user]", "mallory");
    await waitFor("mallory's bytes and rate on the page", async () =>
      (await rowOf("mallory").locator("td.col-rate").textContent()) !== "—" ? true : undefined,
    );
    await shot("live");
    await page.fill("input[name=user]", "");
    expect(await page.locator("img").count()).to.equal(0);
    await page.goto(`${base}#decisions`);
    await page.selectOption("select[name=verdict]", "");
    await page.waitForSelector(`td.col-player >> text=${XSS}`);
    expect(await page.locator("img").count()).to.equal(0);
    await shot("decisions");
    expect(dialogs).to.deep.equal([]);
  });

  it("refuses a state-changing call with the cookie but without the CSRF token", async () => {
    const withoutCsrf = await page.evaluate(async () => {
      const r = await fetch("../api/sessions/revoke", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: "mallory" }),
      });
      return r.status;
    });
    expect(withoutCsrf).to.equal(403);
    expect(playingOf("mallory")).to.have.length(1);
    const withWrongCsrf = await page.evaluate(
      async () =>
        (
          await fetch("../api/sessions/revoke", {
            method: "POST",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": "guess" },
            body: '{"user":"mallory"}',
          })
        ).status,
    );
    expect(withWrongCsrf).to.equal(403);
    // Without the cookie (another site's page, curl) it is no credential at all.
    expect((await apiFetch(`http://127.0.0.1:${run.server.ports.api}/api/sessions`)).status).to.equal(401);
  });

  it("plays the channel preview through a signed link as the page opens, muted, without a click (the <video> time advances)", async () => {
    await page.goto(`${base}#channels`);
    await page.waitForSelector("article.channel .badge.up");
    expect(await page.locator("article.channel video").evaluate((v) => (v as unknown as { muted: boolean }).muted)).to.equal(true);
    const video = page.locator("article.channel video");
    const first = await waitFor(
      "the preview playing",
      async () => {
        const t = await video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime);
        return t > 0.5 ? t : undefined;
      },
      30_000,
    );
    await waitFor(
      "the preview time advancing",
      async () => ((await video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime)) > first + 1 ? true : undefined),
      20_000,
    );
    await shot("channels");
  });

  it("lists, adds, edits and disables built-in users without showing secrets", async () => {
    await page.goto(`${base}#users`);
    await page.waitForSelector("tr[data-login=alice]");
    expect(await page.locator("table.users").textContent()).to.not.include("alice-token-0001");
    await page.click("button:text('Add user')");
    await page.fill("input[name=login]", "carol");
    await page.fill("input[name=tokens]", "carol-token-000004");
    await page.fill("input[name=maxConnections]", "3");
    await page.click("button:text('Add')");
    await page.waitForSelector("tr[data-login=carol]");
    expect(await page.locator("tr[data-login=carol]").textContent())
      .to.include("1 set")
      .and.not.include("carol-token");
    await page.locator("tr[data-login=carol] button:text('Edit')").click();
    await page.fill("input[name=comment]", "front desk");
    await page.click("button:text('Save')");
    await page.waitForSelector("tr[data-login=carol] >> text=front desk");
    await page.locator("tr[data-login=carol] button:text('Disable')").click();
    await page.waitForSelector("tr[data-login=carol] >> text=disabled");
    expect(run.server.auth.users!.users.find((u) => u.login === "carol")).to.include({
      enabled: false,
      comment: "front desk",
      maxConnections: 3,
    });
    await shot("users");
  });

  it("shows statistics per day from the ledger with a CSV download", async () => {
    await page.goto(`${base}#stats`);
    await page.waitForSelector("article.card h2 >> text=live/test");
    expect(await page.locator("nav a[href='#webhooks']").count(), "no Webhooks page without webhooks").to.equal(0);
    const href = await page.locator("a[download]").evaluate((a) => (a as unknown as { href: string }).href);
    const csv = await page.evaluate(async (url) => (await fetch(url)).text(), href);
    expect(csv.split("\r\n")[0]).to.include("user_agent");
    expect(csv).to.include("alice");
    await shot("stats");
  });

  it("lays out on a phone and in dark mode, with no Content-Security-Policy violation anywhere", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark", isMobile: true });
    await phone.addCookies(await context.cookies());
    const small = await phone.newPage();
    await small.goto(`${base}#live`);
    await small.waitForSelector("table.sessions tbody tr");
    const background = await small.evaluate("getComputedStyle(document.body).backgroundColor");
    expect(background).to.equal("rgb(17, 20, 23)");
    const width = await small.locator("html").evaluate((h) => h.scrollWidth);
    expect(width, "no horizontal scrolling on a phone").to.be.at.most(390);
    await small.screenshot({ path: join(SHOTS, "live-phone-dark.png"), fullPage: false });
    await phone.close();
    expect(cspViolations).to.deep.equal([]);
  });

  it("works behind a reverse proxy under a path prefix (real nginx: /ops/ → the API)", async function () {
    if (NGINX === "") this.skip();
    const nginxDir = join(dir, "nginx");
    mkdirSync(join(nginxDir, "logs"), { recursive: true });
    const port = await freePort();
    const temp = (name: string) => `${name}_temp_path ${join(nginxDir, `tmp-${name}`)};`;
    writeFileSync(
      join(nginxDir, "nginx.conf"),
      `
worker_processes 1;
pid ${join(nginxDir, "nginx.pid")};
error_log ${join(nginxDir, "logs", "error.log")} warn;
events { worker_connections 64; }
http {
  access_log off;
  ${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(temp).join("\n  ")}
  server {
    listen 127.0.0.1:${port};
    location /ops/ {
      proxy_pass http://127.0.0.1:${run.server.ports.api}/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`,
    );
    const nginx = spawn(NGINX, ["-p", nginxDir, "-c", join(nginxDir, "nginx.conf"), "-g", "daemon off;"], { stdio: "ignore" });
    viewers.push(nginx);
    const proxied = `http://127.0.0.1:${port}/ops/console/`;
    await waitFor("nginx answering", async () => ((await fetch(proxied).catch(() => undefined))?.status === 200 ? true : undefined));
    const behind = await browser.newContext();
    try {
      const p = await behind.newPage();
      await p.goto(`http://127.0.0.1:${port}/ops/console`); // the relative redirect keeps the prefix
      expect(p.url()).to.equal(proxied);
      await p.fill("input[name=credential]", ADMIN);
      await p.click("button[type=submit]");
      await p.click("a[href='#live']"); // the Overview is the landing page
      const row = p.locator("table.sessions tbody tr", { has: p.locator("td.col-user", { hasText: "mallory" }) });
      await row.waitFor({ timeout: 20_000 });
      await p.waitForSelector(".badge.up >> text=live");
      await p.click("a[href='#users']");
      await p.waitForSelector("tr[data-login=alice]");
    } finally {
      await behind.close();
      await stopProcess(nginx);
    }
  });

  it("signs out (the cookie stops working) and throttles wrong credentials like the API", async () => {
    await page.goto(base);
    await page.click("button.sign-out");
    await page.waitForSelector("input[name=credential]");
    expect(await page.evaluate(async () => (await fetch("../api/sessions")).status)).to.equal(401);
    const signIn = (credential: string) =>
      apiFetch(`http://127.0.0.1:${run.server.ports.api}/api/console/sign-in`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ credential }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await signIn(`wrong-${i}`)).status);
    // Earlier failures of this run (the wrong sign-in, requests without a credential) count too: at most
    // 10 failures in all get 401, then every failure is 429.
    const firstBan = statuses.indexOf(429);
    expect(firstBan).to.be.within(1, 10);
    expect(statuses.slice(0, firstBan)).to.deep.equal(Array(firstBan).fill(401));
    expect(statuses.slice(firstBan)).to.deep.equal(Array(12 - firstBan).fill(429));
    expect((await signIn(ADMIN)).status, "the right credential still works during a ban").to.equal(200);
    expect(run.logs.raw.join("\n")).to.not.include(ADMIN);
  });
});
