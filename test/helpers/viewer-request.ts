import type { AuthRequest } from "../../plugin/src/core/auth-request.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";

let counter = 0;

/** A complete AuthRequest as the play gate would build it, with a fresh session id; override any field. */
export function authRequest(overrides: Partial<AuthRequest> = {}): AuthRequest {
  const query = overrides.query ?? "token=123";
  const ip = overrides.ip ?? "203.0.113.7";
  return {
    action: "play",
    sessionId: `session-${++counter}`,
    protocol: "http-flv",
    ip,
    address: parseIpAddress(ip),
    app: "live",
    channel: "a001",
    path: "/live/a001.flv",
    query,
    params: new URLSearchParams(query),
    userAgent: "VLC/3.0.20 LibVLC/3.0.20",
    host: "live.example.com:8443",
    origin: "https://live.example.com:8443",
    purpose: "new",
    requestNumber: 1,
    ...overrides,
  };
}
