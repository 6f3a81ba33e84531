/** What one playlist response's links are signed with: the same expiry and viewer address for all of them. */
export interface EdgeLinkContext {
  /** Unix seconds now (the clock's). */
  readonly nowSec: number;
  /** Unix seconds after which the links stop working. */
  readonly expiresSec: number;
  /** The viewer's address as the gate saw it; null when the links are not bound to one (`bindIp: false`). */
  readonly address: string | null;
  /** The channel's folder on the edge, with the base URL's path: `/hls/live/news/`. */
  readonly dirPath: string;
}

/**
 * One CDN token format (`hls.edge.format`): the query string that makes a segment URL work on that edge.
 * `prepare` runs once per playlist response (a format signing the folder, like Akamai's ACL token, signs
 * there), the function it returns once per segment.
 */
export interface EdgeSigner {
  prepare(context: EdgeLinkContext): (url: string, path: string) => string;
}
