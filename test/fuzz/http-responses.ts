/** One HTTP/1.x response read off a raw connection. */
export interface HttpResponse {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  /** The body, de-chunked (as far as it arrived). */
  body: Buffer;
  /** False when the bytes ended inside this response's head or body. */
  complete: boolean;
}

/** Responses read in order, and the bytes after a 101 (the upgraded protocol's, e.g. WebSocket frames). */
export interface ParsedResponses {
  responses: HttpResponse[];
  afterUpgrade: Buffer | undefined;
  /** Bytes that are not an HTTP response where one should start. */
  garbage: boolean;
}

const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})[^\r\n]*\r\n/;

/**
 * Splits the bytes a server sent on one connection into HTTP responses: interim 1xx answers are
 * skipped (except 101, after which the rest is another protocol), bodies are delimited by
 * Content-Length, chunked encoding or the close. `methods` gives each request's method in order, so a
 * HEAD answer is read without a body. `closed`: the server closed, so a body without length is whole.
 */
export function parseResponses(bytes: Buffer, methods: readonly string[], closed: boolean): ParsedResponses {
  const responses: HttpResponse[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const headEnd = bytes.indexOf("\r\n\r\n", offset, "latin1");
    const headText = bytes.toString("latin1", offset, headEnd === -1 ? Math.min(bytes.length, offset + 64 * 1024) : headEnd + 2);
    const statusLine = STATUS_LINE.exec(headText);
    if (statusLine === null) {
      const partialStatus = "HTTP/1.1 ".startsWith(headText.slice(0, 9)) && headEnd === -1;
      return { responses, afterUpgrade: undefined, garbage: !partialStatus };
    }
    const status = Number(statusLine[1]);
    if (headEnd === -1) {
      responses.push({ status, headers: {}, body: Buffer.alloc(0), complete: false });
      break;
    }
    const headers = headersOf(headText.slice(statusLine[0].length));
    offset = headEnd + 4;
    if (status === 101) {
      responses.push({ status, headers, body: Buffer.alloc(0), complete: true });
      return { responses, afterUpgrade: bytes.subarray(offset), garbage: false };
    }
    if (status >= 100 && status < 200) continue;
    const method = (methods[responses.length] ?? "GET").toUpperCase();
    if (method === "HEAD" || status === 204 || status === 304) {
      responses.push({ status, headers, body: Buffer.alloc(0), complete: true });
      continue;
    }
    if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) {
      const chunked = dechunk(bytes, offset);
      responses.push({ status, headers, body: chunked.body, complete: chunked.complete });
      if (!chunked.complete) break;
      offset = chunked.end;
      continue;
    }
    const length = headers["content-length"];
    if (length !== undefined && /^\d+$/.test(length)) {
      const end = offset + Number(length);
      responses.push({ status, headers, body: bytes.subarray(offset, Math.min(end, bytes.length)), complete: end <= bytes.length });
      if (end > bytes.length) break;
      offset = end;
      continue;
    }
    responses.push({ status, headers, body: bytes.subarray(offset), complete: closed });
    break;
  }
  return { responses, afterUpgrade: undefined, garbage: false };
}

function headersOf(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function dechunk(bytes: Buffer, start: number): { body: Buffer; complete: boolean; end: number } {
  const parts: Buffer[] = [];
  let offset = start;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", offset, "latin1");
    if (lineEnd === -1) return { body: Buffer.concat(parts), complete: false, end: offset };
    const size = Number.parseInt(bytes.toString("latin1", offset, lineEnd).split(";")[0]!, 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(parts), complete: false, end: offset };
    offset = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = bytes.indexOf("\r\n", offset, "latin1");
      return { body: Buffer.concat(parts), complete: trailerEnd !== -1, end: trailerEnd === -1 ? bytes.length : trailerEnd + 2 };
    }
    parts.push(bytes.subarray(offset, Math.min(offset + size, bytes.length)));
    if (offset + size + 2 > bytes.length) return { body: Buffer.concat(parts), complete: false, end: bytes.length };
    offset += size + 2;
  }
}
