import { createHash } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { HlsEdgeConfig } from "./hls-schema.js";
import type { IpAddress } from "../net/ip-address.js";

/** Signs one segment file of a channel: its absolute URL on the edge. */
export type EdgeUrlOf = (file: string) => string;

/**
 * EdgeLinks signs segment URLs for an nginx edge with `secure_link` in its documented MD5 form
 * (format `nginx-secure-link-md5`):
 *
 *   <baseUrl>/<app>/<channel>/<file>?md5=<base64url(md5("<expires><uri><address> <secret>"))>&expires=<expires>
 *
 * `<uri>` is the path nginx sees (`$uri`: the base URL's path, then `/<app>/<channel>/<file>`), `<expires>`
 * Unix seconds, `<address>` the viewer's address as the gate saw it (`$remote_addr`; empty with `bindIp: false`,
 * and then the expression has no address). So a link stops working after `expiresSeconds`, and signs one
 * path for one address: nginx's `secure_link_md5 "$secure_link_expires$uri$remote_addr <secret>"` refuses
 * it moved to another file or fetched from elsewhere. samples/nginx-edge.conf is the matching edge.
 */
export class EdgeLinks {
  readonly #origin: string;
  readonly #basePath: string;
  readonly #secret: string;
  readonly #expiresSeconds: number;
  readonly #bindIp: boolean;
  readonly #clock: Clock;

  constructor(config: HlsEdgeConfig, clock: Clock) {
    const base = new URL(config.baseUrl);
    this.#origin = base.origin;
    this.#basePath = base.pathname.replace(/\/+$/, "");
    this.#secret = config.secret;
    this.#expiresSeconds = config.expiresSeconds;
    this.#bindIp = config.bindIp;
    this.#clock = clock;
  }

  /**
   * The signer for one playlist response: one expiry for all its links, bound to `address` (the
   * requester's). Null when the links must carry an address and there is none: nothing is signed
   * unbound by accident.
   */
  forViewer(app: string, channel: string, address: IpAddress | null): EdgeUrlOf | null {
    if (this.#bindIp && address === null) return null;
    const expires = String(Math.floor(this.#clock.now() / 1000) + this.#expiresSeconds);
    const dir = `${this.#basePath}/${app}/${channel}/`;
    const tail = `${this.#bindIp ? address!.text : ""} ${this.#secret}`;
    return (file) => {
      const uri = dir + file;
      const md5 = createHash("md5")
        .update(expires + uri + tail)
        .digest("base64url");
      return `${this.#origin}${uri}?md5=${md5}&expires=${expires}`;
    };
  }
}
