import type { AuthRequest } from "../core/auth-request.js";
import type { HttpRequestBackendConfig } from "./backend-schema.js";
import { BackendRequestError } from "../core/errors.js";
import { answerOfStatus, headerOf, type BackendAnswer } from "./backend-answer.js";
import type { BackendCall, BackendProtocol } from "./backend-protocol.js";
import { safeTarget, type BackendResponse } from "./backend-transport.js";

/**
 * The Cesbo-style "HTTP Request" backend (docs/protocols.md §2): `GET <url>?<viewer query verbatim>`
 * with the seven X-Session/X-Channel/X-Real-* headers and nothing else; 200 allows, any other status
 * denies (5xx is an error that denies a new session), `X-Session-Name` names the session and
 * `X-Location` on a deny redirects the viewer. `X-AuthDuration`, `X-UserId` and `X-Max-Sessions`
 * are honoured too when a backend sends them.
 *
 * The query goes verbatim, so it must be one a URL can carry as it is: printable ASCII without `#`
 * (RFC 3986). Anything else (a line break or NUL from an RTMP stream name, a raw `#`, a byte above
 * 0x7e whose encoding is ambiguous) would reach the backend altered or cut, so the call is refused
 * with a BackendRequestError and the viewer denied.
 */
export function createHttpRequestProtocol(config: HttpRequestBackendConfig): BackendProtocol {
  const target = safeTarget(config.url);
  return {
    type: "http-request",
    checkUrl: config.url,
    keepsGrantOnRecheck: false,
    keyOf: (request) =>
      JSON.stringify([
        "http-request",
        request.query,
        request.channel,
        request.ip,
        request.path,
        request.userAgent,
        request.host,
        request.origin,
      ]),
    build: function buildHttpRequestCall(request: AuthRequest): BackendCall {
      return {
        url: appendQuery(config.url, verbatimQuery(request.query, target)),
        headers: {
          "X-Session-Id": request.sessionId,
          "X-Channel-Id": request.channel,
          "X-Real-Ip": request.ip,
          "X-Real-Path": request.path,
          "X-Real-Ua": request.userAgent,
          "X-Real-Host": request.host,
          "X-Real-Origin": request.origin,
        },
        readBody: false,
      };
    },
    interpret: interpretHttpRequestAnswer,
  };
}

/** Appends a raw query string to a URL: with `?`, or `&` when the URL already has a query. */
function appendQuery(url: string, query: string): string {
  if (query === "") return url;
  if (!url.includes("?")) return `${url}?${query}`;
  return url.endsWith("?") || url.endsWith("&") ? `${url}${query}` : `${url}&${query}`;
}

/** The viewer's query when a URL can carry it unchanged, else a BackendRequestError naming the first bad character. */
function verbatimQuery(query: string, target: string): string {
  const at = query.search(/[^\u0021-\u0022\u0024-\u007e]/);
  if (at === -1) return query;
  const code = `0x${query.charCodeAt(at).toString(16).padStart(2, "0")}`;
  throw new BackendRequestError(target, `the viewer's query has a character a URL cannot carry verbatim (${code}) at position ${at}`);
}

function interpretHttpRequestAnswer(response: BackendResponse): BackendAnswer {
  return answerOfStatus(response, headerOf(response, "x-location"));
}
