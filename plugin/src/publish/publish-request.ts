import type { AuthRequest } from "../core/auth-request.js";
import { parseIpAddress } from "../net/ip-address.js";
import type { PublishAttempt } from "./publish-decision.js";

/**
 * The `AuthRequest` of a publish (`action: "publish"`), built once from the host's report before any
 * step runs: the address parsed once (already resolved behind trusted proxies by the host), the query's
 * own parameters (never one inherited from Object.prototype), the stream path `/<app>/<stream>` a
 * publish link signs whatever the protocol. A publish is a `new` request (docs on `AuthRequest`); it has
 * no viewer session, user agent, host or origin.
 *
 * An attempt that does not say how it came (only a caller outside a host leaves it out) is taken as
 * RTMP without its TCP ports; the ports are kept for an RTMP publisher only, so the `internal` step's
 * proof applies to exactly the publishers it did before.
 */
export function publishRequestOf(attempt: PublishAttempt): AuthRequest {
  const address = parseIpAddress(attempt.ip);
  const params = new URLSearchParams(Object.entries(attempt.query));
  const protocol =
    attempt.protocol === undefined || attempt.protocol === "rtmp" ? "rtmp" : attempt.protocol === "flv" ? "http-flv" : "ws-flv";
  return {
    action: "publish",
    sessionId: "",
    protocol,
    ip: address === null ? attempt.ip : address.text,
    address,
    app: attempt.app,
    channel: attempt.channel,
    path: `/${attempt.app}/${attempt.channel}`,
    query: params.toString(),
    params,
    userAgent: "",
    host: "",
    origin: "",
    ...(attempt.protocol === "rtmp" && attempt.connection !== undefined ? { connection: attempt.connection } : {}),
    ...(attempt.live === true ? { live: true } : {}),
    purpose: "new",
    requestNumber: 1,
  };
}
