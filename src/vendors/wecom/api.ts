import type { Clock } from '../../core/clock.js';
import { MeetcheckError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { httpJson, type HttpDeps } from '../../http/outbound.js';
import { createCaller } from '../../http/policy.js';
import { WecomErrcode, WecomHttpError, classify } from './errors.js';

export { errorFor, wecomErrcode, WecomErrcode } from './errors.js';

/**
 * The WeCom server API (qyapi.weixin.qq.com/cgi-bin): an access_token from `gettoken`, cached until
 * shortly before it expires, one refresh in flight at a time, and a call retried once when WeCom
 * says the token is invalid or expired (WeCom doc 91039: "可能会出于运营需要，提前使access_token失效").
 * Timeouts, retries and the metrics are the outbound policy's (http/policy.ts); what a failure
 * means is errors.ts.
 */

export interface WecomApiOptions {
  corpId: string;
  secret: string;
  baseUrl: string;
  http: HttpDeps;
  clock: Clock;
  log: Logger;
  /** The first back-off before retrying a 5xx / transport failure; small in tests. */
  retryDelayMs?: number;
}

export interface WecomApi {
  /** POST `path` with a JSON body; returns the JSON object when errcode is 0, else throws MeetcheckError. */
  post(op: string, path: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>>;
}

/** Refresh this long before `expires_in` runs out, so no call goes out with a token about to die. */
const TOKEN_MARGIN_MS = 5 * 60_000;
/** Transport failures and 5xx: three tries in all; a rate limit is told, not waited out (errors.ts). */
const RETRIES = { transient: 2, rate: 0 };

interface CachedToken {
  value: string;
  expiresAt: number;
}

export function createWecomApi(opts: WecomApiOptions): WecomApi {
  let cached: CachedToken | undefined;
  let inflight: Promise<string> | undefined;
  const caller = createCaller({ clock: opts.clock, log: opts.log, metrics: opts.http.metrics }, {
    kind: 'vendor', target: 'wecom', classify: (err) => classify(err, 'call'), retries: RETRIES,
    ...(opts.retryDelayMs !== undefined ? { backoffMs: opts.retryDelayMs } : {}),
  });

  /** One HTTP exchange: the JSON envelope, or a WecomErrcode / WecomHttpError for the classifier. */
  async function exchange(op: string, method: 'GET' | 'POST', url: string, body: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const res = await httpJson(opts.http, {
      kind: 'vendor', target: 'wecom', op, method, url,
      ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}), ...(signal ? { signal } : {}),
    });
    const json = res.json;
    if (res.status !== 200 || !json || typeof json !== 'object' || Array.isArray(json)) {
      throw new WecomHttpError(res.status, `HTTP ${res.status}${res.status === 200 ? ', not a JSON object' : ''}`);
    }
    const out = json as Record<string, unknown>;
    const errcode = Number(out.errcode ?? 0);
    if (errcode !== 0) {
      const errmsg = String(out.errmsg ?? '');
      opts.log.info({ op, errcode, errmsg: errmsg.slice(0, 200) }, op === 'gettoken' ? 'wecom gettoken failed' : 'wecom api error');
      throw new WecomErrcode(errcode, errmsg);
    }
    return out;
  }

  async function fetchToken(): Promise<string> {
    const url = `${opts.baseUrl}/cgi-bin/gettoken?corpid=${encodeURIComponent(opts.corpId)}&corpsecret=${encodeURIComponent(opts.secret)}`;
    const json = await caller({ op: 'gettoken', classify: (err) => classify(err, 'gettoken') }, () => exchange('gettoken', 'GET', url, undefined));
    const token = json.access_token;
    if (typeof token !== 'string' || token === '') throw new MeetcheckError('vendor_unavailable', 'wecom gettoken: no access_token', { vendor: 'wecom' });
    // expires_in is 7200 s in the doc (91039); trust what is sent, within sane bounds.
    const expiresIn = Math.min(Math.max(Number(json.expires_in) || 7200, 60), 86_400) * 1000;
    cached = { value: token, expiresAt: opts.clock.now() + Math.max(expiresIn - TOKEN_MARGIN_MS, expiresIn / 2) };
    return token;
  }

  /** Single flight: concurrent callers share one gettoken (a herd hits 45009/45033, doc 96213). */
  function token(): Promise<string> {
    if (cached && opts.clock.now() < cached.expiresAt) return Promise.resolve(cached.value);
    // No caller's signal: one caller giving up must not fail the others sharing this fetch.
    inflight ??= fetchToken().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  return {
    async post(op, path, body, signal) {
      let used: string | undefined;
      let tokenFailed = false;
      return caller({
        op, ...(signal ? { signal } : {}),
        // gettoken is retried inside token(); its failure is final here.
        classify: (err) => (tokenFailed && err instanceof MeetcheckError ? { error: err } : classify(err, op)),
        // Drops the cache only if it still holds the token that failed, so N failures cause one refresh.
        refreshToken: () => {
          if (cached?.value === used) cached = undefined;
        },
      }, async () => {
        try {
          used = await token();
        } catch (err) {
          tokenFailed = true;
          throw err;
        }
        return exchange(op, 'POST', `${opts.baseUrl}${path}?access_token=${encodeURIComponent(used)}`, JSON.stringify(body), signal);
      });
    },
  };
}
