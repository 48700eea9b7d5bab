import type { Store } from '../../store/types.js';

/**
 * Which replica holds the bot's one long connection. WeCom keeps a single connection per bot:
 * "新连接会踢掉旧连接" (developer.work.weixin.qq.com/document/path/101463), so two replicas that
 * both dial would take turns throwing each other off. The holder is whoever set the store key;
 * it renews the key well inside its TTL, and when it goes (stopped: released; crashed: the TTL
 * lapses) the next replica's periodic try takes it.
 *
 * The store offers no compare-and-set, so renewing is a read then a write. The write only
 * happens when the read saw our own id, and renewals run at a third of the TTL, so another
 * replica can only slip in between if this one stalls for most of a TTL; if it does, WeCom's
 * disconnected_event on the older connection settles it without a fight (see ws.ts).
 */
export interface HolderLock {
  readonly key: string;
  /** True when this call took the lock (or it was already ours). */
  acquire(): Promise<boolean>;
  /** Extends our hold: 'held', or 'lost' when another replica holds the key. */
  renew(): Promise<'held' | 'lost'>;
  /** Gives the lock up if it is still ours. */
  release(): Promise<void>;
}

export function createHolderLock(store: Store, key: string, owner: string, ttlMs: number): HolderLock {
  return {
    key,
    async acquire() {
      if (await store.setIfAbsent(key, owner, ttlMs)) return true;
      return (await store.get(key)) === owner;
    },
    async renew() {
      const now = await store.get(key);
      if (now === owner) {
        await store.set(key, owner, ttlMs);
        return 'held';
      }
      // Lapsed with nobody else in it yet (a long stall): take it back rather than drop a live connection.
      if (now === undefined && (await store.setIfAbsent(key, owner, ttlMs))) return 'held';
      return 'lost';
    },
    async release() {
      if ((await store.get(key)) === owner) await store.delete(key);
    },
  };
}
