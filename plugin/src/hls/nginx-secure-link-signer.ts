import { createHash } from "node:crypto";
import type { EdgeLinkContext, EdgeSigner } from "./edge-signer.js";

/**
 * nginx's `secure_link` in its documented MD5 form (format `nginx-secure-link-md5`):
 * `md5=<base64url(md5("<expires><uri><address> <secret>"))>&expires=<expires>`, `<uri>` the path nginx
 * sees (`$uri`), `<address>` empty when the links are not bound. samples/nginx-edge.conf is the matching edge.
 */
export class NginxSecureLinkSigner implements EdgeSigner {
  readonly #secret: string;

  constructor(secret: string) {
    this.#secret = secret;
  }

  prepare(context: EdgeLinkContext): (url: string, path: string) => string {
    const expires = String(context.expiresSec);
    const tail = `${context.address ?? ""} ${this.#secret}`;
    return (_url, path) =>
      `md5=${createHash("md5")
        .update(expires + path + tail)
        .digest("base64url")}&expires=${expires}`;
  }
}
