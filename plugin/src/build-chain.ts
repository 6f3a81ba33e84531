import type { BackendDispatcher } from "./backend/backend-transport.js";
import type { Clock } from "./core/clock.js";
import type { PluginConfig } from "./plugin-config-schema.js";
import type { SessionStore } from "./core/session-store.js";
import type { Logger } from "./core/log.js";
import { AddressRules } from "./net/address-rules.js";
import type { LocalProcesses } from "./net/process-proof.js";
import { PasswordVerifier } from "./users/password-verifier.js";
import type { UserStore } from "./users/user-store.js";
import { AuthChain } from "./chain/auth-chain.js";
import { createBackendAuthorizer } from "./backend/backend-authorizer.js";
import type { Authorizer } from "./core/authorizer.js";
import { createInternalAuthorizer } from "./chain/internal-authorizer.js";
import { createIpAllowAuthorizer } from "./chain/ip-allow-authorizer.js";
import { createIpDenyAuthorizer } from "./chain/ip-deny-authorizer.js";
import { createRevokedAuthorizer, type RevocationChecks } from "./chain/revoked-authorizer.js";
import { BruteForceThrottle } from "./brute-force/brute-force-throttle.js";
import { createSecureTokenAuthorizer } from "./securetoken/securetoken-authorizer.js";
import { createUsersAuthorizer, TOKEN_PARAM } from "./users/users-authorizer.js";
import { createJwtAuthorizer } from "./jwt/jwt-authorizer.js";
import { createOriginAuthorizer } from "./origin/origin-authorizer.js";
import { createGeoAuthorizer } from "./geo/geo-authorizer.js";
import { geoIsOn } from "./geo/geo-schema.js";

/** What the chain is built from besides the configuration. */
export interface ChainParts {
  /** The server's own processes (the bundled server's ffmpeg children), let in on proof; omit when there are none. */
  internalProcesses?: LocalProcesses | undefined;
  /** The operator's revocations (`RevocationList`): the `revoked` step, right after `internal`; left out when omitted. */
  revocations?: RevocationChecks | undefined;
  /** Operator authorizers, run after securetoken and before the backend. */
  customAuthorizers?: readonly Authorizer[] | undefined;
  /** Live sessions, for steps that count them (Flussonic `stream_clients`, user limits). */
  sessions: SessionStore;
  clock: Clock;
  /** Built-in users (`UserStore.open`); the users step is left out when undefined. Closed with the chain. */
  users?: UserStore | undefined;
  /** The securetoken settings in force (reloadable); the configuration's when omitted. */
  securetoken?: (() => PluginConfig["auth"]["securetoken"]) | undefined;
  /** The deny and allow lists the IP steps read (reloadable); made from the configuration when omitted. */
  addressRules?: AddressRules | undefined;
  /** Replaces the built-in keep-alive pool of the backend step and of the JWT step's key set fetches; its owner closes it. */
  backendDispatcher?: BackendDispatcher | undefined;
}

/**
 * Builds the chain in the order of docs/protocols.md §1 from a validated configuration. With built-in users
 * and the brute-force throttle on, a user token that no step accepts is a failed credential: the users
 * step refuses and counts it when no later step (securetoken, custom, backend) could take it and the
 * default is deny; otherwise the chain's default deny of a request with a `token` counts it once.
 */
export function buildChain(config: PluginConfig, parts: ChainParts, log: Logger): AuthChain {
  const steps: Authorizer[] = [];
  if (parts.internalProcesses !== undefined) steps.push(createInternalAuthorizer(parts.internalProcesses));
  if (parts.revocations !== undefined) steps.push(createRevokedAuthorizer(parts.revocations));
  const rules = parts.addressRules ?? new AddressRules(config.auth);
  steps.push(createIpDenyAuthorizer(() => rules.deny));
  steps.push(createIpAllowAuthorizer(() => rules.allow));
  if (geoIsOn(config.auth.geo)) steps.push(createGeoAuthorizer(config.auth.geo, log));
  if (config.auth.originLock.allow.length > 0) steps.push(createOriginAuthorizer(config.auth.originLock));
  const throttle = config.auth.bruteForce.enabled ? new BruteForceThrottle(config.auth.bruteForce, parts.clock, log) : undefined;
  // Could a step after the users step accept a token that is no user's? Then only the chain's final
  // default deny shows that nobody took it; otherwise the users step knows at once.
  const laterStepMayTakeToken =
    config.auth.jwt !== null ||
    config.auth.securetoken.secrets.length > 0 ||
    (parts.customAuthorizers?.length ?? 0) > 0 ||
    config.auth.backend !== null;
  let chain: AuthChain | undefined;
  if (parts.users !== undefined) {
    steps.push(
      createUsersAuthorizer(parts.users, {
        clock: parts.clock,
        throttle,
        recheckIntervalSec: config.sessions.recheckIntervalSec,
        verifier: new PasswordVerifier(config.auth.bruteForce, parts.clock, log),
        unknownTokenFails: () => !laterStepMayTakeToken && chain?.defaultAction === "deny",
      }),
    );
  }
  if (config.auth.jwt !== null) {
    steps.push(
      createJwtAuthorizer(config.auth.jwt, {
        clock: parts.clock,
        log,
        throttle,
        packages: () => config.auth.packages,
        dispatcher: parts.backendDispatcher,
      }),
    );
  }
  if (config.auth.securetoken.secrets.length > 0)
    steps.push(createSecureTokenAuthorizer(parts.securetoken ?? config.auth.securetoken, parts.clock, throttle));
  steps.push(...(parts.customAuthorizers ?? []));
  if (config.auth.backend !== null) {
    // The shadow has its own pool and cache: it shares nothing with the backend that decides.
    const shadow =
      config.auth.shadowBackend === null
        ? undefined
        : createBackendAuthorizer(config.auth.shadowBackend, { sessions: parts.sessions, clock: parts.clock }, log);
    steps.push(
      createBackendAuthorizer(
        config.auth.backend,
        { sessions: parts.sessions, clock: parts.clock, dispatcher: parts.backendDispatcher, shadow },
        log,
      ),
    );
  }
  chain = new AuthChain(steps, config.auth.defaultAction, log);
  if (parts.users !== undefined && throttle !== undefined && laterStepMayTakeToken) {
    // A user token that no step accepted (the default denied it) is a failed credential, counted once;
    // a backend's or custom step's own deny is its verdict on a token it knows, and is not counted.
    chain.on("decision", function countUnacceptedToken(request, decision) {
      if (decision.step === "default" && decision.verdict === "deny" && request.params.has(TOKEN_PARAM)) throttle.countFailure(request);
    });
  }
  return chain;
}
