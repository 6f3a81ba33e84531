import { parseIpAddress, type IpAddress } from "./ip-address.js";
import type { IpRuleList } from "./ip-rule-list.js";

/**
 * The viewer's address: the socket peer, unless that peer is a configured proxy, in which case
 * X-Forwarded-For is read from the right, skipping further trusted proxies. Anyone else's
 * X-Forwarded-For is ignored: it is just a header the viewer chose. Returns null when the address
 * the proxies vouch for cannot be parsed.
 */
export function resolveClientAddress(
  peer: IpAddress | null,
  forwardedFor: string | string[] | undefined,
  trustedProxies: IpRuleList,
): IpAddress | null {
  if (peer === null || trustedProxies.size === 0 || trustedProxies.match(peer) === undefined) return peer;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor;
  if (header === undefined || header.trim() === "") return peer;
  const hops = header.split(",").map((h) => h.trim()).filter((h) => h !== "");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseIpAddress(hops[i]!);
    if (hop === null) return null;
    if (trustedProxies.match(hop) === undefined) return hop;
  }
  return parseIpAddress(hops[0]!);
}
