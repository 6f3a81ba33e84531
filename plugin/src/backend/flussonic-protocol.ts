import type { AuthRequest, Protocol } from "../core/auth-request.js";
import type { FlussonicBackendConfig } from "./backend-schema.js";
import { answerOfStatus, authDurationOf, headerOf, identityOf, type BackendAnswer } from "./backend-answer.js";
import type { BackendCall, BackendProtocol, ClientCounts } from "./backend-protocol.js";
import type { BackendResponse } from "./backend-transport.js";

/**
 * Flussonic's `proto` for each of our protocols. Flussonic has no name for WebSocket-FLV, so it is
 * sent as `ws`; HTTP-FLV as `flv`.
 */
const FLUSSONIC_PROTO: Readonly<Record<Protocol, string>> = { rtmp: "rtmp", "http-flv": "flv", "ws-flv": "ws", hls: "hls" };

/** The parameters of the Flussonic auth backend protocol we send, in this order. */
const FLUSSONIC_PARAMS = [
  "name",
  "proto",
  "ip",
  "token",
  "session_id",
  "request_type",
  "request_number",
  "stream_clients",
  "total_clients",
  "qs",
  "user_agent",
] as const;

/** Every Flussonic parameter name, the optional ones we do not send included: a viewer's parameter by one of these names is never forwarded. */
const FLUSSONIC_RESERVED: ReadonlySet<string> = new Set([...FLUSSONIC_PARAMS, "duration", "bytes", "referer"]);

/** Smarty's `error` codes (docs/protocols.md §3.3). */
const SMARTY_ERRORS: Readonly<Record<number, string>> = {
  0: "valid",
  1: "token expired",
  2: "token issued for other content",
  3: "token issued for another IP",
};

/**
 * The Flussonic-style backends (docs/protocols.md §3): Ministra/Stalker, Microimpuls Smarty and IPTVPortal.
 * The check URL is `<address><checkPath>`; the query carries the Flussonic parameters, every value
 * percent-encoded (IPTVPortal also gets the viewer's own parameters after them, re-encoded, minus any
 * that a backend could read as one of ours). `request_type` is `new_session` for a new viewer and
 * `update_session` on a re-check. 200 allows (Smarty: only with JSON `error` 0), 302 + Location
 * redirects, 5xx is an error, anything else denies. `X-AuthDuration`, `X-UserId`, `X-Max-Sessions`
 * and `X-Unique` are read from the answer.
 */
export function createFlussonicProtocol(config: FlussonicBackendConfig): BackendProtocol {
  const checkUrl = `${config.address.replace(/\/+$/, "")}${config.checkPath}`;
  const forwardViewerQuery = config.type === "iptvportal";
  return {
    type: config.type,
    checkUrl,
    keepsGrantOnRecheck: !config.recheckAsksBackend,
    keyOf: (request) =>
      JSON.stringify([
        config.type,
        request.app,
        request.channel,
        FLUSSONIC_PROTO[request.protocol],
        request.ip,
        tokenOf(request),
        requestTypeOf(request),
        request.query,
        request.userAgent,
      ]),
    build: function buildFlussonicCall(request: AuthRequest, counts: () => ClientCounts): BackendCall {
      const { stream, total } = counts();
      const params = new URLSearchParams({
        name: request.channel,
        proto: FLUSSONIC_PROTO[request.protocol],
        ip: request.ip,
        token: tokenOf(request),
        session_id: request.sessionId,
        request_type: requestTypeOf(request),
        request_number: String(request.requestNumber),
        stream_clients: String(stream),
        total_clients: String(total),
        qs: request.query,
        user_agent: request.userAgent,
      });
      // IPTVPortal also gets the viewer's own parameters, after ours and re-encoded: a raw `#` or `&name=`
      // in the viewer's query can then neither cut nor shadow name, ip or token (see viewerParams).
      if (forwardViewerQuery) for (const [name, value] of viewerParams(request.params)) params.append(name, value);
      return { url: `${checkUrl}?${params.toString()}`, headers: {}, readBody: config.type === "smarty" };
    },
    interpret: config.type === "smarty" ? interpretSmartyAnswer : interpretFlussonicAnswer,
  };
}

function tokenOf(request: AuthRequest): string {
  return request.params.get("token") ?? "";
}

function requestTypeOf(request: AuthRequest): "new_session" | "update_session" {
  return request.purpose === "recheck" ? "update_session" : "new_session";
}

/**
 * The viewer's parameters to forward, as parsed (so `%23` stays a `#` inside a value and a raw `#` is
 * just a character), minus every one a backend could take for a Flussonic parameter: names are
 * compared case-insensitively (ASP.NET, some Java frameworks) and as PHP reads them (leading spaces
 * dropped, `.` and space turned into `_`, `name[…]` read as `name`). URLSearchParams encodes the rest.
 */
function viewerParams(params: URLSearchParams): [string, string][] {
  return [...params].filter(([name]) => !FLUSSONIC_RESERVED.has(backendNameOf(name)));
}

function backendNameOf(name: string): string {
  return (name.trimStart().toLowerCase().split("[", 1)[0] ?? "").replace(/[. ]/g, "_");
}

function interpretFlussonicAnswer(response: BackendResponse): BackendAnswer {
  return answerOfStatus(response, response.status === 302 ? headerOf(response, "location") : undefined);
}

function interpretSmartyAnswer(response: BackendResponse): BackendAnswer {
  if (response.status >= 500) return { kind: "error", reason: `backend answered ${response.status}` };
  const authDurationSec = authDurationOf(response);
  const code = smartyErrorOf(response.body);
  if (response.status === 200 && code === 0)
    return { kind: "allow", reason: "smarty error 0 (valid)", user: identityOf(response), authDurationSec };
  const meaning = code === undefined ? "no JSON error code in the body" : `smarty error ${code} (${SMARTY_ERRORS[code] ?? "unknown code"})`;
  return { kind: "deny", reason: `backend answered ${response.status}: ${meaning}`, redirectUrl: undefined, authDurationSec };
}

function smartyErrorOf(body: Buffer): number | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    const code = (parsed as { error?: unknown } | null)?.error;
    if (typeof code === "number" && Number.isInteger(code)) return code;
    if (typeof code === "string" && /^\d+$/.test(code)) return Number(code);
  } catch {
    // not JSON: the caller reports it
  }
  return undefined;
}
