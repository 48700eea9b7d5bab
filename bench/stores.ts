import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { silentLogger } from '../src/log.js';
import { createMemoryStore } from '../src/store/memory.js';
import { createRedisStore } from '../src/store/redis.js';
import type { Store } from '../src/store/types.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchStore {
  name: 'memory' | 'redis';
  store: Store;
  /** Closes the store and removes every key it wrote. */
  dispose(): Promise<void>;
}

/** The in-process store, and Redis too when one answers on REDIS_URL (else a printed reason). */
export async function benchStores(): Promise<{ stores: BenchStore[]; skipped?: string }> {
  const stores: BenchStore[] = [{ name: 'memory', store: createMemoryStore(), dispose: async () => undefined }];
  const prefix = `meetcheck-bench:${process.pid}:${randomBytes(3).toString('hex')}:`;
  try {
    const store = await createRedisStore({ url: REDIS_URL, prefix, log: silentLogger, connectTimeoutMs: 1000 });
    stores.push({ name: 'redis', store, dispose: async () => { await store.close(); await cleanPrefix(prefix); } });
    return { stores };
  } catch (e) {
    return { stores, skipped: `Redis benches skipped: ${(e as Error).message}` };
  }
}

export async function cleanPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
