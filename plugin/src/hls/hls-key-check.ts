import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../core/log.js";
import { resolveClientAddress } from "../net/client-address.js";
import { parseIpAddress, type IpAddress } from "../net/ip-address.js";
import { requestHeader } from "../net/request-header.js";
import type { IpRuleList } from "../net/ip-rule-list.js";
import type { HlsTarget } from "./hls-request-path.js";
import type { HlsSession, HlsSessionKeys } from "./hls-session-keys.js";
import { HLS_SESSION_PARAM } from "./playlist-rewriter.js";
import { plain } from "./plain-response.js";

/** `vas=` where a query's parameter starts. */
const KEY_PREFIX = `${HLS_SESSION_PARAM}=`;

/**
 * HlsKeyCheck admits the requests that carry a session key (segments, keyed playlists): the key must
 * name a live session for the same app and channel, from the address it is bound to. It never runs the
 * chain: the session's playlist request did. It needs only the viewer's address, resolved behind trusted
 * proxies from the socket's peer, which is parsed once per connection.
 */
export class HlsKeyCheck {
  readonly #keys: HlsSessionKeys;
  readonly #trustedProxies: () => IpRuleList;
  readonly #log: Logger;
  /** Each open connection's parsed peer address; gone with the socket. */
  readonly #peers = new WeakMap<Socket, IpAddress | null>();

  constructor(keys: HlsSessionKeys, trustedProxies: () => IpRuleList, log: Logger) {
    this.#keys = keys;
    this.#trustedProxies = trustedProxies;
    this.#log = log;
  }

  /**
   * The live session a keyed request belongs to, with the viewer's address; null after answering 403
   * (`hls.key_refused`: unknown, expired or closed key, another channel, another address).
   */
  check(
    req: IncomingMessage,
    res: ServerResponse,
    target: HlsTarget,
    key: string,
  ): { session: HlsSession; address: IpAddress | null } | null {
    const peer = this.#peerOf(req);
    const proxies = this.#trustedProxies();
    // X-Forwarded-For counts only from a trusted proxy: without any, the header is not even read.
    const address = proxies.size === 0 ? peer : resolveClientAddress(peer, requestHeader(req, "x-forwarded-for"), proxies);
    const session = this.#keys.lookup(key, target.app, target.channel, address);
    if (typeof session === "string") {
      this.#log.info(
        { event: "hls.key_refused", reason: session, ip: address?.text ?? req.socket.remoteAddress ?? "", path: target.path },
        "HLS request refused",
      );
      plain(res, 403, "Forbidden");
      return null;
    }
    return { session, address };
  }

  /** The socket's peer address, parsed once per connection (a player sends all its requests on one). */
  #peerOf(req: IncomingMessage): IpAddress | null {
    const socket = req.socket;
    let peer = this.#peers.get(socket);
    if (peer === undefined) {
      peer = socket.remoteAddress === undefined ? null : parseIpAddress(socket.remoteAddress);
      this.#peers.set(socket, peer);
    }
    return peer;
  }
}

/**
 * The session key in a query (the first `vas` parameter, as URLSearchParams reads it). The form the gate
 * writes, a query starting with `vas=<key>` and nothing encoded, is read without parsing; any other takes
 * the parser, so both read every query alike.
 */
export function sessionKeyOf(query: string): string | null {
  if (!query.startsWith(KEY_PREFIX) || query.includes("%") || query.includes("+")) return new URLSearchParams(query).get(HLS_SESSION_PARAM);
  const end = query.indexOf("&");
  return query.slice(KEY_PREFIX.length, end < 0 ? undefined : end);
}
