/** The keys a running plugin takes over when its configuration is reloaded; the rest need a restart. */
export const RELOADABLE_KEYS: readonly string[] = [
  "auth.denyIps",
  "auth.allowIps",
  "auth.trustedProxies",
  "auth.defaultAction",
  "sessions.limitPolicy",
  "sessions.maxPerIp",
  "sessions.maxPerChannel",
  "sessions.revokedForSec",
  "hls.sessionIdleSec",
  "hls.ipBinding",
  "log.level",
  "log.nmsLevel",
];

/**
 * The key paths (`section.key`, or `section` for a value that is not a mapping) whose values differ
 * between two validated configurations, in a stable order.
 */
export function changedKeys(before: object, after: object): string[] {
  const changed: string[] = [];
  for (const section of union(Object.keys(before), Object.keys(after))) {
    const a = (before as Record<string, unknown>)[section];
    const b = (after as Record<string, unknown>)[section];
    if (!isMapping(a) || !isMapping(b)) {
      if (canonical(a) !== canonical(b)) changed.push(section);
      continue;
    }
    for (const key of union(Object.keys(a), Object.keys(b))) {
      if (canonical(a[key]) !== canonical(b[key])) changed.push(`${section}.${key}`);
    }
  }
  return changed;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

/** JSON with sorted keys; compiled values hold bigints (IPv6 ranges), written as text. */
function canonical(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === "bigint") return `${v}n`;
      if (isMapping(v))
        return Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        );
      return v;
    }) ?? "undefined"
  );
}
