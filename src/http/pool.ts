import { setMaxListeners } from 'node:events';

/**
 * Bounded concurrency for outbound calls: `fn` over `items`, at most `concurrency` at a time,
 * taken in order. Unlike p-map's stopOnError, a failure aborts the calls in flight (through the
 * signal each one gets) and awaits them before it is thrown, so no request outlives the command
 * that made it.
 *
 * - `stopWhen()` is asked before each item (say, the deadline has passed): no more are started.
 * - A failure `tolerate` accepts stops new work without aborting what runs, and the result says
 *   what stopped it; any other failure is thrown.
 */
export interface PoolOptions {
  signal?: AbortSignal;
  stopWhen?: () => boolean;
  tolerate?: (err: unknown) => boolean;
}

export interface PoolResult<O> {
  /** In input order; a hole where an item was not done. */
  results: (O | undefined)[];
  /** 'stopWhen', or the tolerated failure that ended the run early; absent when every item was done. */
  stopped?: 'stopWhen' | { error: unknown };
}

export async function mapPool<I, O>(
  items: readonly I[], concurrency: number, fn: (item: I, index: number, signal: AbortSignal) => Promise<O>, opts: PoolOptions = {},
): Promise<PoolResult<O>> {
  const results: (O | undefined)[] = new Array<O | undefined>(items.length);
  const failed = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, failed.signal]) : failed.signal;
  const workers = Math.max(0, Math.min(concurrency, items.length));
  // Every worker's call (and its back-off sleep) listens on this one signal: by design, not a leak.
  setMaxListeners(workers * 2 + 10, signal);
  let next = 0;
  let stopped: PoolResult<O>['stopped'];
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !stopped && !failure) {
      if (opts.stopWhen?.()) {
        stopped = 'stopWhen';
        return;
      }
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i, signal);
      } catch (error) {
        if (failure) continue;
        if (opts.tolerate?.(error) && !signal.aborted) {
          stopped ??= { error };
        } else {
          failure = { error };
          failed.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
  return { results, ...(stopped ? { stopped } : {}) };
}
