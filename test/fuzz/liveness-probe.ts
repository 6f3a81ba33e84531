import http from "node:http";
import { WebSocket } from "ws";
import { connectObject, RawRtmpClient } from "../helpers/rtmp-wire.js";
import { flvMediaOf } from "./flv-media.js";
import { sleep } from "../helpers/sleep.js";

/** Whether an authorized viewer got media, and what it saw when it did not. */
export interface ProbeResult {
  ok: boolean;
  detail: string;
  ms: number;
}

/** Where the authorized viewer plays from. */
export interface ProbeTarget {
  httpPort: number;
  rtmpPort: number;
  app: string;
  channel: string;
  token: string;
}

/**
 * The liveness probe: an authorized viewer (the users file's token) asks for the channel over HTTP-FLV
 * and must get a 200 and at least one audio/video tag within the timeout.
 */
export function probeHttpFlv(target: ProbeTarget, timeoutMs = 6000): Promise<ProbeResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let status = 0;
    let body = Buffer.alloc(0);
    let settled = false;
    const finish = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ok, detail, ms: Date.now() - started });
    };
    const timer = setTimeout(
      () => finish(false, `HTTP-FLV: status ${status}, ${body.length} bytes, no media tag within ${timeoutMs} ms`),
      timeoutMs,
    );
    const req = http.get(
      { host: "127.0.0.1", port: target.httpPort, path: `/${target.app}/${target.channel}.flv?token=${target.token}`, agent: false },
      (res) => {
        status = res.statusCode ?? 0;
        if (status !== 200) return finish(false, `HTTP-FLV: status ${status}`);
        res.on("data", (chunk: Buffer) => {
          if (body.length < 4_000_000) body = Buffer.concat([body, chunk]);
          if (flvMediaOf(body).mediaTags > 0) finish(true, `HTTP-FLV: 200, media after ${body.length} bytes`);
        });
        res.on("end", () => finish(false, `HTTP-FLV: the stream ended after ${body.length} bytes with no media tag`));
      },
    );
    req.on("error", (error) => finish(false, `HTTP-FLV: ${error.message}`));
  });
}

/** The same viewer over HLS: the playlist (200), the playlist it points to, then a segment with MPEG-TS in it. */
export async function probeHls(target: ProbeTarget, timeoutMs = 6000): Promise<ProbeResult> {
  const started = Date.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const fail = (detail: string) => ({ ok: false, detail: `HLS: ${detail}`, ms: Date.now() - started });
  try {
    let url = new URL(`http://127.0.0.1:${target.httpPort}/${target.app}/${target.channel}/index.m3u8?token=${target.token}`);
    for (let hop = 0; hop < 3; hop++) {
      const answer = await fetch(url, { signal });
      if (answer.status !== 200) return fail(`${url.pathname} → ${answer.status}`);
      const bytes = Buffer.from(await answer.arrayBuffer());
      if (!url.pathname.endsWith(".m3u8")) {
        return bytes[0] === 0x47
          ? { ok: true, detail: `HLS: segment of ${bytes.length} bytes`, ms: Date.now() - started }
          : fail(`${url.pathname} is not MPEG-TS`);
      }
      const next = bytes
        .toString("utf8")
        .split("\n")
        .map((l) => l.trim())
        .find((l) => l.length > 0 && !l.startsWith("#"));
      if (next === undefined) return fail(`${url.pathname} lists no URI`);
      url = new URL(next, url);
    }
    return fail("more than two playlist levels");
  } catch (error) {
    return fail((error as Error).message);
  }
}

/** The same viewer over RTMP: connect, createStream, play with the token; it must receive audio or video. */
export async function probeRtmp(target: ProbeTarget, timeoutMs = 6000): Promise<ProbeResult> {
  const started = Date.now();
  let client: RawRtmpClient | undefined;
  try {
    client = await RawRtmpClient.open(target.rtmpPort);
    await client.handshake(timeoutMs);
    client.connect(connectObject(target.rtmpPort, target.app));
    client.play(`${target.channel}?token=${target.token}`);
    while (client.mediaBytes() === 0 && Date.now() - started < timeoutMs) {
      if (client.socket.destroyed) break;
      await sleep(50);
    }
    const bytes = client.mediaBytes();
    return {
      ok: bytes > 0,
      detail: `RTMP: ${bytes} media bytes; statuses ${client.statusCodes().join(" ") || "none"}`,
      ms: Date.now() - started,
    };
  } catch (error) {
    return { ok: false, detail: `RTMP: ${(error as Error).message}`, ms: Date.now() - started };
  } finally {
    client?.destroy();
  }
}

/** The same viewer over WS-FLV: it must receive an audio or video tag. */
export function probeWsFlv(target: ProbeTarget, timeoutMs = 6000): Promise<ProbeResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    let settled = false;
    const ws = new WebSocket(`ws://127.0.0.1:${target.httpPort}/${target.app}/${target.channel}.flv?token=${target.token}`);
    const finish = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      resolve({ ok, detail, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false, `WS-FLV: ${data.length} bytes, no media tag within ${timeoutMs} ms`), timeoutMs);
    ws.on("message", (chunk: Buffer) => {
      if (data.length < 4_000_000) data = Buffer.concat([data, chunk]);
      if (flvMediaOf(data).mediaTags > 0) finish(true, `WS-FLV: media after ${data.length} bytes`);
    });
    ws.on("close", (code) => finish(false, `WS-FLV: closed with ${code} after ${data.length} bytes`));
    ws.on("error", (error) => finish(false, `WS-FLV: ${error.message}`));
  });
}
