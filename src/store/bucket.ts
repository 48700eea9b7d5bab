import type { RateDecision, RateLimit } from './types.js';

/** Token-bucket state; the same arithmetic runs in memory and (as Lua) in Redis. */
export interface Bucket {
  tokens: number;
  at: number;
}

export function takeToken(bucket: Bucket | undefined, rate: RateLimit, now: number): { bucket: Bucket; decision: RateDecision } {
  const perMs = rate.limit / rate.windowMs;
  const prev = bucket ?? { tokens: rate.limit, at: now };
  const tokens = Math.min(rate.limit, prev.tokens + Math.max(0, now - prev.at) * perMs);
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, at: now }, decision: { ok: true } };
  return { bucket: { tokens, at: now }, decision: { ok: false, retryAfterMs: Math.ceil((1 - tokens) / perMs) } };
}
