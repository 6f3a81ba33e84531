import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { PASS, type StepVerdict } from "../core/decision.js";
import type { IpRange } from "../net/ip-range.js";
import { IpRuleList } from "../net/ip-rule-list.js";
import { publishAllow, type PublishStepName } from "./publish-decision.js";

/**
 * A publisher from an address on `publish.allowIps` (loopback by default) is let in. Over HTTP-FLV and
 * WS-FLV behind a trusted proxy the address is the one the proxy reports (none: this step passes).
 */
export class AllowedAddressStep implements Authorizer<PublishStepName> {
  readonly name = "allowed-address";
  readonly #allowList: IpRuleList;

  constructor(allowIps: readonly IpRange[]) {
    this.#allowList = new IpRuleList(allowIps);
  }

  decide(request: AuthRequest): StepVerdict {
    const range = request.address === null ? undefined : this.#allowList.match(request.address);
    return range === undefined ? PASS : publishAllow("allowed-address", `address on publish.allowIps (${range.text})`);
  }
}
