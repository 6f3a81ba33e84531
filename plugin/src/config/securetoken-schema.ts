import { z } from "zod";
import { secondsSchema } from "./value-schemas.js";

/** Signed-link formats (docs/protocols.md §4): Cesbo Astra/Alta, Flussonic, node-media-server `sign`. */
export const SECURETOKEN_FORMATS = ["astra", "flussonic", "nms"] as const;
export type SecureTokenFormatName = (typeof SECURETOKEN_FORMATS)[number];

/** `auth.securetoken`: temporary signed links; the step is on when `secrets` holds at least one secret. */
export const securetokenSchema = z.strictObject({
  format: z.enum(SECURETOKEN_FORMATS).default("astra"),
  /** Every secret a link may be signed with; several at once for rotation. */
  secrets: z.array(z.string().min(1, "must not be empty")).default([]),
  /** Seconds a link's start/end may be off the server's clock. */
  clockSkewSec: secondsSchema(0).default(30),
  /** Hash the viewer's IP into the link (astra, flussonic); off = links are made with an empty IP. */
  bindIp: z.boolean().default(true),
}).prefault({});

/** The validated `auth.securetoken` section. */
export type SecureTokenConfig = z.output<typeof securetokenSchema>;
