/**
 * A small in-process cache: entries expire after their TTL, and the oldest entry makes room
 * once `maxEntries` is reached (a Map iterates in insertion order).
 */
export interface Entry<V> {
  value: V;
  expires: number;
}

export function createTtlCache<V>(maxEntries: number, now: () => number) {
  const map = new Map<string, Entry<V>>();
  return {
    get(key: string): Entry<V> | undefined {
      const e = map.get(key);
      if (e && e.expires <= now()) {
        map.delete(key);
        return undefined;
      }
      return e;
    },
    delete(key: string): void {
      map.delete(key);
    },
    set(key: string, value: V, ttlMs: number): void {
      if (maxEntries <= 0 || ttlMs <= 0) return;
      if (map.size >= maxEntries) map.delete(map.keys().next().value!);
      map.set(key, { value, expires: now() + ttlMs });
    },
  };
}
