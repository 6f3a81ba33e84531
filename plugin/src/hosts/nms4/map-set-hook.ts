/**
 * Hooks one NMS registry map (`Context.sessions`, `Context.broadcasts`): `onSet` sees every value NMS
 * stores from now on, before it is stored, and every value already there. NMS creates a session or a
 * broadcast and registers it with `set` before any of its data flows, so this is where the plugin can
 * wrap them first. Returns the function that gives the map its own `set` back.
 */
export function hookMapSet<K, V>(map: Map<K, V>, onSet: (value: V) => void): () => void {
  const originalSet = map.set;
  const wasOwn = Object.hasOwn(map, "set");
  map.set = function hookedSet(this: Map<K, V>, key: K, value: V) {
    onSet(value);
    return originalSet.call(this, key, value);
  };
  for (const value of map.values()) onSet(value);
  return () => {
    if (wasOwn) map.set = originalSet;
    else delete (map as { set?: unknown }).set;
  };
}
