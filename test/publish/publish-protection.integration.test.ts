import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "ws";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { BroadcastServer, Context, RtmpClientSession } from "../helpers/nms4-internals.js";
import { makeSecureLink } from "../../plugin/src/index.js";
import { PublishPolicy, type PublishAttempt } from "../../plugin/src/publish/publish-policy.js";
import { LocalProcesses } from "../../plugin/src/net/process-proof.js";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg, stopProcess, testPatternEncoding, testPatternInputs } from "../helpers/ffmpeg.js";
import { decodedFrames } from "../helpers/decode.js";
import { auditSecrets } from "../helpers/log-audit.js";
import { rawStatusLine } from "../helpers/raw-http.js";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { sleep } from "../helpers/sleep.js";

const PUBLISH_SECRET = "publish-secret-4c1d9e7a";
/** What the server's ingest URL carried before the process proof: now just a parameter nobody honours. */
const OLD_INTERNAL_SECRET = "internal-secret-5e7c2b90";
/** An FLV header and the first PreviousTagSize: what a waiting viewer gets before any media. */
const FLV_HEADER_BYTES = 13;

describe("publish policy: who may publish (no server)", () => {
  const configOf = (publish: Record<string, unknown>, auth: Record<string, unknown> = {}) =>
    parseConfig(pluginConfigSchema, { auth, publish }) as PluginConfig;
  const attempt = (over: Partial<PublishAttempt> = {}): PublishAttempt => ({
    app: "live",
    channel: "cam1",
    ip: "203.0.113.7",
    query: {},
    ...over,
  });

  it("make-link --publish prints a link the policy accepts for the stream, over RTMP and FLV alike", function () {
    this.timeout(30000);
    const policy = new PublishPolicy(configOf({ allowIps: [], securetoken: { secrets: [PUBLISH_SECRET] } }).publish, {
      now: () => Date.now(),
    });
    for (const url of ["rtmp://127.0.0.1:1935/live/cam1", "http://127.0.0.1:8000/live/cam1.flv"]) {
      const made = spawnSync(
        process.execPath,
        ["--import", "tsx", "plugin/src/cli/make-link.ts", "--publish", "--url", url, "--ip", "203.0.113.7", "--secret", PUBLISH_SECRET],
        { encoding: "utf8", timeout: 20000 },
      );
      expect(made.status, made.stderr).to.equal(0);
      const link = new URL(made.stdout.trim());
      auditSecrets(link.searchParams.get("token")!);
      expect(policy.decide(attempt({ query: Object.fromEntries(link.searchParams) }))).to.include({ allow: true, reason: "signed" });
    }
  });
});

/** An ffmpeg publisher of a moving test pattern; `stderr` keeps what it printed. */
interface Publisher {
  child: ChildProcess;
  stderr(): string;
}

function startPublisher(url: string, size = "320x240"): Publisher {
  const output = url.startsWith("http") ? ["-f", "flv", "-method", "POST", url] : ["-f", "flv", url];
  const child = spawn(
    "ffmpeg",
    [
      "-hide_banner",
      "-nostdin",
      "-loglevel",
      "error",
      "-re",
      ...testPatternInputs(size),
      ...testPatternEncoding({ zerolatency: true }),
      ...output,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr };
}

/** Waits for a child to exit by itself (the server cut it); returns its exit code. */
async function exitOf(child: ChildProcess, what: string, timeoutMs = 20000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} still running after ${timeoutMs} ms`)), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** An HTTP-FLV viewer that keeps every byte it is sent until stopped. */
interface Viewer {
  status(): number;
  bytes(): number;
  stop(): Buffer;
}

async function startViewer(url: string, streamPath: string): Promise<Viewer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let status = 0;
  const req = http.get(url, { agent: false }, (res) => {
    status = res.statusCode ?? 0;
    res.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      chunks.push(chunk);
    });
  });
  req.on("error", () => undefined); // the test reads what arrived; stop() ends it
  // Waiting for real: NMS counts the viewer among the stream's subscribers once the gate admitted it.
  await waitFor(`a viewer subscribed to ${streamPath}`, () =>
    (Context.broadcasts.get(streamPath)?.subscribers.size ?? 0) > 0 ? true : undefined,
  );
  return {
    status: () => status,
    bytes: () => bytes,
    stop() {
      req.destroy();
      return Buffer.concat(chunks);
    },
  };
}

/** Every AVC sequence header (video tag, codec 7, packet type 0) in an FLV byte stream, as hex. */
function avcSequenceHeaders(flv: Buffer): string[] {
  const headers: string[] = [];
  let offset = FLV_HEADER_BYTES;
  while (offset + 11 <= flv.length) {
    const type = flv[offset]!;
    const size = flv.readUIntBE(offset + 1, 3);
    const end = offset + 11 + size;
    if (end > flv.length) break;
    const body = flv.subarray(offset + 11, end);
    if (type === 9 && (body[0]! & 0x0f) === 7 && body[1] === 0) headers.push(body.toString("hex"));
    offset = end + 4;
  }
  return headers;
}

/** Width × height of every video frame ffprobe decodes from FLV bytes. */
function frameSizes(flv: Buffer): string[] {
  const dir = mkdtempSync(join(tmpdir(), "va-publish-"));
  try {
    const file = join(dir, "viewer.flv");
    writeFileSync(file, flv);
    const probe = spawnSync(
      "ffprobe",
      ["-v", "error", "-select_streams", "v", "-show_entries", "frame=width,height", "-of", "csv=p=0", file],
      { encoding: "utf8" },
    );
    // One line per frame; a frame with side data gets a trailing empty column.
    return probe.stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.replace(/,+$/, ""));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("publish protection: real NMS 4, real ffmpeg publishers, an HTTP-FLV viewer waiting", function () {
  this.timeout(120000);
  let nms: NmsInstance;
  const publishers: Publisher[] = [];
  const viewers: Viewer[] = [];
  let flvSample: Buffer;
  /** The processes this NMS trusts as its own, as the bundled server registers its ffmpeg children. */
  const ownProcesses = new LocalProcesses();

  before(async function () {
    if (!hasFfmpeg) this.skip();
    // Viewers on loopback are let in by the play chain; publishers on loopback are NOT on publish.allowIps.
    nms = await startNms(
      {
        auth: { allowIps: ["127.0.0.1/32", "::1/128"] },
        publish: { allowIps: ["192.0.2.0/24"], securetoken: { secrets: [PUBLISH_SECRET] } },
      },
      { internalProcesses: ownProcesses },
    );
    // A short FLV recording, to publish over WebSocket as raw bytes.
    const dir = mkdtempSync(join(tmpdir(), "va-publish-sample-"));
    const file = join(dir, "sample.flv");
    spawnSync("ffmpeg", [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=320x240:rate=25",
      "-t",
      "2",
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
      file,
    ]);
    flvSample = readFileSync(file);
    rmSync(dir, { recursive: true, force: true });
    expect(flvSample.length, "the FLV sample").to.be.greaterThan(10_000);
  });

  afterEach(async () => {
    for (const viewer of viewers.splice(0)) viewer.stop();
    await Promise.all(publishers.splice(0).map((p) => stopProcess(p.child)));
  });

  after(async () => {
    await nms?.stop();
  });

  const rtmpUrl = (name: string) => `rtmp://127.0.0.1:${nms.rtmpPort}/live/${name}`;
  const flvUrl = (name: string) => `http://127.0.0.1:${nms.httpPort}/live/${name}.flv`;
  const publishLink = (url: string, opts: { nowMs?: number; lifetimeSec?: number } = {}) => {
    const link = makeSecureLink({
      url,
      secret: PUBLISH_SECRET,
      lifetimeSec: opts.lifetimeSec ?? 600,
      ip: "127.0.0.1",
      publish: true,
      ...(opts.nowMs !== undefined ? { nowMs: opts.nowMs } : {}),
    });
    auditSecrets(new URL(link).searchParams.get("token")!);
    return link;
  };
  const publish = (url: string, size?: string) => {
    const publisher = startPublisher(url, size);
    publishers.push(publisher);
    return publisher;
  };
  const watch = async (name: string) => {
    const viewer = await startViewer(flvUrl(name), `/live/${name}`);
    viewers.push(viewer);
    return viewer;
  };
  const decisionFor = (name: string) =>
    waitFor(`the publish decision for ${name}`, () => nms.logs.events("publish.decision").find((l) => l.channel === name));
  /** No NMS session on the path but the viewer's: the publisher's connection is gone. */
  const onlyViewerLeft = (name: string) =>
    waitFor(`${name}'s publisher disconnected`, () => {
      const left = [...Context.sessions.values()].filter((s) => s.streamPath === `/live/${name}`);
      return left.length === 1 && left[0]!.isPublisher === false ? true : undefined;
    });

  /** A refused publisher: cut, logged with `reason`, and the waiting viewer got the FLV header only. */
  async function expectRefused(name: string, publisher: { exited: Promise<unknown> }, viewer: Viewer, reason: string) {
    await publisher.exited;
    expect(await decisionFor(name)).to.include({
      event: "publish.decision",
      verdict: "deny",
      reason,
      app: "live",
      channel: name,
      ip: "127.0.0.1",
    });
    await onlyViewerLeft(name);
    // Anything forwarded would have reached the viewer by now; give it a generous second anyway.
    await sleep(1000);
    expect(viewer.status(), "the viewer was admitted").to.equal(200);
    expect(viewer.bytes(), "bytes to the viewer: the FLV header only, no media").to.equal(FLV_HEADER_BYTES);
    expect(Context.broadcasts.get(`/live/${name}`)?.publisher ?? null, "NMS has no publisher on the name").to.equal(null);
  }

  it("an unsigned RTMP publisher from an address not allowed: cut, 0 media bytes to the waiting viewer", async () => {
    const viewer = await watch("intruder-rtmp");
    const intruder = publish(rtmpUrl("intruder-rtmp"));
    await expectRefused("intruder-rtmp", { exited: exitOf(intruder.child, "the RTMP intruder") }, viewer, "not-allowed");
    expect(intruder.child.exitCode, "ffmpeg failed to publish").to.not.equal(0);
  });

  it("an unsigned HTTP-FLV publisher (POST): 403, cut, 0 media bytes to the waiting viewer", async () => {
    const viewer = await watch("intruder-flv");
    const intruder = publish(flvUrl("intruder-flv"));
    await expectRefused("intruder-flv", { exited: exitOf(intruder.child, "the HTTP-FLV intruder") }, viewer, "not-allowed");
    expect(intruder.child.exitCode, "ffmpeg failed to publish").to.not.equal(0);
  });

  it("an unsigned WS-FLV publisher: close 4403, and the FLV it sends anyway reaches no viewer", async () => {
    const viewer = await watch("intruder-ws");
    const ws = new WebSocket(`ws://127.0.0.1:${nms.httpPort}/live/intruder-ws.flv`, "publisher");
    const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
    ws.on("error", () => undefined);
    ws.on("open", () => {
      for (let at = 0; at < flvSample.length; at += 16384) ws.send(flvSample.subarray(at, at + 16384));
    });
    await expectRefused("intruder-ws", { exited: closed }, viewer, "not-allowed");
    expect(await closed).to.equal(4403);
  });

  it("refused publishers leave no stream behind in NMS (20 HTTP-FLV and 3 RTMP ones on fresh names)", async () => {
    const before = Context.broadcasts.size;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        rawStatusLine(
          nms.httpPort,
          `POST /live/litter${i}.flv HTTP/1.1\r\nHost: a\r\nContent-Type: video/x-flv\r\nTransfer-Encoding: chunked\r\n\r\n`,
          5000,
        ),
      ),
    );
    expect(
      answers.every((a) => a === "HTTP/1.1 403 Forbidden"),
      answers.join(" | "),
    ).to.equal(true);
    const rtmp = Array.from({ length: 3 }, (_, i) => publish(rtmpUrl(`litter-rtmp${i}`)));
    await Promise.all(rtmp.map((p, i) => exitOf(p.child, `RTMP publisher ${i}`)));
    await waitFor("NMS's sessions of the refused publishers gone", () =>
      [...Context.sessions.values()].some((s) => s.streamName.startsWith("litter")) ? undefined : true,
    );
    expect([...Context.broadcasts.keys()].filter((k) => k.includes("litter"))).to.deep.equal([]);
    expect(Context.broadcasts.size).to.equal(before);
  });

  it("a signed RTMP publisher publishes and the waiting viewer gets decodable media", async () => {
    const viewer = await watch("signed-rtmp");
    publish(publishLink(rtmpUrl("signed-rtmp")));
    expect(await decisionFor("signed-rtmp")).to.include({ verdict: "allow", reason: "signed", protocol: "rtmp" });
    await waitFor("media at the viewer", () => (viewer.bytes() > 100_000 ? true : undefined));
    expect(await decodedFrames(viewer.stop())).to.be.greaterThan(10);
  });

  it("a signed HTTP-FLV publisher publishes with the same kind of link", async () => {
    const viewer = await watch("signed-flv");
    publish(publishLink(flvUrl("signed-flv")));
    expect(await decisionFor("signed-flv")).to.include({ verdict: "allow", reason: "signed", protocol: "flv" });
    await waitFor("media at the viewer", () => (viewer.bytes() > 100_000 ? true : undefined));
    expect(await decodedFrames(viewer.stop())).to.be.greaterThan(10);
  });

  it("an expired publish link is refused: 0 media bytes", async () => {
    const viewer = await watch("expired");
    const link = publishLink(rtmpUrl("expired"), { nowMs: Date.now() - 3_600_000, lifetimeSec: 600 });
    const intruder = publish(link);
    await expectRefused("expired", { exited: exitOf(intruder.child, "the expired publisher") }, viewer, "signature-expired");
  });

  it("an edited publish link (another stream's, or one hex digit changed) is refused: 0 media bytes", async () => {
    const viewer = await watch("edited");
    // Signed for another stream, then pointed at this one.
    const other = publishLink(rtmpUrl("elsewhere")).replace("/live/elsewhere?", "/live/edited?");
    const intruder = publish(other);
    await expectRefused(
      "edited",
      { exited: exitOf(intruder.child, "the publisher with another stream's link") },
      viewer,
      "signature-forged",
    );

    const viewer2 = await watch("edited2");
    const link = new URL(publishLink(rtmpUrl("edited2")));
    const token = link.searchParams.get("token")!;
    link.searchParams.set("token", (token[0] === "a" ? "b" : "a") + token.slice(1));
    const intruder2 = publish(link.toString());
    await expectRefused("edited2", { exited: exitOf(intruder2.child, "the publisher with an edited hash") }, viewer2, "signature-forged");
  });

  it("a second publisher on a live name is refused, even signed: it takes nothing over and none of its frames reach the viewer", async () => {
    const first = publish(publishLink(rtmpUrl("main")), "320x240");
    await waitFor("the first publisher live", () => Context.broadcasts.get("/live/main")?.publisher ?? undefined);
    const owner = Context.broadcasts.get("/live/main")!.publisher!;
    const viewer = await watch("main");
    await waitFor("media at the viewer", () => (viewer.bytes() > 50_000 ? true : undefined));
    const before = nms.logs.events("publish.decision").length;
    const second = publish(publishLink(rtmpUrl("main")), "1280x720");
    await exitOf(second.child, "the second publisher");
    const refusal = await waitFor("the second decision", () =>
      nms.logs
        .events("publish.decision")
        .slice(before)
        .find((l) => l.channel === "main"),
    );
    expect(refusal).to.include({ verdict: "deny", reason: "channel-live" });
    // Let the viewer take in another second of the first publisher's stream after the refusal.
    const seen = viewer.bytes();
    await waitFor("more media at the viewer", () => (viewer.bytes() > seen + 20_000 ? true : undefined));
    expect(Context.broadcasts.get("/live/main")!.publisher, "the first publisher still owns the name").to.equal(owner);
    expect(first.child.exitCode, "the first publisher still runs").to.equal(null);
    const received = viewer.stop();
    expect(new Set(avcSequenceHeaders(received)).size, "one distinct AVC sequence header (the first publisher's)").to.equal(1);
    const sizes = frameSizes(received);
    expect(sizes.length, "frames decoded").to.be.greaterThan(25);
    expect(
      sizes.filter((s) => s !== "320,240"),
      "frames not from the first publisher",
    ).to.deep.equal([]);
  });

  it("a registered process publishes over loopback RTMP with no credential; another with the old va_internal parameter is refused", async () => {
    const viewer = await watch("ingest");
    const own = publish(rtmpUrl("ingest"));
    // Registered in the same turn as the spawn, as the bundled server's supervisor does: before it can connect.
    ownProcesses.add(own.child.pid!);
    expect(await decisionFor("ingest")).to.include({ verdict: "allow", reason: "internal", protocol: "rtmp" });
    await waitFor("media at the viewer", () => (viewer.bytes() > 50_000 ? true : undefined));

    const viewer2 = await watch("ingest-stranger");
    const intruder = publish(`${rtmpUrl("ingest-stranger")}?va_internal=${OLD_INTERNAL_SECRET}`);
    await expectRefused(
      "ingest-stranger",
      { exited: exitOf(intruder.child, "the unregistered loopback publisher") },
      viewer2,
      "not-allowed",
    );
  });

  it("lets a relay pull NMS's API set up publish without asking the policy (the server's own outbound connection)", () => {
    // The relay session NMS creates for a pull task; registerPull() does the same once connected to the origin.
    const relay = new RtmpClientSession({ url: "rtmp://origin.example/live/src", streamPath: "/live/relayed", reconnect: false });
    relay.ip = "origin.example:1935";
    const broadcast = new BroadcastServer("/live/relayed");
    Context.broadcasts.set("/live/relayed", broadcast); // the gate wraps it, as every broadcast NMS registers
    try {
      expect(broadcast.postPublish(relay)).to.equal(null);
      expect(broadcast.publisher).to.equal(relay);
      expect(nms.logs.events("publish.decision").filter((l) => l.channel === "relayed")).to.deep.equal([]);
    } finally {
      Context.broadcasts.delete("/live/relayed");
    }
  });

  it("counts every decision in va_publish_decisions_total{verdict,reason} and logs no publish credential", async () => {
    const { body } = await nms.auth.metrics.render();
    const count = (verdict: string, reason: string) =>
      Number(new RegExp(`^va_publish_decisions_total\\{verdict="${verdict}",reason="${reason}"\\} (\\d+)$`, "m").exec(body)?.[1]);
    expect(count("deny", "not-allowed")).to.equal(3 + 23 + 1);
    expect(count("allow", "signed")).to.equal(3);
    expect(count("deny", "signature-expired")).to.equal(1);
    expect(count("deny", "signature-forged")).to.equal(2);
    expect(count("deny", "channel-live")).to.equal(1);
    expect(count("allow", "internal")).to.equal(1);
    expect(count("allow", "allowed-address")).to.equal(0);
    const lines = nms.logs.raw.join("\n");
    expect(lines).to.not.include(PUBLISH_SECRET);
    expect(lines).to.not.include(OLD_INTERNAL_SECRET);
    expect(lines).to.not.match(/token=[0-9a-f]{40}/);
  });
});

describe("publish protection in the bundled server (its own ingest proven by its pid)", function () {
  this.timeout(90000);
  let running: RunningServer;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    running = await startBundledServer({
      auth: { allowIps: ["127.0.0.1/32"] },
      publish: { allowIps: [], securetoken: { secrets: [PUBLISH_SECRET] } },
    });
  });

  after(async () => {
    await running?.stop();
  });

  it("its own ingest still publishes when loopback is not on publish.allowIps (the process proof, no credential)", async () => {
    await waitFor("the channel up", () => (running.server.channelStatus()[0]?.state === "up" ? true : undefined), 30000);
    const decisions = running.logs.events("publish.decision");
    expect(decisions.length).to.be.greaterThan(0);
    for (const decision of decisions) expect(decision).to.include({ verdict: "allow", reason: "internal", channel: "test" });
  });
});

describe("publish protection with NMS's own auth.publish on", function () {
  this.timeout(90000);
  let nms: NmsInstance;
  const publishers: ChildProcess[] = [];

  before(async function () {
    if (!hasFfmpeg) this.skip();
    nms = await startNms(
      { auth: { allowIps: ["127.0.0.1/32"] }, publish: { allowIps: [], securetoken: { secrets: [PUBLISH_SECRET] } } },
      {},
      "127.0.0.1",
      { auth: { play: false, publish: true, secret: "nms-own-publish-secret" } },
    );
  });

  after(async () => {
    await Promise.all(publishers.map((p) => stopProcess(p)));
    await nms?.stop();
  });

  it("a publisher the plugin allows but NMS refuses (no NMS sign) is cut too: 0 media bytes to a waiting viewer", async () => {
    const viewer = await startViewer(`http://127.0.0.1:${nms.httpPort}/live/other.flv`, "/live/other");
    try {
      const link = makeSecureLink({
        url: `rtmp://127.0.0.1:${nms.rtmpPort}/live/other`,
        secret: PUBLISH_SECRET,
        lifetimeSec: 600,
        ip: "127.0.0.1",
        publish: true,
      });
      auditSecrets(new URL(link).searchParams.get("token")!);
      const publisher = startPublisher(link);
      publishers.push(publisher.child);
      await exitOf(publisher.child, "the publisher NMS refuses");
      expect(nms.logs.events("publish.decision").find((l) => l.channel === "other")).to.include({ verdict: "allow", reason: "signed" });
      expect(
        await waitFor("publish.nms_refused", () => nms.logs.events("publish.nms_refused").find((l) => l.channel === "other")),
      ).to.include({ app: "live", ip: "127.0.0.1" });
      await sleep(1000);
      expect(viewer.bytes(), "bytes to the viewer: the FLV header only, no media").to.equal(FLV_HEADER_BYTES);
    } finally {
      viewer.stop();
    }
  });
});
