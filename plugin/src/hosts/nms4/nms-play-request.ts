import { stringify } from "node:querystring";
import type BaseSession from "node-media-server/src/session/base_session.js";
import type { AuthRequest, Protocol } from "../../core/auth-request.js";
import { parseNmsSessionAddress } from "../../net/ip-address.js";
import { tcpEndpointsOf } from "../../net/process-proof.js";
import type { IpRuleList } from "../../net/ip-rule-list.js";
import { httpRequestFields, rtmpHostAndOrigin } from "../../gate/http-request-fields.js";

/** Builds the chain's request value from an NMS play session (RTMP, HTTP-FLV or WS-FLV). */
export function playRequestOf(session: BaseSession, protocol: Protocol, sessionId: string, trustedProxies: IpRuleList): AuthRequest {
  const common = { sessionId, protocol, app: session.streamApp, channel: session.streamName, purpose: "new" as const, requestNumber: 1 };
  if (protocol === "rtmp") {
    const peer = parseNmsSessionAddress(session.ip);
    // NMS keeps only the parsed play query for RTMP; re-encoding it keeps key order.
    const query = stringify(session.streamQuery as Record<string, string | string[]>);
    const connect = session.rtmp?.connectCmdObj;
    const { host, origin } = rtmpHostAndOrigin(connect?.tcUrl);
    const connection = tcpEndpointsOf(session.socket);
    return {
      ...common,
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
  return { ...common, ...httpRequestFields(req, rawUrl, trustedProxies, protocol === "ws-flv") };
}
