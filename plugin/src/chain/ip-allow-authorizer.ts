import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { allow, PASS, type StepVerdict } from "../core/decision.js";
import type { IpRuleList } from "../net/ip-rule-list.js";

/** The allow list: addresses that get in without credentials. An empty list passes everyone on. `rules` is read per request. */
export function createIpAllowAuthorizer(rules: () => IpRuleList): Authorizer {
  return {
    name: "ip-allow",
    decide: function ipAllow(request: AuthRequest): StepVerdict {
      if (request.address === null) return PASS;
      const range = rules().match(request.address);
      return range === undefined ? PASS : allow(`address on allow list (${range.text})`);
    },
  };
}
