import type { InputProblem } from "../../gate/input-problem.js";
import { nameProblem, PLAY_FIELD_LIMITS, queryProblem } from "../../gate/play-fields.js";

/**
 * What an HTTP request or WebSocket upgrade asks of node-media-server's FLV handler: `other` (not an
 * FLV request; plain HTTP only), `flv` (a well-formed `/<app>/<name>.flv`), or `bad` with the problem.
 */
export type FlvRequestTarget = { kind: "other" } | { kind: "flv" } | { kind: "bad"; problem: InputProblem };

/**
 * The shape NMS's express route `/:app/:name.flv` matches (case-insensitive, optional trailing
 * slash), on the raw path. Express decodes both parameters with decodeURIComponent afterwards.
 */
const HTTP_FLV_ROUTE = /^\/([^/]+)\/([^/]+)\.flv\/?$/i;
/** A WS-FLV path: NMS takes `pathname.split(".")[0]` as `/<app>/<name>`, without decoding. */
const WS_FLV_PATH = /^\/([^/]*)\/([^/.]*)(?:\.flv)?$/i;

/**
 * Classifies a request target for NMS 4.4.3's FLV handler, which throws when the app or name it
 * derives is not a safe name (session/flv_session.js: the constructor closes the session, then
 * `run()` calls `postPlay` on an undefined broadcast) or lets `undefined` through as a name.
 *
 * - `http`: only targets express would route to the handler are judged; the decoded app and name
 *   must be names NMS accepts. A target that is not origin-form (`http://host/…`, which express
 *   also routes) is refused when it mentions `.flv`.
 * - `ws`: NMS hands every upgrade to the handler, so every target is judged: exactly
 *   `/<app>/<name>` or `/<app>/<name>.flv`, raw safe names (NMS does not decode them).
 *
 * Either way the query is at most 8 KiB; a `#` (which NMS's parsers cut at) is refused.
 */
export function classifyFlvRequest(url: string, transport: "http" | "ws"): FlvRequestTarget {
  if (!url.startsWith("/")) {
    if (transport === "http" && !/\.flv/i.test(url)) return { kind: "other" };
    return bad("target", "not an origin-form request target", url);
  }
  const end = firstIndexOf(url, "?#");
  const path = url.slice(0, end);
  if (transport === "http" && !HTTP_FLV_ROUTE.test(path)) return { kind: "other" };
  if (url.includes("#")) return bad("target", "has a fragment", path);
  const query = end < url.length ? url.slice(end + 1) : "";
  const queryReason = queryProblem(query);
  if (queryReason !== null) return bad("query", queryReason, undefined);
  return transport === "http" ? httpPathTarget(path) : wsPathTarget(path);
}

function httpPathTarget(path: string): FlvRequestTarget {
  const [, rawApp = "", rawName = ""] = HTTP_FLV_ROUTE.exec(path) ?? [];
  const app = decodeOrNull(rawApp);
  const name = decodeOrNull(rawName);
  if (app === null || name === null) return bad("path", "has malformed percent-encoding", path);
  return namesTarget(app, name, path);
}

function wsPathTarget(path: string): FlvRequestTarget {
  const match = WS_FLV_PATH.exec(path);
  if (match === null) return bad("path", "is not /<app>/<name> or /<app>/<name>.flv", path);
  return namesTarget(match[1] ?? "", match[2] ?? "", path);
}

function namesTarget(app: string, name: string, path: string): FlvRequestTarget {
  const appReason = nameProblem(app, PLAY_FIELD_LIMITS.appChars);
  if (appReason !== null) return bad("path", `app ${appReason}`, path);
  const nameReason = nameProblem(name, PLAY_FIELD_LIMITS.nameChars);
  if (nameReason !== null) return bad("path", `stream name ${nameReason}`, path);
  return { kind: "flv" };
}

function bad(field: string, reason: string, value: unknown): FlvRequestTarget {
  return { kind: "bad", problem: { field, reason, value } };
}

function decodeOrNull(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The index of the first of `chars` in `text`, or its length. */
function firstIndexOf(text: string, chars: string): number {
  for (let i = 0; i < text.length; i++) if (chars.includes(text[i]!)) return i;
  return text.length;
}
