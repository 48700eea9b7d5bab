import type { Clock } from '../core/clock.js';
import { MeetcheckError } from '../core/errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RateLimit, Store } from '../store/types.js';
import { withCallContext, type CallKind } from './outbound.js';

/**
 * The one outbound call policy, for every vendor (and any platform client that wants it): the rate
 * budgets taken before each attempt, a pause another call learned from the vendor honoured by
 * all, the per-attempt timeout and abort signal, retries of only what the vendor's classifier
 * calls retryable (a rate limit after its reset, anything else with back-off), one credential
 * refresh, the deadline, and the retry counter in /metrics. What a failure means is the
 * vendor's business: each one supplies a single classifier (vendors/<name>/errors.ts).
 * After the Lark SDK's channel/outbound/retry.ts and Probot's throttling plugin.
 */

/** A classifier's reading of one failed call. */
export interface Verdict {
  /** Thrown if the call is given up on: its code is what the person is told. */
  error: MeetcheckError;
  /** Worth another try: 5xx, timeouts, broken connections, rate limits (error.code 'rate_limited'). */
  retryable?: boolean;
  /** Wait this long first (a rate limit's reset; 0 = at once). Unset: the policy's back-off. */
  retryAfterMs?: number;
  /** The credential was refused as expired or invalid: refresh it once, then try again. */
  tokenExpired?: boolean;
}

export type Classifier = (err: unknown) => Verdict;

export interface PolicyDeps {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Holds the shared budgets and pauses (every replica's, on Redis). */
  store?: Store;
}

/** How one vendor (or platform) is called: fixed for its client. */
export interface Policy {
  kind: CallKind;
  target: string;
  classify: Classifier;
  /** Retries after the first try, counted per reason. Default: 2 transient, 2 rate. */
  retries?: { transient?: number; rate?: number };
  /** The first back-off after a transient failure; each next one is 3× longer (Lark SDK retry.ts: 500 ms × 3^n). */
  backoffMs?: number;
  /** Per HTTP attempt; http/outbound.ts's default when unset. */
  timeoutMs?: number;
  /** The verdict said the credential was refused: get a new one (drop a cache). Called once per call. */
  refreshToken?: (v: Verdict) => void | Promise<void>;
  /** The refreshed credential was refused too, just before the error is thrown. */
  tokenRefusedAgain?: (v: Verdict) => void | Promise<void>;
}

/** One call's own terms. */
export interface CallOptions {
  /** Operation name for logs, e.g. "get_quality". */
  op: string;
  signal?: AbortSignal;
  /** Epoch ms: a wait (budget, pause, retry) that would end past it fails the call instead. */
  deadline?: number;
  /** Shared budgets every attempt must fit in, taken in order before it goes out. */
  budgets?: readonly Budget[];
  /** A store key holding "paused until" (epoch ms): a reset one call learned pauses every call reading this key. */
  pauseKey?: string;
  /** This call's own reading of failures and credential hooks, when they depend on how it was made (which token it carried). */
  classify?: Classifier;
  refreshToken?: Policy['refreshToken'];
  tokenRefusedAgain?: Policy['tokenRefusedAgain'];
}

export interface Budget {
  key: string;
  rate: RateLimit;
}

export type Caller = <T>(call: CallOptions, attempt: (n: number) => Promise<T>) => Promise<T>;

const DEFAULT_BACKOFF_MS = 500;

export function createCaller(deps: PolicyDeps, policy: Policy): Caller {
  const { clock, log } = deps;
  const { kind, target } = policy;
  const retries = { transient: policy.retries?.transient ?? 2, rate: policy.retries?.rate ?? 2 };
  const backoff = policy.backoffMs ?? DEFAULT_BACKOFF_MS;
  const errorOptions = (retryAfterMs: number) => ({ ...(kind === 'vendor' ? { vendor: target } : {}), retryAfterMs });

  /** Waits `ms` unless that ends past the deadline: then the call fails as rate limited, saying when to come back. */
  async function waitWithin(ms: number, call: CallOptions, why: string): Promise<void> {
    if (call.deadline !== undefined && clock.now() + ms > call.deadline) {
      throw new MeetcheckError('rate_limited', `${target} ${call.op}: ${why}`, errorOptions(ms));
    }
    await clock.sleep(ms, call.signal);
  }

  async function fitBudgets(call: CallOptions): Promise<void> {
    const store = deps.store;
    if (!store) return;
    if (call.pauseKey) {
      const until = Number((await store.get(call.pauseKey)) ?? 0);
      if (until > clock.now()) await waitWithin(until - clock.now(), call, 'paused until the vendor\'s rate limit resets');
    }
    for (const b of call.budgets ?? []) {
      for (;;) {
        call.signal?.throwIfAborted();
        const d = await store.take(b.key, b.rate);
        if (d.ok) break;
        await waitWithin(d.retryAfterMs, call, 'shared rate budget spent');
      }
    }
  }

  return async function callWithPolicy<T>(call: CallOptions, attempt: (n: number) => Promise<T>): Promise<T> {
    const used = { transient: 0, rate: 0, token: 0 };
    const context = { kind, target, ...(call.signal ? { signal: call.signal } : {}), ...(policy.timeoutMs !== undefined ? { timeoutMs: policy.timeoutMs } : {}) };
    for (let n = 1; ; n++) {
      call.signal?.throwIfAborted();
      await fitBudgets(call);
      try {
        return await withCallContext(context, () => attempt(n));
      } catch (err) {
        if (call.signal?.aborted) throw err;
        const v = (call.classify ?? policy.classify)(err);
        const refresh = call.refreshToken ?? policy.refreshToken;
        if (v.tokenExpired && refresh) {
          if (used.token > 0) {
            await (call.tokenRefusedAgain ?? policy.tokenRefusedAgain)?.(v);
            throw v.error;
          }
          used.token++;
          deps.metrics.callRetries.inc({ kind, target, reason: 'token' });
          log.info({ kind, target, op: call.op, code: v.error.code }, 'credential refused; refreshing it once');
          await refresh(v);
          continue;
        }
        if (!v.retryable) throw v.error;
        const reason = v.error.code === 'rate_limited' ? 'rate' : 'transient';
        if (used[reason] >= retries[reason]) throw v.error;
        const waitMs = v.retryAfterMs ?? backoff * 3 ** used.transient;
        if (call.deadline !== undefined && clock.now() + waitMs > call.deadline) throw v.error;
        used[reason]++;
        deps.metrics.callRetries.inc({ kind, target, reason });
        if (reason === 'rate') log.info({ kind, target, op: call.op, waitMs }, 'rate limited; waiting for the reset');
        if (reason === 'rate' && call.pauseKey && deps.store && waitMs > 0) {
          // Every call reading the key waits the reset out, not only this one (fitBudgets).
          await deps.store.set(call.pauseKey, String(clock.now() + waitMs), waitMs);
        } else if (waitMs > 0) {
          await clock.sleep(waitMs, call.signal);
        }
      }
    }
  };
}

/** Transport failures from httpJson (timeouts, broken connections, runaway bodies): worth another try. */
export function transportVerdict(err: unknown): Verdict | undefined {
  if (!(err instanceof MeetcheckError)) return undefined;
  return { error: err, retryable: err.code === 'vendor_timeout' || err.code === 'vendor_unavailable' };
}
