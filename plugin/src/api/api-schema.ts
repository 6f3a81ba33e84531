import { z } from "zod";
import { tokenWeakness } from "./api-token.js";
import { portSchema } from "../config/value-schemas.js";

/**
 * An API credential: refused at load unless it carries 128 random bits (api/api-token.ts), because
 * the right credential is answered even to a client the throttle has banned, so it may be guessed at
 * line rate.
 */
const apiTokenSchema = z.string().superRefine((token, ctx) => {
  const weakness = tokenWeakness(token);
  if (weakness !== undefined) ctx.addIssue({ code: "custom", message: weakness });
});

/** `api`: the management API (sessions, channels, health) on its own port, behind a bearer token. */
export const apiSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    bind: z.string().min(1).default("127.0.0.1"),
    port: portSchema.default(8001),
    token: apiTokenSchema.nullable().default(null),
    /**
     * A file that holds the token instead (one line). Missing at start: a new 256-bit token is written
     * into it, readable by its owner only (0600), so a fresh install needs no secret typed by hand.
     */
    tokenFile: z.string().min(1).nullable().default(null),
    /** Tokens still accepted while clients move to a new `token` (rotation without a restart of clients). */
    previousTokens: z.array(apiTokenSchema).default([]),
    /**
     * A second credential accepted on `GET /metrics` only, so a Prometheus scraper does not hold the
     * token that can close sessions and edit users. As strong as `token`.
     */
    metricsToken: apiTokenSchema.nullable().default(null),
  })
  .prefault({})
  .superRefine((api, ctx) => {
    if (api.token !== null && api.tokenFile !== null) {
      // At `token`: set from VA_API_TOKEN over a file with `tokenFile`, the message then names the variable.
      ctx.addIssue({ code: "custom", path: ["token"], message: "cannot be set together with api.tokenFile: give the token one way" });
    }
    if (api.metricsToken !== null && (api.metricsToken === api.token || api.previousTokens.includes(api.metricsToken))) {
      // The same secret would give the scraper the whole API.
      ctx.addIssue({ code: "custom", path: ["metricsToken"], message: "must differ from api.token and api.previousTokens" });
    }
    if (api.enabled && api.token === null && api.tokenFile === null) {
      ctx.addIssue({
        code: "custom",
        path: ["token"],
        message:
          "is required when the API is enabled (every route needs the credential): set api.token, or api.tokenFile for a token the server generates",
      });
    }
  });
