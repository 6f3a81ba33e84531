import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { deny, PASS, type StepVerdict } from "../core/decision.js";
import type { IpRuleList } from "../net/ip-rule-list.js";

/**
 * The deny list: addresses that never get in, whatever their credentials. It also denies a viewer
 * whose address cannot be parsed, since no rule could then be applied to it. `rules` is read on every
 * request, so a configuration reload takes effect at once.
 */
export function createIpDenyAuthorizer(rules: () => IpRuleList): Authorizer {
  return {
    name: "ip-deny",
    decide: function ipDeny(request: AuthRequest): StepVerdict {
      if (request.address === null) return deny(`unparseable viewer address ${JSON.stringify(request.ip)}`);
      const range = rules().match(request.address);
      return range === undefined ? PASS : deny(`address on deny list (${range.text})`);
    },
  };
}
