import type { Clock } from "../core/clock.js";
import type { IpAddress } from "../net/ip-address.js";
import type { EdgeSigner } from "./edge-signer.js";
import { edgeSignerOf } from "./edge-signers.js";
import type { HlsEdgeConfig } from "./hls-schema.js";

/** Signs one segment file of a channel: its absolute URL on the edge. */
export type EdgeUrlOf = (file: string) => string;

/**
 * EdgeLinks writes a media playlist's segment URIs as absolute URLs on the edge, signed in the
 * configured CDN token format (`hls.edge.format`, one `EdgeSigner` per format: nginx `secure_link_md5`,
 * Akamai EdgeAuth 2.0, CloudFront canned policy): `<baseUrl>/<app>/<channel>/<file>?<signature>`. Every
 * link of one playlist response expires `expiresSeconds` from now and (with `bindIp`) names the
 * viewer's address as the gate saw it, so a link moved to another file, fetched from elsewhere or used
 * late is refused by the edge.
 */
export class EdgeLinks {
  readonly #origin: string;
  readonly #basePath: string;
  readonly #expiresSeconds: number;
  readonly #bindIp: boolean;
  readonly #clock: Clock;
  readonly #signer: EdgeSigner;

  constructor(config: HlsEdgeConfig, clock: Clock) {
    const base = new URL(config.baseUrl);
    this.#origin = base.origin;
    this.#basePath = base.pathname.replace(/\/+$/, "");
    this.#expiresSeconds = config.expiresSeconds;
    this.#bindIp = config.bindIp;
    this.#clock = clock;
    this.#signer = edgeSignerOf(config);
  }

  /**
   * The signer for one playlist response: one expiry for all its links, bound to `address` (the
   * requester's). Null when the links must carry an address and there is none: nothing is signed
   * unbound by accident.
   */
  forViewer(app: string, channel: string, address: IpAddress | null): EdgeUrlOf | null {
    if (this.#bindIp && address === null) return null;
    const nowSec = Math.floor(this.#clock.now() / 1000);
    const dirPath = `${this.#basePath}/${app}/${channel}/`;
    const sign = this.#signer.prepare({
      nowSec,
      expiresSec: nowSec + this.#expiresSeconds,
      address: this.#bindIp ? address!.text : null,
      dirPath,
    });
    return (file) => {
      const path = dirPath + file;
      const url = this.#origin + path;
      return `${url}?${sign(url, path)}`;
    };
  }
}
