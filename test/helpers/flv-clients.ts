import http from "node:http";
import { WebSocket } from "ws";

/** What an HTTP-FLV client saw: the status, headers and every body byte, counted on the wire. */
export interface HttpFlvResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  body: Buffer;
  error?: string;
}

/** GETs a URL and reads the body for at most `readMs` after the response starts (or until it ends). */
export function httpGetFor(
  url: string,
  readMs: number,
  opts: { abortAfterMs?: number; abortSignal?: AbortSignal; headers?: http.OutgoingHttpHeaders; localAddress?: string } = {},
): Promise<HttpFlvResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let status = 0;
    let headers: http.IncomingHttpHeaders = {};
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve({ status, headers, bytes, body: Buffer.concat(chunks), ...(error ? { error } : {}) });
    };
    // The path is sent exactly as written: `new URL` would normalize the dot segments tests send on purpose.
    const target = /^http:\/\/(\[[^\]]+\]|[^/:]+):(\d+)(\/.*)$/.exec(url);
    if (target === null) throw new Error(`httpGetFor needs http://host:port/path, got ${url}`);
    const hostname = target[1]!.replace(/^\[|\]$/g, "");
    const requestOptions = {
      hostname,
      port: Number(target[2]),
      path: target[3],
      headers: opts.headers,
      localAddress: opts.localAddress,
      agent: false,
    };
    const req = http.get(requestOptions, (res) => {
      status = res.statusCode ?? 0;
      headers = res.headers;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= 4_000_000) chunks.push(chunk);
      });
      res.on("end", () => finish());
      res.on("error", (e) => finish(e.message));
      setTimeout(() => finish(), readMs);
    });
    req.on("error", (e) => finish(e.message));
    if (opts.abortAfterMs !== undefined) setTimeout(() => finish("aborted by test"), opts.abortAfterMs);
    opts.abortSignal?.addEventListener("abort", () => finish("aborted by test"));
  });
}

/** What a WS-FLV client saw: every binary byte, and how the server closed. */
export interface WsFlvResult {
  opened: boolean;
  bytes: number;
  data: Buffer;
  closeCode?: number;
  closeReason?: string;
  error?: string;
}

/** Opens a WebSocket and collects messages for at most `readMs` (or until the server closes). */
export function wsReadFor(
  url: string,
  readMs: number,
  opts: { abortAfterMs?: number; abortSignal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<WsFlvResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let opened = false;
    let settled = false;
    const ws = new WebSocket(url, opts.headers === undefined ? {} : { headers: opts.headers });
    const finish = (extra: Partial<WsFlvResult> = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      resolve({ opened, bytes, data: Buffer.concat(chunks), ...extra });
    };
    const timer = setTimeout(() => finish(), readMs);
    ws.on("open", () => (opened = true));
    ws.on("message", (data: Buffer) => {
      bytes += data.length;
      if (bytes <= 4_000_000) chunks.push(data);
    });
    ws.on("close", (code, reason) => finish({ closeCode: code, closeReason: reason.toString() }));
    ws.on("error", (e) => finish({ error: e.message }));
    if (opts.abortAfterMs !== undefined) setTimeout(() => finish({ error: "aborted by test" }), opts.abortAfterMs);
    opts.abortSignal?.addEventListener("abort", () => finish({ error: "aborted by test" }));
  });
}
