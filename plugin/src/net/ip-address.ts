/**
 * IpAddress is a parsed IPv4 or IPv6 address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is unmapped to
 * IPv4 at parse time, so one rule list matches a viewer however the socket reported it.
 */
export type IpAddress =
  | { readonly family: 4; readonly value: number; readonly text: string }
  | { readonly family: 6; readonly value: bigint; readonly text: string };

const IPV4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses a bare IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is dropped); null when it is not one. */
export function parseIpAddress(input: string): IpAddress | null {
  let text = input.trim();
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  if (text.includes(":")) return parseIpv6(text);
  const v4 = parseIpv4(text);
  return v4 === null ? null : ipv4(v4);
}

/**
 * Parses NMS's session address, which is `remoteAddress + ":" + remotePort` with IPv6 unbracketed
 * (`::ffff:127.0.0.1:38222`, `::1:41954`): the last `:port` is always NMS's own suffix.
 */
export function parseNmsSessionAddress(input: string): IpAddress | null {
  const match = /^(.*):\d+$/.exec(input);
  return match === null ? null : parseIpAddress(match[1] ?? "");
}

function ipv4(value: number): IpAddress {
  return { family: 4, value, text: formatIpv4(value) };
}

function parseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

function parseIpv6(text: string): IpAddress | null {
  let head = text;
  let tailWords: number[] = [];
  const lastColon = text.lastIndexOf(":");
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    const v4 = parseIpv4(maybeV4);
    if (v4 === null) return null;
    tailWords = [v4 >>> 16, v4 & 0xffff];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const words = expandGroups(head, 8 - tailWords.length);
  if (words === null) return null;
  let value = 0n;
  for (const word of [...words, ...tailWords]) value = (value << 16n) | BigInt(word);
  if (value >> 32n === 0xffffn) return ipv4(Number(value & 0xffffffffn));
  return { family: 6, value, text: formatIpv6(value) };
}

/** Expands `a:b::c` into exactly `count` 16-bit words, or null when malformed. */
function expandGroups(text: string, count: number): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const groups = part.split(":");
    if (!groups.every((g) => HEX_GROUP.test(g))) return null;
    return groups.map((g) => parseInt(g, 16));
  };
  const left = parse(halves[0] ?? "");
  const right = halves.length === 2 ? parse(halves[1] ?? "") : [];
  if (left === null || right === null) return null;
  if (halves.length === 1) return left.length === count ? left : null;
  const zeros = count - left.length - right.length;
  if (zeros < 1) return null;
  return [...left, ...new Array<number>(zeros).fill(0), ...right];
}

function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** RFC 5952 text: lower case, the longest run of zero words (2 or more) shortened to `::`. */
function formatIpv6(value: bigint): string {
  const words: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) words.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** True when the address is on the loopback network (127.0.0.0/8 or ::1). */
export function isLoopback(address: IpAddress): boolean {
  return address.family === 4 ? address.value >>> 24 === 127 : address.value === 1n;
}
