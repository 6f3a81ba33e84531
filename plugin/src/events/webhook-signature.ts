import { createHmac, timingSafeEqual } from "node:crypto";

/** The header every delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = "VA-Signature";

/** The `VA-Signature` value of `body` sent at `unixSec`, keyed with the webhook's secret. */
export function signatureHeader(secret: string, body: string, unixSec: number): string {
  return `t=${unixSec},v1=${signatureOf(secret, body, unixSec)}`;
}

function signatureOf(secret: string, body: string, unixSec: number): string {
  return createHmac("sha256", secret).update(`${unixSec}.${body}`).digest("hex");
}

/**
 * What a receiver does with a delivery (docs/webhooks.md has the same in ten lines): the signature
 * matches in constant time and `t` is within `maxSkewSec` of `nowSec`, so a captured delivery cannot
 * be replayed later.
 */
export function verifySignature(secret: string, body: string, header: string, nowSec: number, maxSkewSec = 300): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (match === null) return false;
  const unixSec = Number(match[1]);
  if (Math.abs(nowSec - unixSec) > maxSkewSec) return false;
  const expected = Buffer.from(signatureOf(secret, body, unixSec), "hex");
  return timingSafeEqual(expected, Buffer.from(match[2]!, "hex"));
}
