import { parse as parseQuery, stringify as stringifyQuery } from "node:querystring";
import type { Protocol } from "../core/auth-request.js";
import type { RequestFields } from "../gate/connection-port.js";
import { queryProblem } from "../gate/play-fields.js";
import { classifyRequestPath } from "../hls/hls-request-path.js";
import { sessionKeyOf } from "../hls/hls-key-check.js";
import { resolveClientAddress } from "../net/client-address.js";
import { parseIpAddress } from "../net/ip-address.js";
import type { IpRuleList } from "../net/ip-rule-list.js";

/** What an explain is asked: the URL a viewer would open, from which address, with which headers. */
export interface ExplainInput {
  /** `rtmp://…/app/stream?…`, `http(s)://…/app/stream.flv?…`, `ws(s)://…/app/stream.flv?…`, `http(s)://…/app/stream/index.m3u8?…` or a segment. */
  readonly url: string;
  /** The address the request would come from (the TCP peer: a trusted proxy's when `headers` carry X-Forwarded-For). */
  readonly ip: string;
  /** The User-Agent (RTMP: the flashVer); else the `user-agent` header; else "". */
  readonly userAgent?: string | undefined;
  /** HTTP headers the request would carry (`x-forwarded-for`, `host`, `user-agent`), names in any case. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Never call the backend: answer from its verdict cache, or say that a real play would ask it. */
  readonly cacheOnly?: boolean | undefined;
}

/** The play an explained URL is, as a host would hand it to the admission pipeline. */
export interface ExplainTarget {
  readonly protocol: Protocol;
  readonly app: string;
  readonly channel: string;
  readonly fields: RequestFields;
  /** HLS: the file asked for (`index.m3u8`, a segment). */
  readonly file?: string;
  /** HLS: the session key the URL carries (a segment or a keyed playlist): checked against live sessions, never by the chain. */
  readonly hlsKey?: string;
}

/** Why a URL or address cannot be explained: the API answers 400 with the code. */
export class ExplainInputError extends Error {
  readonly code: "VA_API_EXPLAIN_BAD_URL" | "VA_API_EXPLAIN_BAD_IP";
  constructor(code: ExplainInputError["code"], message: string) {
    super(message);
    this.name = "ExplainInputError";
    this.code = code;
  }
}

/** NMS 4.4.3's HTTP-FLV route `/:app/:name.flv` and its WS-FLV path `/<app>/<name>[.flv]`. */
const HTTP_FLV_PATH = /^\/([^/]+)\/([^/]+)\.flv\/?$/i;
const WS_FLV_PATH = /^\/([^/]*)\/([^/.]*)(?:\.flv)?$/i;
const RTMP_PATH = /^\/([^/]+)\/([^/]+)$/;

/**
 * The play a URL names, with the fields a host would decode from it: the address behind trusted proxies
 * (X-Forwarded-For from `headers`, believed only when `ip` is a trusted proxy, as for a real request;
 * RTMP has no headers), the percent-decoded path, the query (RTMP: parsed and re-encoded, as NMS keeps
 * it), user agent, host and origin. Throws an ExplainInputError for a URL no host would serve as a play.
 */
export function explainTargetOf(input: ExplainInput, trustedProxies: IpRuleList): ExplainTarget {
  const peer = parseIpAddress(input.ip);
  if (peer === null)
    throw new ExplainInputError("VA_API_EXPLAIN_BAD_IP", `ip: ${JSON.stringify(input.ip.slice(0, 64))} is not an IP address`);
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw badUrl("not an absolute URL");
  }
  if (url.hash !== "") throw badUrl("has a #fragment");
  const headers = lowerCased(input.headers ?? {});
  const rawQuery = url.search.slice(1);
  const problem = queryProblem(rawQuery);
  if (problem !== null) throw badUrl(problem);
  const scheme = url.protocol.slice(0, -1);
  if (scheme === "rtmp" || scheme === "rtmps") {
    const [app, channel] = namesOf(RTMP_PATH, url.pathname, "an RTMP URL must be rtmp://host/<app>/<stream>");
    // NMS keeps only the parsed play query; re-encoding it keeps key order (hosts/nms4/nms-play-request.ts).
    const query = stringifyQuery(parseQuery(rawQuery));
    const fields = baseFields(peer, input, headers, url, query, `/${app}/${channel}`, false);
    return { protocol: "rtmp", app, channel, fields };
  }
  const webSocket = scheme === "ws" || scheme === "wss";
  if (!webSocket && scheme !== "http" && scheme !== "https") throw badUrl(`scheme ${scheme}: is not rtmp, rtmps, http, https, ws or wss`);
  const fieldsFor = (path: string) => baseFields(peer, input, headers, url, rawQuery, decoded(path), true, trustedProxies);
  if (webSocket || HTTP_FLV_PATH.test(url.pathname)) {
    const [app, channel] = namesOf(webSocket ? WS_FLV_PATH : HTTP_FLV_PATH, url.pathname, "an FLV URL must be /<app>/<stream>.flv");
    return { protocol: webSocket ? "ws-flv" : "http-flv", app, channel, fields: fieldsFor(url.pathname) };
  }
  const hls = classifyRequestPath(url.pathname + url.search);
  if (hls.kind === "bad") throw badUrl(hls.reason);
  if (hls.kind !== "hls") throw badUrl("not a play URL: expected /<app>/<stream>.flv or an HLS file /<app>/<stream>/<file>.m3u8");
  const key = rawQuery === "" ? null : sessionKeyOf(rawQuery);
  return {
    protocol: "hls",
    app: hls.app,
    channel: hls.channel,
    fields: fieldsFor(url.pathname),
    file: hls.file,
    ...(key === null ? {} : { hlsKey: key }),
  };
}

function baseFields(
  peer: NonNullable<ReturnType<typeof parseIpAddress>>,
  input: ExplainInput,
  headers: Readonly<Record<string, string>>,
  url: URL,
  query: string,
  path: string,
  http: boolean,
  trustedProxies?: IpRuleList,
): RequestFields {
  const address = http && trustedProxies !== undefined ? resolveClientAddress(peer, headers["x-forwarded-for"], trustedProxies) : peer;
  const host = (http ? headers["host"] : undefined) ?? url.host;
  return {
    ip: address?.text ?? input.ip,
    address,
    path,
    query,
    params: new URLSearchParams(query),
    userAgent: input.userAgent ?? headers["user-agent"] ?? "",
    host,
    origin: host === "" ? "" : `${url.protocol}//${host}`,
  };
}

function namesOf(pattern: RegExp, pathname: string, expected: string): [string, string] {
  const match = pattern.exec(pathname);
  if (match === null) throw badUrl(expected);
  return [decoded(match[1] ?? ""), decoded(match[2] ?? "")];
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw badUrl("has malformed percent-encoding");
  }
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function badUrl(reason: string): ExplainInputError {
  return new ExplainInputError("VA_API_EXPLAIN_BAD_URL", `url: ${reason}`);
}
