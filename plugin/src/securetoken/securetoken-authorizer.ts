import type { Clock } from "../core/clock.js";
import type { SecureTokenConfig } from "./securetoken-schema.js";
import { SECURETOKEN_FORMAT_BY_NAME } from "./securetoken-formats.js";
import { checkSignedLink, HASH_MISMATCH } from "./signed-link-check.js";
import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { BruteForceThrottle } from "../brute-force/brute-force-throttle.js";
import { allow, deny, PASS, type StepVerdict } from "../core/decision.js";

/** The deny reason of a token whose hash matches no secret. */
export const FORGED_REASON = "securetoken does not match: forged, or made for another path, address or secret";

/** The deny reason of a link that looks like the format but is not a spelling our generator writes (or claims an impossible lifetime). */
export const MALFORMED_LINK_REASON = "securetoken is not in its canonical form or claims an impossible lifetime: forged";

/**
 * The securetoken step (docs/protocols.md §1 step 4, §4): temporary signed links in the configured format.
 *
 * - No parameter, or a value that does not look like the format at all: pass (it may be a middleware token).
 * - Looks like the format but is not its one canonical spelling (upper-case hex, leading zeros, signs,
 *   spaces, swapped fields), or its times are impossible for a link we made (`end < start`, a lifetime
 *   over `maxLifetimeSec`): deny, counted as a failed attempt. Digits moved across a field boundary keep
 *   the hash; these rules are what refuses such re-readings.
 * - The hash matches none of the secrets: deny, counted as a failed attempt.
 * - Authentic but outside `start - clockSkewSec ≤ now ≤ end + clockSkewSec` (nms: `exp` more than
 *   `maxLifetimeSec + clockSkewSec` ahead): deny (not counted).
 * - Otherwise allow, until the link's end (`validUntilMs`: end + `clockSkewSec`, the last moment it
 *   admits a viewer), when the session is closed as `expired`. Re-checks of a playing session verify the
 *   shape and hash again but not the window; the end they report is the same. With `maxUses`, the allow
 *   carries the bound (`uses`): the admission counts a use for each session that plays and refuses the
 *   link (`link-used-up`) once they are spent.
 *
 * Hashes are compared in constant time against every secret (rotation: old and new both valid).
 * `settings` may be a function, read on every request, so a configuration reload (new secrets, another
 * format) takes effect at once.
 */
export function createSecureTokenAuthorizer(
  settings: SecureTokenConfig | (() => SecureTokenConfig),
  clock: Clock,
  throttle: BruteForceThrottle | undefined,
): Authorizer {
  const current = typeof settings === "function" ? settings : () => settings;
  return {
    name: "securetoken",
    decide: function securetoken(request: AuthRequest): StepVerdict {
      const config = current();
      const format = SECURETOKEN_FORMAT_BY_NAME[config.format];
      const bindIp = config.bindIp && format.hashesIp;
      const value = request.params.get(format.param);
      if (value === null || format.identify(value) === null) return PASS;
      const banned = throttle?.refusal(request);
      if (banned !== undefined) return banned;
      const subject = { path: request.path, app: request.app, channel: request.channel, ip: bindIp ? request.ip : "" };
      const check = checkSignedLink(format, value, subject, config, request.purpose === "new" ? clock.now() / 1000 : undefined);
      switch (check.outcome) {
        case "forged": {
          const reason = check.detail === HASH_MISMATCH ? FORGED_REASON : MALFORMED_LINK_REASON;
          return throttle === undefined ? deny(reason) : throttle.fail(request, reason);
        }
        case "not-yet-valid":
          return deny(`securetoken not valid before ${isoOf(check.startSec)}`);
        case "expired":
          return deny(`securetoken expired at ${isoOf(check.token.endSec)}`);
        case "too-far-ahead":
          return deny(`securetoken expiry ${isoOf(check.token.endSec)} lies further ahead than maxLifetimeSec allows`);
        case "valid": {
          // The end as this server honours it (the skew admits a link that far past its end): the session is cut then.
          const untilMs = (check.token.endSec + config.clockSkewSec) * 1000;
          return allow(`securetoken (${format.name}) valid until ${isoOf(check.token.endSec)}`, undefined, undefined, {
            validUntilMs: untilMs,
            uses: config.maxUses > 0 ? { param: format.param, max: config.maxUses, untilMs } : undefined,
          });
        }
      }
    },
  };
}

function isoOf(unixSec: number): string {
  const date = new Date(unixSec * 1000);
  return Number.isNaN(date.getTime()) ? String(unixSec) : date.toISOString();
}
