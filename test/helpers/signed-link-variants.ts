import { SECURETOKEN_FORMAT_BY_NAME } from "../../plugin/src/securetoken/securetoken-formats.js";
import type { SecureTokenFormatName } from "../../plugin/src/securetoken/securetoken-schema.js";

/** What a variant of a signed link is presented as: the parameter's raw query text and, when a digit moved into it, another subject. */
export interface LinkVariant {
  /** What was done, for a failure message. */
  readonly what: string;
  /** The query string (`token=…` or `sign=…`), already percent-encoded as a client would send it. */
  readonly query: string;
  /** The channel the request names instead of the original (a digit moved onto it). */
  readonly channel?: string;
  /** The request path instead of the original. */
  readonly path?: string;
  /** The viewer's address instead of the original. */
  readonly ip?: string;
  /** True when the variant's fields hash exactly like the original's (a digit moved across a boundary). */
  readonly sameHash: boolean;
}

/** A link as the generator made it, split into its fields. */
export interface MadeLink {
  readonly format: SecureTokenFormatName;
  /** The parameter's value, canonical. */
  readonly value: string;
  readonly channel: string;
  readonly path: string;
  /** The address hashed into the link, "" when unbound. */
  readonly ip: string;
}

const upper = (s: string) => s.replace(/[a-f]/g, (c) => c.toUpperCase());

/**
 * Every other spelling of a signed link that a parser could read as the same fields: upper-case hex,
 * leading zeros, a `+` sign (raw, which a query decodes to a space, and `%2B`), spaces, swapped fields;
 * and every re-reading with a digit moved across a hashed boundary (subject|start when unbound,
 * ip|start when bound, start|end), which keeps the hash. None of them is a link the generator writes.
 */
export function variantsOf(link: MadeLink): LinkVariant[] {
  const format = SECURETOKEN_FORMAT_BY_NAME[link.format];
  const param = format.param;
  const q = (value: string) => `${param}=${encodeURIComponent(value)}`;
  const out: LinkVariant[] = [];
  const add = (what: string, value: string, extra: Partial<LinkVariant> = {}) => {
    if (value !== link.value) out.push({ what, query: q(value), sameHash: false, ...extra });
  };
  if (link.format === "nms") {
    const [exp, hash] = link.value.split("-") as [string, string];
    add("upper-case hex", `${exp}-${upper(hash)}`);
    add("leading zero on exp", `0${exp}-${hash}`);
    add("%2B sign on exp", `+${exp}-${hash}`);
    out.push({ what: "raw + on exp (a space once decoded)", query: `${param}=+${exp}-${hash}`, sameHash: false });
    add("spaces around the dash", `${exp} - ${hash}`);
    add("trailing space", `${exp}-${hash} `);
    add("swapped fields", `${hash}-${exp}`);
    return out;
  }
  const [hash, salt, end, start] = link.value.split("-") as [string, string, string, string];
  add("upper-case hex", `${upper(hash)}-${salt}-${end}-${start}`);
  add("leading zero on end", `${hash}-${salt}-0${end}-${start}`);
  add("leading zero on start", `${hash}-${salt}-${end}-0${start}`);
  add("%2B sign on start", `${hash}-${salt}-${end}-+${start}`);
  out.push({ what: "raw + on end (a space once decoded)", query: `${param}=${hash}-${salt}-+${end}-${start}`, sameHash: false });
  add("spaces around dashes", `${hash} - ${salt} - ${end} - ${start}`);
  add("leading space", ` ${link.value}`);
  add("swapped start and end", `${hash}-${salt}-${start}-${end}`);
  add("swapped hash and salt", `${salt}-${hash}-${end}-${start}`);
  // start|end: the last digit of start becomes end's first, and end's first becomes start's last.
  add("start|end: last digit of start moved to end", `${hash}-${salt}-${start.slice(-1)}${end}-${start.slice(0, -1)}`, { sameHash: true });
  add("start|end: first digit of end moved to start", `${hash}-${salt}-${end.slice(1)}-${start}${end[0]}`, { sameHash: true });
  const shifted = (what: string, startText: string, over: Partial<LinkVariant>) =>
    add(what, `${hash}-${salt}-${end}-${startText}`, { sameHash: true, ...over });
  if (link.ip === "") {
    // The subject is the path (astra) or the channel (flussonic); an RTMP path ends in the channel.
    const last = (link.format === "astra" ? link.path : link.channel).slice(-1);
    shifted("subject|start: first digit of start moved onto the subject", start.slice(1), {
      channel: link.channel + start[0]!,
      path: link.path + start[0]!,
    });
    if (/\d/.test(last))
      shifted("subject|start: last digit of the subject moved onto start", last + start, {
        channel: link.channel.slice(0, -1),
        path: link.path.slice(0, -1),
      });
  } else {
    const last = link.ip.slice(-1);
    shifted("ip|start: first digit of start moved onto the address", start.slice(1), { ip: link.ip + start[0]! });
    if (/\d/.test(last)) shifted("ip|start: last digit of the address moved onto start", last + start, { ip: link.ip.slice(0, -1) });
  }
  return out;
}

/** The fields a variant's value parses to when read loosely (for checking that a moved digit really keeps the hash). */
export function looseFieldsOf(value: string): { hash: string; salt: string; endSec: number; startSec: number; canonicalDigits: boolean } {
  const [hash, salt, end, start] = value.split("-") as [string, string, string, string];
  return {
    hash,
    salt,
    endSec: Number(end),
    startSec: Number(start),
    canonicalDigits: String(Number(end)) === end && String(Number(start)) === start,
  };
}
