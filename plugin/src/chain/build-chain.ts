import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import type { PluginConfig } from "../config/plugin-config-schema.js";
import type { SessionRegistry } from "../sessions/session-registry.js";
import type { Logger } from "../log.js";
import { AddressRules } from "../net/address-rules.js";
import type { UserStore } from "../users/user-store.js";
import { AuthChain } from "./auth-chain.js";
import { createBackendAuthorizer } from "./backend-authorizer.js";
import type { Authorizer } from "./authorizer.js";
import { createInternalAuthorizer } from "./internal-authorizer.js";
import { createIpAllowAuthorizer } from "./ip-allow-authorizer.js";
import { createIpDenyAuthorizer } from "./ip-deny-authorizer.js";
import { BruteForceThrottle } from "./brute-force-throttle.js";
import { createSecureTokenAuthorizer } from "./securetoken-authorizer.js";
import { createUsersAuthorizer } from "./users-authorizer.js";

/** What the chain is built from besides the configuration. */
export interface ChainParts {
  /** The bundled server's secret for its own transcoders; omit when there are none. */
  internalSecret?: string | undefined;
  /** Operator authorizers, run after securetoken and before the backend. */
  customAuthorizers?: readonly Authorizer[] | undefined;
  /** Live sessions, for steps that count them (Flussonic `stream_clients`, user limits). */
  sessions: SessionRegistry;
  clock: Clock;
  /** Built-in users (`UserStore.open`); the users step is left out when undefined. Closed with the chain. */
  users?: UserStore | undefined;
  /** The securetoken settings in force (reloadable); the configuration's when omitted. */
  securetoken?: (() => PluginConfig["auth"]["securetoken"]) | undefined;
  /** The deny and allow lists the IP steps read (reloadable); made from the configuration when omitted. */
  addressRules?: AddressRules | undefined;
  /** Replaces the backend step's built-in keep-alive pool; its owner closes it. */
  backendDispatcher?: Dispatcher | undefined;
}

/** Builds the chain in the order of protocols.md §1 from a validated configuration. */
export function buildChain(config: PluginConfig, parts: ChainParts, log: Logger): AuthChain {
  const steps: Authorizer[] = [];
  if (parts.internalSecret !== undefined) steps.push(createInternalAuthorizer(parts.internalSecret));
  const rules = parts.addressRules ?? new AddressRules(config.auth);
  steps.push(createIpDenyAuthorizer(() => rules.deny));
  steps.push(createIpAllowAuthorizer(() => rules.allow));
  const throttle = config.auth.bruteForce.enabled ? new BruteForceThrottle(config.auth.bruteForce, parts.clock, log) : undefined;
  if (parts.users !== undefined) {
    steps.push(createUsersAuthorizer(parts.users, { clock: parts.clock, throttle, recheckIntervalSec: config.sessions.recheckIntervalSec }));
  }
  if (config.auth.securetoken.secrets.length > 0) steps.push(createSecureTokenAuthorizer(parts.securetoken ?? config.auth.securetoken, parts.clock, throttle));
  steps.push(...(parts.customAuthorizers ?? []));
  if (config.auth.backend !== null) {
    steps.push(createBackendAuthorizer(config.auth.backend, { sessions: parts.sessions, clock: parts.clock, dispatcher: parts.backendDispatcher }, log));
  }
  return new AuthChain(steps, config.auth.defaultAction, log);
}
