import { createSign, type KeyObject } from "node:crypto";
import type { EdgeLinkContext, EdgeSigner } from "./edge-signer.js";

/**
 * Amazon CloudFront signed URLs with a canned policy (format `cloudfront`):
 * `Expires=<expiry>&Key-Pair-Id=<id>&Signature=<sig>`, `<sig>` the RSA-SHA1 signature of
 * `{"Statement":[{"Resource":"<url>","Condition":{"DateLessThan":{"AWS:EpochTime":<expiry>}}}]}` in
 * base64 with `+=/` written `-_~`. Byte for byte what `@aws-sdk/cloudfront-signer`'s `getSignedUrl`
 * makes for the same URL, expiry and key (the tests compare). A canned policy names one URL and no
 * address: each segment is signed (an RSA signature each), and links are not bound to the viewer.
 */
export class CloudFrontSigner implements EdgeSigner {
  readonly #privateKey: KeyObject;
  readonly #keyPairId: string;

  constructor(privateKey: KeyObject, keyPairId: string) {
    this.#privateKey = privateKey;
    this.#keyPairId = keyPairId;
  }

  prepare(context: EdgeLinkContext): (url: string, path: string) => string {
    const expires = context.expiresSec;
    return (url) => {
      const policy = `{"Statement":[{"Resource":${JSON.stringify(url)},"Condition":{"DateLessThan":{"AWS:EpochTime":${expires}}}}]}`;
      const signature = createSign("RSA-SHA1")
        .update(policy)
        .sign(this.#privateKey, "base64")
        .replace(/[+=/]/g, (c) => SAFE[c]!);
      return `Expires=${expires}&Key-Pair-Id=${encodeURIComponent(this.#keyPairId)}&Signature=${signature}`;
    };
  }
}

/** CloudFront's URL-safe base64 alphabet. */
const SAFE: Record<string, string> = { "+": "-", "=": "_", "/": "~" };
