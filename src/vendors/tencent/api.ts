import type { Dispatcher } from 'undici';
import type { TencentConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import { MeetcheckError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { acquire } from '../../store/rate.js';
import type { RateLimit, Store } from '../../store/types.js';
import { httpJson, withRetry } from '../../http/outbound.js';
import { RATE_LIMIT_CODES, RATE_LIMIT_RETRY_MS, REPLAY_CODE, TRANSIENT_CODES, readErrorInfo, tencentCodeOf, tencentError } from './errors.js';
import { buildQuery, signedHeaders } from './sign.js';

/** A self-built app may make 300 calls a minute in total, 190310 past it (DOC 105276 接口频控说明). */
export const APP_RATE: RateLimit = { limit: 300, windowMs: 60_000 };
/** /qos: 30 calls a minute per meeting, 500046 past it (DOC 104578, 105276). */
export const QOS_RATE: RateLimit = { limit: 30, windowMs: 60_000 };
/** One try plus one retry for transient failures; a rate-limited call gets one more after its window. */
const ATTEMPTS = 3;
const TRANSIENT_RETRY_MS = 500;

export interface TencentApiDeps {
  config: TencentConfig;
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Epoch ms: a call that would have to wait for budget past it fails with rate_limited instead. */
  deadline?: number;
  /** A second budget the call must also fit in (the per-meeting /qos limit). */
  budget?: { key: string; rate: RateLimit };
}

export type Query = Record<string, string | number | undefined>;

export interface TencentApi {
  /** A signed GET; the parsed success body (no envelope on success, DOC 43704), or a MeetcheckError. */
  get(op: string, path: string, query: Query, opts?: CallOptions): Promise<Record<string, unknown>>;
}

export function appBudgetKey(appId: string): string {
  return `rate:tencent:app:${appId}`;
}

export function createTencentApi(deps: TencentApiDeps): TencentApi {
  const { config, clock, log } = deps;
  const http = { metrics: deps.metrics, clock, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}), ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}) };

  async function once(op: string, path: string, query: Query, opts: CallOptions): Promise<Record<string, unknown>> {
    if (opts.budget) await takeBudget(deps.store, clock, opts.budget.key, opts.budget.rate, opts);
    await takeBudget(deps.store, clock, appBudgetKey(config.appId), APP_RATE, opts);
    const qs = buildQuery(query);
    // The signed URI must be byte-identical to the request line: take it from the same URL object
    // undici will send (pathname + search): DOC 43551, the URI is path plus query as sent.
    const url = new URL(`${config.baseUrl}${path}${qs ? `?${qs}` : ''}`);
    const uri = url.pathname + url.search;
    const headers = signedHeaders({
      appId: config.appId, secretId: config.secretId, secretKey: config.secretKey,
      ...(config.sdkId ? { sdkId: config.sdkId } : {}),
      method: 'GET', uri, body: '', nowMs: clock.now(),
    });
    const res = await httpJson(http, { vendor: 'tencent', op, method: 'GET', url: url.toString(), headers, ...(opts.signal ? { signal: opts.signal } : {}) });
    const trace = res.headers['x-tc-trace'];
    const json = parseKeepingIds(res.text) ?? res.json;
    const info = readErrorInfo(json);
    if (info) {
      log.info({ vendor: 'tencent', op, status: res.status, errorCode: info.errorCode, newErrorCode: info.newErrorCode, trace }, 'tencent meeting api error');
      throw tencentError(info, op);
    }
    if (res.status !== 200 || typeof json !== 'object' || json === null || Array.isArray(json)) {
      log.info({ vendor: 'tencent', op, status: res.status, trace }, 'tencent meeting api: unexpected answer');
      throw new MeetcheckError('vendor_unavailable', `${op}: HTTP ${res.status}`, { vendor: 'tencent' });
    }
    log.debug({ vendor: 'tencent', op, trace }, 'tencent meeting api ok');
    return json as Record<string, unknown>;
  }

  return {
    get(op, path, query, opts = {}) {
      return withRetry(clock, ATTEMPTS, () => once(op, path, query, opts), (err, attempt) => retryDelay(err, attempt, clock, opts.deadline), opts.signal);
    },
  };
}

/**
 * Retries only the documented retryable failures (DOC 43704, 105276): the rate-limit codes after their
 * window (if that still fits the deadline), Tencent's internal/network codes and transport errors
 * once, and a replay (190301) once at once: every attempt is re-signed with a fresh nonce.
 */
function retryDelay(err: unknown, attempt: number, clock: Clock, deadline: number | undefined): number | undefined {
  const code = tencentCodeOf(err);
  if (code !== undefined && RATE_LIMIT_CODES.has(code)) {
    return deadline === undefined || clock.now() + RATE_LIMIT_RETRY_MS < deadline ? RATE_LIMIT_RETRY_MS : undefined;
  }
  if (attempt > 1) return undefined;
  if (code === REPLAY_CODE) return 0;
  if (code !== undefined) return TRANSIENT_CODES.has(code) ? TRANSIENT_RETRY_MS : undefined;
  // Transport failures (connection reset, 5xx without an envelope) carry no Tencent code.
  return err instanceof MeetcheckError && err.code === 'vendor_unavailable' ? TRANSIENT_RETRY_MS : undefined;
}

/** Waits for a token of a shared budget; with a deadline, fails fast instead of waiting past it. */
async function takeBudget(store: Store, clock: Clock, key: string, rate: RateLimit, opts: CallOptions): Promise<void> {
  if (opts.deadline === undefined) return acquire(store, clock, key, rate, opts.signal);
  for (;;) {
    opts.signal?.throwIfAborted();
    const d = await store.take(key, rate);
    if (d.ok) return;
    if (clock.now() + d.retryAfterMs > opts.deadline) {
      throw new MeetcheckError('rate_limited', undefined, { vendor: 'tencent', retryAfterMs: d.retryAfterMs });
    }
    await clock.sleep(d.retryAfterMs, opts.signal);
  }
}

/**
 * Meeting ids are 19–20 digit numbers sent as strings (`*string` in the Go SDK's models). Should one ever arrive as a bare
 * number, quote it before JSON.parse turns it into a rounded double.
 */
function parseKeepingIds(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text.replace(/"((?:current_)?(?:sub_)?meeting_id)"\s*:\s*(\d{16,})/g, '"$1":"$2"'));
  } catch {
    return undefined;
  }
}
