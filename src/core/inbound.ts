import type { Clock } from './clock.js';
import type { ChannelName } from './model.js';
import type { Store } from '../store/types.js';

/**
 * The parts of every inbound adapter that are not about its platform (after bolt-js receivers and
 * the Lark SDK's channel/safety): drop what was delivered before, drop replays of old messages.
 * Each platform verifies and parses its own wire format first, then asks these.
 */

/**
 * How long a delivered message id is remembered. Feishu re-pushes an unanswered event after 15 s,
 * 5 min, 1 h and 6 h, about 7.1 h in all (open.feishu.cn/document/server-docs/event-subscription-guide/overview),
 * and the Lark SDK's own channel keeps 12 h; WeCom re-sends within seconds
 * (developer.work.weixin.qq.com/document/path/100719). 12 h covers both.
 */
export const DEDUPE_TTL_MS = 12 * 3600_000;

/** Messages older than this are replays: the Lark SDK's channel/safety stale filter uses 30 min. */
export const STALE_MS = 30 * 60_000;

/**
 * True for the first delivery of `messageId` on `platform`, across every replica sharing the store.
 * Throws StoreUnavailableError when the store is down: the caller answers "temporarily unavailable".
 */
export async function firstDelivery(store: Store, platform: ChannelName, messageId: string, ttlMs = DEDUPE_TTL_MS): Promise<boolean> {
  return store.setIfAbsent(`dedupe:${platform}:${messageId}`, '1', ttlMs);
}

/** True when a message sent at `createdAt` (epoch ms) is too old to answer. Unknown times are fresh. */
export function isStale(clock: Clock, createdAt: number | undefined, maxAgeMs = STALE_MS): boolean {
  return createdAt !== undefined && clock.now() - createdAt > maxAgeMs;
}
