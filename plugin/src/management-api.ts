import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Clock } from "./core/clock.js";
import type { Logger } from "./core/log.js";
import type { SessionStore } from "./core/session-store.js";
import { parseIpAddress } from "./net/ip-address.js";
import { subscriberBlockOf } from "./net/subscriber-block.js";
import type { StatsLedger } from "./stats/stats-ledger.js";
import type { PluginMetrics } from "./metrics/plugin-metrics.js";
import type { SessionRechecker } from "./sessions/session-rechecker.js";
import type { UserEditor } from "./users/user-editor.js";
import type { SecureTokenConfig } from "./securetoken/securetoken-schema.js";
import type { DecisionLog } from "./console/decision-log.js";
import type { ViewerHistory } from "./console/viewer-history.js";
import type { OverviewCounters } from "./console/overview-counters.js";
import { overviewRoutes, type OverviewChannel } from "./console/overview-routes.js";
import type { Route } from "./core/api-route.js";
import { sessionsRoutes } from "./sessions/sessions-routes.js";
import { statsRoutes } from "./stats/stats-routes.js";
import { usersRoutes } from "./users/users-routes.js";
import { revocationRoutes, type RevocationDeps } from "./sessions/revocation.js";
import { clusterRoutes } from "./cluster/cluster-routes.js";
import { consoleRoutes } from "./console/console-routes.js";
import { explainRoutes } from "./explain/explain-routes.js";
import type { Explainer } from "./explain/explainer.js";
import { eventsRoutes } from "./events/events-routes.js";
import type { WebhookEvents } from "./events/webhook-events.js";
import { ConsoleFront } from "./console/console-front.js";
import { streamSessionEvents } from "./console/events-stream.js";
import { ApiGuard } from "./api/api-guard.js";
import { ApiRouter, type TableRoute } from "./api/api-router.js";
import { sendJson } from "./core/api-reply.js";
import { signInConsole } from "./api/console-sign-in.js";
import { apiErrorBody } from "./core/api-errors.js";
import { serveOpenApi } from "./api/openapi-route.js";
import type { ApiCredential } from "./api/api-guard.js";
import { minimumRoleOf, routeKeyOf } from "./api/api-roles.js";
import type { IpRuleList } from "./net/ip-rule-list.js";
import { resolveClientAddress } from "./net/client-address.js";
import type { AuditTrail } from "./stats/audit-trail.js";
import { auditRoutes } from "./stats/audit-routes.js";
import { AUDITED_ROUTES } from "./audited-actions.js";

/** Things the API reports that the plugin does not own (the bundled server's channels). */
export interface ApiProviders {
  channels?: () => unknown[];
  /**
   * Readiness for `/api/ready`: what is not up yet (the bundled server: its channels that are not on
   * air). Without it the API is ready whenever it serves. Answered without a credential, so it must
   * hold nothing secret (names and states only, no error lines).
   */
  notReady?: () => unknown[];
  /** The port viewers get HLS on (the bundled server's HTTP port), for the console's preview player. */
  hlsPort?: () => number | undefined;
}

/** The plugin parts the API works on besides the registry. */
export interface ApiSources {
  ledger: StatsLedger | undefined;
  /** The webhooks, when `events.webhooks` is not empty. */
  webhooks?: WebhookEvents | undefined;
  metrics: PluginMetrics;
  /** Re-checks sessions at once after a user is changed. */
  rechecker: SessionRechecker;
  /** Built-in users, when configured. */
  users: UserEditor | undefined;
  /** Closes and revocations on this edge and, with a cluster, on every edge. */
  revocation: RevocationDeps;
  /** The chain's recent decisions, for the console's Decisions page. */
  decisions: DecisionLog;
  /** Playing viewers per channel over the last hour, for the console's Channels page. */
  history: ViewerHistory;
  /** What the console's overview counts as it happens (viewers, decisions, backend calls, bytes sent). */
  overview: OverviewCounters;
  /** The bundled server's channels (up or down, restarts), for the overview. */
  channelHealth?: (() => readonly OverviewChannel[]) | undefined;
  /** The securetoken settings in force (the console signs its preview links with them). */
  securetoken: () => SecureTokenConfig;
  /** Dry runs of the pipeline for `POST /api/explain` (the route is absent without it). */
  explainer?: Explainer | undefined;
  /** Where operator actions are recorded (`GET /api/audit`). */
  audit: AuditTrail;
}

export interface ManagementApiOptions {
  bind: string;
  port: number;
  token: string;
  /** Tokens still accepted during a rotation. */
  previousTokens?: readonly string[];
  /** A token accepted on `GET /metrics` only (`api.metricsToken`). */
  metricsToken?: string;
  /** Named credentials with their roles (`api.credentials`). */
  credentials?: readonly ApiCredential[];
  /** The proxies whose `X-Forwarded-For` names the client (`auth.trustedProxies`), for the audit's addresses. */
  trustedProxies?: () => IpRuleList;
}

/**
 * ManagementApi is the operator's JSON API on its own port: sessions (list, get, close), revocation
 * of a user's or a token's sessions, built-in users, viewers per channel, channel states, statistics,
 * metrics and health, plus the operator console (`/console/`, its sign-in and its event stream). Every
 * path is a row of one route table (ApiRouter). Every route but the probes, the console's files, its
 * sign-in and its session check needs a credential or a signed-in console's cookie (ApiGuard), of a
 * role at least the route's in `ROUTE_ROLES` (api/api-roles.ts); operator actions are audited. The
 * right token always works; repeated failures from one client get 429 for their failed requests only,
 * so no other local process can lock the operator out.
 */
export class ManagementApi {
  readonly #server: Server;
  readonly #options: ManagementApiOptions;
  readonly #log: Logger;
  readonly #router: ApiRouter;
  readonly #providers: ApiProviders;

  constructor(
    options: ManagementApiOptions,
    registry: SessionStore,
    sources: ApiSources,
    providers: ApiProviders,
    clock: Clock,
    log: Logger,
  ) {
    this.#options = options;
    this.#log = log;
    this.#providers = providers;
    const front = new ConsoleFront(clock, providers.hlsPort, log);
    const guard = new ApiGuard(options, front, clock, log);
    const audit = sources.audit;
    const credential = (routes: readonly Route[]): TableRoute[] =>
      routes.map(({ method, pattern, handler }) => ({
        method,
        pattern,
        access: "credential",
        role: minimumRoleOf(method, pattern),
        reply: audited(method, pattern, handler, audit),
      }));
    this.#router = new ApiRouter(
      [
        // Probes for supervisors and load balancers (Docker HEALTHCHECK, Kubernetes, systemd watchdogs), answered
        // without the bearer token: a probe cannot hold a secret safely, and neither says more than up or not.
        // `/api/live`: 200 while the process serves requests; `/api/ready`: see #ready.
        { method: "GET", pattern: /^\/api\/live$/, access: "open", serve: ({ res }) => sendJson(res, 200, { status: "live" }) },
        { method: "GET", pattern: /^\/api\/ready$/, access: "open", serve: ({ res }) => this.#ready(res) },
        // The API's contract (OpenAPI 3.1), public like the docs that describe the same routes: see serveOpenApi.
        { method: "GET", pattern: /^\/api\/openapi\.json$/, access: "open", serve: ({ req, res }) => serveOpenApi(req, res) },
        { method: "*", pattern: /^\/console(?:\/.*)?$/s, access: "open", serve: ({ req, res, path }) => front.serveAsset(req, res, path) },
        // Open: the credential is in the body, checked (and counted on failure) by the sign-in itself.
        {
          method: "POST",
          pattern: /^\/api\/console\/sign-in$/,
          access: "open",
          serve: (exchange) => signInConsole(exchange, guard, front, log, audit),
        },
        // "Am I signed in?" on every console load: a missing or expired cookie is no guessed credential (the
        // ids are 256 random bits), so it is answered 401 without counting toward a ban.
        {
          method: "GET",
          exactMethod: true,
          pattern: /^\/api\/console\/session$/,
          access: "open",
          serve: ({ req, res }) => front.session(req, res),
        },
        {
          method: "POST",
          pattern: /^\/api\/console\/sign-out$/,
          access: "credential",
          role: minimumRoleOf("POST", /^\/api\/console\/sign-out$/),
          serve: ({ req, res }) => front.signOut(req, res),
        },
        {
          method: "GET",
          exactMethod: true,
          pattern: /^\/api\/events$/,
          access: "credential",
          role: minimumRoleOf("GET", /^\/api\/events$/),
          serve: ({ req, res }) => streamSessionEvents(req, res, registry, clock, {}),
        },
        ...credential([
          {
            method: "GET",
            pattern: /^\/api\/health$/,
            handler: () => ({ status: 200, body: { status: "ok", liveSessions: registry.size } }),
          },
          {
            method: "GET",
            pattern: /^\/api\/channels$/,
            handler: () => ({ status: 200, body: { channels: providers.channels?.() ?? [] } }),
          },
          ...usersRoutes({ editor: sources.users, registry, rechecker: sources.rechecker, revocation: sources.revocation, log }),
          ...sessionsRoutes({ registry, clock, log, revocation: sources.revocation }),
          ...revocationRoutes(sources.revocation),
          ...clusterRoutes(sources.revocation.cluster),
          ...statsRoutes({ ledger: sources.ledger, metrics: sources.metrics, clock }),
          ...auditRoutes(audit, clock),
          ...eventsRoutes(sources.webhooks),
          ...consoleRoutes({
            decisions: sources.decisions,
            history: sources.history,
            securetoken: sources.securetoken,
            hlsPort: providers.hlsPort,
          }),
          ...overviewRoutes({
            counters: sources.overview,
            history: sources.history,
            channels: sources.channelHealth,
            cluster: sources.revocation.cluster,
            clock,
          }),
          ...(sources.explainer === undefined ? [] : explainRoutes(sources.explainer)),
        ]),
      ],
      ({ req, res, peer, client }) => guard.admit(req, res, { peer, client }),
    );
    this.#server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => void this.#handle(req, res));
  }

  /** Starts listening; resolves with the real port. */
  async listen(): Promise<number> {
    this.#server.listen(this.#options.port, this.#options.bind);
    await once(this.#server, "listening");
    const port = (this.#server.address() as AddressInfo).port;
    this.#log.info({ event: "api.listening", bind: this.#options.bind, port }, "management API listening");
    return port;
  }

  /** The route table's rows (method and path pattern): the OpenAPI document's paths are checked against them. */
  get routes(): readonly Pick<TableRoute, "method" | "pattern" | "exactMethod" | "access">[] {
    return this.#router.routes;
  }

  get port(): number | undefined {
    const address = this.#server.address();
    return address !== null && typeof address === "object" ? address.port : undefined;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peer = req.socket.remoteAddress ?? "";
    // Failures are counted per subscriber block (IPv6 per /64), like viewers' failed credentials.
    const client = subscriberBlockOf(parseIpAddress(peer), peer);
    try {
      const from = this.#clientAddress(req, peer);
      await this.#router.handle({ req, res, path: (req.url ?? "/").split("?")[0]!, peer, client, from });
    } catch (error) {
      this.#log.error({ event: "api.failed", err: error }, "management API request failed");
      if (!res.headersSent) sendJson(res, 500, apiErrorBody("VA_API_INTERNAL", "internal error"));
    }
  }

  /** The client's address: the peer, or what trusted proxies report for it. */
  #clientAddress(req: IncomingMessage, peer: string): string {
    const proxies = this.#options.trustedProxies?.();
    const parsed = parseIpAddress(peer);
    if (proxies === undefined) return parsed?.text ?? peer;
    return resolveClientAddress(parsed, req.headers["x-forwarded-for"], proxies)?.text ?? parsed?.text ?? peer;
  }

  /** `/api/ready`: 200 when everything is up, else 503 with what is not. */
  #ready(res: ServerResponse): void {
    const notReady = this.#providers.notReady?.() ?? [];
    if (notReady.length === 0) return sendJson(res, 200, { status: "ready" });
    return sendJson(res, 503, { status: "not-ready", notReady });
  }
}

/** A route's handler that records its successful answers in the audit when `AUDITED_ROUTES` names the route. */
function audited(method: string, pattern: RegExp, handler: Route["handler"], audit: AuditTrail): Route["handler"] {
  const key = routeKeyOf(method, pattern, Object.keys(AUDITED_ROUTES));
  if (key === undefined) return handler;
  const describe = AUDITED_ROUTES[key]!;
  return async (request) => {
    const reply = await handler(request);
    if (reply.status >= 200 && reply.status < 300) {
      const { action, target } = describe(request, reply);
      audit.record({
        actor: request.actor?.name ?? "unknown",
        role: request.actor?.role ?? null,
        action,
        target,
        address: request.from ?? request.ip,
      });
    }
    return reply;
  };
}
