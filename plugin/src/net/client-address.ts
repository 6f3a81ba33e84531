import type { IncomingMessage } from "node:http";
import proxyAddr from "proxy-addr";
import { parseIpAddress, type IpAddress } from "./ip-address.js";
import type { IpRuleList } from "./ip-rule-list.js";

/**
 * The viewer's address: the socket peer, unless that peer is a configured proxy, in which case
 * X-Forwarded-For is read from the right, skipping further trusted proxies (proxy-addr's walk). Anyone
 * else's X-Forwarded-For is ignored: it is just a header the viewer chose. Returns null when the
 * address the proxies vouch for cannot be parsed.
 */
export function resolveClientAddress(
  peer: IpAddress | null,
  forwardedFor: string | string[] | undefined,
  trustedProxies: IpRuleList,
): IpAddress | null {
  return resolveBehindProxies(peer, forwardedFor, trustedProxies, peer);
}

/**
 * A publisher's address over HTTP (HTTP-FLV, WS-FLV), resolved like a viewer's: the socket peer, unless
 * that peer is a configured proxy, in which case the address the proxies report in X-Forwarded-For.
 * Unlike a viewer's, a trusted proxy that reports no address gives null (unknown), never the proxy's
 * own address: behind a same-host proxy that address is loopback, which `publish.allowIps` allows by
 * default, so every publisher the proxy relays would be let in as the machine itself.
 */
export function resolvePublisherAddress(
  peer: IpAddress | null,
  forwardedFor: string | string[] | undefined,
  trustedProxies: IpRuleList,
): IpAddress | null {
  return resolveBehindProxies(peer, forwardedFor, trustedProxies, null);
}

/** The address behind trusted proxies; `whenNoneReported` when a trusted proxy sends no X-Forwarded-For. */
function resolveBehindProxies(
  peer: IpAddress | null,
  forwardedFor: string | string[] | undefined,
  trustedProxies: IpRuleList,
  whenNoneReported: IpAddress | null,
): IpAddress | null {
  if (peer === null || trustedProxies.size === 0 || trustedProxies.match(peer) === undefined) return peer;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor;
  if (header === undefined || header.trim() === "") return whenNoneReported;
  // proxy-addr reads only the socket address and this header; a hop that does not parse is not trusted.
  const request = {
    socket: { remoteAddress: peer.text },
    connection: { remoteAddress: peer.text },
    headers: { "x-forwarded-for": header },
  };
  const trusted = (hop: string) => {
    const address = parseIpAddress(hop);
    return address !== null && trustedProxies.match(address) !== undefined;
  };
  return parseIpAddress(proxyAddr(request as unknown as IncomingMessage, trusted));
}
