import { z } from "zod";
import { hostPatternProblem } from "./host-pattern.js";

const hostPatternSchema = z.string().superRefine((pattern, ctx) => {
  const problem = hostPatternProblem(pattern);
  if (problem !== null) ctx.issues.push({ code: "custom", message: problem, input: pattern });
});

/**
 * `auth.originLock`: the sites a player may be embedded in (docs/origin-lock.md). Off while `allow` is empty.
 */
export const originLockSchema = z
  .strictObject({
    /** Host patterns of the pages allowed to play: `example.com`, `*.example.com` (subdomains only). Empty = off. */
    allow: z.array(hostPatternSchema).default([]),
    /** Whether a request naming no page (no Origin or Referer; RTMP without pageUrl) is let through to the next step. */
    allowMissing: z.boolean().default(true),
  })
  .prefault({});

/** The validated `auth.originLock` section. */
export type OriginLockConfig = z.output<typeof originLockSchema>;
