/**
 * The roles an API credential holds, weakest first: each role may do everything the ones before it may.
 * `metrics` reads `GET /metrics` only (a Prometheus scraper); `viewer` reads every view that holds no
 * secret (a wall dashboard, a support desk); `operator` also acts on viewers (closes sessions, revokes
 * and lifts revocations, dry-runs the chain, mints a preview link, reads the audit); `admin` also edits
 * users and sends webhook tests.
 */
export const API_ROLES = ["metrics", "viewer", "operator", "admin"] as const;

export type ApiRole = (typeof API_ROLES)[number];

/** Whether a credential of role `held` may call a route that needs `needed`. */
export function roleAllows(held: ApiRole, needed: ApiRole): boolean {
  return API_ROLES.indexOf(held) >= API_ROLES.indexOf(needed);
}

/**
 * The one table of who may call what: every route behind a credential, as `METHOD /template` (the
 * OpenAPI document's spelling), and the weakest role that may call it. A route the table does not name
 * cannot be built (`minimumRoleOf` throws), so no route is ever left open to every role by omission.
 */
export const ROUTE_ROLES: Readonly<Record<string, ApiRole>> = {
  "GET /metrics": "metrics",
  "GET /api/health": "viewer",
  "GET /api/channels": "viewer",
  "GET /api/events": "viewer",
  "GET /api/decisions": "viewer",
  "GET /api/viewers/history": "viewer",
  "GET /api/viewers": "viewer",
  "GET /api/sessions": "viewer",
  "GET /api/sessions/{id}": "viewer",
  "GET /api/revocations": "viewer",
  "GET /api/users": "viewer",
  "GET /api/users/{login}": "viewer",
  "GET /api/stats/{by}": "viewer",
  "GET /api/stats/daily/{by}": "viewer",
  "GET /api/stats/refusals": "viewer",
  "GET /api/stats/users/{user}/sessions": "viewer",
  "GET /api/overview": "viewer",
  "GET /api/history": "viewer",
  "GET /api/stats/sessions.csv": "viewer",
  "GET /api/cluster": "viewer",
  "GET /api/cluster/stats": "viewer",
  "GET /api/webhooks": "viewer",
  "POST /api/console/sign-out": "viewer",
  // A signed play link is a credential: not for a look-only role.
  "GET /api/console/preview": "operator",
  // The audit names operators and where they sign in from: for those who answer for actions.
  "GET /api/audit": "operator",
  "DELETE /api/sessions/{id}": "operator",
  "DELETE /api/users/{user}/sessions": "operator",
  "POST /api/sessions/revoke": "operator",
  "POST /api/revocations": "operator",
  "DELETE /api/revocations/{kind}/{key}": "operator",
  // A dry run asks the backend and tells whether a given credential plays: an oracle, not a look.
  "POST /api/explain": "operator",
  "POST /api/users": "admin",
  "PUT /api/users/{login}": "admin",
  "PATCH /api/users/{login}": "admin",
  "DELETE /api/users/{login}": "admin",
  // Sends traffic to receivers outside; the admin owns the webhook configuration.
  "POST /api/webhooks/test": "admin",
};

/** A path a template stands for, to match it against a route's pattern (`{kind}` must be a revocation kind). */
export function sampleOfTemplate(template: string): string {
  return template
    .replace(/\{kind\}/g, "user")
    .replace(/\{by\}/g, "channels")
    .replace(/\{[^}]+\}/g, "x");
}

/** The `METHOD /template` among `keys` that a route (method and pattern) answers, or undefined when none or several do. */
export function routeKeyOf(method: string, pattern: RegExp, keys: readonly string[]): string | undefined {
  const found = keys.filter((key) => {
    const [keyMethod, template] = key.split(" ") as [string, string];
    return keyMethod === method && pattern.test(sampleOfTemplate(template));
  });
  return found.length === 1 ? found[0] : undefined;
}

/** The weakest role that may call a route (method and pattern); throws when the table has no row for it. */
export function minimumRoleOf(method: string, pattern: RegExp): ApiRole {
  const key = routeKeyOf(method, pattern, Object.keys(ROUTE_ROLES));
  if (key === undefined) throw new Error(`${method} ${String(pattern)} has no single row in ROUTE_ROLES (api/api-roles.ts)`);
  return ROUTE_ROLES[key]!;
}
