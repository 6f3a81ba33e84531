import { performance } from "node:perf_hooks";
import type { BackendDispatcher } from "./backend-transport.js";
import type { Clock } from "../core/clock.js";
import type { BackendConfig } from "./backend-schema.js";
import { BackendRequestError, BackendResponseError, BackendUnreachableError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { SessionStore } from "../core/session-store.js";
import type { BackendAnswer } from "./backend-answer.js";
import type { BackendCall, BackendProtocol, ClientCounts } from "./backend-protocol.js";
import { BackendTransport, safeTarget } from "./backend-transport.js";
import { checkBackendCall } from "./check-backend-call.js";
import { createBackendProtocol } from "./backend-protocols.js";
import { SessionGrants } from "./session-grants.js";
import { ShadowDisagreements } from "./shadow-disagreements.js";
import { VerdictCache, type VerdictSource } from "./verdict-cache.js";
import type { Authorizer, OutboundCall } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { allow, deny, type StepVerdict } from "../core/decision.js";

/** What the backend step needs besides its configuration. */
export interface BackendParts {
  /** Live sessions: client counts for Flussonic backends, and grant cleanup when a session ends. */
  sessions: SessionStore;
  clock: Clock;
  /** Replaces the built-in keep-alive pool (an undici Agent, ProxyAgent…); its owner closes it. */
  dispatcher?: BackendDispatcher | undefined;
  /**
   * `auth.shadowBackend`: another backend step asked beside this one on every check, never awaited and
   * never deciding; its disagreements are counted and logged (`ShadowDisagreements`). Started and closed with this step.
   */
  shadow?: Authorizer | undefined;
}

/** The deny reason of an explain with `cacheOnly` when the cache holds no verdict: a real play would ask the backend. */
export const CACHE_ONLY_MISS_REASON = "no cached backend verdict (cacheOnly): a real play would ask the backend";

/** How often the verdict cache drops expired entries (denies included) that nobody asked for again, ms. */
export const CACHE_PURGE_INTERVAL_MS = 10_000;

/**
 * One backend round trip's result, as cached and shared between coalesced callers. Only an answer is
 * ever cached; the other kinds are shared with the callers already waiting, then forgotten.
 * - `unreachable`: a network failure toward the backend (the only kind `onUnreachable` applies to);
 * - `invalid`: the request for this viewer cannot be built or sent (deny);
 * - `busy`: `maxPendingCalls` calls were already waiting, this one was not made (deny);
 * - `failed`: an error nobody recognised (deny: an unknown error is never taken for an outage).
 */
type Outcome =
  | { readonly kind: "answer"; readonly answer: BackendAnswer; readonly receivedAt: number }
  | { readonly kind: "unreachable"; readonly error: BackendUnreachableError }
  | { readonly kind: "invalid"; readonly error: BackendRequestError }
  | { readonly kind: "busy" }
  | { readonly kind: "failed"; readonly error: unknown };

/**
 * The backend step (docs/protocols.md §1 step 5): asks the configured middleware, and its verdict ends
 * the chain.
 *
 * - Verdicts are cached by everything the backend saw that matters (see BackendProtocol.keyOf): an allow
 *   for `X-AuthDuration` (else `allowTtlSec`), a deny for `denyTtlSec` at most. Concurrent identical
 *   checks share one call. A cached or shared allow serves every session presenting the same facts;
 *   per-user limits still count each session (SessionLimiter).
 * - An unreachable backend (refused, DNS, timeout, reset, TLS) gives `onUnreachable`, logged as
 *   `backend.unreachable` at error level on every check. A 5xx denies a new session.
 * - Nothing else is "unreachable", so `onUnreachable: allow` never lets in by accident: a request that
 *   cannot be built for this viewer (a header value with CR/LF/NUL, too long, a query a URL cannot
 *   carry; see checkBackendCall) is not sent and denies (`backend.request_invalid`); an error the
 *   transport does not recognise denies (`backend.call_failed`); so does a check beyond
 *   `maxPendingCalls` calls in flight (`backend.busy`). New checks and re-checks alike.
 * - On a re-check, a session whose allow expired less than `staleIfErrorSec` ago keeps it while the
 *   backend fails (stale-if-error). With `recheckAsksBackend: false` (Ministra), a re-check inside the
 *   backend's X-AuthDuration keeps the grant without asking: Ministra's tokens die after ~5 s.
 *
 * @example
 * const step = createBackendAuthorizer({ type: "http-request", url: "http://127.0.0.1:6000/", ...defaults }, { sessions, clock }, log);
 */
export function createBackendAuthorizer(config: BackendConfig, parts: BackendParts, log: Logger): Authorizer {
  const protocol: BackendProtocol = createBackendProtocol(config);
  const target = safeTarget(protocol.checkUrl);
  const transport = new BackendTransport({ ...config, url: target }, parts.dispatcher);
  const cache = new VerdictCache<Outcome>(config.cacheEntries, parts.clock, {
    maxBytes: config.cacheMaxBytes,
    purgeIntervalMs: CACHE_PURGE_INTERVAL_MS,
  });
  let pendingCalls = 0;
  const sessionGrants = new SessionGrants(parts.sessions);
  const { clock, shadow } = parts;
  const disagreements = shadow === undefined ? undefined : new ShadowDisagreements(log);

  /** Seconds until the next re-check for a grant ending in `remainingMs`, capped by recheckMaxSec. */
  const recheckSecFor = (remainingMs: number): number => {
    const sec = config.recheckMaxSec > 0 ? Math.min(remainingMs / 1000, config.recheckMaxSec) : remainingMs / 1000;
    return Math.max(1, Math.ceil(sec));
  };

  const ttlMsOf = (outcome: Outcome): number => {
    if (outcome.kind !== "answer") return 0;
    const { answer } = outcome;
    if (answer.kind === "allow") {
      const sec = answer.authDurationSec ?? config.allowTtlSec;
      return (config.recheckMaxSec > 0 ? Math.min(sec, config.recheckMaxSec) : sec) * 1000;
    }
    if (answer.kind === "deny") return Math.min(answer.authDurationSec ?? config.denyTtlSec, config.denyTtlSec) * 1000;
    return 0;
  };

  const counts = (request: AuthRequest) => (): ClientCounts => ({
    stream: parts.sessions.count({ state: "playing", app: request.app, channel: request.channel }),
    total: parts.sessions.count({ state: "playing" }),
  });

  const callListeners = new Set<(call: OutboundCall) => void>();
  const reportCall = (started: number, result: string) => {
    const call = { seconds: (performance.now() - started) / 1000, result };
    for (const listener of callListeners) listener(call);
  };

  /** The call for this request as it will be sent, or the reason it cannot be. */
  function buildCall(request: AuthRequest): BackendCall | BackendRequestError {
    try {
      return checkBackendCall(protocol.build(request, counts(request)), target);
    } catch (error) {
      if (error instanceof BackendRequestError) return error;
      return new BackendRequestError(target, `could not be built: ${error instanceof Error ? error.name : typeof error}`, { cause: error });
    }
  }

  async function ask(request: AuthRequest): Promise<Outcome> {
    const call = buildCall(request);
    if (call instanceof BackendRequestError) return { kind: "invalid", error: call };
    if (pendingCalls >= config.maxPendingCalls) return { kind: "busy" };
    pendingCalls++;
    const started = performance.now();
    // An explain's call is not a viewer's: it is left out of the call metrics.
    const report = request.dryRun === undefined ? reportCall : () => {};
    try {
      const response = await transport.get(call.url, call.headers, call.readBody);
      report(started, String(response.status));
      log.debug({ event: "backend.call", backend: target, status: response.status, ms: elapsed(started) }, "backend answered");
      return { kind: "answer", answer: protocol.interpret(response), receivedAt: clock.now() };
    } catch (error) {
      if (error instanceof BackendUnreachableError) {
        report(started, error.failure);
        return { kind: "unreachable", error };
      }
      if (error instanceof BackendResponseError) {
        report(started, "bad-answer");
        return { kind: "answer", answer: { kind: "error", reason: error.message }, receivedAt: clock.now() };
      }
      if (error instanceof BackendRequestError) {
        report(started, "invalid-request");
        return { kind: "invalid", error };
      }
      report(started, "failed");
      return { kind: "failed", error };
    } finally {
      pendingCalls--;
    }
  }

  function staleAllow(request: AuthRequest, problem: string): StepVerdict | undefined {
    if (request.purpose !== "recheck") return undefined;
    const grant = sessionGrants.get(request.sessionId);
    const now = clock.now();
    const graceEnd = grant === undefined ? 0 : grant.until + config.staleIfErrorSec * 1000;
    if (grant === undefined || now > graceEnd) return undefined;
    log.warn(
      { event: "backend.stale_if_error", backend: target, sessionId: request.sessionId, problem, graceLeftMs: graceEnd - now },
      "backend failing; re-checked session keeps its allow",
    );
    // Retry within the grace, so a backend that recovers renews the session before the grace ends.
    const retrySec = Math.max(1, Math.min(Math.ceil((graceEnd - now) / 1000), Math.max(1, config.allowTtlSec)));
    return allow(`stale-if-error: ${problem}; allow kept`, grant.user, retrySec);
  }

  function verdictOf(request: AuthRequest, outcome: Outcome, source: VerdictSource): StepVerdict {
    // An explain has no session: no grant is kept or dropped for it.
    const grants = request.dryRun === undefined ? sessionGrants : NO_GRANTS;
    if (outcome.kind === "invalid") {
      grants.delete(request.sessionId);
      log.warn(
        {
          event: "backend.request_invalid",
          backend: target,
          sessionId: request.sessionId,
          purpose: request.purpose,
          problem: outcome.error.problem,
        },
        "backend check request cannot be sent for this viewer; denying",
      );
      return deny(`backend request not sent: ${outcome.error.problem}`);
    }
    if (outcome.kind === "busy") {
      const stale = staleAllow(request, `${config.maxPendingCalls} backend calls pending`);
      if (stale !== undefined) return stale;
      grants.delete(request.sessionId);
      log.warn(
        {
          event: "backend.busy",
          backend: target,
          sessionId: request.sessionId,
          purpose: request.purpose,
          maxPendingCalls: config.maxPendingCalls,
        },
        "too many backend calls pending (auth.backend.maxPendingCalls); denying",
      );
      return deny(`backend busy: ${config.maxPendingCalls} calls pending (auth.backend.maxPendingCalls)`);
    }
    if (outcome.kind === "failed") {
      grants.delete(request.sessionId);
      const what = describeUnknown(outcome.error);
      log.error(
        { event: "backend.call_failed", backend: target, sessionId: request.sessionId, purpose: request.purpose, error: what },
        "auth backend call failed with an unrecognised error; denying",
      );
      return deny(`backend call failed (${what})`);
    }
    if (outcome.kind === "unreachable") {
      const stale = staleAllow(request, `unreachable (${outcome.error.failure})`);
      if (stale !== undefined) return stale;
      log.error(
        {
          event: "backend.unreachable",
          backend: target,
          cause: outcome.error.failure,
          action: config.onUnreachable,
          sessionId: request.sessionId,
          purpose: request.purpose,
          error: outcome.error.message,
        },
        `auth backend unreachable (${outcome.error.failure}); default action ${config.onUnreachable}`,
      );
      const reason = `backend unreachable (${outcome.error.failure}); default action ${config.onUnreachable}`;
      if (config.onUnreachable === "deny") return deny(reason);
      return allow(reason, undefined, config.allowTtlSec > 0 ? config.allowTtlSec : undefined);
    }
    const { answer } = outcome;
    const via = source === "backend" ? "" : ` (${source})`;
    if (answer.kind === "error") {
      const stale = staleAllow(request, answer.reason);
      if (stale !== undefined) return stale;
      log.error(
        { event: "backend.error_answer", backend: target, sessionId: request.sessionId, purpose: request.purpose, reason: answer.reason },
        "auth backend failed; denying",
      );
      grants.delete(request.sessionId);
      return deny(`${answer.reason}${via}`);
    }
    if (answer.kind === "deny") {
      grants.delete(request.sessionId);
      return deny(`${answer.reason}${via}`, answer.redirectUrl);
    }
    const durationSec = answer.authDurationSec ?? config.allowTtlSec;
    if (durationSec === 0) {
      grants.delete(request.sessionId);
      return allow(`${answer.reason}${via}`, answer.user);
    }
    const until = outcome.receivedAt + durationSec * 1000;
    grants.set(request.sessionId, { until, user: answer.user });
    return allow(`${answer.reason}${via}`, answer.user, recheckSecFor(until - clock.now()));
  }

  /**
   * An explain: the cached verdict if there is one (read without counting a hit), else the backend's
   * answer, which is not cached; with `cacheOnly`, never a call.
   */
  async function explained(request: AuthRequest, cacheOnly: boolean): Promise<StepVerdict> {
    const cached = cache.peek(protocol.keyOf(request));
    if (cached !== undefined) return verdictOf(request, cached, "cache");
    if (cacheOnly) return deny(CACHE_ONLY_MISS_REASON);
    return verdictOf(request, await ask(request), "backend");
  }

  return {
    name: "backend",
    decide: async function backend(request: AuthRequest): Promise<StepVerdict> {
      if (request.purpose === "recheck" && protocol.keepsGrantOnRecheck) {
        const grant = sessionGrants.get(request.sessionId);
        const now = clock.now();
        if (grant !== undefined && now < grant.until) {
          return allow(
            `backend grant kept (X-AuthDuration, ${Math.ceil((grant.until - now) / 1000)} s left)`,
            grant.user,
            recheckSecFor(grant.until - now),
          );
        }
      }
      if (request.dryRun !== undefined) return explained(request, request.dryRun.cacheOnly);
      // Started before the real backend is asked, so both calls run at once; the viewer never waits for it.
      const shadowed = shadow === undefined ? undefined : Promise.resolve().then(() => shadow.decide(request));
      const { value, source } = await cache.resolve(protocol.keyOf(request), () => ask(request), ttlMsOf);
      const verdict = verdictOf(request, value, source);
      if (shadowed !== undefined) disagreements!.watch(request, verdict, shadowed);
      return verdict;
    },
    counters: () => ({ ...cache.counters }),
    ...(disagreements === undefined ? {} : { disagreements: () => ({ ...disagreements.counts }) }),
    // A revocation cannot tell which cached keys held the revoked token, user or address: all go.
    forget: () => cache.clear(),
    onCall(listener) {
      callListeners.add(listener);
      return () => callListeners.delete(listener);
    },
    start: () => {
      cache.start();
      shadow?.start?.();
    },
    async close() {
      sessionGrants.close();
      cache.close();
      await Promise.all([transport.close(), shadow?.close?.()]);
    },
  };
}

/**
 * An unrecognised error as it may be logged: its name and code only. Its message is left out on purpose:
 * it may quote the URL, and with it the viewer's token.
 */
function describeUnknown(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? `${error.name} ${code}` : error.name;
}

/** The grants of an explain: none kept, none dropped. */
const NO_GRANTS: Pick<SessionGrants, "get" | "set" | "delete"> = { get: () => undefined, set: () => {}, delete: () => {} };

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}
