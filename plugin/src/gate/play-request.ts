import type { AuthRequest } from "../core/auth-request.js";
import type { ConnectionPort } from "./connection-port.js";

/**
 * The chain's request for a new viewer: the port's decoded fields plus what the pipeline adds. One
 * function for the admission pipeline and for an explain, so an explained URL is asked exactly what
 * the same play would be asked.
 */
export function playRequestOf(port: Pick<ConnectionPort, "protocol" | "app" | "channel" | "fields">, sessionId: string): AuthRequest {
  return {
    ...port.fields,
    action: "play",
    sessionId,
    protocol: port.protocol,
    app: port.app,
    channel: port.channel,
    purpose: "new",
    requestNumber: 1,
  };
}
