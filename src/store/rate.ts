import type { Clock } from '../core/clock.js';
import type { RateLimit, Store } from './types.js';

/**
 * Waits until the shared budget `key` yields a token. Vendors call this before every request, so
 * all commands (and, on Redis, all replicas) draw on one budget per app.
 */
export async function acquire(store: Store, clock: Clock, key: string, rate: RateLimit, signal?: AbortSignal): Promise<void> {
  for (;;) {
    signal?.throwIfAborted();
    const d = await store.take(key, rate);
    if (d.ok) return;
    await clock.sleep(d.retryAfterMs, signal);
  }
}
