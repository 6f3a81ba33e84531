import type { Logger } from "../core/log.js";
import type { SessionRechecker } from "../sessions/session-rechecker.js";
import type { SessionStore } from "../core/session-store.js";
import type { EditProblem, UserEdit, UserEditor } from "./user-editor.js";
import { isReply, jsonBody, type ApiRequest, type Reply, type Route } from "../core/api-route.js";
import { revokeAlias, runEverywhere, sessionsOfUser, type RevocationDeps } from "../sessions/revocation.js";
import { apiError, type ApiErrorCode } from "../core/api-errors.js";

/** What the users and revocation routes work on. */
export interface UsersRoutesDeps {
  /** Built-in users, when configured. */
  editor: UserEditor | undefined;
  registry: SessionStore;
  rechecker: SessionRechecker;
  /** Closes and revokes on every edge. */
  revocation: RevocationDeps;
  log: Logger;
}

const STATUS_OF: Record<EditProblem, readonly [number, ApiErrorCode]> = {
  invalid: [400, "VA_API_BAD_REQUEST"],
  "not-found": [404, "VA_API_NOT_FOUND"],
  conflict: [409, "VA_API_CONFLICT"],
  "read-only": [409, "VA_API_CONFLICT"],
};

/**
 * Routes for built-in users (list, get, create, replace, patch, delete) and for revocation (all
 * sessions of a user or of a token). A change takes effect at once for playing sessions too: a
 * deleted or disabled user's sessions are closed as revoked (on every edge with a cluster); any other change re-checks the user's
 * sessions through the chain now, so a removed package, IP or token cuts them without waiting.
 */
export function usersRoutes(deps: UsersRoutesDeps): Route[] {
  const withEditor = (handler: (editor: UserEditor, request: ApiRequest) => Reply | Promise<Reply>) => (request: ApiRequest) =>
    deps.editor === undefined
      ? apiError(404, "VA_API_FEATURE_OFF", "built-in users are off: set auth.usersFile (or auth.users) to use them")
      : handler(deps.editor, request);
  const withJson = (handler: (editor: UserEditor, request: ApiRequest, body: unknown) => Promise<Reply>) =>
    withEditor((editor, request) => {
      const parsed = jsonBody(request);
      return isReply(parsed) ? parsed : handler(editor, request, parsed.value);
    });

  return [
    {
      method: "GET",
      pattern: /^\/api\/users$/,
      handler: withEditor((editor) => ({ status: 200, body: { editable: editor.editable, users: editor.list() } })),
    },
    {
      method: "GET",
      pattern: /^\/api\/users\/([^/]+)$/,
      handler: withEditor((editor, { params: [login] }) => {
        const user = editor.get(login!);
        return user === undefined ? apiError(404, "VA_API_NOT_FOUND", `no user "${login}"`) : { status: 200, body: { user } };
      }),
    },
    {
      method: "POST",
      pattern: /^\/api\/users$/,
      handler: withJson(async (editor, _request, body) => replyTo(await editor.create(body), 201, [])),
    },
    {
      method: "PUT",
      pattern: /^\/api\/users\/([^/]+)$/,
      handler: withJson(async (editor, { params: [login] }, body) => applied(await editor.replace(login!, body), login!)),
    },
    {
      method: "PATCH",
      pattern: /^\/api\/users\/([^/]+)$/,
      handler: withJson(async (editor, { params: [login] }, body) => applied(await editor.patch(login!, body), login!)),
    },
    {
      method: "DELETE",
      pattern: /^\/api\/users\/([^/]+)$/,
      handler: withEditor(async (editor, { params: [login] }) => {
        const result = editor.remove(login!);
        return replyTo(result, 200, result.ok ? await runEverywhere(deps.revocation, { op: "close-user", user: login! }) : []);
      }),
    },
    {
      method: "DELETE",
      pattern: /^\/api\/users\/([^/]+)\/sessions$/,
      handler: async ({ params: [user] }) => {
        const closed = await runEverywhere(deps.revocation, { op: "close-user", user: user! });
        deps.log.info({ event: "api.user_revoked", userId: user, closed: closed.length }, "user's sessions revoked through the API");
        return { status: 200, body: { closed } };
      },
    },
    { method: "POST", pattern: /^\/api\/sessions\/revoke$/, handler: (request) => revokeAlias(deps.revocation, request) },
  ];

  /** After a replace or patch: close a disabled user's sessions, re-check everyone else's now. */
  async function applied(result: UserEdit, login: string): Promise<Reply> {
    if (!result.ok) return replyTo(result, 200, []);
    if (!result.user.enabled) return replyTo(result, 200, await runEverywhere(deps.revocation, { op: "close-user", user: login }));
    const sessions = sessionsOfUser(deps.registry, login);
    await Promise.all(sessions.filter((s) => s.state === "playing").map((s) => deps.rechecker.recheckNow(s)));
    return replyTo(
      result,
      200,
      sessions.filter((s) => s.state === "ended").map((s) => s.id),
    );
  }
}

function replyTo(result: UserEdit, okStatus: number, closed: string[]): Reply {
  if (result.ok) return { status: okStatus, body: { user: result.user, closedSessions: closed } };
  const [status, code] = STATUS_OF[result.problem];
  return apiError(status, code, result.error, result.issues !== undefined ? { issues: result.issues } : {});
}
