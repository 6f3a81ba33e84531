import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { PASS, type StepVerdict } from "../core/decision.js";
import { publishDeny, type PublishStepName } from "./publish-decision.js";

/**
 * The publish chain's first step: a name that already has a live publisher is refused, whoever asks and
 * whatever they carry (no take-over, no mixing of two sources in one stream). Hosts that cannot tell
 * leave `live` out; the host refuses a second publisher itself then.
 */
export class ChannelLiveStep implements Authorizer<PublishStepName> {
  readonly name = "channel-live";

  decide(request: AuthRequest): StepVerdict {
    return request.live === true ? publishDeny("channel-live", "the name already has a live publisher") : PASS;
  }
}
