import { z } from "zod";
import { secondsSchema } from "./value-schemas.js";

/** How strictly an HLS session key is tied to the address that opened it. */
const HLS_IP_BINDINGS = ["exact", "subnet", "off"] as const;
export type HlsIpBinding = (typeof HLS_IP_BINDINGS)[number];

/**
 * `hls`: the HLS gate in front of NMS's HTTP port. NMS 4 exposes no hook for HTTP requests, so the gate takes
 * over its HTTP server's `request` listener, serves playlist and segment paths itself and hands every other
 * request to NMS; the HLS files must lie outside every NMS static root, or NMS would serve them ungated.
 * On NMS 2.7 a null `dir` means NMS's `http.mediaroot` (its `trans` output), which the gate then serves in
 * place of NMS's own static route.
 */
export const hlsSchema = z.strictObject({
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
  segmentCacheBytes: z.number().int().min(0).default(64 * 1024 * 1024),
}).prefault({});
