import { timingSafeEqual } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { SecureTokenConfig } from "../config/securetoken-schema.js";
import { SECURETOKEN_FORMAT_BY_NAME } from "../securetoken/securetoken-formats.js";
import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { BruteForceThrottle } from "./brute-force-throttle.js";
import { allow, deny, PASS, type StepVerdict } from "../core/decision.js";

/** The deny reason of a token whose hash matches no secret. */
export const FORGED_REASON = "securetoken does not match: forged, or made for another path, address or secret";

/**
 * The securetoken step (docs/protocols.md §1 step 4, §4): temporary signed links in the configured format.
 *
 * - No parameter, or a value without the format's shape: pass (it may be a middleware token).
 * - The shape, but the hash matches none of the secrets: deny, counted as a failed attempt.
 * - Authentic but outside `start - clockSkewSec ≤ now ≤ end + clockSkewSec`: deny (not counted).
 * - Otherwise allow. A link admits a session: re-checks of a playing session verify the hash again
 *   but not the time window, so a viewer is not cut off when the link they started with runs out.
 *
 * Hashes are compared in constant time against every secret (rotation: old and new both valid).
 * `settings` may be a function, read on every request, so a configuration reload (new secrets, another
 * format) takes effect at once.
 */
export function createSecureTokenAuthorizer(settings: SecureTokenConfig | (() => SecureTokenConfig), clock: Clock, throttle: BruteForceThrottle | undefined): Authorizer {
  const current = typeof settings === "function" ? settings : () => settings;
  return {
    name: "securetoken",
    decide: function securetoken(request: AuthRequest): StepVerdict {
      const config = current();
      const format = SECURETOKEN_FORMAT_BY_NAME[config.format];
      const bindIp = config.bindIp && format.hashesIp;
      const skewSec = config.clockSkewSec;
      const value = request.params.get(format.param);
      if (value === null) return PASS;
      const token = format.parse(value);
      if (token === null) return PASS;
      const banned = throttle?.refusal(request);
      if (banned !== undefined) return banned;
      const subject = { path: request.path, app: request.app, channel: request.channel, ip: bindIp ? request.ip : "" };
      const given = Buffer.from(token.hash, "hex");
      let matched = false;
      for (const secret of config.secrets) {
        // No early exit: the time taken does not depend on which secret matched.
        if (timingSafeEqual(Buffer.from(format.digest(token, subject, secret), "hex"), given)) matched = true;
      }
      if (!matched) return throttle === undefined ? deny(FORGED_REASON) : throttle.fail(request, FORGED_REASON);
      if (request.purpose === "new") {
        const nowSec = clock.now() / 1000;
        if (token.startSec !== undefined && nowSec + skewSec < token.startSec) return deny(`securetoken not valid before ${isoOf(token.startSec)}`);
        if (nowSec - skewSec > token.endSec) return deny(`securetoken expired at ${isoOf(token.endSec)}`);
      }
      return allow(`securetoken (${format.name}) valid until ${isoOf(token.endSec)}`);
    },
  };
}

function isoOf(unixSec: number): string {
  const date = new Date(unixSec * 1000);
  return Number.isNaN(date.getTime()) ? String(unixSec) : date.toISOString();
}
