import type { IpRange } from "./ip-range.js";
import { IpRuleList } from "./ip-rule-list.js";

/** The configured address lists, as `auth` holds them. */
export interface AddressLists {
  readonly denyIps: readonly IpRange[];
  readonly allowIps: readonly IpRange[];
  readonly trustedProxies: readonly IpRange[];
}

/**
 * AddressRules holds the deny list, the allow list and the trusted proxies. A configuration reload
 * replaces them at once (each list is swapped whole, so a check sees the old list or the new one,
 * never half of each); the steps and gates read them through this object on every request.
 */
export class AddressRules {
  #deny: IpRuleList;
  #allow: IpRuleList;
  #trustedProxies: IpRuleList;

  constructor(lists: AddressLists) {
    this.#deny = new IpRuleList(lists.denyIps);
    this.#allow = new IpRuleList(lists.allowIps);
    this.#trustedProxies = new IpRuleList(lists.trustedProxies);
  }

  get deny(): IpRuleList {
    return this.#deny;
  }

  get allow(): IpRuleList {
    return this.#allow;
  }

  get trustedProxies(): IpRuleList {
    return this.#trustedProxies;
  }

  /** Puts new lists in force for the next request. */
  replace(lists: AddressLists): void {
    const next = new AddressRules(lists);
    this.#deny = next.deny;
    this.#allow = next.allow;
    this.#trustedProxies = next.trustedProxies;
  }
}
