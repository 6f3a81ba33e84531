import type { ServerResponse } from "node:http";

/** Answers with a one-line plain-text body (errors, refusals): never cached. */
export function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": String(body.length),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(body);
}
