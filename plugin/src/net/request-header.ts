import type { IncomingMessage } from "node:http";

/**
 * One request header's value, read from `rawHeaders` as node's `req.headers` would give it (repeats joined
 * with ", "), or undefined when absent. For the hot path of keyed HLS requests: the first read of
 * `req.headers` builds an object of every header (each name lower-cased), a cost per request that a
 * player's playlist reload otherwise pays for one or two headers. Not for `set-cookie` or the headers
 * node keeps only once (`content-length`, `host`, …).
 */
export function requestHeader(req: IncomingMessage, lowerCaseName: string): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== lowerCaseName.length || name.toLowerCase() !== lowerCaseName) continue;
    value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
  }
  return value;
}
