/**
 * The server-facing entry: what the bundled server (`server/src`) and the benches (`bench/`) use of the
 * plugin beyond its public entry (`index.ts`), and nothing an app needs. `server/` and `bench/` import
 * the plugin only through these two files (`test/architecture/architecture.test.ts`); this one is not in the
 * package's `exports` (the bin, `dist/server/src/main.js`, reaches it by a relative path).
 * What `index.ts` already exports (`runNms`, `createNms4Host`, `LocalProcesses`, `buildViewerAuth`,
 * `parseConfig`, …) is imported from there, not repeated here.
 */

// --- Logging and secrets: the server logs before the plugin is built, and redacts its own lines ---

/** The server builds its own JSON logger (ffmpeg, channels, NMS's lines) before the plugin exists. */
export { createLogger, LOG_FORMATS, type Logger } from "./core/log.js";
/** The server redacts the secrets of its own configuration (and ffmpeg's command lines) from every log line. */
export { Redactor } from "./core/redactor.js";
/** The server's last-resort handler rate-limits its crash lines. */
export { LogRateLimit } from "./core/log-rate-limit.js";
/** The server's timers and the benches' parts run on the real clock; the type is what they are given. */
export { systemClock, type Clock } from "./core/clock.js";
/** The server names the config problems it finds in its own sections the plugin's way. */
export type { ConfigIssue } from "./core/errors.js";

// --- Configuration: the server's schema embeds the plugin's, and its loader reads and validates files ---

/** The server's schema embeds the plugin's sections, and the server takes them back out of its configuration. */
export { pluginConfigShape } from "./plugin-config-schema.js";
/** The server's environment overrides are applied between reading the YAML and validating it. */
export { readYamlFile, validateConfig } from "./config/parse-config.js";
/** The server's own settings use the plugin's units (ports, milliseconds, seconds). */
export { millisecondsSchema, portSchema, secondsSchema } from "./config/value-schemas.js";
/** The server's schema refuses a publish secret that is also a play secret, as the plugin's does. */
export { sharedPublishSecretIssues } from "./publish/publish-schema.js";
/** The server warns when a `publish` section opens more than the default (it publishes only its own ingest). */
export { DEFAULT_PUBLISH_ALLOW_IPS } from "./publish/publish-schema.js";
/** The server's reload names which of its own keys (`server`, `channels`) changed, like the plugin's. */
export { changedKeys } from "./config/config-changes.js";
/** The server's Redactor is seeded with every secret of the configuration. */
export { configSecrets } from "./config-secrets.js";
/** The server reads `api.tokenFile` (or makes one) before it validates the API section. */
export { withApiTokenFromFile, apiTokenAtBuild } from "./api-token-file.js";
/** The backend benches parse a `backend` section alone, without a whole configuration. */
export { backendSchema } from "./backend/backend-schema.js";
/** The cluster bench parses a `cluster` section alone. */
export { clusterSchema } from "./cluster/cluster-schema.js";

// --- The NMS 4 host: the server runs NMS itself ---

/** The server stops NMS's listeners first at a shutdown (runNms itself is in index.ts). */
export { stopAcceptingNms } from "./hosts/nms4/run-nms.js";
/** The server routes NMS's plain-text console lines into its JSON logger, before NMS is built. */
export { routeNmsLogs } from "./hosts/nms4/nms-log-bridge.js";
/** The server finds the NMS copy it imports, to route that copy's log lines. */
export { hostPackageResolvedBy } from "./hosts/host-package.js";

// --- Channels and the CLI ---

/** The server's master playlist measures its variants from their segments, read the way the HLS gate reads them. */
export { segmentsOf } from "./hls/playlist-rewriter.js";
/** `--check-config` reads the CloudFront key file (`hls.edge.privateKeyFile`) the way the edge links do. */
export { readPrivateKey } from "./hls/edge-signers.js";
/** The marker the server leaves while a master playlist waits for its probe; the gate holds new viewers on it. */
export { MASTER_PENDING_FILE } from "./hls/playlist-rewriter.js";
/** The server's bin has a `make-token` subcommand. */
export { makeTokenCommand } from "./cli/make-token.js";

// --- Parts the benches measure alone, without a whole build ---

/** The benches make requests with every protocol. */
export { PROTOCOLS } from "./core/auth-request.js";
/** The standalone HLS gate of the benches hands its session keys to the HLS benches. */
export type { HlsSessionKeys } from "./hls/hls-session-keys.js";
/** The benches measure the address parser and rule lists with 100,000 entries. */
export { parseIpAddress } from "./net/ip-address.js";
/** The IP list bench builds ranges for its rule lists. */
export { parseIpRange, type IpRange } from "./net/ip-range.js";
/** The IP list and users benches measure the prefix index directly. */
export { IpRuleList } from "./net/ip-rule-list.js";
/** The benches run chains of single steps. */
export { AuthChain } from "./chain/auth-chain.js";
/** The benches build the chain a configuration makes. */
export { buildChain } from "./build-chain.js";
/** The backend benches measure the backend step and its cache purge. */
export { CACHE_PURGE_INTERVAL_MS, createBackendAuthorizer } from "./backend/backend-authorizer.js";
/** The IP list benches measure the deny step. */
export { createIpDenyAuthorizer } from "./chain/ip-deny-authorizer.js";
/** The IP list bench measures the allow step. */
export { createIpAllowAuthorizer } from "./chain/ip-allow-authorizer.js";
/** The users bench measures the securetoken step. */
export { createSecureTokenAuthorizer } from "./securetoken/securetoken-authorizer.js";
/** The chain bench measures the JWT step (HS256 and RS256 verifies). */
export { createJwtAuthorizer } from "./jwt/jwt-authorizer.js";
/** The users bench measures the users step. */
export { createUsersAuthorizer } from "./users/users-authorizer.js";
/** The users bench builds a user directory alone (index.ts exports its type only). */
export { UserStore } from "./users/user-store.js";
/** The benches fill a real session store (index.ts exports its type only). */
export { MemorySessionStore } from "./sessions/memory-session-store.js";
/** The API and cluster benches revoke through the real list. */
export { RevocationList } from "./sessions/revocation-list.js";
/** The cluster bench takes limit slots through the real limiter. */
export { SessionLimiter } from "./sessions/session-limiter.js";
/** The API bench re-checks through the real re-checker. */
export { SessionRechecker } from "./sessions/session-rechecker.js";
/** The statistics bench writes the ledger directly. */
export { StatsLedger } from "./stats/stats-ledger.js";
/** The cluster bench measures the Redis mirror and limits. */
export { EdgeCluster } from "./cluster/edge-cluster.js";
/** The cluster bench opens its own Redis link. */
export { openRedisLink } from "./cluster/redis-link.js";
/** The API bench gives the API its metrics. */
export { PluginMetrics } from "./metrics/plugin-metrics.js";
/** The API bench gives the API the console's decision log. */
export { DecisionLog } from "./console/decision-log.js";
/** The API bench gives the API the console's viewer history. */
export { ViewerHistory } from "./console/viewer-history.js";
/** The API bench gives the API its audit of operator actions. */
export { AuditTrail } from "./stats/audit-trail.js";
/** The API bench gives the API the console's overview counters. */
export { OverviewCounters } from "./console/overview-counters.js";
/** The API bench serves the management API alone. */
export { ManagementApi } from "./management-api.js";
/** The bin's `--version`: the package's version, found from the plugin's own folder in every build. */
export { packageVersion } from "./core/package-version.js";
