import { LRUCache } from 'lru-cache';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { takeToken, type Bucket } from './bucket.js';
import type { RateDecision, RateLimit, Store } from './types.js';
import { takeSlot } from './window.js';

export interface MemoryStoreOptions {
  /** Most entries kept; the least recently used go first. Bounds memory whatever the traffic. */
  maxEntries?: number;
  /** Most characters kept across all values (a 5,000-attendee report is ~1 MB of JSON). */
  maxChars?: number;
  clock?: Clock;
}

/** The in-process store: one replica only (use REDIS_URL for several). */
export function createMemoryStore(opts: MemoryStoreOptions = {}): Store {
  const clock = opts.clock ?? systemClock;
  const values = new LRUCache<string, string>({
    max: opts.maxEntries ?? 200_000,
    maxSize: opts.maxChars ?? 256 * 1024 * 1024,
    sizeCalculation: (v, k) => v.length + k.length || 1,
    ttlAutopurge: false,
    perf: { now: () => clock.now() },
    // lru-cache otherwise caches "now" until a real 1 ms timer fires, so an injected clock's
    // advance would not expire anything until the event loop turned.
    ttlResolution: 0,
  });
  // Buckets live apart from values so a flood of dedupe keys can never evict a rate budget.
  const buckets = new LRUCache<string, Bucket>({ max: 10_000 });
  const windows = new LRUCache<string, number[]>({ max: 10_000 });

  return {
    async get(key) {
      return values.get(key);
    },
    async set(key, value, ttlMs) {
      values.set(key, value, { ttl: ttlMs });
    },
    async setIfAbsent(key, value, ttlMs) {
      if (values.has(key)) return false;
      values.set(key, value, { ttl: ttlMs });
      return true;
    },
    async delete(key) {
      values.delete(key);
    },
    async getMany(keys) {
      return keys.map((key) => values.get(key));
    },
    async expire(keys, ttlMs) {
      return keys.map((key) => {
        const value = values.get(key);
        if (value === undefined) return false;
        values.set(key, value, { ttl: ttlMs });
        return true;
      });
    },
    async take(key: string, rate: RateLimit): Promise<RateDecision> {
      if (rate.kind === 'sliding') {
        const { log, decision } = takeSlot(windows.get(key) ?? [], rate, clock.now());
        windows.set(key, log);
        return decision;
      }
      const { bucket, decision } = takeToken(buckets.get(key), rate, clock.now());
      buckets.set(key, bucket);
      return decision;
    },
    async close() {
      values.clear();
      buckets.clear();
      windows.clear();
    },
  };
}
