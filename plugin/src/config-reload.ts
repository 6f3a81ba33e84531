import type { AuthChain } from "./chain/auth-chain.js";
import type { Logger } from "./core/log.js";
import type { AddressRules } from "./net/address-rules.js";
import type { HlsSessionKeys } from "./hls/hls-session-keys.js";
import type { SessionLimiter } from "./sessions/session-limiter.js";
import type { SessionRechecker } from "./sessions/session-rechecker.js";
import type { SessionStore } from "./core/session-store.js";
import { changedKeys, RELOADABLE_KEYS } from "./config/config-changes.js";
import type { PluginConfig } from "./plugin-config-schema.js";

/** What a reload did: the keys now in force, and the changed keys that wait for a restart. */
export interface ConfigReloadOutcome {
  readonly applied: readonly string[];
  readonly restartNeeded: readonly string[];
}

/** The outcome, and the configuration now in force: the running one with the applied keys replaced. */
export interface AppliedReload extends ConfigReloadOutcome {
  readonly inForce: PluginConfig;
}

/** The running parts a reload changes. */
export interface ReloadTargets {
  readonly addressRules: AddressRules;
  readonly chain: AuthChain;
  readonly registry: SessionStore;
  readonly rechecker: SessionRechecker;
  readonly limiter: SessionLimiter;
  /** The HLS session keys, when the HLS gate runs. */
  readonly hlsKeys: HlsSessionKeys | undefined;
  readonly log: Logger;
  /** Sets the host server's own log level (`log.nmsLevel`); does nothing before the plugin is attached. */
  readonly setHostLogLevel: (level: string) => void;
  /** Puts new securetoken settings in force for the securetoken step. */
  readonly setSecuretoken: (settings: PluginConfig["auth"]["securetoken"]) => void;
}

/**
 * Puts the reloadable part of a new, validated configuration in force: the deny and allow lists, the
 * trusted proxies, the default action, the session limit policy and caps (for viewers who join from
 * now on), the HLS idle time and address binding, the log levels, and the securetoken settings (new
 * secrets, format, skew) while the securetoken step stays on (turning it on or off needs a restart).
 * Playing sessions whose address is now on the deny list are re-checked at once (and so cut); other
 * changes meet playing sessions at their next re-check. Every other changed key is reported as needing
 * a restart and left as it was: the parts are configured from the configuration now in force, which
 * takes from `next` only the applied keys.
 */
export function applyConfigReload(current: PluginConfig, next: PluginConfig, targets: ReloadTargets): AppliedReload {
  const changed = changedKeys(current, next);
  const reloadable = reloadableKeys(current, next);
  const applied = changed.filter((key) => reloadable.includes(key));
  const restartNeeded = changed.filter((key) => !reloadable.includes(key));
  const inForce = withKeys(current, next, applied);
  targets.setSecuretoken(inForce.auth.securetoken);
  targets.addressRules.replace(inForce.auth);
  targets.chain.defaultAction = inForce.auth.defaultAction;
  // New limits apply to viewers who join from now on; nobody playing is cut by a lower cap.
  targets.limiter.configure(inForce.sessions.limitPolicy, inForce.sessions);
  targets.hlsKeys?.configure(inForce.hls.sessionIdleSec, inForce.hls.ipBinding);
  // Log levels only when they changed: an operator's own logger keeps the level it was given.
  if (applied.includes("log.level")) targets.log.level = inForce.log.level;
  if (applied.includes("log.nmsLevel")) targets.setHostLogLevel(inForce.log.nmsLevel);
  if (applied.includes("auth.denyIps")) cutNowDenied(targets);
  targets.log.info({ event: "config.reloaded", applied, restartNeeded }, "configuration reloaded");
  if (restartNeeded.length > 0) {
    targets.log.warn(
      { event: "config.restart_needed", keys: restartNeeded },
      `changed keys take effect after a restart: ${restartNeeded.join(", ")}`,
    );
  }
  return { applied, restartNeeded, inForce };
}

/** Re-checks at once the playing sessions whose address the new deny list names, which cuts them. */
function cutNowDenied(targets: ReloadTargets): void {
  const deny = targets.addressRules.deny;
  for (const session of targets.registry.list({ state: "playing" })) {
    const address = session.request?.address;
    if (address != null && deny.match(address) !== undefined) void targets.rechecker.recheckNow(session);
  }
}

/** `current` with the given `section.key` values taken from `next`; a later reload still sees what waits. */
function withKeys(current: PluginConfig, next: PluginConfig, keys: readonly string[]): PluginConfig {
  const result: Record<string, Record<string, unknown>> = { ...(current as unknown as Record<string, Record<string, unknown>>) };
  for (const key of keys) {
    const [section, name] = key.split(".") as [string, string];
    result[section] = { ...result[section], [name]: (next as unknown as Record<string, Record<string, unknown>>)[section]![name] };
  }
  return result as unknown as PluginConfig;
}

/** The keys this reload can apply: the fixed ones, and securetoken while its step exists before and after. */
function reloadableKeys(current: PluginConfig, next: PluginConfig): readonly string[] {
  const securetokenStays = current.auth.securetoken.secrets.length > 0 && next.auth.securetoken.secrets.length > 0;
  return securetokenStays ? [...RELOADABLE_KEYS, "auth.securetoken"] : RELOADABLE_KEYS;
}
