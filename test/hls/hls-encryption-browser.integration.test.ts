import { expect } from "chai";
import { readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import type { Browser, Page } from "playwright-core";
import { startBundledServer, testChannel, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasChromium, launchChromium } from "../helpers/chromium.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";

const HLS_JS = createRequire(import.meta.url).resolve("hls.js/dist/hls.min.js");

/** What the page records: hls.js's key loads, the AES-128 segments it decrypted and buffered, its errors. */
interface PlayerLog {
  keysLoaded: string[];
  fragsDecrypted: number;
  errors: { type: string; details: string; fatal: boolean }[];
}

/** The player page: hls.js from node_modules, the playlist URL from the query, every event kept in `window.playerLog`. */
const PAGE = `<!doctype html><meta charset="utf-8"><video muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
  const log = { keysLoaded: [], fragsDecrypted: 0, errors: [] };
  window.playerLog = log;
  const video = document.querySelector("video");
  const hls = new Hls({ liveSyncDurationCount: 2 });
  hls.on(Hls.Events.KEY_LOADED, (_, data) => log.keysLoaded.push(String(data.keyInfo?.decryptdata?.uri ?? data.frag?.decryptdata?.uri ?? "")));
  hls.on(Hls.Events.FRAG_BUFFERED, (_, data) => data.frag.decryptdata?.method === "AES-128" && (log.fragsDecrypted += 1));
  hls.on(Hls.Events.ERROR, (_, data) => log.errors.push({ type: data.type, details: data.details, fatal: data.fatal === true }));
  hls.on(Hls.Events.MANIFEST_PARSED, () => void video.play().catch(() => {}));
  hls.loadSource(new URLSearchParams(location.search).get("src"));
  hls.attachMedia(video);
</script>`;

describe("hls.js in Chromium plays an encrypted channel across key rotations (real browser, real ffmpeg, real NMS)", function () {
  this.timeout(240_000);
  const step = new TokenAuthorizer();
  let run: RunningServer;
  let pages: Server;
  let browser: Browser | undefined;
  let page: Page;
  /** Key URIs (without the session key) the browser asked the gate for, and their answers. */
  const keyRequests: { name: string; status: number }[] = [];

  before(async function () {
    if (!hasFfmpeg || !hasChromium) this.skip();
    const enc = { ...testChannel("enc"), hls: { segmentSec: 1, listSize: 6, encryption: { method: "aes-128", rotateEverySegments: 2 } } };
    run = await startBundledServer({ channels: [enc] }, { authorizers: [step] });
    // A tiny page server of its own: the page's origin is not the gate's (the gate answers with CORS `*`).
    const script = readFileSync(HLS_JS);
    pages = createServer((req, res) => {
      if (req.url === "/hls.min.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script);
      else res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
    });
    await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve));
    await waitFor(
      "the encrypted channel's playlist",
      () => {
        try {
          return statSync(`${run.dataDir}/hls/live/enc/index.m3u8`).size > 0 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      90_000,
    );
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("response", (response) => {
      const url = new URL(response.url());
      if (url.pathname.endsWith(".key")) keyRequests.push({ name: url.pathname.split("/").pop()!, status: response.status() });
    });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (pages === undefined ? resolve(undefined) : pages.close(resolve)));
    await run?.stop();
  });

  const currentTime = () => page.locator("video").evaluate((v) => (v as unknown as { currentTime: number }).currentTime);
  /** The page's log, kept for the timeout messages too. */
  let lastLog: PlayerLog | undefined;
  const playerLog = async () => (lastLog = await page.evaluate(() => (globalThis as unknown as { playerLog: PlayerLog }).playerLog));

  it("three or more keys loaded, the video time advancing, no fatal error and no key or decrypt error", async () => {
    const src = `${run.httpBase}/live/enc/index.m3u8?token=good`;
    await page.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/?src=${encodeURIComponent(src)}`);
    const started = await waitFor(
      () => `the video playing (${JSON.stringify(lastLog)})`,
      async () => {
        await playerLog();
        const t = await currentTime();
        return t > 0.5 ? t : undefined;
      },
      60_000,
      250,
    );
    // Two rotations at least: three distinct keys loaded by hls.js and fetched from the gate, while playing on.
    await waitFor(
      () => `three keys over time (page: ${JSON.stringify(lastLog)}; fetched: ${JSON.stringify(keyRequests)})`,
      async () => {
        const log = await playerLog();
        const loaded = new Set(log.keysLoaded.map((u) => new URL(u).pathname));
        const fetched = new Set(keyRequests.filter((r) => r.status === 200).map((r) => r.name));
        return loaded.size >= 3 && fetched.size >= 3 ? true : undefined;
      },
      120_000,
      500,
    );
    const later = await waitFor(
      "the video time to advance past the rotations",
      async () => {
        const t = await currentTime();
        return t > started + 4 ? t : undefined;
      },
      60_000,
      250,
    );
    expect(later).to.be.greaterThan(started);
    const log = await playerLog();
    expect(
      log.errors.filter((e) => e.fatal),
      "fatal errors",
    ).to.deep.equal([]);
    expect(
      log.errors.filter((e) => /key|decrypt/i.test(e.details)),
      "key or decrypt errors",
    ).to.deep.equal([]);
    expect(log.fragsDecrypted, "encrypted segments decrypted and buffered").to.be.greaterThan(3);
    expect(
      keyRequests.filter((r) => r.status !== 200),
      "every key request answered",
    ).to.deep.equal([]);
  });
});
