import { z } from "zod";
import { LOG_FORMATS, LOG_LEVELS } from "./core/log.js";
import { ipRangeListSchema } from "./config/value-schemas.js";
import { sessionsSchema } from "./sessions/sessions-schema.js";
import { hlsSchema } from "./hls/hls-schema.js";
import { apiSchema } from "./api/api-schema.js";
import { statsSchema } from "./stats/stats-schema.js";
import { packagesSchema, userListSchema, usersFileSchema } from "./users/users-schema.js";
import { securetokenSchema } from "./securetoken/securetoken-schema.js";
import { bruteForceSchema } from "./brute-force/brute-force-schema.js";
import { backendSchema } from "./backend/backend-schema.js";
import { jwtSchema } from "./jwt/jwt-schema.js";
import { originLockSchema } from "./origin/origin-schema.js";
import { geoSchema } from "./geo/geo-schema.js";
import { publishSchema, sharedPublishSecretIssues } from "./publish/publish-schema.js";
import { clusterSchema } from "./cluster/cluster-schema.js";
import { eventsSchema } from "./events/events-schema.js";

/** NMS's own console logger knows these levels. */
const NMS_LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;

/** `log`: where and how much the plugin logs. */
const logSchema = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default("info"),
    nmsLevel: z.enum(NMS_LOG_LEVELS).default("warn"),
    /** `json` (one object per line, the default, for log collectors) or `pretty` (text for a terminal). */
    format: z.enum(LOG_FORMATS).default("json"),
  })
  .prefault({});

/** `auth`: the authorization chain (docs/protocols.md §1). */
const authSchema = z
  .strictObject({
    defaultAction: z.enum(["allow", "deny"]).default("deny"),
    denyIps: ipRangeListSchema.default([]),
    allowIps: ipRangeListSchema.default([]),
    trustedProxies: ipRangeListSchema.default([]),
    geo: geoSchema,
    originLock: originLockSchema,
    packages: packagesSchema.default({}),
    users: userListSchema.default([]),
    usersFile: usersFileSchema.default(null),
    jwt: jwtSchema.nullable().default(null),
    securetoken: securetokenSchema,
    bruteForce: bruteForceSchema,
    backend: backendSchema.nullable().default(null),
    /** A second backend asked beside `backend` on every check to compare its answers; never decides. Null = none. */
    shadowBackend: backendSchema.nullable().default(null),
  })
  .prefault({})
  .superRefine((auth, ctx) => {
    if (auth.shadowBackend !== null && auth.backend === null)
      ctx.addIssue({ code: "custom", path: ["shadowBackend"], message: "needs auth.backend: a shadow is asked beside the real backend" });
  });

/**
 * The plugin's whole configuration. Each section lives in its own schema so that features add a
 * section without touching the others.
 */
export const pluginConfigShape = {
  log: logSchema,
  auth: authSchema,
  sessions: sessionsSchema,
  hls: hlsSchema,
  api: apiSchema,
  stats: statsSchema,
  publish: publishSchema,
  cluster: clusterSchema,
  events: eventsSchema,
};

export const pluginConfigSchema = z.strictObject(pluginConfigShape).superRefine((config, ctx) => {
  for (const issue of sharedPublishSecretIssues(config)) ctx.addIssue({ code: "custom", ...issue });
});

/** The validated, fully defaulted, frozen plugin configuration. */
export type PluginConfig = z.output<typeof pluginConfigSchema>;
/** What an operator may write (YAML or an object in code): every key optional. */
export type PluginConfigInput = z.input<typeof pluginConfigSchema>;
