import type { Clock } from "../core/clock.js";
import { REVOCATION_KINDS, type ClusterView, type EdgeCommand, type CoveredSession, type RevocationKind } from "../core/cluster-seams.js";
import type { Logger } from "../core/log.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import { applyEdgeCommand, type EdgeCommandTargets } from "./edge-commands.js";
import { credentialKeyOfGiven } from "./credential-key.js";
import { parseIpAddress } from "../net/ip-address.js";
import { isReply, jsonBody, type ApiRequest, type Reply, type Route } from "../core/api-route.js";
import { apiError } from "../core/api-errors.js";

/** What the cluster-aware routes read of the cluster layer (declared in core, implemented by `EdgeCluster`). */
export type { ClusterView };

/** What revocations and closes work on: this edge's sessions and revocations, and the other edges when clustered. */
export interface RevocationDeps {
  targets: EdgeCommandTargets;
  cluster: ClusterView | undefined;
  /** How long a revocation without `ttlSec` lasts (`sessions.revokedForSec`). */
  revokedForSec: () => number;
  clock: Clock;
  log: Logger;
}

/** The live sessions of a user: by user id or session name (`isSessionOf` in core/session-store.ts). */
export function sessionsOfUser(registry: SessionStore, user: string): ViewerSession[] {
  return registry.list({ user });
}

/**
 * Runs a command on this edge, then on every other edge (through Redis when clustered). Returns the ids
 * of the sessions it closes: this edge's, and the other edges' that it covers as Redis listed them just
 * before the command went out.
 */
export async function runEverywhere(deps: RevocationDeps, command: EdgeCommand): Promise<string[]> {
  const closed = applyEdgeCommand(deps.targets, command);
  const cluster = deps.cluster;
  if (cluster === undefined) return closed;
  if (command.op === "lift") {
    await cluster.publish(command);
    return closed;
  }
  const others = (await cluster.publishAfterRead(command)) ?? [];
  return [...new Set([...closed, ...others.filter(coveredBy(command)).map((s) => s.id)])];
}

/** Whether a command (not a lift) closes another edge's session. */
function coveredBy(command: Exclude<EdgeCommand, { op: "lift" }>): (s: CoveredSession) => boolean {
  const ofUser = (user: string) => (s: CoveredSession) => s.userId === user || s.name === user;
  switch (command.op) {
    case "close-session":
      return (s) => s.id === command.id;
    case "close-user":
      return ofUser(command.user);
    case "revoke":
      if (command.kind === "user") return ofUser(command.key);
      if (command.kind === "ip") return (s) => s.ip === command.key;
      return (s) => s.credentialKeys.includes(command.key);
  }
}

/**
 * A revocation made through the API (`POST /api/revocations`, or its older spelling `POST /api/sessions/revoke`) with `{"token"}`, `{"sign"}`, `{"user"}` or `{"ip"}` (and optionally
 * `"ttlSec"`): closes every session it covers on every edge and refuses it on every edge until the
 * revocation lapses (`ttlSec`, default `sessions.revokedForSec`) or is lifted (`DELETE /api/revocations/…`).
 * A credential may be given in any spelling (a user token, a signed link's value, an nms `sign` value,
 * `auth=login:password`, `token=…`, or a whole link): it is stored as its canonical key (`credentialKey`),
 * so every other spelling of it is refused too.
 */
export async function revokeByBody(deps: RevocationDeps, request: ApiRequest): Promise<Revoked | Reply> {
  const parsed = jsonBody(request);
  if (isReply(parsed)) return parsed;
  const body = (parsed.value ?? {}) as Record<string, unknown>;
  const fields = [...REVOCATION_KINDS, "sign"] as const;
  const given = fields.filter((k) => body[k] !== undefined);
  const ttl = body.ttlSec;
  if (given.length !== 1 || typeof body[given[0]!] !== "string" || body[given[0]!] === "") {
    return apiError(
      400,
      "VA_API_BAD_REQUEST",
      'the body must be {"token": "…"}, {"sign": "…"}, {"user": "…"} or {"ip": "…"}, optionally with "ttlSec"',
    );
  }
  if (ttl !== undefined && !(Number.isSafeInteger(ttl) && (ttl as number) >= 1))
    return apiError(400, "VA_API_BAD_REQUEST", "ttlSec must be a whole number of seconds, at least 1");
  const field = given[0]!;
  const kind: RevocationKind = field === "sign" ? "token" : field;
  const value = body[field] as string;
  if (kind === "ip" && parseIpAddress(value) === null)
    return apiError(400, "VA_API_BAD_REQUEST", `ip: "${value.slice(0, 60)}" is not an IPv4 or IPv6 address`);
  const key = keyOf(kind, value);
  if (key === null) return apiError(400, "VA_API_BAD_REQUEST", `${field}: names no credential`);
  const untilMs = deps.clock.now() + 1000 * ((ttl as number | undefined) ?? deps.revokedForSec());
  const closed = await runEverywhere(deps, { op: "revoke", kind, key, untilMs });
  deps.log.info(
    {
      event: "api.sessions_revoked",
      by: kind,
      ...(kind === "token" ? {} : { [kind === "user" ? "userId" : "ip"]: value }),
      closed: closed.length,
      until: new Date(untilMs).toISOString(),
    },
    "revoked through the API",
  );
  return { kind, key, untilMs, closed };
}

/** A revocation in force after `revokeByBody`: its kind and stored key, when it lapses, and the sessions it closed. */
export interface Revoked {
  readonly kind: RevocationKind;
  readonly key: string;
  readonly untilMs: number;
  readonly closed: readonly string[];
}

/**
 * `POST /api/sessions/revoke`, kept for existing clients: 200 with the closed sessions and the lapse time,
 * as before `POST /api/revocations` existed.
 */
export async function revokeAlias(deps: RevocationDeps, request: ApiRequest): Promise<Reply> {
  const revoked = await revokeByBody(deps, request);
  if ("status" in revoked) return revoked;
  return { status: 200, body: { closed: revoked.closed, until: new Date(revoked.untilMs).toISOString() } };
}

/** A revocation as `GET /api/revocations` lists it: a token as its digest, a user or an address as stored. */
function describe(kind: RevocationKind, key: string, untilMs: number): Record<string, string> {
  return { kind, [kind === "token" ? "tokenDigest" : kind]: key, until: new Date(untilMs).toISOString() };
}

/** Where a revocation is lifted: `DELETE` on this path (a token by its digest, never the credential). */
function locationOf(kind: RevocationKind, key: string): string {
  return `/api/revocations/${kind === "token" ? "token-digest" : kind}/${encodeURIComponent(key)}`;
}

/** Routes for the revocations in force: make one, list them (credentials as their keys, `tokenDigest`), and lift one (by the credential in any spelling, or by its listed digest). */
export function revocationRoutes(deps: RevocationDeps): Route[] {
  return [
    {
      method: "GET",
      pattern: /^\/api\/revocations$/,
      handler: () => ({
        status: 200,
        body: {
          revocations: deps.targets.revocations.list().map((r) => describe(r.kind, r.key, r.untilMs)),
        },
      }),
    },
    // POST /api/revocations: a revocation made (the body of revokeByBody); 201 with it as listed, the
    // sessions it closed, and its Location (the path that lifts it).
    {
      method: "POST",
      pattern: /^\/api\/revocations$/,
      handler: async (request) => {
        const revoked = await revokeByBody(deps, request);
        if ("status" in revoked) return revoked;
        const location = locationOf(revoked.kind, revoked.key);
        return {
          status: 201,
          body: { ...describe(revoked.kind, revoked.key, revoked.untilMs), closed: revoked.closed, location },
          headers: { Location: location },
        };
      },
    },
    // DELETE /api/revocations/token/<token>, …/token-digest/<digest> (as listed), …/user/<id>, …/ip/<address>
    {
      method: "DELETE",
      pattern: /^\/api\/revocations\/(token|token-digest|user|ip)\/([^/]+)$/,
      handler: async ({ params: [how, value] }) => {
        const kind: RevocationKind = how === "token-digest" ? "token" : (how as RevocationKind);
        const key = how === "token-digest" ? value! : keyOf(kind, value!);
        if (key === null) return apiError(404, "VA_API_NOT_FOUND", "no such revocation in force");
        const inForce = deps.targets.revocations.list().some((r) => r.kind === kind && r.key === key);
        await runEverywhere(deps, { op: "lift", kind, key });
        deps.log.info({ event: "api.revocation_lifted", kind, inForce }, "revocation lifted through the API");
        return inForce ? { status: 200, body: { lifted: true } } : apiError(404, "VA_API_NOT_FOUND", "no such revocation in force");
      },
    },
  ];
}

/**
 * What a revocation is stored under: a credential as its canonical key (never the credential itself;
 * null when the text names none), an address in the form viewers' addresses take, a user as given.
 */
function keyOf(kind: RevocationKind, value: string): string | null {
  if (kind === "token") return credentialKeyOfGiven(value);
  return kind === "ip" ? (parseIpAddress(value)?.text ?? value) : value;
}
