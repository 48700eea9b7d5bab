import type { Clock } from '../../core/clock.js';
import { MeetcheckError, type ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import { httpJson, withRetry, type HttpDeps } from '../../http/outbound.js';

/**
 * The WeCom server API (qyapi.weixin.qq.com/cgi-bin): an access_token from `gettoken`, cached until
 * shortly before it expires, one refresh in flight at a time, and a call retried once when WeCom
 * says the token is invalid or expired (WeCom doc 91039: "可能会出于运营需要，提前使access_token失效").
 */

export interface WecomApiOptions {
  corpId: string;
  secret: string;
  baseUrl: string;
  http: HttpDeps;
  clock: Clock;
  log: Logger;
  /** Backoff before retrying a 5xx / transport failure; small in tests. */
  retryDelayMs?: number;
}

export interface WecomApi {
  /** POST `path` with a JSON body; returns the JSON object when errcode is 0, else throws MeetcheckError. */
  post(op: string, path: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>>;
  /** For tests and metrics: how many gettoken calls were made. */
  readonly tokenFetches: number;
}

/** "access_token已过期" 42001, "不合法的access_token" 40014, missing 41001 (WeCom global error codes, doc 96213). */
const TOKEN_CODES = new Set([40014, 42001, 41001]);
/** Refresh this long before `expires_in` runs out, so no call goes out with a token about to die. */
const TOKEN_MARGIN_MS = 5 * 60_000;
/** Transport failures and 5xx: three tries in all. */
const ATTEMPTS = 3;
/** WeCom gives no reset time for 45009/45033; its limits are per minute (WeCom doc 96213, 45009 "接口调用超过限制"). */
const RATE_RETRY_AFTER_MS = 60_000;

/**
 * errcode → what the person is told (WeCom global error codes, doc 96213). WeCom's codes for the meeting-specific
 * failures (not found, not created by this app) are UNCONFIRMED in the notes: those are read from
 * errmsg as well, and the raw code is logged.
 */
const ERRCODE_MAP: Record<number, ErrorCode> = {
  40013: 'vendor_auth', // invalid corpid
  40001: 'vendor_auth', // invalid secret
  40091: 'vendor_auth', // invalid secret
  41004: 'vendor_auth', // missing secret
  60020: 'ip_not_trusted', // not allow to access from your ip: add 企业可信IP
  45009: 'rate_limited', // api freq out of limit
  45033: 'rate_limited', // api concurrent out of limit
  48002: 'no_permission', // API 无权限: the app is not in 会议 → 可调用接口的应用
  48001: 'no_permission', // api unauthorized
  60011: 'no_permission', // no privilege to access (members outside the app's visibility)
  [-1]: 'vendor_unavailable', // system busy
};

export function errorFor(errcode: number, errmsg: string, op: string): MeetcheckError {
  const detail = `${errcode} ${errmsg.slice(0, 120)}`.trim();
  const msg = errmsg.toLowerCase();
  let code: ErrorCode | undefined = ERRCODE_MAP[errcode];
  if (!code) {
    if (/not\s*exist|not\s*found|不存在|invalid meeting/.test(msg)) code = 'meeting_not_found';
    else if (/not\s*(end|finish)|未结束|进行中/.test(msg)) code = 'meeting_not_ended';
    else if (/creat|创建/.test(msg)) code = 'meeting_not_created_by_app';
    else if (/7\s*day|七天|7天|time range|start_time/.test(msg)) code = 'meeting_too_old';
    else if (/permission|privilege|权限|unauthorized/.test(msg)) code = op === 'gettoken' ? 'vendor_auth' : 'meeting_not_created_by_app';
    else code = 'vendor_unavailable';
  }
  return new MeetcheckError(code, detail, { vendor: 'wecom', cause: new WecomErrcode(errcode, errmsg), ...(code === 'rate_limited' ? { retryAfterMs: RATE_RETRY_AFTER_MS } : {}) });
}

/** WeCom's own errcode behind a MeetcheckError, for callers that branch on one code (60111 in the meeting lookup). */
export class WecomErrcode extends Error {
  override readonly name = 'WecomErrcode';
  constructor(readonly errcode: number, errmsg: string) {
    super(`${errcode} ${errmsg.slice(0, 120)}`);
  }
}

export function wecomErrcode(err: unknown): number | undefined {
  return err instanceof MeetcheckError && err.cause instanceof WecomErrcode ? err.cause.errcode : undefined;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

export function createWecomApi(opts: WecomApiOptions): WecomApi {
  let cached: CachedToken | undefined;
  let inflight: Promise<string> | undefined;
  let fetches = 0;
  const retryDelay = opts.retryDelayMs ?? 500;

  async function request(op: string, method: 'GET' | 'POST', url: string, body: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return withRetry(
      opts.clock,
      ATTEMPTS,
      async () => {
        const res = await httpJson(opts.http, { vendor: 'wecom', op, method, url, ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}), ...(signal ? { signal } : {}) });
        if (res.status >= 500) throw new MeetcheckError('vendor_unavailable', `wecom ${op}: HTTP ${res.status}`, { vendor: 'wecom' });
        if (res.status === 429) throw new MeetcheckError('rate_limited', `wecom ${op}: HTTP 429`, { vendor: 'wecom', retryAfterMs: RATE_RETRY_AFTER_MS });
        const json = res.json;
        if (res.status !== 200 || !json || typeof json !== 'object' || Array.isArray(json)) {
          throw new MeetcheckError('vendor_unavailable', `wecom ${op}: HTTP ${res.status}, not a JSON object`, { vendor: 'wecom' });
        }
        return json as Record<string, unknown>;
      },
      (err) => (err instanceof MeetcheckError && (err.code === 'vendor_unavailable' || err.code === 'vendor_timeout') ? retryDelay : undefined),
      signal,
    );
  }

  async function fetchToken(signal?: AbortSignal): Promise<string> {
    fetches++;
    const url = `${opts.baseUrl}/cgi-bin/gettoken?corpid=${encodeURIComponent(opts.corpId)}&corpsecret=${encodeURIComponent(opts.secret)}`;
    const json = await request('gettoken', 'GET', url, undefined, signal);
    const errcode = Number(json.errcode ?? 0);
    if (errcode !== 0) {
      opts.log.warn({ op: 'gettoken', errcode, errmsg: String(json.errmsg ?? '') }, 'wecom gettoken failed');
      throw errorFor(errcode, String(json.errmsg ?? ''), 'gettoken');
    }
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

  /** Drops the cache only if it still holds the token that failed, so N failures cause one refresh. */
  function invalidate(failed: string): void {
    if (cached?.value === failed) cached = undefined;
  }

  return {
    get tokenFetches() {
      return fetches;
    },
    async post(op, path, body, signal) {
      for (let attempt = 1; ; attempt++) {
        const tok = await token();
        const json = await request(op, 'POST', `${opts.baseUrl}${path}?access_token=${encodeURIComponent(tok)}`, JSON.stringify(body), signal);
        const errcode = Number(json.errcode ?? 0);
        if (errcode === 0) return json;
        const errmsg = String(json.errmsg ?? '');
        if (TOKEN_CODES.has(errcode) && attempt === 1) {
          opts.log.info({ op, errcode }, 'wecom token rejected; refreshing once');
          invalidate(tok);
          continue;
        }
        opts.log.info({ op, errcode, errmsg: errmsg.slice(0, 200) }, 'wecom api error');
        if (TOKEN_CODES.has(errcode)) throw new MeetcheckError('vendor_auth', `${errcode} ${errmsg.slice(0, 120)}`, { vendor: 'wecom' });
        throw errorFor(errcode, errmsg, op);
      }
    },
  };
}
