// Admission latency with a hanging webhook receiver against no webhooks, as a ratio from one run, on
// node-media-server 4.4.3 (goal: a receiver that never answers adds nothing a viewer can see), and the
// cost of one enqueue (the synchronous outbox write on the play path).
// One real NMS with a real ffmpeg publisher; the plugin is attached with webhooks (every event type, to a
// receiver that accepts the request and never answers) and without, in alternate rounds on the same
// running server, so both sides see the same stream and the same machine noise. Latency is the time
// from the HTTP-FLV request to its answer's headers (the admission, allow by address).
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import NodeMediaServer from "node-media-server";
import { nmsLogger } from "../test/helpers/nms4-internals.js";
import { runNms, attachViewerAuth, type PluginConfigInput, type ViewerAuthHandle } from "../plugin/src/index.js";
import { publishTestPattern } from "../test/helpers/ffmpeg.js";
import { percentilesOf, report, round, timeEach } from "./bench-stats.js";

const PLAYS_PER_ROUND = 30;
const ROUNDS = 6;
const ENQUEUES = 5000;

const dir = mkdtempSync(join(tmpdir(), "va-bench-webhooks-"));
// A receiver that reads nothing and answers nothing: every delivery waits for its timeout.
const held = new Set<http.ServerResponse>();
const receiver = http.createServer((_req, res) => void held.add(res));
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const nms = new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: join(dir, "store") } });
nmsLogger.level = "error";
const ports = await runNms(nms);
const publisher = publishTestPattern(`rtmp://127.0.0.1:${ports.rtmp}/live/bench`);

function timeToHeaders(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get({ host: "127.0.0.1", port: ports.http, path: "/live/bench.flv", agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP-FLV answered ${res.statusCode}`));
      resolve(performance.now() - started);
      req.destroy();
    });
    req.on("error", () => undefined);
  });
}

const config = (webhooks: boolean, round: number): PluginConfigInput => ({
  log: { level: "silent", nmsLevel: "error" },
  auth: { allowIps: ["127.0.0.1"] },
  ...(webhooks
    ? {
        events: {
          webhooks: [{ name: "hangs", url: receiverUrl, secret: "bench-webhook-secret-0123456789", timeoutMs: 5000 }],
          outbox: { file: join(dir, `outbox-${round}.sqlite`) },
        },
      }
    : {}),
});

// Wait until the stream is on air (a play gets headers).
for (let tries = 0; ; tries++) {
  const auth = attachViewerAuth(nms, config(false, 0));
  try {
    await Promise.race([timeToHeaders(), new Promise((_, reject) => setTimeout(() => reject(new Error("not on air")), 1000))]);
    await auth.detach();
    break;
  } catch (error) {
    await auth.detach();
    if (tries > 30) throw error;
  }
}

const results = { hanging: [] as number[], none: [] as number[] };
let enqueueUs = 0;
for (let roundIndex = 0; roundIndex < ROUNDS + 1; roundIndex++) {
  const webhooksFirst = roundIndex % 2 === 0;
  for (const webhooks of webhooksFirst ? [true, false] : [false, true]) {
    const auth: ViewerAuthHandle = attachViewerAuth(nms, config(webhooks, roundIndex));
    await auth.ready;
    const times: number[] = [];
    for (let i = 0; i < PLAYS_PER_ROUND; i++) times.push(await timeToHeaders());
    if (webhooks && roundIndex === ROUNDS) enqueueUs = (await timeEach(ENQUEUES, () => auth.webhooks!.sendTest())).p50Us;
    await auth.detach();
    if (roundIndex === 0) continue; // warm-up round
    results[webhooks ? "hanging" : "none"].push(...times);
  }
}

const none = percentilesOf(results.none);
const hanging = percentilesOf(results.hanging);
// percentilesOf keeps the samples' unit: these are milliseconds.
report("NMS 4.4.3 HTTP-FLV admission (time to headers), no webhooks (baseline)", {
  p50Ms: none.p50Us,
  p99Ms: none.p99Us,
  plays: results.none.length,
});
report("NMS 4.4.3 HTTP-FLV admission (time to headers), a hanging webhook receiver", {
  p50Ms: hanging.p50Us,
  p99Ms: hanging.p99Us,
  plays: results.hanging.length,
  p50VsNone: round(hanging.p50Us / none.p50Us, 2),
  p50AddedMs: round(hanging.p50Us - none.p50Us, 2),
});
report("webhook enqueue (synchronous outbox write, one webhook)", { p50Us: round(enqueueUs, 1), events: ENQUEUES });

publisher.kill("SIGKILL");
await new Promise((r) => publisher.once("exit", r));
for (const res of held) res.destroy();
receiver.close();
await nms.stop();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
