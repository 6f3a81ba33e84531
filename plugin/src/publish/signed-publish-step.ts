import type { Clock } from "../core/clock.js";
import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { PASS, type StepVerdict } from "../core/decision.js";
import type { PublishConfig } from "./publish-schema.js";
import { SECURETOKEN_FORMAT_BY_NAME } from "../securetoken/securetoken-formats.js";
import { checkSignedLink, HASH_MISMATCH } from "../securetoken/signed-link-check.js";
import { publishAllow, publishDeny, type PublishStepName } from "./publish-decision.js";

/**
 * A publish link signed with one of `publish.securetoken.secrets`, bound to `/<app>/<stream>` (and to
 * the publisher's address with `bindIp`), in its one canonical spelling, with a lifetime of at most
 * `maxLifetimeSec`, inside its validity window: allowed. A value that looks like the format in any
 * other spelling is refused as forged, one that does not look like it as malformed, one outside its
 * window as expired or not yet valid. No signature (or signatures off): pass, and the chain's default
 * refuses (`not-allowed`). Hashes are compared in constant time (securetoken/signed-link-check.ts).
 */
export class SignedPublishStep implements Authorizer<PublishStepName> {
  readonly name = "signed";
  readonly #settings: PublishConfig["securetoken"];
  readonly #clock: Clock;

  constructor(settings: PublishConfig["securetoken"], clock: Clock) {
    this.#settings = settings;
    this.#clock = clock;
  }

  decide(request: AuthRequest): StepVerdict {
    const settings = this.#settings;
    const format = SECURETOKEN_FORMAT_BY_NAME[settings.format];
    const value = request.params.get(format.param);
    if (settings.secrets.length === 0 || value === null) return PASS;
    if (format.identify(value) === null) return publishDeny("signature-malformed", `publish signature is not in the ${format.name} format`);
    // A publish link names the stream, whatever the protocol: RTMP `/app/stream`, FLV `/app/stream.flv`.
    const subject = {
      path: `/${request.app}/${request.channel}`,
      app: request.app,
      channel: request.channel,
      ip: settings.bindIp && format.hashesIp ? request.ip : "",
    };
    const check = checkSignedLink(format, value, subject, settings, this.#clock.now() / 1000);
    switch (check.outcome) {
      case "forged":
        return check.detail === HASH_MISMATCH
          ? publishDeny("signature-forged", "publish signature does not match: forged, or made for another stream, address or secret")
          : publishDeny("signature-forged", `publish signature refused as forged: ${check.detail}`);
      case "not-yet-valid":
        return publishDeny("signature-not-yet-valid", `publish signature not valid before ${isoOf(check.startSec)}`);
      case "expired":
        return publishDeny("signature-expired", `publish signature expired at ${isoOf(check.token.endSec)}`);
      case "too-far-ahead":
        return publishDeny(
          "signature-forged",
          `publish signature expiry ${isoOf(check.token.endSec)} lies further ahead than maxLifetimeSec allows`,
        );
      case "valid":
        return publishAllow("signed", `publish signature (${format.name}) valid until ${isoOf(check.token.endSec)}`);
    }
  }
}

function isoOf(unixSec: number): string {
  const date = new Date(unixSec * 1000);
  return Number.isNaN(date.getTime()) ? String(unixSec) : date.toISOString();
}
