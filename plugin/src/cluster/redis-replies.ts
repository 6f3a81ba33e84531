/**
 * The key/value pairs of a map reply: node-redis gives a RESP3 map (HGETALL, XREAD) as an object,
 * a RESP2 one as a flat array or an array of pairs; nil is no pairs.
 */
export function pairsOf<V = string>(reply: unknown): [string, V][] {
  if (reply === null || reply === undefined) return [];
  if (!Array.isArray(reply)) return Object.entries(reply as Record<string, V>);
  if (reply.every((item) => Array.isArray(item) && item.length === 2)) return reply as [string, V][];
  const out: [string, V][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), reply[i + 1] as V]);
  return out;
}

/** Resolves after `ms` (a pause between tries; a timer, not a clock reading). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
