import { expect } from "chai";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import type { PluginConfigInput } from "../../plugin/src/index.js";
import { hasFfmpeg, publishTestPattern, stopProcess } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { startNms, startNms2, waitForPublisher, type LineNms, type NmsInstance } from "../helpers/nms-instance.js";
import { Context } from "../helpers/nms4-internals.js";
import { waitUntil } from "../helpers/wait-for.js";
import { WebhookReceiver } from "../helpers/webhook-receiver.js";

const SECRET = "receiver-secret-0123456789";

/** Milliseconds from an HTTP-FLV request to its answer's headers (the admission's latency as a viewer sees it). */
function timeToHeaders(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(url, (res) => {
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      res.destroy();
      req.destroy();
    });
    req.on("error", reject);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe("webhooks on node-media-server 4.4.3 and 2.7.4: real plays and publishes", function () {
  this.timeout(120_000);
  let dir: string;
  let receiver: WebhookReceiver;
  let nms: NmsInstance | undefined;
  let publisher: ChildProcess | undefined;

  before(function () {
    if (!hasFfmpeg) this.skip();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "va-webhooks-nms-"));
    receiver = new WebhookReceiver(SECRET);
    await receiver.listen();
  });
  afterEach(async () => {
    await stopProcess(publisher);
    publisher = undefined;
    await nms?.stop();
    nms = undefined;
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function configWith(webhooks: unknown[]): PluginConfigInput {
    return {
      auth: { defaultAction: "allow" },
      events: { webhooks, outbox: { file: join(dir, "outbox.sqlite") }, retry: { initialMs: 50, maxMs: 500 } },
    } as PluginConfigInput;
  }

  async function publish(stream: string): Promise<void> {
    publisher = publishTestPattern(`rtmp://127.0.0.1:${nms!.rtmpPort}/live/${stream}`);
    await waitForPublisher(`/live/${stream}`);
  }

  it("an HTTP-FLV play and an RTMP publish: start and end events, signed, in order, with their fields", async () => {
    nms = await startNms(configWith([{ name: "r", url: receiver.url, secret: SECRET }]));
    await publish("wh");
    await waitUntil("publish.start delivered", () => receiver.ofType("publish.start").length === 1);
    const played = await httpGetFor(`http://127.0.0.1:${nms.httpPort}/live/wh.flv`, 1500, { headers: { "user-agent": "wh-player/2" } });
    expect(played.status).to.equal(200);
    expect(played.bytes).to.be.greaterThan(0);
    await waitUntil("session.end delivered", () => receiver.ofType("session.end").length === 1);
    // NMS 4.4.3 keeps a publish open 30 s for a resume; shortened here so its end comes now.
    (Context.broadcasts.get("/live/wh") as unknown as { publishGraceMs: number }).publishGraceMs = 50;
    await stopProcess(publisher);
    publisher = undefined;
    await waitUntil("publish.end delivered", () => receiver.ofType("publish.end").length === 1);

    expect(
      receiver.requests.every((r) => r.signatureValid),
      "every delivery signed",
    ).to.equal(true);
    expect(receiver.events.map((e) => e.type)).to.deep.equal(["publish.start", "session.start", "session.end", "publish.end"]);
    const [publishStart, start, end, publishEnd] = receiver.events.map((e) => e.body);
    expect(publishStart!.publish).to.include({ stream: "live/wh", app: "live", name: "wh" });
    expect(publishStart!.publisher).to.deep.equal({ ip: "127.0.0.1", protocol: "rtmp" });
    expect((publishEnd!.publish as { id: string }).id, "one publish id for start and end").to.equal(
      (publishStart!.publish as { id: string }).id,
    );
    expect(start!.session).to.include({ protocol: "http-flv", app: "live", channel: "wh", ip: "127.0.0.1", userAgent: "wh-player/2" });
    const ended = end!.session as { id: string; reason: string; bytesOut: number; durationMs: number };
    expect(ended.id).to.equal((start!.session as { id: string }).id);
    expect(ended.reason).to.equal("viewer-left");
    expect(ended.bytesOut).to.be.greaterThan(0);
    expect(ended.durationMs).to.be.within(500, 30_000);
    expect(new Set(receiver.requests.map((r) => r.id)).size, "unique ids").to.equal(4);
  });

  it("on node-media-server 2.7.4 too: a publish's start and end around a play's", async () => {
    let nms2: LineNms | undefined;
    try {
      nms2 = await startNms2(configWith([{ name: "r", url: receiver.url, secret: SECRET }]));
      publisher = publishTestPattern(`rtmp://127.0.0.1:${nms2.rtmpPort}/live/wh2`);
      await waitUntil("a publisher on NMS 2.7", () => nms2!.hasPublisher("wh2"), 15_000);
      await waitUntil("publish.start delivered", () => receiver.ofType("publish.start").length === 1);
      const played = await httpGetFor(`http://127.0.0.1:${nms2.httpPort}/live/wh2.flv`, 1000);
      expect(played.bytes).to.be.greaterThan(0);
      await waitUntil("session.end delivered", () => receiver.ofType("session.end").length === 1);
      await stopProcess(publisher);
      publisher = undefined;
      await waitUntil("publish.end delivered", () => receiver.ofType("publish.end").length === 1);
      expect(receiver.events.map((e) => e.type)).to.deep.equal(["publish.start", "session.start", "session.end", "publish.end"]);
      const [publishStart, , , publishEnd] = receiver.events.map((e) => e.body);
      expect(publishStart!.publish).to.include({ stream: "live/wh2" });
      expect(publishStart!.publisher).to.deep.equal({ ip: "127.0.0.1", protocol: "rtmp" });
      expect((publishEnd!.publish as { id: string }).id).to.equal((publishStart!.publish as { id: string }).id);
    } finally {
      await stopProcess(publisher);
      publisher = undefined;
      await nms2?.stop();
    }
  });

  it("a hanging receiver does not delay admissions (time to headers against a run without webhooks)", async () => {
    const plays = 20;
    const timed = async (config: PluginConfigInput): Promise<number[]> => {
      nms = await startNms(config);
      await publish("lat");
      const url = `http://127.0.0.1:${nms.httpPort}/live/lat.flv`;
      await timeToHeaders(url); // warm-up: first-use costs (JIT, connections) in neither run
      const times: number[] = [];
      for (let i = 0; i < plays; i++) times.push(await timeToHeaders(url));
      await stopProcess(publisher);
      publisher = undefined;
      await nms.stop();
      nms = undefined;
      return times;
    };
    const without = await timed({ auth: { defaultAction: "allow" } });
    receiver.answer = () => "hang";
    const hanging = await timed(configWith([{ name: "hangs", url: receiver.url, secret: SECRET, timeoutMs: 5000 }]));
    const ratio = median(hanging) / Math.max(median(without), 1);
    console.log(
      `      time to headers, median of ${plays}: ${median(without).toFixed(1)} ms without webhooks, ${median(hanging).toFixed(1)} ms with a hanging receiver (ratio ${ratio.toFixed(2)})`,
    );
    expect(receiver.requests.length, "the receiver was sent events and held them").to.be.greaterThan(0);
    // A play that waited for the receiver would take its whole 5 s timeout.
    expect(Math.max(...hanging)).to.be.lessThan(2500);
    // Generous: the machine is shared, and a few ms of noise on a 2 ms median is a large ratio.
    expect(median(hanging), `ratio ${ratio.toFixed(2)}`).to.be.lessThan(5 * median(without) + 50);
  });
});
