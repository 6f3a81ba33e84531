import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import NodeMediaServer2 from "node-media-server-2";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import {
  attachViewerAuth,
  buildViewerAuth,
  ConfigError,
  hostFor,
  parseConfig,
  pluginConfigSchema,
  type PluginConfig,
  type PluginConfigInput,
  type ViewerAuth,
  type ViewerAuthDeps,
} from "../../plugin/src/index.js";
import type { PublishHook, PublishStart } from "../../plugin/src/hosts/host-adapter.js";
import { nms2InternalsOf } from "../../plugin/src/hosts/nms2/nms2-internals.js";
import { freePort } from "../helpers/free-port.js";
import { hasFfmpeg, stopProcess } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { startNms2, waitUntil, type LineNms, type Nms2Options } from "../helpers/nms-instance.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";
import { RawRtmpClient, connectObject } from "../helpers/rtmp-wire.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { sleep } from "../helpers/sleep.js";

const keyOf = (playlist: string) => /vas=([A-Za-z0-9_-]+)/.exec(playlist)?.[1];

/** What only the NMS 2.7 adapter does: finding its copy, trans children, mediaroot, NMS's own sign, publish hook. */
describe("NMS 2.7 adapter", function () {
  this.timeout(90000);
  let nms: LineNms | undefined;
  const step = new TokenAuthorizer();
  afterEach(async () => {
    await nms?.stop();
    nms = undefined;
  });
  const start = async (config: PluginConfigInput = {}, options: Nms2Options = {}, deps: ViewerAuthDeps = {}) => {
    nms = await startNms2({ auth: { defaultAction: "deny" }, ...config }, { authorizers: [step], ...deps }, options);
    return nms;
  };

  describe("attach refuses what it cannot prove, before changing anything", () => {
    it("an http.webroot that holds mediaroot: a ConfigError, NMS would serve the segments around the gate", async () => {
      let error: unknown;
      await start({}, { nmsConfig: (c) => ({ ...c, http: { ...c.http, webroot: resolve(String(c.http.mediaroot), "..") } }) }).catch(
        (e: unknown) => (error = e),
      );
      expect(error).to.be.instanceOf(ConfigError);
      expect(String(error)).to.match(/hls\.dir.*overlaps NMS's static root/);
    });
  });

  describe("with a live trans channel", () => {
    before(function () {
      if (!hasFfmpeg) this.skip();
    });

    it("NMS's own trans ffmpeg plays from loopback without a session; another loopback player without a credential is refused", async () => {
      const run = await start();
      await run.publish("tr");
      expect(
        run.auth.sessions.list().filter((s) => s.protocol === "rtmp"),
        "no viewer session for NMS's own ffmpeg",
      ).to.have.length(0);
      const player = await RawRtmpClient.open(run.rtmpPort);
      try {
        await player.handshake();
        player.connect(connectObject(run.rtmpPort));
        player.play("tr");
        await waitUntil("the refusal", () =>
          run.logs
            .events("session.end")
            .some(
              (l) =>
                (l.session as { protocol?: string; reason?: string }).protocol === "rtmp" &&
                (l.session as { reason?: string }).reason === "denied",
            ),
        );
        await sleep(300);
        expect(player.mediaBytes()).to.equal(0);
      } finally {
        player.destroy();
      }
    });

    it("RTMP on the wire: NMS sends nothing for a held play (no NetStream.Play.Start), then only NetStream.Play.Failed", async () => {
      const run = await start();
      await run.publish("wire");
      step.delayMs = 1500;
      const player = await RawRtmpClient.open(run.rtmpPort);
      try {
        await player.handshake();
        player.connect(connectObject(run.rtmpPort));
        player.play("wire");
        await waitUntil("the play held in its check", () =>
          run.auth.sessions.list().some((s) => s.protocol === "rtmp" && s.state === "checking"),
        );
        await sleep(500);
        expect(
          player.statusCodes().filter((c) => c.startsWith("NetStream.")),
          "statuses while held",
        ).to.deep.equal([]);
        await player.waitForStatus(/NetStream\.Play\.Failed/, 10000);
        expect(
          player.statusCodes().filter((c) => c.startsWith("NetStream.")),
          "statuses after the verdict",
        ).to.deep.equal(["NetStream.Play.Failed"]);
        expect(await player.closesWithin(10000)).to.equal(true);
        expect(player.mediaBytes()).to.equal(0);
      } finally {
        step.delayMs = 0;
        player.destroy();
      }
    });

    it("trans DASH goes through the same sessions: the manifest opens one and comes back keyed, segments only with the key", async () => {
      const run = await start(
        {},
        {
          nmsConfig: (c) => ({
            ...c,
            trans: {
              ...(c.trans as object),
              tasks: [{ app: "live", dash: true, dashFlags: "[f=dash:window_size=3:extra_window_size=5]" }],
            },
          }),
        },
      );
      step.delayMs = 0;
      await run.publishOnly("dash");
      await waitUntil("the trans DASH manifest", () => existsSync(join(run.hlsRoot, "live/dash/index.mpd")), 30000);
      const base = `http://127.0.0.1:${run.httpPort}/live/dash`;
      expect((await httpGetFor(`${base}/index.mpd`, 2000)).status).to.equal(403);
      const manifest = await httpGetFor(`${base}/index.mpd?token=good`, 2000);
      expect(manifest.status).to.equal(200);
      expect(manifest.headers["content-type"]).to.equal("application/dash+xml");
      const text = manifest.body.toString();
      const key = keyOf(text)!;
      const init = /initialization="([^"?]+)\?vas=[A-Za-z0-9_-]+"/.exec(text)?.[1];
      expect(init, text).to.be.a("string");
      expect(/media="[^"?]+\?vas=[A-Za-z0-9_-]+"/.test(text), "media template keyed").to.equal(true);
      const initName = init!.replace("$RepresentationID$", "0");
      expect((await httpGetFor(`${base}/${initName}`, 2000)).status, "init segment without the key").to.equal(403);
      const keyed = await httpGetFor(`${base}/${initName}?vas=${key}`, 2000);
      expect(keyed.status).to.equal(200);
      expect(keyed.body.subarray(4, 8).toString("latin1"), "an MP4 box").to.equal("ftyp");
      expect((await httpGetFor(`${base}/index.mpd?vas=${key}`, 2000)).status, "manifest reloads with the key").to.equal(200);
    });

    it("attached after nms.run(): the same gate on plays and on mediaroot", async () => {
      const run = await start({}, { attachAfterRun: true });
      await run.publish("late");
      expect((await httpGetFor(`http://127.0.0.1:${run.httpPort}/live/late/index.m3u8`, 2000)).status).to.equal(403);
      expect((await httpGetFor(`http://127.0.0.1:${run.httpPort}/live/late.flv`, 2000)).status).to.equal(403);
      const wrapper = await httpGetFor(`http://127.0.0.1:${run.httpPort}/live/late/index.m3u8?token=good`, 2000);
      expect(wrapper.status).to.equal(200);
      expect(wrapper.body.toString()).to.match(/vas=/);
    });

    it("NMS's own auth.play sign still applies after the plugin allowed: both must pass", async () => {
      const secret = "nms-sign-secret-2a7";
      const run = await start({}, { nmsConfig: (c) => ({ ...c, auth: { play: true, secret } }) });
      await run.publish("signed");
      const expires = Math.floor(Date.now() / 1000) + 600;
      const sign = `${expires}-${createHash("md5").update(`/live/signed-${expires}-${secret}`).digest("hex")}`;
      const unsigned = await httpGetFor(`http://127.0.0.1:${run.httpPort}/live/signed.flv?token=good`, 2000);
      expect(unsigned.status, "our allow, NMS's refusal").to.equal(403);
      expect(unsigned.bytes).to.equal(0);
      expect(run.logs.events("gate.nms_refused")).to.have.length(1);
      const signedNoToken = await httpGetFor(`http://127.0.0.1:${run.httpPort}/live/signed.flv?sign=${sign}`, 2000);
      expect(signedNoToken.status, "NMS's sign alone does not pass the plugin").to.equal(403);
      const both = await httpGetFor(`http://127.0.0.1:${run.httpPort}/live/signed.flv?token=good&sign=${sign}`, 2000);
      expect(both.status).to.equal(200);
      expect(both.bytes).to.be.greaterThan(10000);
    });

    it("detach gives NMS its own play path and mediaroot route back", async () => {
      const run = await start();
      await run.publish("back");
      await run.auth.detach();
      const flv = await httpGetFor(`http://127.0.0.1:${run.httpPort}/live/back.flv`, 1500);
      expect(flv.status).to.equal(200);
      expect(flv.bytes).to.be.greaterThan(10000);
      expect((await httpGetFor(`http://127.0.0.1:${run.httpPort}/live/back/index.m3u8`, 1500)).status).to.equal(200);
    });
  });

  describe("HTTPS (NMS 2.7 serves its express app over HTTP/2 too)", () => {
    let dir: string | undefined;
    let instance: { stop(): void } | undefined;
    let auth: { detach(): Promise<void> } | undefined;
    after(async () => {
      await auth?.detach();
      if (instance !== undefined) await stopNms2(instance);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it("mediaroot over HTTPS goes through the same gate: 403 without a session, a keyed playlist with a token", async function () {
      if (spawnSync("openssl", ["version"]).status !== 0) this.skip();
      dir = mkdtempSync(join(tmpdir(), "va-nms2-https-"));
      const made = spawnSync("openssl", [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
      ]);
      expect(made.status).to.equal(0);
      const channel = join(dir, "media", "live", "x");
      mkdirSync(channel, { recursive: true });
      writeFileSync(join(channel, "index.m3u8"), "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nindex0.ts\n");
      writeFileSync(join(channel, "index0.ts"), Buffer.alloc(1880, 0x47));
      const [rtmpPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
      const nms = new NodeMediaServer2({
        logType: 0,
        rtmp: { port: rtmpPort },
        http: { port: httpPort, mediaroot: join(dir, "media") },
        https: { port: httpsPort, key: join(dir, "key.pem"), cert: join(dir, "cert.pem") },
      });
      instance = nms;
      auth = attachViewerAuth(nms, { auth: { defaultAction: "deny" } }, { authorizers: [step], logger: createCapturingLogger().logger });
      const listeners = { uncaught: process.listeners("uncaughtException"), sigint: process.listeners("SIGINT") };
      nms.run();
      for (const l of process.listeners("uncaughtException")) if (!listeners.uncaught.includes(l)) process.off("uncaughtException", l);
      for (const l of process.listeners("SIGINT")) if (!listeners.sigint.includes(l)) process.off("SIGINT", l);
      const client = http2.connect(`https://127.0.0.1:${httpsPort}`, { rejectUnauthorized: false });
      const get = (path: string) =>
        new Promise<{ status: number; body: string }>((done, fail) => {
          const req = client.request({ ":path": path });
          let status = 0;
          let body = "";
          req.on("response", (headers) => (status = Number(headers[":status"])));
          req.on("data", (c: Buffer) => (body += c.toString("latin1")));
          req.on("end", () => done({ status, body }));
          req.on("error", fail);
          req.end();
        });
      try {
        await waitUntil(
          "the HTTPS server",
          () => (nms as unknown as { nhs?: { httpsServer?: { listening: boolean } } }).nhs?.httpsServer?.listening === true,
        );
        for (const path of ["/live/x/index.m3u8", "/live/x/index0.ts", "/live/x/index.m3u8?token=wrong"])
          expect((await get(path)).status, path).to.equal(403);
        const wrapper = await get("/live/x/index.m3u8?token=good");
        expect(wrapper.status).to.equal(200);
        const key = keyOf(wrapper.body);
        expect(key).to.be.a("string");
        const segment = await get(`/live/x/index0.ts?vas=${key}`);
        expect(segment.status).to.equal(200);
        expect(segment.body.length).to.equal(1880);
      } finally {
        client.close();
      }
    });
  });

  describe("publish hook (light): a refused or second publisher sends no packet to a viewer", () => {
    let raw: { nms: { run(): void; stop(): void }; auth: ViewerAuth; rtmpPort: number; httpPort: number } | undefined;
    before(function () {
      if (!hasFfmpeg) this.skip();
    });
    afterEach(async () => {
      await raw?.auth.detach();
      if (raw !== undefined) await stopNms2(raw.nms);
      raw = undefined;
    });

    /** NMS 2.7 with the plugin built and attached by hand, so the test can give the adapter its own publish hook. */
    async function startWithHook(hook: PublishHook) {
      const [rtmpPort, httpPort] = [await freePort(), await freePort()];
      const instance = new NodeMediaServer2({
        logType: 0,
        rtmp: { port: rtmpPort, gop_cache: true, ping: 30, ping_timeout: 60 },
        http: { port: httpPort, mediaroot: mkdtempSync(join(tmpdir(), "va-nms2-pub-")) },
      });
      const auth = buildViewerAuth(parseConfig(pluginConfigSchema, { auth: { defaultAction: "deny" } }) as PluginConfig, {
        authorizers: [step],
        logger: createCapturingLogger().logger,
      });
      const host = hostFor(instance);
      auth.attach(host);
      host.onPublish(hook);
      const listeners = { uncaught: process.listeners("uncaughtException"), sigint: process.listeners("SIGINT") };
      instance.run();
      for (const l of process.listeners("uncaughtException")) if (!listeners.uncaught.includes(l)) process.off("uncaughtException", l);
      for (const l of process.listeners("SIGINT")) if (!listeners.sigint.includes(l)) process.off("SIGINT", l);
      raw = { nms: instance, auth, rtmpPort, httpPort };
      await sleep(300);
      return { ...raw, internals: nms2InternalsOf(instance) };
    }

    it("a publisher the hook refuses is cut in NMS's prePublish: a waiting viewer gets no media, NMS has no publisher", async () => {
      const seen: PublishStart[] = [];
      const run = await startWithHook((p) => {
        seen.push(p);
        return p.channel === "blocked" ? { allow: false, reason: "test" } : { allow: true };
      });
      // Idle until a publisher comes: no response starts, so the read is cut after 5 s whatever happens.
      const viewer = httpGetFor(`http://127.0.0.1:${run.httpPort}/live/blocked.flv?token=good`, 5000, { abortAfterMs: 5000 });
      await waitUntil("the viewer waiting for a publisher", () => run.auth.sessions.list().some((s) => s.state === "playing"));
      const publisher = spawnPattern(`rtmp://127.0.0.1:${run.rtmpPort}/live/blocked?k=v`, "320x240");
      try {
        await waitUntil("the hook's verdict", () => seen.length > 0);
        expect(seen[0]).to.deep.include({ app: "live", channel: "blocked", protocol: "rtmp", ip: "127.0.0.1", query: { k: "v" } });
        expect((await viewer).bytes, "media from a refused publisher").to.equal(0);
        expect(run.internals.context.publishers.has("/live/blocked")).to.equal(false);
      } finally {
        await stopProcess(publisher);
      }
    });

    it("a second publisher on a live name is refused (NMS's own check) and none of its 1280x720 frames reach the viewer", async () => {
      const run = await startWithHook(() => ({ allow: true }));
      const first = spawnPattern(`rtmp://127.0.0.1:${run.rtmpPort}/live/one`, "320x240");
      let second: ChildProcess | undefined;
      try {
        await waitUntil("the first publisher", () => run.internals.context.publishers.has("/live/one"));
        const firstId = run.internals.context.publishers.get("/live/one");
        await sleep(1000);
        const viewer = httpGetFor(`http://127.0.0.1:${run.httpPort}/live/one.flv?token=good`, 4000);
        await sleep(300);
        second = spawnPattern(`rtmp://127.0.0.1:${run.rtmpPort}/live/one`, "1280x720");
        const cut = await Promise.race([new Promise<boolean>((r) => second!.once("exit", () => r(true))), sleep(10000).then(() => false)]);
        expect(cut, "the second publisher was cut").to.equal(true);
        expect(run.internals.context.publishers.get("/live/one")).to.equal(firstId);
        const flv = (await viewer).body;
        expect(flv.length).to.be.greaterThan(10000);
        expect(await frameSizes(flv)).to.deep.equal(["320x240"]);
      } finally {
        await stopProcess(second);
        await stopProcess(first);
      }
    });
  });
});

/**
 * Stops an NMS 2.7 started by hand. Its `stop()` drops FLV sessions from its registry before their
 * sockets close, and its own `doneConnect` listener then throws on the missing session: viewers are cut first.
 */
async function stopNms2(nms: { stop(): void }): Promise<void> {
  const { context } = nms2InternalsOf(nms);
  for (const session of context.sessions.values()) (session as { req?: { socket: { destroy(): void } } }).req?.socket.destroy();
  await waitUntil(
    "NMS 2.7 to drop its FLV sessions",
    () => ![...context.sessions.values()].some((s) => (s as { req?: unknown }).req !== undefined),
    5000,
  ).catch(() => undefined);
  nms.stop();
}

/** An ffmpeg publishing a test pattern of `size`. */
function spawnPattern(url: string, size: string): ChildProcess {
  const child = spawn(
    "ffmpeg",
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-re",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=${size}:rate=25`,
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-g",
      "25",
      "-pix_fmt",
      "yuv420p",
      "-f",
      "flv",
      url,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr?.resume();
  return child;
}

/** The distinct frame sizes ffprobe finds in an FLV capture. */
async function frameSizes(flv: Buffer): Promise<string[]> {
  const probe = spawn(
    "ffprobe",
    ["-v", "error", "-select_streams", "v", "-show_entries", "frame=width,height", "-of", "csv=p=0:s=x", "-i", "pipe:0"],
    { stdio: ["pipe", "pipe", "ignore"] },
  );
  let out = "";
  probe.stdout.on("data", (c: Buffer) => (out += c.toString()));
  probe.stdin.on("error", () => undefined);
  probe.stdin.end(flv);
  await new Promise((r) => probe.once("close", r));
  return [
    ...new Set(
      out
        .split("\n")
        .map((l) => /^(\d+)x(\d+)/.exec(l.trim())?.slice(1, 3).join("x"))
        .filter((l) => l !== undefined),
    ),
  ];
}
