import type { Config } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../log.js';
import { createMemoryStore } from './memory.js';
import type { Store } from './types.js';

/** REDIS_URL unset: the in-process store (one replica). Set: shared state in Redis. */
export async function createStore(config: Config, deps: { clock: Clock; log: Logger }): Promise<Store> {
  if (config.redisUrl) {
    const { createRedisStore } = await import('./redis.js');
    return createRedisStore({ url: config.redisUrl, prefix: config.jobs.redisPrefix, log: deps.log, clock: deps.clock });
  }
  return createMemoryStore({ clock: deps.clock });
}
