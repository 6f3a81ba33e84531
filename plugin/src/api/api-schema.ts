import { z } from "zod";
import { tokenWeakness } from "./api-token.js";
import { portSchema } from "../config/value-schemas.js";
import { API_ROLES } from "./api-roles.js";

/**
 * An API credential: refused at load unless it carries 128 random bits (api/api-token.ts), because
 * the right credential is answered even to a client the throttle has banned, so it may be guessed at
 * line rate.
 */
const apiTokenSchema = z.string().superRefine((token, ctx) => {
  const weakness = tokenWeakness(token);
  if (weakness !== undefined) ctx.addIssue({ code: "custom", message: weakness });
});

/** A named credential with its role: who a request is, for the role table and the audit. */
const apiCredentialSchema = z.strictObject({
  /** Shown in the audit and the console; never a secret. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, "must be 1-64 letters, digits, or . _ @ - (starting with a letter or digit)"),
  token: apiTokenSchema,
  role: z.enum(API_ROLES),
});

/** Names the server gives its own credentials (and a failed sign-in): a named credential must not take them. */
const RESERVED_NAMES = ["admin", "metrics", "unknown"];

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
    /** Named credentials with a role each (`admin`, `operator`, `viewer`, `metrics`): docs/api.md "Roles". */
    credentials: z.array(apiCredentialSchema).default([]),
    /** Days an audit entry (an operator action) is kept before the hourly purge removes it. */
    auditRetentionDays: z.number().int().min(1).max(3650).default(90),
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
    checkCredentials(api, ctx);
    if (api.enabled && api.token === null && api.tokenFile === null) {
      ctx.addIssue({
        code: "custom",
        path: ["token"],
        message:
          "is required when the API is enabled (every route needs the credential): set api.token, or api.tokenFile for a token the server generates",
      });
    }
  });

/** Named credentials: unique names (none of the server's own), and tokens that differ from each other and from every other API token. */
function checkCredentials(
  api: { token: string | null; previousTokens: string[]; metricsToken: string | null; credentials: { name: string; token: string }[] },
  ctx: z.RefinementCtx,
): void {
  const names = new Set<string>();
  const tokens = new Set<string>([api.token, api.metricsToken, ...api.previousTokens].filter((t): t is string => t !== null));
  api.credentials.forEach((credential, i) => {
    if (RESERVED_NAMES.includes(credential.name) || names.has(credential.name))
      ctx.addIssue({
        code: "custom",
        path: ["credentials", i, "name"],
        message: `"${credential.name}" is taken: names are unique, and admin, metrics and unknown are the server's own`,
      });
    // A shared token would make two credentials one, with the stronger role: the name in the audit would lie.
    if (tokens.has(credential.token))
      ctx.addIssue({ code: "custom", path: ["credentials", i, "token"], message: "must differ from every other API token" });
    names.add(credential.name);
    tokens.add(credential.token);
  });
}
