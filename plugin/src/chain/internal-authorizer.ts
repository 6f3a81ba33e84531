import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { allow, deny, PASS, type StepVerdict } from "../core/decision.js";
import { isLoopback } from "../net/ip-address.js";
import { secretsEqual } from "../core/secrets.js";

/**
 * The query parameter that carries the bundled server's internal secret. `va_` is the plugin's short
 * prefix ("viewer auth", from nms-viewer-auth), the same one its metric names and `VA_ERR_` codes carry:
 * a namespace no viewer, backend or other exporter uses, kept to two letters as it rides on URLs.
 */
export const INTERNAL_SECRET_PARAM = "va_internal";

/**
 * Lets the server's own processes (its ffmpeg transcoders) through: they present a secret made at
 * start-up, and only from loopback. The same secret from any other address is denied, since it can
 * only have leaked.
 */
export function createInternalAuthorizer(secret: string): Authorizer {
  return {
    name: "internal",
    decide: function internal(request: AuthRequest): StepVerdict {
      const given = request.params.get(INTERNAL_SECRET_PARAM);
      if (given === null) return PASS;
      if (request.address === null || !isLoopback(request.address)) return deny("internal secret presented from a non-loopback address");
      return secretsEqual(given, secret) ? allow("internal transcoder") : deny("wrong internal secret");
    },
  };
}
