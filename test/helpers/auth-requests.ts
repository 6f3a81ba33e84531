import type { AuthRequest, Protocol } from "../../plugin/src/index.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";

/** A chain request as a gate would build it, for steps tested without a server. */
export function authRequest(
  fields: {
    query?: string;
    ip?: string;
    app?: string;
    channel?: string;
    path?: string;
    protocol?: Protocol;
    purpose?: "new" | "recheck";
  } = {},
): AuthRequest {
  const ip = fields.ip ?? "127.0.0.1";
  const app = fields.app ?? "live";
  const channel = fields.channel ?? "test";
  const query = fields.query ?? "";
  return {
    action: "play",
    sessionId: "test-session",
    protocol: fields.protocol ?? "http-flv",
    ip,
    address: parseIpAddress(ip),
    app,
    channel,
    path: fields.path ?? `/${app}/${channel}.flv`,
    query,
    params: new URLSearchParams(query),
    userAgent: "",
    host: "",
    origin: "",
    purpose: fields.purpose ?? "new",
    requestNumber: fields.purpose === "recheck" ? 2 : 1,
  };
}
