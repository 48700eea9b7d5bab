/**
 * The state meetcheck shares between requests (and, on Redis, between replicas): dedupe keys,
 * report snapshots for paging, in-flight locks, single-use credentials and vendor rate budgets.
 * Every method is async so the in-process and Redis implementations are interchangeable.
 */
export interface Store {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only when the key is absent; true when this call set it (SET NX PX). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Takes one grant from the budget `key`. All callers of the same key share one budget.
   * `rate.kind` 'bucket' (default): a token bucket of capacity `rate.limit`, refilled evenly over
   * `rate.windowMs`. 'sliding': at most `rate.limit` grants in any `rate.windowMs` (store/window.ts).
   */
  take(key: string, rate: RateLimit): Promise<RateDecision>;
  close(): Promise<void>;
}

export interface RateLimit {
  limit: number;
  windowMs: number;
  kind?: 'bucket' | 'sliding';
}

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

/** Thrown by a store that cannot reach its backend; callers answer "temporarily unavailable". */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}
