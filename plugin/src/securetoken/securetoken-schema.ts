import { z } from "zod";
import { secondsSchema } from "../config/value-schemas.js";

/** The highest `maxLifetimeSec` allowed: far below the years a digit moved between fields shifts a time by. */
export const MAX_LINK_LIFETIME_SEC = 366 * 86400;
/** `maxLifetimeSec` when the section leaves it out: a day. */
export const DEFAULT_MAX_LINK_LIFETIME_SEC = 86400;

/** Signed-link formats (docs/protocols.md §4): Cesbo Astra/Alta, Flussonic, node-media-server `sign`. */
export const SECURETOKEN_FORMATS = ["astra", "flussonic", "nms"] as const;
export type SecureTokenFormatName = (typeof SECURETOKEN_FORMATS)[number];

/** The keys every signed-link section has, play (`auth.securetoken`) and publish (`publish.securetoken`). */
const signedLinkShape = {
  format: z.enum(SECURETOKEN_FORMATS).default("astra"),
  /** Every secret a link may be signed with; several at once for rotation. */
  secrets: z.array(z.string().min(1, "must not be empty")).default([]),
  /** Seconds a link's start/end may be off the server's clock. */
  clockSkewSec: secondsSchema(0).default(30),
  /**
   * The longest a link may be valid (`end - start`; for nms, how far `exp` may lie ahead). Links that
   * claim more are refused as forged: moving a digit between two concatenated hashed fields keeps the
   * hash but changes a time by a factor of ten or more (years), so a short bound exposes every such
   * re-reading. Capped at 366 days so that stays true for any setting.
   */
  maxLifetimeSec: secondsSchema(1)
    .max(MAX_LINK_LIFETIME_SEC, `must be at most ${MAX_LINK_LIFETIME_SEC} s (366 days)`)
    .default(DEFAULT_MAX_LINK_LIFETIME_SEC),
  /** Hash the viewer's IP into the link (astra, flussonic); off = links are made with an empty IP. */
  bindIp: z.boolean().default(true),
};

/**
 * `publish.securetoken`: publish links. No `maxUses`: a publisher reconnects on every network hiccup,
 * and a publish link counted to its end would lock the channel's own source out.
 */
export const publishSecuretokenSchema = z.strictObject(signedLinkShape).prefault({});

/** `auth.securetoken`: temporary signed links; the step is on when `secrets` holds at least one secret. */
export const securetokenSchema = z
  .strictObject({
    ...signedLinkShape,
    /**
     * How many sessions one link may start before its end (0 = any number; 1 = a one-time link). A use
     * is counted when media (RTMP/FLV) or the first playlist (HLS) goes out, and forgotten at the link's end.
     */
    maxUses: z.number().int().min(0).default(0),
  })
  .prefault({});

/** The validated `auth.securetoken` section. */
export type SecureTokenConfig = z.output<typeof securetokenSchema>;
