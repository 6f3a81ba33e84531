import { parseIpAddress, type IpAddress } from "./ip-address.js";

/** IpRange is one address or CIDR block: every address whose first `prefixLength` bits equal the network's. */
export interface IpRange {
  readonly family: 4 | 6;
  readonly prefixLength: number;
  /** The network address as written by the operator, for logs. */
  readonly text: string;
  /** The address shifted right so that only the prefix bits remain. */
  readonly key: number | bigint;
}

/**
 * Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `x::/n`. An IPv4-mapped IPv6 block
 * (`::ffff:10.0.0.0/104`) becomes the IPv4 block it stands for. Returns an error message on failure.
 */
export function parseIpRange(input: string): IpRange | string {
  const [addressText = "", prefixText, extra] = input.trim().split("/");
  if (extra !== undefined) return "is not an IP address or CIDR (more than one '/')";
  const parsed = parseIpAddress(addressText);
  if (parsed === null) return "is not an IP address or CIDR";
  const wasMapped = parsed.family === 4 && addressText.includes(":");
  const maxBits = parsed.family === 4 ? 32 : 128;
  let prefixLength = maxBits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return "has a prefix length that is not a number";
    prefixLength = Number(prefixText) - (wasMapped ? 96 : 0);
    if (prefixLength < 0 || prefixLength > maxBits) {
      return `has a prefix length outside 0..${wasMapped ? 128 : maxBits}`;
    }
  }
  return { family: parsed.family, prefixLength, text: input.trim(), key: prefixKey(parsed, prefixLength) };
}

/** The first `prefixLength` bits of an address, as a number (IPv4) or bigint (IPv6). */
export function prefixKey(address: IpAddress, prefixLength: number): number | bigint {
  if (address.family === 4) return prefixLength === 0 ? 0 : address.value >>> (32 - prefixLength);
  return address.value >> BigInt(128 - prefixLength);
}

/** True when some address is in both ranges (CIDR blocks overlap only when one contains the other). */
export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  return prefixOf(a, shorter) === prefixOf(b, shorter);
}

/** The first `bits` bits of a range's network (`bits` no more than its prefix length). */
function prefixOf(range: IpRange, bits: number): number | bigint {
  const drop = range.prefixLength - bits;
  if (typeof range.key === "number") return drop >= 32 ? 0 : range.key >>> drop;
  return range.key >> BigInt(drop);
}
