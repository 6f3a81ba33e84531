import type { IpAddress } from "../net/ip-address.js";
import type { TcpEndpoints } from "../net/process-proof.js";

/** The protocols a viewer can play over; HTTP-FLV and WS-FLV are told apart. */
export const PROTOCOLS = ["rtmp", "http-flv", "ws-flv", "hls"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * AuthRequest is the one value every authorization step receives: what the viewer asked for and
 * who they appear to be. Built once per check, never mutated.
 */
export interface AuthRequest {
  /** Our session id: the one sent to backends as `X-Session-Id` and listed by the API. */
  readonly sessionId: string;
  readonly protocol: Protocol;
  /** The viewer's address as text, normalized (IPv4-mapped IPv6 unmapped, lower case); "" when unknown. */
  readonly ip: string;
  /** The parsed address, or null when it could not be parsed (the deny list then denies). */
  readonly address: IpAddress | null;
  /** NMS application, e.g. `live`. */
  readonly app: string;
  /** Stream or channel name, e.g. `test`. */
  readonly channel: string;
  /**
   * The path the viewer requested, without the query, percent-decoded: `/live/test.flv`,
   * `/live/test/index.m3u8`, `/live/test` for RTMP (NMS's stream path, built from the decoded names).
   * Decoded on every protocol because it names the resource the server serves: a backend rule or a
   * signed link that compares paths sees one spelling per stream, so `/live/%74est.flv` cannot pass
   * where `/live/test.flv` would not. The query, by contrast, is kept as received: a backend may check a signature over its exact bytes.
   */
  readonly path: string;
  /** The viewer's query string as received, without the leading `?` (order and encoding kept). */
  readonly query: string;
  /** The same query parsed. */
  readonly params: URLSearchParams;
  readonly userAgent: string;
  /** The Host the viewer used (HTTP Host header, or the host of RTMP's tcUrl). */
  readonly host: string;
  /** Scheme, host and port the viewer used, e.g. `http://127.0.0.1:8000`. */
  readonly origin: string;
  /**
   * The TCP connection's ports, on RTMP only (HTTP viewers leave it out): what the `internal` step
   * proves a loopback connection's owner from (net/process-proof.ts).
   */
  readonly connection?: TcpEndpoints;
  /** `new` when a viewer starts; `recheck` when a playing session's verdict is renewed. */
  readonly purpose: "new" | "recheck";
  /** 1 for the first check of a session, then 2, 3, … for each re-check. */
  readonly requestNumber: number;
}

/** A re-check of an existing request: same viewer, next request number. */
export function recheckOf(request: AuthRequest): AuthRequest {
  return { ...request, purpose: "recheck", requestNumber: request.requestNumber + 1 };
}
