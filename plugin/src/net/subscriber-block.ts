import type { IpAddress } from "./ip-address.js";
import { prefixKey } from "./ip-range.js";

/**
 * The address block one subscriber holds, as text: an IPv4 address as is, an IPv6 address by its /64
 * (providers hand each customer at least a /64, so counting single IPv6 addresses would let one
 * client rotate through billions of them). Failures are counted and bans kept per block.
 */
export function subscriberBlockOf(address: IpAddress | null, fallback: string): string {
  if (address === null) return fallback;
  if (address.family === 4) return address.text;
  const block = (prefixKey(address, 64) as bigint).toString(16).padStart(16, "0");
  return `${block
    .match(/.{4}/g)!
    .map((w) => w.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
