import { z } from "zod";
import { secondsSchema } from "../config/value-schemas.js";

/** What happens when a user already has as many sessions as their limit allows. */
const LIMIT_POLICIES = ["reject-new", "close-oldest"] as const;
export type LimitPolicy = (typeof LIMIT_POLICIES)[number];

/** `sessions`: limits and re-checks of live viewer sessions, whatever the protocol. */
export const sessionsSchema = z
  .strictObject({
    limitPolicy: z.enum(LIMIT_POLICIES).default("reject-new"),
    recheckIntervalSec: secondsSchema(0).default(300),
    maxPerIp: z.number().int().min(0, "must be 0 (no cap) or more").default(0),
    maxPerChannel: z.number().int().min(0, "must be 0 (no cap) or more").default(0),
    /** How long a revoked token, user or address stays refused unless the revocation says otherwise or is lifted. */
    revokedForSec: secondsSchema(1).default(86_400),
  })
  .prefault({});
