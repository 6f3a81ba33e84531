import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { AuthRequest } from "../core/auth-request.js";
import { parseIpAddress } from "../net/ip-address.js";
import { resolveClientAddress } from "../net/client-address.js";
import type { IpRuleList } from "../net/ip-rule-list.js";

/** The parts of an AuthRequest that come from an HTTP request (HTTP-FLV, WS-FLV, HLS). */
export type HttpRequestFields = Pick<
  AuthRequest,
  "ip" | "address" | "path" | "query" | "params" | "userAgent" | "host" | "origin" | "pageHost"
>;

/**
 * Reads the viewer's address (X-Forwarded-For only from trusted proxies), path, raw query, user agent,
 * host and origin from an HTTP request. `rawUrl` is the URL as received (express may have rewritten
 * `req.url`); `webSocket` picks the ws/wss scheme for the origin. The path is percent-decoded and the
 * query kept raw, the rule `AuthRequest.path` states for every protocol.
 */
export function httpRequestFields(req: IncomingMessage, rawUrl: string, trustedProxies: IpRuleList, webSocket = false): HttpRequestFields {
  const socketAddress = req.socket.remoteAddress;
  const peer = socketAddress === undefined ? null : parseIpAddress(socketAddress);
  const address = resolveClientAddress(peer, req.headers["x-forwarded-for"], trustedProxies);
  const queryStart = rawUrl.indexOf("?");
  const query = queryStart < 0 ? "" : rawUrl.slice(queryStart + 1);
  const host = req.headers.host ?? "";
  const secure = (req.socket as TLSSocket).encrypted === true;
  const scheme = webSocket ? (secure ? "wss" : "ws") : secure ? "https" : "http";
  const page = req.headers.origin ?? req.headers.referer;
  return {
    ...(page === undefined ? {} : { pageHost: pageHostOf(page) }),
    ip: address?.text ?? socketAddress ?? "",
    address,
    path: decodedPath(queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart)),
    query,
    params: new URLSearchParams(query),
    userAgent: req.headers["user-agent"] ?? "",
    host,
    origin: host === "" ? "" : `${scheme}://${host}`,
  };
}

/**
 * The host name of a page URL (an `Origin`, a `Referer`, RTMP's `pageUrl`), lower case and without its
 * port; "" for a value that is no http(s) URL with a host (`null`, garbage): a page that cannot be named.
 */
export function pageHostOf(value: unknown): string {
  if (typeof value !== "string" || value.length > 2048) return "";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "";
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.hostname.toLowerCase() : "";
}

/**
 * The path percent-decoded, or as received when it does not decode (the gates in front refuse such
 * paths before a request is built; this keeps the function total).
 */
function decodedPath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath;
  }
}
