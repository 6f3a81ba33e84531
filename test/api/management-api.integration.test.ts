import { expect } from "chai";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";
import { establishedOnPort } from "../helpers/tcp-connections.js";
import { TEST_API_TOKEN, TEST_PREVIOUS_API_TOKEN } from "../helpers/api-tokens.js";
import { sleep } from "../helpers/sleep.js";
import { apiFetch } from "../helpers/openapi-check.js";

const TOKEN = TEST_API_TOKEN;
/** The token before a rotation: still accepted while clients switch. */
const OLD_TOKEN = TEST_PREVIOUS_API_TOKEN;

describe("management API (real server, real players)", function () {
  this.timeout(90000);
  let run: RunningServer;
  const api = (path: string, init: RequestInit = {}, token: string | null = TOKEN) =>
    apiFetch(`http://127.0.0.1:${run.server.ports.api}${path}`, {
      ...init,
      headers: token === null ? {} : { Authorization: `Bearer ${token}` },
    });

  before(async function () {
    if (!hasFfmpeg) this.skip();
    run = await startBundledServer(
      { api: { enabled: true, port: 0, token: TOKEN, previousTokens: [OLD_TOKEN] } },
      { authorizers: [new TokenAuthorizer()] },
    );
    await waitFor("HLS output", () => (existsSync(join(run.dataDir, "hls/live/test/index.m3u8")) ? true : undefined));
  });
  after(async () => run?.stop());

  it("refuses every route without the bearer token, or with a wrong one", async () => {
    for (const path of ["/api/health", "/api/sessions", "/api/channels", "/api/nope"]) {
      expect((await api(path, {}, null)).status, path).to.equal(401);
    }
    expect((await api("/api/health", {}, OLD_TOKEN)).status, "a previous token during rotation").to.equal(200);
    const wrong = await api("/api/sessions", {}, "wrong-token-wrong");
    expect(wrong.status).to.equal(401);
    expect(wrong.headers.get("www-authenticate")).to.match(/^Bearer/);
    expect(JSON.stringify(run.logs.lines)).to.not.include("wrong-token-wrong");
  });

  it("reports health and the channel states", async () => {
    expect(await (await api("/api/health")).json()).to.include({ status: "ok" });
    const { channels } = (await (await api("/api/channels")).json()) as {
      channels: { id: string; state: string; ingest: { state: string } }[];
    };
    expect(channels).to.have.length(1);
    expect(channels[0]).to.include({ id: "test", state: "up" });
    const users = await api("/api/users");
    expect(users.status, "no built-in users configured").to.equal(404);
    expect(((await users.json()) as { error: string }).error).to.match(/built-in users are off/);
  });

  it("lists and filters sessions, and closing cuts a real RTMP, HTTP-FLV, WS-FLV and HLS viewer", async () => {
    const rtmp = playWithFfmpeg(`${run.rtmpBase}/live/test?token=good`, { seconds: 30 });
    const flvStarted = Date.now();
    const flv = httpGetFor(`${run.httpBase}/live/test.flv?token=good`, 30000);
    const ws = wsReadFor(`${run.httpBase.replace("http:", "ws:")}/live/test.flv?token=good`, 30000);
    const wrapper = await httpGetFor(`${run.httpBase}/live/test/index.m3u8?token=good`, 2000);
    const key = /vas=([A-Za-z0-9_-]+)/.exec(wrapper.body.toString())![1]!;
    const sessions = await waitFor("four playing sessions", async () => {
      const body = (await (await api("/api/sessions?user=u1")).json()) as { sessions: { id: string; protocol: string; state: string }[] };
      const playing = body.sessions.filter((s) => s.state === "playing");
      return playing.length === 4 ? playing : undefined;
    });
    expect(sessions.map((s) => s.protocol).sort()).to.deep.equal(["hls", "http-flv", "rtmp", "ws-flv"]);
    const byProtocol = (p: string) => sessions.find((s) => s.protocol === p)!.id;
    const one = (await (await api(`/api/sessions/${byProtocol("rtmp")}`)).json()) as Record<string, unknown>;
    expect(one).to.include({ protocol: "rtmp", channel: "test", userId: "u1", name: "viewer-1", ip: "127.0.0.1" });

    const rtmpConnections = establishedOnPort(run.server.ports.rtmp);
    const closedAt = Date.now();
    for (const p of ["rtmp", "http-flv", "ws-flv", "hls"])
      expect((await api(`/api/sessions/${byProtocol(p)}`, { method: "DELETE" })).status).to.equal(200);
    await waitFor(
      "the server to cut the RTMP player's connection",
      () => (establishedOnPort(run.server.ports.rtmp) < rtmpConnections ? true : undefined),
      1000,
    );
    expect(Date.now() - closedAt, "RTMP cut within 1 s").to.be.lessThan(1000);
    await flv;
    expect(Date.now() - closedAt, "HTTP-FLV cut within 1 s").to.be.lessThan(1000);
    const wsResult = await ws;
    expect(Date.now() - closedAt, "WS-FLV cut within 1 s").to.be.lessThan(1000);
    expect(wsResult.bytes, "the WS viewer had been playing").to.be.greaterThan(0);
    expect(Date.now() - flvStarted).to.be.lessThan(20000);
    const rtmpResult = await rtmp;
    expect(Date.now() - closedAt, "RTMP player ended soon after").to.be.lessThan(15000);
    expect(rtmpResult.stdoutBytes).to.be.greaterThan(0);
    expect((await httpGetFor(`${run.httpBase}/live/test/index.m3u8?vas=${key}`, 2000)).status).to.equal(403);
    expect((await api(`/api/sessions/${byProtocol("rtmp")}`)).status).to.equal(404);
    const reasons = run.logs.events("session.end").map((l) => (l.session as { reason: string }).reason);
    expect(reasons.filter((r) => r === "closed-by-api")).to.have.length(4);
  });

  it("pages the session list (limit, offset, total) and refuses a bad page with 400", async () => {
    const viewers = [1, 2, 3].map(() => httpGetFor(`${run.httpBase}/live/test.flv?token=good2`, 4000));
    type Page = { total: number; offset: number; sessions: { id: string }[] };
    const all = await waitFor("three sessions", async () => {
      const body = (await (await api("/api/sessions?user=u2")).json()) as Page;
      return body.total === 3 ? body : undefined;
    });
    const page = (await (await api("/api/sessions?user=u2&limit=2&offset=1")).json()) as Page;
    expect(page).to.include({ total: 3, offset: 1 });
    expect(page.sessions.map((s) => s.id)).to.deep.equal(all.sessions.slice(1, 3).map((s) => s.id));
    for (const bad of ["limit=-1", "limit=abc", "offset=1.5", "limit=10001"])
      expect((await api(`/api/sessions?${bad}`)).status, bad).to.equal(400);
    await Promise.all(viewers);
  });

  it("revoking a user closes all of their sessions on every protocol, not others'", async () => {
    const flv = httpGetFor(`${run.httpBase}/live/test.flv?token=good`, 30000);
    const other = httpGetFor(`${run.httpBase}/live/test.flv?token=good2`, 3000);
    await httpGetFor(`${run.httpBase}/live/test/index.m3u8?token=good`, 2000);
    await waitFor("u1's two sessions", async () => {
      const body = (await (await api("/api/sessions?user=u1")).json()) as { sessions: { state: string }[] };
      return body.sessions.filter((s) => s.state === "playing").length === 2 ? true : undefined;
    });
    const revoked = (await (await api("/api/users/u1/sessions", { method: "DELETE" })).json()) as { closed: string[] };
    expect(revoked.closed).to.have.length(2);
    await flv;
    const viewers = (await (await api("/api/viewers")).json()) as { viewers: Record<string, number> };
    expect(viewers.viewers["live/test"]).to.equal(1);
    await other;
  });

  it("serves Prometheus metrics: decisions, step latency, live sessions, bytes sent, ended sessions, build, process", async () => {
    const viewer = httpGetFor(`${run.httpBase}/live/test.flv?token=good`, 1500);
    await sleep(800);
    const response = await api("/metrics");
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-type")).to.match(/^text\/plain/);
    const text = await response.text();
    expect(text).to.match(/^va_decisions_total\{step="custom",verdict="allow"\} [1-9]\d*$/m);
    expect(text).to.match(/^va_step_duration_seconds_bucket\{le="0\.001",step="custom"\} \d+$/m);
    expect(text).to.match(/^va_live_sessions\{protocol="http-flv",channel="live\/test"\} 1$/m);
    expect(text).to.match(/^va_sessions_ended_total\{reason="closed-by-api",protocol="rtmp"\} 1$/m);
    const bytes = Number(/^va_sent_bytes_total (\d+)$/m.exec(text)?.[1]);
    expect(bytes).to.be.greaterThan(10000);
    expect(text, "the deprecated name, kept for one release").to.match(/^va_bytes_out_total \d+$/m);
    expect(text).to.match(/^va_build_info\{version="[^"]+",node="[^"]+",nms="4\.4\.3"\} 1$/m);
    expect(text).to.match(/^process_resident_memory_bytes \d+/m);
    expect(text).to.match(/^nodejs_eventloop_lag_seconds /m);
    expect(text, "the channel is on air (its HLS output exists)").to.match(/^va_channel_up\{channel="live\/test"\} 1$/m);
    expect(text).to.match(/^va_channel_restarts_total\{channel="live\/test",job="packager"\} \d+$/m);
    expect((await api("/metrics", {}, null)).status, "metrics need the token too").to.equal(401);
    await viewer;
  });

  it("bans an address after repeated bad credentials, for its failed requests only", async () => {
    let last = 0;
    for (let i = 0; i < 11; i++) last = (await api("/api/health", {}, "bad-token-again")).status;
    expect(last).to.equal(429);
    // The ban used to refuse the right token too, so any local process could lock the operator out.
    expect((await api("/api/health")).status, "the right token works while banned").to.equal(200);
  });
});
