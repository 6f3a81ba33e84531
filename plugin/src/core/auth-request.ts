import type { IpAddress } from "../net/ip-address.js";
import type { TcpEndpoints } from "../net/process-proof.js";

/** The protocols a viewer can play over; HTTP-FLV and WS-FLV are told apart. */
export const PROTOCOLS = ["rtmp", "http-flv", "ws-flv", "hls"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * AuthRequest is the one value every authorization step receives: what the viewer (or publisher) asked
 * for and who they appear to be. Built once per check, never mutated.
 *
 * A play and a publish share this type and are told apart by `action`, not by `purpose`: a publish is a
 * `new` request like a viewer's first check, so a step that reads `purpose` (the brute-force throttle,
 * the securetoken step's validity window, the backend's grace on a re-check) treats it as the strictest
 * case, never as a re-check. The play chain (`chain/auth-chain.ts`) is only ever given plays and the
 * publish steps (`publish/*-step.ts`) only publishes; `action` says which one a request is.
 */
export interface AuthRequest {
  /**
   * `play` for a viewer (every protocol, built by the admission pipeline, `gate/admission.ts`);
   * `publish` for a publisher (built once from the host's report, `publish/publish-request.ts`).
   */
  readonly action: "play" | "publish";
  /**
   * Our session id: the one sent to backends as `X-Session-Id` and listed by the API. "" for a publish:
   * a publisher has no viewer session.
   */
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
   * A publish has the stream path `/<app>/<stream>` whatever the protocol: what a publish link signs.
   */
  readonly path: string;
  /**
   * The viewer's query string as received, without the leading `?` (order and encoding kept). A publish
   * has the first value of each parameter the host parsed, re-encoded (hosts hand over no raw query).
   */
  readonly query: string;
  /** The same query parsed. */
  readonly params: URLSearchParams;
  /** The viewer's User-Agent (RTMP: its flashVer); "" when unknown, and for a publish. */
  readonly userAgent: string;
  /** The Host the viewer used (HTTP Host header, or the host of RTMP's tcUrl); "" for a publish. */
  readonly host: string;
  /** Scheme, host and port the viewer used, e.g. `http://127.0.0.1:8000`; "" for a publish. */
  readonly origin: string;
  /**
   * The host name (lower case, no port) of the page the player runs in: the `Origin` header's, else the
   * `Referer`'s (HTTP-FLV, WS-FLV, HLS playlists); RTMP connect's `pageUrl`. "" when the header is there
   * but names no host (`Origin: null`); left out when the viewer sent none. What the origin lock reads.
   */
  readonly pageHost?: string;
  /**
   * The TCP connection's ports, on RTMP only (HTTP viewers leave it out): what the `internal` step
   * (and the publish's `internal` step) proves a loopback connection's owner from (net/process-proof.ts).
   */
  readonly connection?: TcpEndpoints;
  /**
   * A publish only: true when the name already has a live publisher (hosts that know it say so).
   * Left out for a play.
   */
  readonly live?: boolean;
  /** `new` when a viewer (or a publisher) starts; `recheck` when a playing session's verdict is renewed. */
  readonly purpose: "new" | "recheck";
  /** 1 for the first check of a session, then 2, 3, … for each re-check. */
  readonly requestNumber: number;
  /**
   * Set on an explain (`POST /api/explain`, `nms-viewer-auth explain`): every step decides as it would for
   * this play and changes nothing. No failed credential is counted, no verdict is cached, no backend grant
   * kept, no password remembered, and the chain neither logs `auth.decision` nor emits its events (metrics,
   * decision log). The flag travels with the request so a step cannot be reached without it.
   * `cacheOnly`: the backend step answers from its verdict cache only and never calls the backend.
   */
  readonly dryRun?: DryRun;
}

/** How an explain runs the chain (see `AuthRequest.dryRun`). */
export interface DryRun {
  /** Never call the backend: answer from its verdict cache, or say that a real play would ask it. */
  readonly cacheOnly: boolean;
}

/** A re-check of an existing request: same viewer, next request number. */
export function recheckOf(request: AuthRequest): AuthRequest {
  return { ...request, purpose: "recheck", requestNumber: request.requestNumber + 1 };
}
