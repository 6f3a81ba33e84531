// Time to the first media byte over HTTP-FLV and WS-FLV, gated against ungated, as a ratio from one run,
// on node-media-server 4.4.3 and then 2.7.4 (goal: the gate adds at most 1 ms with a local rule).
// One real NMS with a real ffmpeg publisher; the plugin is attached (a built-in user's token decides)
// and detached in alternate rounds on the same running server, so both sides see the same stream and
// the same machine noise. "First media byte" is the end of the first video tag: what a player needs
// before it can show anything, after the FLV header and metadata.
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import NodeMediaServer from "node-media-server";
import NodeMediaServer2 from "node-media-server-2";
import { freePort } from "../test/helpers/free-port.js";
import { nmsLogger } from "../test/helpers/nms4-internals.js";
import { runNms, attachViewerAuth, type ViewerAuthHandle } from "../plugin/src/index.js";
import { WebSocket } from "ws";
import { publishTestPattern } from "../test/helpers/ffmpeg.js";
import { percentilesOf, report, round } from "./bench-stats.js";

const PLAYS_PER_ROUND = 20;
const ROUNDS = 6;
const TOKEN = "bench-viewer-token";

/** One running NMS of a line, for the measurement. */
interface BenchNms {
  readonly line: string;
  readonly nms: object;
  readonly rtmpPort: number;
  readonly httpPort: number;
  stop(): Promise<void>;
}

async function startNms4(): Promise<BenchNms> {
  const store = mkdtempSync(join(tmpdir(), "va-bench-ttfb-"));
  const nms = new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: store } });
  nmsLogger.level = "error"; // NMS's constructor sets "debug"; its per-play lines would be timed too
  const ports = await runNms(nms);
  return {
    line: "NMS 4.4.3",
    nms,
    rtmpPort: ports.rtmp,
    httpPort: ports.http,
    async stop() {
      await nms.stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
}

async function startNms2(): Promise<BenchNms> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const mediaroot = mkdtempSync(join(tmpdir(), "va-bench-ttfb2-"));
  // logType 0: NMS 2.7's per-play log lines would be timed too.
  const nms = new NodeMediaServer2({
    logType: 0,
    rtmp: { port: rtmpPort, gop_cache: true, ping: 30, ping_timeout: 60 },
    http: { port: httpPort, mediaroot },
  });
  nms.run();
  const servers = nms as unknown as { nrs: { tcpServer: { listening: boolean } }; nhs: { httpServer: { listening: boolean } } };
  while (!servers.nrs.tcpServer.listening || !servers.nhs.httpServer.listening) await new Promise((r) => setTimeout(r, 20));
  return {
    line: "NMS 2.7.4",
    nms,
    rtmpPort,
    httpPort,
    async stop() {
      nms.stop();
      rmSync(mediaroot, { recursive: true, force: true });
    },
  };
}

let httpPort = 0;

/** True once `data` holds a whole FLV video tag (type 9) after the 13-byte file header. */
function hasVideoTag(data: Buffer): boolean {
  let at = 13;
  while (at + 11 <= data.length) {
    const size = data.readUIntBE(at + 1, 3);
    if (at + 11 + size + 4 > data.length) return false;
    if (data[at] === 9) return true;
    at += 11 + size + 4;
  }
  return false;
}

/** Milliseconds from sending the request to the end of the first video tag. */
function httpFlvFirstMedia(query: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    const req = http.get({ host: "127.0.0.1", port: httpPort, path: `/live/bench.flv${query}`, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP-FLV answered ${res.statusCode}`));
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (!hasVideoTag(Buffer.concat(chunks))) return;
        resolve(performance.now() - started);
        req.destroy();
      });
    });
    req.on("error", () => undefined);
  });
}

function wsFlvFirstMedia(query: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/live/bench.flv${query}`);
    ws.on("message", (data: Buffer) => {
      chunks.push(data);
      if (!hasVideoTag(Buffer.concat(chunks))) return;
      resolve(performance.now() - started);
      ws.terminate();
    });
    ws.on("close", (code) => reject(new Error(`WS-FLV closed with ${code} before media`)));
    ws.on("error", () => undefined);
  });
}

async function sample(play: (query: string) => Promise<number>, query: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < PLAYS_PER_ROUND; i++) out.push(await play(query));
  return out;
}

async function measure(server: BenchNms): Promise<void> {
  httpPort = server.httpPort;
  const nms = server.nms;
  const publisher = publishTestPattern(`rtmp://127.0.0.1:${server.rtmpPort}/live/bench`);
  // Wait until the stream has a keyframe in NMS's GOP cache.
  for (let tries = 0; ; tries++) {
    try {
      await Promise.race([httpFlvFirstMedia(""), new Promise((_, reject) => setTimeout(() => reject(new Error("no media yet")), 1000))]);
      break;
    } catch (error) {
      if (tries > 30) throw error;
    }
  }

  let auth: ViewerAuthHandle | undefined;
  const attach = () => {
    auth = attachViewerAuth(nms, {
      log: { level: "silent", nmsLevel: "error" },
      auth: { defaultAction: "deny", users: [{ login: "bench", tokens: [TOKEN], packages: ["*"] }] },
    });
  };

  const results = { http: { gated: [] as number[], plain: [] as number[] }, ws: { gated: [] as number[], plain: [] as number[] } };
  for (let roundIndex = 0; roundIndex < ROUNDS + 1; roundIndex++) {
    const gatedFirst = roundIndex % 2 === 0;
    for (const gated of gatedFirst ? [true, false] : [false, true]) {
      if (gated) attach();
      const query = gated ? `?token=${TOKEN}` : "";
      const httpTimes = await sample(httpFlvFirstMedia, query);
      const wsTimes = await sample(wsFlvFirstMedia, query);
      if (gated) await auth!.detach();
      if (roundIndex === 0) continue; // warm-up round
      results.http[gated ? "gated" : "plain"].push(...httpTimes);
      results.ws[gated ? "gated" : "plain"].push(...wsTimes);
    }
  }

  for (const [name, side] of [
    ["HTTP-FLV", results.http],
    ["WS-FLV", results.ws],
  ] as const) {
    // percentilesOf keeps the samples' unit: these are milliseconds.
    const plain = percentilesOf(side.plain);
    const gated = percentilesOf(side.gated);
    report(`${server.line} ${name} first media, ungated (baseline)`, { p50Ms: plain.p50Us, p99Ms: plain.p99Us, plays: side.plain.length });
    report(`${server.line} ${name} first media, gated (token)`, {
      p50Ms: gated.p50Us,
      p99Ms: gated.p99Us,
      plays: side.gated.length,
      p50VsUngated: round(gated.p50Us / plain.p50Us, 2),
      p50AddedMs: round(gated.p50Us - plain.p50Us, 2),
    });
  }

  publisher.kill("SIGKILL");
  await new Promise((r) => publisher.once("exit", r));
  await server.stop();
}

for (const start of [startNms4, startNms2]) await measure(await start());
process.exit(0);
