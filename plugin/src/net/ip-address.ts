import ipaddr from "ipaddr.js";

/**
 * IpAddress is a parsed IPv4 or IPv6 address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is unmapped to
 * IPv4 at parse time, so one rule list matches a viewer however the socket reported it. The value is
 * kept as a number (IPv4) or bigint (IPv6) so that large rule lists can be indexed by prefix.
 */
export type IpAddress =
  | { readonly family: 4; readonly value: number; readonly text: string }
  | { readonly family: 6; readonly value: bigint; readonly text: string };

/**
 * Parses a bare IPv4 or IPv6 address (brackets and an IPv6 zone such as `%eth0` are dropped); null
 * when it is not one. Parsing is ipaddr.js's; IPv4 must be four plain decimal parts (no `01.2.3.4`,
 * no `1.2.3` shorthand), as a socket or an operator writes it.
 */
export function parseIpAddress(input: string): IpAddress | null {
  const dotted = DOTTED_QUAD.exec(input);
  if (dotted !== null) {
    // Fast path for the common case (every play and HLS request parses its peer): a canonical dotted quad
    // is the address ipaddr.js would parse, with the same octets and text; anything else goes to it below.
    const [a, b, c, d] = [Number(dotted[1]), Number(dotted[2]), Number(dotted[3]), Number(dotted[4])];
    if (a <= 255 && b <= 255 && c <= 255 && d <= 255)
      return { family: 4, value: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0, text: input };
  }
  let text = input;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipv4(ipaddr.IPv4.parse(text));
  if (!ipaddr.IPv6.isValid(text)) return null;
  const v6 = ipaddr.IPv6.parse(text);
  if (v6.isIPv4MappedAddress()) return ipv4(v6.toIPv4Address());
  let value = 0n;
  for (const part of v6.parts) value = (value << 16n) | BigInt(part);
  // Without the zone: rules and bindings compare addresses, not interfaces.
  v6.zoneId = undefined;
  return { family: 6, value, text: v6.toRFC5952String() };
}

/** Four decimal octets without leading zeros (ipaddr.js's four-part decimal form, canonical). */
const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/**
 * Parses NMS's session address, which is `remoteAddress + ":" + remotePort` with IPv6 unbracketed
 * (`::ffff:127.0.0.1:38222`, `::1:41954`): the last `:port` is always NMS's own suffix.
 */
export function parseNmsSessionAddress(input: string): IpAddress | null {
  const match = /^(.*):\d+$/.exec(input);
  return match === null ? null : parseIpAddress(match[1] ?? "");
}

function ipv4(address: ipaddr.IPv4): IpAddress {
  const [a = 0, b = 0, c = 0, d = 0] = address.octets;
  return { family: 4, value: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0, text: address.toString() };
}

/** True when the address is on the loopback network (127.0.0.0/8 or ::1). */
export function isLoopback(address: IpAddress): boolean {
  return address.family === 4 ? address.value >>> 24 === 127 : address.value === 1n;
}
