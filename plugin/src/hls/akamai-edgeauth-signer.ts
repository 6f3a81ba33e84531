import { createHmac } from "node:crypto";
import type { EdgeLinkContext, EdgeSigner } from "./edge-signer.js";

/** What an Akamai token covers: the channel's folder (one token per playlist) or each segment's path. */
export type AkamaiTokenScope = "acl" | "url";

/** The Akamai signer's settings (`hls.edge`). */
export interface AkamaiSignerOptions {
  /** The key as hex (`hls.edge.secret`, or `hls.edge.transitionSecret` while a key rotation is under way). */
  readonly keyHex: string;
  readonly scope: AkamaiTokenScope;
  /** Whether the token carries its start (`st`, now). */
  readonly startTime: boolean;
}

/** The query parameter Akamai reads the token from by default. */
const TOKEN_NAME = "__token__";

/**
 * Akamai Edge Authorization Token 2.0 (format `akamai-edgeauth`): `~`-separated fields
 * `[ip=<address>~][st=<start>~]exp=<expiry>~acl=<folder>/*~hmac=<hex HMAC-SHA256>`, or with scope `url`
 * `…exp=<expiry>~hmac=…` where `url=<path>` is signed but not sent. The HMAC's key is the hex key
 * decoded; the signed text is the fields before `hmac` joined with `~`. Byte for byte what Akamai's own
 * `akamai-edgeauth` library makes for the same inputs (no early escaping, no salt; the tests compare).
 */
export class AkamaiEdgeAuthSigner implements EdgeSigner {
  readonly #key: Buffer;
  readonly #scope: AkamaiTokenScope;
  readonly #startTime: boolean;

  constructor(options: AkamaiSignerOptions) {
    this.#key = Buffer.from(options.keyHex, "hex");
    this.#scope = options.scope;
    this.#startTime = options.startTime;
  }

  prepare(context: EdgeLinkContext): (url: string, path: string) => string {
    const fields: string[] = [];
    if (context.address !== null) fields.push(`ip=${context.address}`);
    if (this.#startTime) fields.push(`st=${context.nowSec}`);
    fields.push(`exp=${context.expiresSec}`);
    if (this.#scope === "acl") {
      fields.push(`acl=${context.dirPath}*`);
      const token = this.#token(fields, fields);
      return () => `${TOKEN_NAME}=${token}`;
    }
    return (_url, path) => `${TOKEN_NAME}=${this.#token(fields, [...fields, `url=${path}`])}`;
  }

  /** The token: `sent` fields then the HMAC of the `signed` ones. */
  #token(sent: readonly string[], signed: readonly string[]): string {
    const hmac = createHmac("sha256", this.#key).update(signed.join("~")).digest("hex");
    return `${sent.join("~")}~hmac=${hmac}`;
  }
}
