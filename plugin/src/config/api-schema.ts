import { z } from "zod";
import { portSchema } from "./value-schemas.js";

/** `api`: the management API (sessions, channels, health) on its own port, behind a bearer token. */
export const apiSchema = z.strictObject({
  enabled: z.boolean().default(false),
  bind: z.string().min(1).default("127.0.0.1"),
  port: portSchema.default(8001),
  token: z.string().min(12, "must be at least 12 characters").nullable().default(null),
  /** Tokens still accepted while clients move to a new `token` (rotation without a restart of clients). */
  previousTokens: z.array(z.string().min(12, "must be at least 12 characters")).default([]),
}).prefault({}).superRefine((api, ctx) => {
  if (api.enabled && api.token === null) {
    ctx.addIssue({ code: "custom", path: ["token"], message: "is required when the API is enabled (every route needs the credential)" });
  }
});
