import { stringify } from "node:querystring";
import type BaseSession from "node-media-server/src/session/base_session.js";
import type { Protocol } from "../../core/auth-request.js";
import type { RequestFields } from "../../gate/connection-port.js";
import { parseNmsSessionAddress } from "../../net/ip-address.js";
import { tcpEndpointsOf } from "../../net/process-proof.js";
import type { IpRuleList } from "../../net/ip-rule-list.js";
import { httpRequestFields, pageHostOf } from "../../gate/http-request-fields.js";
import { rtmpHostAndOrigin } from "../rtmp-host-and-origin.js";

/**
 * The request fields of an NMS play session (RTMP, HTTP-FLV or WS-FLV), decoded once where the play
 * enters the gate; the admission pipeline makes the chain's `AuthRequest` of them.
 */
export function playFieldsOf(session: BaseSession, protocol: Protocol, trustedProxies: IpRuleList): RequestFields {
  if (protocol === "rtmp") {
    const peer = parseNmsSessionAddress(session.ip);
    // NMS keeps only the parsed play query for RTMP; re-encoding it keeps key order.
    const query = stringify(session.streamQuery as Record<string, string | string[]>);
    const connect = session.rtmp?.connectCmdObj;
    const { host, origin } = rtmpHostAndOrigin(connect?.tcUrl);
    const connection = tcpEndpointsOf(session.socket);
    const pageUrl: unknown = connect?.pageUrl;
    return {
      ...(typeof pageUrl === "string" && pageUrl !== "" ? { pageHost: pageHostOf(pageUrl) } : {}),
      ...(connection === undefined ? {} : { connection }),
      ip: peer?.text ?? session.ip,
      address: peer,
      path: session.streamPath,
      query,
      params: new URLSearchParams(query),
      userAgent: connect?.flashVer ?? "",
      host,
      origin,
    };
  }
  const req = session.req;
  if (req === undefined) throw new Error(`FLV session ${session.id} has no request`);
  const rawUrl = req.originalUrl ?? req.url ?? session.streamPath;
  return httpRequestFields(req, rawUrl, trustedProxies, protocol === "ws-flv");
}
