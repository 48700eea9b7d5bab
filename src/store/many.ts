import type { Store } from './types.js';

/**
 * The optional batch primitives of Store, with a key-by-key fallback for stores that lack them
 * (wrappers in tests and benches implement only the basic five). Same results either way; only the
 * number of round trips differs.
 */
export async function getMany(store: Store, keys: readonly string[]): Promise<(string | undefined)[]> {
  if (keys.length === 0) return [];
  if (store.getMany) return store.getMany(keys);
  return Promise.all(keys.map((key) => store.get(key)));
}

export async function expireMany(store: Store, keys: readonly string[], ttlMs: number): Promise<boolean[]> {
  if (keys.length === 0) return [];
  if (store.expire) return store.expire(keys, ttlMs);
  return Promise.all(keys.map(async (key) => {
    const value = await store.get(key);
    if (value === undefined) return false;
    await store.set(key, value, ttlMs);
    return true;
  }));
}
