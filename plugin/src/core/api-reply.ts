import type { ServerResponse } from "node:http";

/** Writes a JSON reply; the API's answers are never cached (they describe live state or need a credential). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(text)),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** Writes a raw text reply (metrics, CSV) with its content type, never cached. */
export function sendText(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": String(Buffer.byteLength(body)), "Cache-Control": "no-store" });
  res.end(body);
}
