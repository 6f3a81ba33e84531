import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { freePort } from "../helpers/free-port.js";
import { startNms, startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { hasFfmpeg, playWithFfmpeg, stopProcess } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { answer, startStubBackend, type StubBackend } from "../helpers/stub-backend.js";
import { createFakeMinistra, MINISTRA_BASE_PATH, type FakeMinistra } from "../../samples/fake-ministra.js";
import { sleep } from "../helpers/sleep.js";

const hasPhp = spawnSync("php", ["--version"], { stdio: "ignore" }).status === 0;

function endedSessions(nms: NmsInstance): Record<string, unknown>[] {
  return nms.logs.events("session.end").map((l) => l.session as Record<string, unknown>);
}

describe("backend step through a real NMS play (http-request backend)", function () {
  this.timeout(60000);
  let backend: StubBackend;
  let nms: NmsInstance;
  const flv = (query: string) => `http://127.0.0.1:${nms.httpPort}/live/bk.flv?${query}`;
  const ws = (query: string) => `ws://127.0.0.1:${nms.httpPort}/live/bk.flv?${query}`;
  const rtmp = (query: string) => `rtmp://127.0.0.1:${nms.rtmpPort}/live/bk?${query}`;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    backend = await startStubBackend();
    nms = await startPublishingNms(
      {
        auth: {
          defaultAction: "deny",
          backend: { type: "http-request", url: `${backend.base}/auth`, allowTtlSec: 1, staleIfErrorSec: 3, denyTtlSec: 0 },
        },
        sessions: { recheckIntervalSec: 0 },
      },
      "live/bk?token=good",
    );
    await sleep(1000);
  });

  after(async () => {
    await nms?.stop();
    await backend?.close();
  });

  beforeEach(() => {
    backend.calls.length = 0;
    backend.respond = (req, res) => {
      const query = new URL(req.url ?? "/", "http://x").searchParams;
      if (query.get("token") === "good") return answer(200, { "X-Session-Name": "alice" })(req, res);
      if (query.get("token") === "promo") return answer(403, { "X-Location": "http://promo.example/promo.flv" })(req, res);
      answer(403)(req, res);
    };
  });

  it("HTTP-FLV: 200 plays (session named by X-Session-Name), and the backend saw every header's real value", async () => {
    const result = await httpGetFor(flv("token=good&x=%20y"), 1500);
    expect(result.status).to.equal(200);
    expect(result.body.subarray(0, 3).toString()).to.equal("FLV");
    const call = backend.calls.find((c) => c.headers["x-real-path"] === "/live/bk.flv")!;
    expect(call.rawUrl).to.equal("/auth?token=good&x=%20y");
    await sleep(300); // NMS notices the closed socket
    const ended = endedSessions(nms).find((s) => s.id === call.headers["x-session-id"]);
    expect(ended, "the session the backend was told about").to.include({ protocol: "http-flv", name: "alice" });
    expect(call.headers).to.include({
      "x-channel-id": "bk",
      "x-real-ip": "127.0.0.1",
      "x-real-path": "/live/bk.flv",
      "x-real-ua": "",
      "x-real-host": `127.0.0.1:${nms.httpPort}`,
      "x-real-origin": `http://127.0.0.1:${nms.httpPort}`,
    });
  });

  it("HTTP-FLV: 403 gives a 403 and no FLV byte; X-Location gives a 302 to it", async () => {
    const denied = await httpGetFor(flv("token=bad"), 1500);
    expect(denied.status).to.equal(403);
    expect(denied.body.toString()).to.equal("Forbidden\n");
    const redirected = await httpGetFor(flv("token=promo"), 1500);
    expect(redirected.status).to.equal(302);
    expect(redirected.headers.location).to.equal("http://promo.example/promo.flv");
  });

  it("WS-FLV: an allow streams FLV, a deny closes with code 4403", async () => {
    const allowed = await wsReadFor(ws("token=good"), 1500);
    expect(allowed.data.subarray(0, 3).toString()).to.equal("FLV");
    const denied = await wsReadFor(ws("token=bad"), 1500);
    expect(denied).to.include({ bytes: 0, closeCode: 4403 });
  });

  it("RTMP: an allow plays and decodes; a deny is NetStream.Play.Failed with 0 media bytes", async () => {
    const allowed = await playWithFfmpeg(rtmp("token=good"), { seconds: 2, decode: true });
    expect(allowed.frames).to.be.greaterThan(10);
    const rtmpCall = backend.calls.find((c) => c.headers["x-real-path"] === "/live/bk")!;
    expect(rtmpCall.headers).to.include({
      "x-real-host": `127.0.0.1:${nms.rtmpPort}`,
      "x-real-origin": `rtmp://127.0.0.1:${nms.rtmpPort}`,
    });
    const denied = await playWithFfmpeg(rtmp("token=bad"), { seconds: 2 });
    expect(denied.stdoutBytes).to.equal(0);
    expect(denied.stderr).to.match(/Server error: Forbidden/);
  });

  it("metrics: backend round trips by status in a histogram, cache lookups as counters", async () => {
    await httpGetFor(flv("token=good&viewer=metrics"), 500);
    await httpGetFor(flv("token=good&viewer=metrics"), 500); // the same check again: a cache hit, no round trip
    await httpGetFor(flv("token=bad&viewer=metrics"), 500);
    const text = (await nms.auth.metrics.render()).body;
    const count = (result: string) =>
      Number(new RegExp(`^va_backend_request_duration_seconds_count\\{result="${result}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    expect(count("200"), "allowed round trips").to.be.at.least(1);
    expect(count("403"), "denied round trips").to.be.at.least(1);
    const calls = backend.calls.length;
    expect(count("200") + count("403"), "no more round trips counted than the backend saw in this suite").to.be.at.least(calls);
    expect(text).to.match(/^va_backend_cache_lookups_total\{result="hits"\} [1-9]\d*$/m);
    expect(text).to.match(/^va_backend_cache_lookups_total\{result="misses"\} [1-9]\d*$/m);
    expect(text).to.match(/^# TYPE va_backend_cache_lookups_total counter$/m);
  });

  it("a 500 mid-session: the session survives its grace time (staleIfErrorSec), then is closed", async () => {
    const started = Date.now();
    const viewer = httpGetFor(flv("token=good&viewer=flaky"), 10_000);
    await sleep(500);
    let failedAt = 0;
    backend.respond = (req, res) => {
      failedAt ||= Date.now();
      answer(500)(req, res);
    };
    await sleep(2500);
    const live = nms.auth.sessions.list().filter((s) => s.protocol === "http-flv" && s.state === "playing");
    expect(live, "still playing inside the grace").to.have.length(1);
    const result = await viewer;
    const lived = Date.now() - started;
    expect(result.status).to.equal(200);
    expect(failedAt).to.be.greaterThan(0);
    expect(lived, "closed after allow (1 s) + grace (3 s)").to.be.within(3500, 7000);
    expect(endedSessions(nms).at(-1)).to.include({ reason: "denied-on-recheck" });
    expect(nms.logs.events("backend.stale_if_error").length).to.be.greaterThan(0);
  });
});

describe("samples/auth.php (php -S) as the backend of a real NMS", function () {
  this.timeout(30000);
  let php: ChildProcess;
  let phpLog = "";
  let nms: NmsInstance;

  before(async function () {
    if (!hasPhp) this.skip();
    const port = await freePort();
    php = spawn("php", ["-S", `127.0.0.1:${port}`, "samples/auth.php"], { stdio: ["ignore", "ignore", "pipe"] });
    php.stderr!.on("data", (chunk: Buffer) => (phpLog += chunk.toString()));
    for (let i = 0; i < 50 && !/Development Server .* started/.test(phpLog); i++) await sleep(100);
    nms = await startNms({ auth: { backend: { type: "http-request", url: `http://127.0.0.1:${port}/` } } });
  });

  after(async () => {
    await nms?.stop();
    await stopProcess(php);
  });

  it("allows token=123 and denies token=124 (403), logging the headers it got", async () => {
    const allowed = await httpGetFor(`http://127.0.0.1:${nms.httpPort}/live/php.flv?token=123`, 800);
    expect(allowed.status).to.equal(200);
    const denied = await httpGetFor(`http://127.0.0.1:${nms.httpPort}/live/php.flv?token=124`, 800);
    expect(denied.status).to.equal(403);
    expect(phpLog).to.match(
      /auth\.php: X-Session-Id=\S+ X-Channel-Id=php X-Real-Ip=127\.0\.0\.1 X-Real-Path=\/live\/php\.flv X-Real-Ua= X-Real-Host=127\.0\.0\.1:\d+ X-Real-Origin=http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(endedSessions(nms).find((s) => s.name === "user123")).to.not.equal(undefined);
  });
});

describe("Ministra with 5 s tokens: a viewer watches 20 s over HTTP-FLV", function () {
  this.timeout(60000);
  let ministra: FakeMinistra;
  let base: string;
  let nms: NmsInstance;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    ministra = createFakeMinistra({ tokenTtlMs: 5000 });
    base = await ministra.listen();
    // recheckMaxSec 2: the session is re-checked ten times while its token is long dead.
    nms = await startPublishingNms(
      { auth: { backend: { type: "ministra", address: `${base}${MINISTRA_BASE_PATH}`, recheckMaxSec: 2 } } },
      "live/tv1?va=publisher",
    );
  });

  after(async () => {
    await nms?.stop();
    await ministra?.close();
  });

  it("gets a token from create_link, plays 20 s through re-checks, and Ministra is asked once", async () => {
    const link = await fetch(
      `${base}${MINISTRA_BASE_PATH}/server/load.php?type=itv&action=create_link&cmd=${encodeURIComponent(`http://127.0.0.1:${nms.httpPort}/live/tv1.flv`)}`,
    );
    const channelUrl = ((await link.json()) as { js: { cmd: string } }).js.cmd;
    expect(channelUrl).to.match(/\/live\/tv1\.flv\?token=[0-9a-f]{32}$/);
    const viewer = httpGetFor(channelUrl, 21_000);
    await sleep(20_000);
    const playing = nms.auth.sessions.list().filter((s) => s.state === "playing" && s.channel === "tv1");
    expect(playing, "still playing at 20 s").to.have.length(1);
    expect(playing[0]!.identity).to.deep.equal({ userId: "stb-1", maxSessions: 1 });
    const token = new URL(channelUrl).searchParams.get("token")!;
    const expired = await fetch(`${base}${MINISTRA_BASE_PATH}/server/api/chk_flussonic_tmp_link.php?token=${token}`);
    expect(expired.status, "the token itself died long ago").to.equal(403);
    const result = await viewer;
    expect(result.status).to.equal(200);
    expect(result.bytes).to.be.greaterThan(100_000);
    const rechecks = nms.logs.events("auth.decision").filter((l) => l.purpose === "recheck" && l.channel === "tv1");
    expect(rechecks.length).to.be.within(8, 11);
    expect(rechecks.every((l) => l.verdict === "allow")).to.equal(true);
    const checks = ministra.calls.filter((c) => c.path.endsWith("chk_flussonic_tmp_link.php") && c.params.get("token") === token);
    expect(checks, "one backend call, then the grant").to.have.length(2); // ours + the test's own expiry probe
  });
});
