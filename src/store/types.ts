/**
 * The state meetcheck shares between requests (and, on Redis, between replicas): dedupe keys,
 * reports for paging (a header and chunks, see core/report.ts), in-flight locks, single-use credentials and vendor rate budgets.
 * Every method is async so the in-process and Redis implementations are interchangeable.
 */
export interface Store {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only when the key is absent; true when this call set it (SET NX PX). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * The values of `keys`, in order (undefined where absent): one round trip on Redis (MGET), so a
   * page flip reads its few report parts at once. Optional: a store without it is read key by key
   * (see many.ts), which wrappers in tests rely on.
   */
  getMany?(keys: readonly string[]): Promise<(string | undefined)[]>;
  /**
   * Gives each of `keys` that exists a fresh TTL of `ttlMs` without rewriting its value (PEXPIRE);
   * true for each key that existed. The report store keeps the parts of a report a save did not
   * change alive as long as the parts it rewrote. Optional, as getMany.
   */
  expire?(keys: readonly string[], ttlMs: number): Promise<boolean[]>;
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
