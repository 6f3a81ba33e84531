import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { AuthRequest } from "../core/auth-request.js";
import { parseIpAddress } from "../net/ip-address.js";
import { resolveClientAddress } from "../net/client-address.js";
import type { IpRuleList } from "../net/ip-rule-list.js";

/** The parts of an AuthRequest that come from an HTTP request (HTTP-FLV, WS-FLV, HLS). */
export type HttpRequestFields = Pick<AuthRequest, "ip" | "address" | "path" | "query" | "params" | "userAgent" | "host" | "origin">;

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
  return {
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
