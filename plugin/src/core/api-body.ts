import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./api-reply.js";
import { apiErrorBody } from "./api-errors.js";

/** Largest request body the API reads (it takes no large input). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The request body, or undefined when it is larger than the API accepts. An oversized body is not
 * read further (the stream is paused; the caller answers with `refuseLargeBody`, which closes the connection).
 */
export function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
    req.pause();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      req.off("data", onData);
      req.pause();
      resolve(undefined);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

/** The 413 for a body `readBody` would not read; the connection is closed, as the rest is never read. */
export function refuseLargeBody(res: ServerResponse): void {
  sendJson(res, 413, apiErrorBody("VA_API_BODY_TOO_LARGE", `request body larger than ${MAX_BODY_BYTES} bytes`), { Connection: "close" });
}
