import type { Logger } from "../core/log.js";
import { rangesOverlap, type IpRange } from "../net/ip-range.js";

/** The `auth.trustedProxies` entries that share an address with `publish.allowIps`. */
export function trustedProxiesAllowedToPublish(config: {
  readonly auth: { readonly trustedProxies: readonly IpRange[] };
  readonly publish: { readonly allowIps: readonly IpRange[] };
}): { proxy: string; allowIps: string }[] {
  return config.auth.trustedProxies.flatMap((proxy) =>
    config.publish.allowIps
      .filter((allowed) => rangesOverlap(proxy, allowed))
      .map((allowed) => ({ proxy: proxy.text, allowIps: allowed.text })),
  );
}

/**
 * Warns, once per call (at build and at each reload), when a trusted proxy's address may publish. HTTP-FLV
 * and WS-FLV publishes it relays are judged by the address it reports in X-Forwarded-For, but a
 * connection that carries no such header (RTMP through a TCP/stream proxy on that address, or any
 * other relay there) arrives from an address `publish.allowIps` lets in: every publisher behind it
 * would publish as the machine itself. Returns true when it warned.
 */
export function warnTrustedProxyMayPublish(config: Parameters<typeof trustedProxiesAllowedToPublish>[0], log: Logger): boolean {
  const overlaps = trustedProxiesAllowedToPublish(config);
  if (overlaps.length === 0) return false;
  log.warn(
    { event: "publish.trusted_proxy_allowed", overlaps },
    `auth.trustedProxies and publish.allowIps share addresses (${overlaps.map((o) => `${o.proxy} ~ ${o.allowIps}`).join(", ")}): ` +
      "HTTP-FLV/WS-FLV publishes through that proxy are judged by its X-Forwarded-For, but anything it relays without that header " +
      "(an RTMP/TCP proxy on the same address) publishes as an allowed address; take the proxy's address off publish.allowIps and use publish links",
  );
  return true;
}
