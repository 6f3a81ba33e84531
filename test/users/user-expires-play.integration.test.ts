import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { startLineNms, type LineNms } from "../helpers/nms-instance.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { waitUntil } from "../helpers/wait-for.js";

const STREAM = "userexp";
const TOKEN = "soon-expiring-user-token";
const keyOf = (playlist: string) => /vas=([A-Za-z0-9_-]+)/.exec(playlist)?.[1];
/** A generous bound on a busy machine for "within 1 s": the sweep runs every 250 ms. */
const CUT_SLACK_MS = 2500;

describe("built-in users: a user's expires reached mid-play cuts the session within 1 s, as expired (NMS 4.4.3)", function () {
  this.timeout(90000);
  let nms: LineNms;
  const dir = mkdtempSync(join(tmpdir(), "va-user-expires-"));
  const usersFile = join(dir, "users.yaml");
  const writeUser = (expiresAtMs: number) =>
    writeFileSync(
      usersFile,
      `users:\n  - { login: soon, tokens: [${TOKEN}], packages: ["*"], expires: "${new Date(expiresAtMs).toISOString()}" }\n`,
    );
  const base = () => `127.0.0.1:${nms.httpPort}/live/${STREAM}`;
  const playingOf = (protocol: string) => nms.auth.sessions.list({ protocol: protocol as ViewerSession["protocol"], state: "playing" });
  /** Puts the user in force with `expires` 3 s ahead; returns that time. */
  /** Puts the user in force with `expires` 3 s ahead (the users file, re-read now); returns that time. */
  function expiresSoon(): number {
    const atMs = Date.now() + 3000;
    writeUser(atMs);
    nms.auth.users!.reload();
    return atMs;
  }

  before(async function () {
    if (!hasFfmpeg) this.skip();
    writeUser(Date.now() + 3_600_000);
    nms = await startLineNms("4.4.3", { auth: { defaultAction: "deny", usersFile }, sessions: { recheckIntervalSec: 0 } });
    await nms.publish(STREAM);
  });
  after(async () => {
    await nms?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function sessionOf(protocol: string): Promise<ViewerSession> {
    await waitUntil(`a playing ${protocol} session`, () => playingOf(protocol).length > 0, 10000);
    return playingOf(protocol).at(-1)!;
  }
  function expectCut(session: ViewerSession, expiresAtMs: number) {
    expect(session.endReason).to.equal("expired");
    expect(session.validUntilMs, "the user's expires").to.equal(expiresAtMs);
    const lateMs = session.endedAt! - expiresAtMs;
    expect(lateMs, "cut after expires").to.be.at.least(0);
    expect(lateMs, "cut soon after expires").to.be.lessThan(CUT_SLACK_MS);
  }

  it("HTTP-FLV", async () => {
    const atMs = expiresSoon();
    const viewer = httpGetFor(`http://${base()}.flv?token=${TOKEN}`, 15000);
    const session = await sessionOf("http-flv");
    const result = await viewer;
    expect(result.status).to.equal(200);
    expect(result.bytes).to.be.greaterThan(1000);
    await waitUntil("the end", () => session.state === "ended", 5000);
    expectCut(session, atMs);
  });

  it("WS-FLV", async () => {
    const atMs = expiresSoon();
    const viewer = wsReadFor(`ws://${base()}.flv?token=${TOKEN}`, 15000);
    const session = await sessionOf("ws-flv");
    const result = await viewer;
    expect(result.bytes).to.be.greaterThan(1000);
    expect(result.closeCode, "closed by the server, not by the read timeout").to.be.a("number");
    expectCut(session, atMs);
  });

  it("RTMP", async () => {
    const atMs = expiresSoon();
    const started = Date.now();
    const viewer = playWithFfmpeg(`rtmp://127.0.0.1:${nms.rtmpPort}/live/${STREAM}?token=${TOKEN}`, { seconds: 15 });
    const session = await sessionOf("rtmp");
    const result = await viewer;
    expect(result.stdoutBytes).to.be.greaterThan(1000);
    expect(Date.now() - started, "ffmpeg stopped by the cut, not by -t").to.be.lessThan(12000);
    expectCut(session, atMs);
  });

  it("HLS: the session key stops working (403)", async () => {
    const atMs = expiresSoon();
    const wrapper = await httpGetFor(`http://${base()}/index.m3u8?token=${TOKEN}`, 2000);
    expect(wrapper.status).to.equal(200);
    const key = keyOf(wrapper.body.toString())!;
    const session = playingOf("hls").at(-1)!;
    expect((await httpGetFor(`http://${base()}/index.m3u8?vas=${key}`, 2000)).status).to.equal(200);
    let status = 200;
    await waitUntil(
      "the keyed playlist refused",
      async () => (status = (await httpGetFor(`http://${base()}/index.m3u8?vas=${key}`, 2000)).status) !== 200,
      10000,
      100,
    );
    expect(status).to.equal(403);
    expectCut(session, atMs);
  });
});
