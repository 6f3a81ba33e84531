import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { openApiDocumentText } from "./openapi-document.js";
import { etagMatches } from "../hls/etag-matches.js";

let served: { body: Buffer; etag: string } | undefined;

/**
 * `GET /api/openapi.json`: the API's OpenAPI 3.1 document, answered without a credential. It is the
 * public contract (what any client generator or gateway needs before it holds a token), and it holds
 * nothing secret: no token, address, user or session, only the routes and their shapes, which the
 * package's own docs publish anyway. It changes only with the package, so clients may keep it and
 * revalidate (`no-cache` with an ETag: a 304 costs no body).
 */
export function serveOpenApi(req: IncomingMessage, res: ServerResponse): void {
  served ??= documentWithTag();
  const headers = { "Cache-Control": "no-cache", ETag: served.etag };
  if (etagMatches(req.headers["if-none-match"], served.etag)) return void res.writeHead(304, headers).end();
  res.writeHead(200, { ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": String(served.body.length) });
  res.end(req.method === "HEAD" ? undefined : served.body);
}

function documentWithTag(): { body: Buffer; etag: string } {
  const body = Buffer.from(openApiDocumentText());
  return { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
}
