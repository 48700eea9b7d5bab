import type { Dispatcher } from 'undici';
import type { TencentConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import { MeetcheckError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import type { RateLimit, Store } from '../../store/types.js';
import { httpJson } from '../../http/outbound.js';
import { createCaller, type Budget } from '../../http/policy.js';
import { TencentApiError, classify, readErrorInfo } from './errors.js';
import { buildQuery, signedHeaders } from './sign.js';

/** A self-built app may make 300 calls a minute in total, 190310 past it (DOC 105276 接口频控说明). */
export const APP_RATE: RateLimit = { limit: 300, windowMs: 60_000 };
/** /qos: 30 calls a minute per meeting, 500046 past it (DOC 104578, 105276). */
export const QOS_RATE: RateLimit = { limit: 30, windowMs: 60_000 };
/** One retry for transient failures (and a replay); a rate-limited call up to two more, each after its window. */
const RETRIES = { transient: 1, rate: 2 };

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
  budget?: Budget;
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
  const caller = createCaller({ clock, log, metrics: deps.metrics, store: deps.store }, { kind: 'vendor', target: 'tencent', classify, retries: RETRIES });
  const appBudget: Budget = { key: appBudgetKey(config.appId), rate: APP_RATE };

  /** One signed attempt (a fresh nonce each time): the success body, or a TencentApiError for the classifier. */
  async function once(op: string, path: string, query: Query, opts: CallOptions): Promise<Record<string, unknown>> {
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
    const res = await httpJson(http, { kind: 'vendor', target: 'tencent', op, method: 'GET', url: url.toString(), headers, ...(opts.signal ? { signal: opts.signal } : {}) });
    const trace = res.headers['x-tc-trace'];
    const json = parseKeepingIds(res.text) ?? res.json;
    const info = readErrorInfo(json);
    if (info) {
      log.info({ vendor: 'tencent', op, status: res.status, errorCode: info.errorCode, newErrorCode: info.newErrorCode, trace }, 'tencent meeting api error');
      throw new TencentApiError(info, op);
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
      return caller({
        op, ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
        budgets: opts.budget ? [opts.budget, appBudget] : [appBudget],
      }, () => once(op, path, query, opts));
    },
  };
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
