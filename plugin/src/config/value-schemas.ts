import { z } from "zod";
import { parseIpRange, type IpRange } from "../net/ip-range.js";

/**
 * One schema per value type, each the only parser of that type, so a value reads alike under every key.
 * Values are compiled here, so a bad rule fails at load with its key path instead of on the first viewer.
 */

/**
 * A string compiled by `parse`, which returns the value or a message saying what is wrong; the message
 * becomes the issue at the value's key path.
 */
export function parsedStringSchema<T>(parse: (text: string) => T | string) {
  return z.string().transform((text, ctx): T => {
    const parsed = parse(text);
    if (typeof parsed === "string") {
      ctx.issues.push({ code: "custom", message: parsed, input: text });
      return z.NEVER;
    }
    return parsed;
  });
}

/** An IPv4/IPv6 address or CIDR block, compiled to an IpRange. */
const ipRangeSchema = parsedStringSchema<IpRange>(parseIpRange);

/** A list of addresses and CIDR blocks. */
export const ipRangeListSchema = z.array(ipRangeSchema);

/** A whole number of milliseconds, at least `min`. */
export function millisecondsSchema(min = 0) {
  return z.number().int(`must be a whole number of milliseconds`).min(min, `must be at least ${min} ms`);
}

/** A whole number of seconds, at least `min`. */
export function secondsSchema(min = 0) {
  return z.number().int(`must be a whole number of seconds`).min(min, `must be at least ${min} s`);
}

/** A TCP port; 0 lets the OS pick one. */
export const portSchema = z.number().int("must be a whole number").min(0, "must be 0..65535").max(65535, "must be 0..65535");

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An ISO 8601 date-time with an explicit zone (`2027-01-31T23:59:59Z`, `…+03:00`), compiled to
 * milliseconds since the epoch. A zone-less time is refused: whose midnight would it be?
 */
export const dateTimeSchema = z.string().transform((text, ctx): number => {
  const ms = ISO_DATE_TIME.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    ctx.issues.push({ code: "custom", message: "is not an ISO 8601 date-time with a zone (e.g. 2027-01-31T23:59:59Z)", input: text });
    return z.NEVER;
  }
  return ms;
});

/** An absolute http:// or https:// URL without a fragment, kept as text; anything else is an error at load. */
export const httpUrlSchema = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hash === "";
  } catch {
    return false;
  }
}, "must be an absolute http:// or https:// URL without a #fragment");
