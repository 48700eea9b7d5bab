import type { Store } from '../../src/store/types.js';

/** One call that reached the store: which keys, how many characters moved, and the TTL given. */
export interface StoreCall {
  op: 'get' | 'set' | 'setIfAbsent' | 'delete' | 'expire';
  keys: string[];
  chars: number;
  ttlMs?: number;
}

/**
 * A Store that passes every call through to `inner` and records it, so a test can count what a
 * page flip reads or a save writes; `before` runs ahead of each call reaching `inner` (a test holds
 * a reader or a writer there, between two of its store calls, to interleave another).
 */
export interface RecordingStore extends Store {
  calls: StoreCall[];
  /** Keys set (or refreshed) and not deleted since, by this wrapper. */
  live(): Set<string>;
  before: ((call: Omit<StoreCall, 'chars'>) => Promise<void> | void) | undefined;
  reset(): void;
}

export function recordingStore(inner: Store): RecordingStore {
  const calls: StoreCall[] = [];
  const live = new Set<string>();
  const len = (v: string | undefined) => v?.length ?? 0;
  const store: RecordingStore = {
    calls,
    before: undefined,
    live: () => new Set(live),
    reset: () => {
      calls.length = 0;
    },
    async get(key) {
      await store.before?.({ op: 'get', keys: [key] });
      const v = await inner.get(key);
      calls.push({ op: 'get', keys: [key], chars: len(v) });
      return v;
    },
    async getMany(keys) {
      await store.before?.({ op: 'get', keys: [...keys] });
      const vs = await (inner.getMany ? inner.getMany(keys) : Promise.all(keys.map((k) => inner.get(k))));
      calls.push({ op: 'get', keys: [...keys], chars: vs.reduce((n, v) => n + len(v), 0) });
      return vs;
    },
    async set(key, value, ttlMs) {
      await store.before?.({ op: 'set', keys: [key], ttlMs });
      await inner.set(key, value, ttlMs);
      live.add(key);
      calls.push({ op: 'set', keys: [key], chars: value.length, ttlMs });
    },
    async setIfAbsent(key, value, ttlMs) {
      await store.before?.({ op: 'setIfAbsent', keys: [key], ttlMs });
      const ok = await inner.setIfAbsent(key, value, ttlMs);
      if (ok) live.add(key);
      calls.push({ op: 'setIfAbsent', keys: [key], chars: value.length, ttlMs });
      return ok;
    },
    async delete(key) {
      await store.before?.({ op: 'delete', keys: [key] });
      await inner.delete(key);
      live.delete(key);
      calls.push({ op: 'delete', keys: [key], chars: 0 });
    },
    async expire(keys, ttlMs) {
      await store.before?.({ op: 'expire', keys: [...keys], ttlMs });
      const alive = await inner.expire!(keys, ttlMs);
      for (const [i, k] of keys.entries()) {
        if (alive[i]) live.add(k);
        else live.delete(k);
      }
      calls.push({ op: 'expire', keys: [...keys], chars: 0, ttlMs });
      return alive;
    },
    take: (key, rate) => inner.take(key, rate),
    close: () => inner.close(),
  };
  return store;
}
