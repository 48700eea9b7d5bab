import type { RateDecision, RateLimit } from './types.js';

/**
 * A sliding-window log: at most `rate.limit` grants in any `rate.windowMs`, measured from each
 * grant. Unlike the token bucket it lets a whole window's budget go at once (a burst of `limit`),
 * then waits for the oldest grant to age out, which is exactly what "N calls a minute" allows.
 * The same arithmetic runs in memory and (as Lua over a sorted set) in Redis.
 *
 * `log` holds grant times in ascending order; entries older than the window are dropped.
 */
export function takeSlot(log: readonly number[], rate: RateLimit, now: number): { log: number[]; decision: RateDecision } {
  const since = now - rate.windowMs;
  const live = log.filter((t) => t > since);
  if (live.length < rate.limit) {
    live.push(now);
    return { log: live, decision: { ok: true } };
  }
  // Full: the next grant is possible once the oldest live one leaves the window.
  const oldest = live[live.length - rate.limit] ?? now;
  return { log: live, decision: { ok: false, retryAfterMs: Math.max(1, oldest + rate.windowMs - now + 1) } };
}
