import type { ApiRequest, Reply } from "./core/api-route.js";
import { parseIpAddress } from "./net/ip-address.js";
import { credentialKeyOfGiven } from "./sessions/credential-key.js";
import type { AuditAction } from "./stats/audit-trail.js";

/** What an audited route did: its action and target, from the request and its (successful) reply. */
type Describe = (request: ApiRequest, reply: Reply) => { action: AuditAction; target: string | null };

/**
 * The routes whose successful answers (2xx) are operator actions for the audit, keyed like
 * api/api-roles.ts `ROUTE_ROLES`. A target never holds a credential: a revoked token is named by its
 * digest (the `tokenDigest` that `GET /api/revocations` lists), a user by login, a session by id.
 * The console's sign-in is recorded by the sign-in itself (api/console-sign-in.ts).
 */
export const AUDITED_ROUTES: Readonly<Record<string, Describe>> = {
  "DELETE /api/sessions/{id}": ({ params }) => ({ action: "session.close", target: params[0] ?? null }),
  "DELETE /api/users/{user}/sessions": ({ params }) => ({ action: "user.sessions.close", target: params[0] ?? null }),
  "POST /api/revocations": (_request, { body }) => {
    const b = body as { kind?: string; tokenDigest?: string; user?: string; ip?: string };
    return { action: "revoke", target: `${b.kind}:${b.tokenDigest ?? b.user ?? b.ip}` };
  },
  "POST /api/sessions/revoke": ({ body }) => ({ action: "revoke", target: revokedTarget(body) }),
  "DELETE /api/revocations/{kind}/{key}": ({ params: [how, value] }) => ({ action: "revocation.lift", target: liftedTarget(how!, value!) }),
  "POST /api/users": (_request, { body }) => ({
    action: "user.create",
    target: (body as { user?: { login?: string } }).user?.login ?? null,
  }),
  "PUT /api/users/{login}": ({ params }) => ({ action: "user.edit", target: params[0] ?? null }),
  "PATCH /api/users/{login}": ({ params }) => ({ action: "user.edit", target: params[0] ?? null }),
  "DELETE /api/users/{login}": ({ params }) => ({ action: "user.delete", target: params[0] ?? null }),
  "POST /api/webhooks/test": ({ body }) => ({ action: "webhook.test", target: webhookOf(body) }),
};

/** `kind:key` of a revocation made by `POST /api/sessions/revoke` (its body was already accepted). */
function revokedTarget(body: Buffer): string | null {
  const given = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  for (const field of ["token", "sign", "user", "ip"] as const) {
    const value = given[field];
    if (typeof value !== "string") continue;
    if (field === "token" || field === "sign") return `token:${credentialKeyOfGiven(value)}`;
    return field === "ip" ? `ip:${parseIpAddress(value)?.text ?? value}` : `user:${value}`;
  }
  return null;
}

/** `kind:key` of a lifted revocation: a token given in the path is named by its digest, never as given. */
function liftedTarget(how: string, value: string): string {
  if (how === "token") return `token:${credentialKeyOfGiven(value)}`;
  if (how === "token-digest") return `token:${value}`;
  return how === "ip" ? `ip:${parseIpAddress(value)?.text ?? value}` : `${how}:${value}`;
}

/** The webhook a test went to, or `*` for every webhook. */
function webhookOf(body: Buffer): string {
  if (body.length === 0) return "*";
  const value = (JSON.parse(body.toString("utf8")) as { webhook?: unknown }).webhook;
  return typeof value === "string" ? value : "*";
}
