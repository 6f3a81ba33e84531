import { z } from "zod";
import { secondsSchema } from "../config/value-schemas.js";

/** How strictly an HLS session key is tied to the address that opened it. */
const HLS_IP_BINDINGS = ["exact", "subnet", "off"] as const;
export type HlsIpBinding = (typeof HLS_IP_BINDINGS)[number];

/** How segment links for an edge are signed (docs/protocols.md §5.1). */
const HLS_EDGE_FORMATS = ["nginx-secure-link-md5"] as const;

/**
 * `hls.edge`: segments are served by an edge (nginx with `secure_link`), not by the gate. The gate still
 * authorizes viewers and serves every playlist (its refreshes are the session's heartbeat), but writes each
 * segment URI as an absolute, signed URL on the edge, valid for `expiresSeconds`, for that path only and
 * (with `bindIp`) for the viewer's address only.
 */
export const hlsEdgeSchema = z.strictObject({
  baseUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).refine((url) => {
    const parsed = new URL(url);
    return parsed.search === "" && parsed.hash === "" && parsed.username === "" && parsed.password === "";
  }, "must be an http(s) URL without query, fragment or credentials"),
  secret: z.string().min(16, "must be at least 16 characters (nginx checks an MD5 over it)"),
  expiresSeconds: secondsSchema(1).max(86400, "must be at most 86400 s").default(60),
  bindIp: z.boolean().default(true),
  format: z.enum(HLS_EDGE_FORMATS).default("nginx-secure-link-md5"),
});
export type HlsEdgeConfig = z.output<typeof hlsEdgeSchema>;

/**
 * `hls`: the HLS gate in front of NMS's HTTP port. NMS 4 exposes no hook for HTTP requests, so the gate takes
 * over its HTTP server's `request` listener, serves playlist and segment paths itself and hands every other
 * request to NMS; the HLS files must lie outside every NMS static root, or NMS would serve them ungated.
 * On NMS 2.7 a null `dir` means NMS's `http.mediaroot` (its `trans` output), which the gate then serves in
 * place of NMS's own static route.
 */
export const hlsSchema = z
  .strictObject({
    dir: z.string().min(1, "must be a directory path").nullable().default(null),
    sessionIdleSec: secondsSchema(1).default(30),
    ipBinding: z.enum(HLS_IP_BINDINGS).default("exact"),
    /**
     * Refused viewers cannot tell an unknown channel from a known one (both 403): requests for unknown
     * channels run the chain (and its backend call) too. False answers them 404 before the chain, which
     * spares the backend but lets anyone list the channels by probing names.
     */
    hideUnknownChannels: z.boolean().default(true),
    /**
     * Bytes of hot segments and playlists the gate keeps in memory (every viewer of a live channel fetches the
     * same few files); a file is re-checked with a stat at most every 250 ms, so a rewritten or deleted one is
     * never served for longer. 0 reads every request from disk.
     */
    segmentCacheBytes: z
      .number()
      .int()
      .min(0)
      .default(64 * 1024 * 1024),
    /**
     * HLS sessions one credential (the user the chain named, else the token/sign/auth values) may hold open from
     * one address before any of them fetches a segment; a playlist request beyond it gets 429. Players open one
     * per start; a few restarts fit. 0 = no bound.
     */
    maxUnplayedPerViewer: z.number().int("must be a whole number of sessions").min(0, "must be 0 (no bound) or more").default(8),
    edge: hlsEdgeSchema.nullable().default(null),
  })
  .prefault({});
