import { MeetcheckError, type ErrorCode } from '../../core/errors.js';
import { transportVerdict, type Verdict } from '../../http/policy.js';

/**
 * The WeCom vendor's one classifier: a failed call → what the outbound policy does and what the
 * person is told. WeCom answers HTTP 200 with `{errcode, errmsg}` (WeCom global error codes, doc
 * 96213; 90313 for the same table), so the errcode decides; a 5xx or a broken body is WeCom being
 * down for a moment.
 */

/** A WeCom answer whose errcode is not 0, as an attempt throws it. */
export class WecomErrcode extends Error {
  override readonly name = 'WecomErrcode';
  constructor(readonly errcode: number, readonly errmsg: string) {
    super(`${errcode} ${errmsg.slice(0, 120)}`);
  }
}

/** A WeCom answer that is not a JSON envelope at all (a 5xx from a gateway, a 429, an HTML page). */
export class WecomHttpError extends Error {
  override readonly name = 'WecomHttpError';
  constructor(readonly status: number, detail: string) {
    super(detail);
  }
}

/** "access_token已过期" 42001, "不合法的access_token" 40014, missing 41001 (doc 96213): refreshed once. */
export const TOKEN_CODES: ReadonlySet<number> = new Set([40014, 42001, 41001]);
/** -1 "系统繁忙，此时请开发者稍候再试" (doc 96213): worth another try. */
const SYSTEM_BUSY = -1;
/** WeCom gives no reset time for 45009/45033; its limits are per minute (doc 96213, 45009 "接口调用超过限制"). */
const RATE_RETRY_AFTER_MS = 60_000;

/**
 * errcode → what the person is told (doc 96213). WeCom's codes for the meeting-specific failures
 * (not found, not created by this app) are UNCONFIRMED: those are read from errmsg as well, and
 * the raw code is logged by the caller.
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
  [SYSTEM_BUSY]: 'vendor_unavailable', // system busy
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
  return new MeetcheckError(code, detail, {
    vendor: 'wecom', vendorCode: errcode, cause: new WecomErrcode(errcode, errmsg),
    ...(code === 'rate_limited' ? { retryAfterMs: RATE_RETRY_AFTER_MS } : {}),
  });
}

/**
 * A rate limit is not waited out inside a command (WeCom names no reset, and its window is a
 * minute): the person is told when to try again. A refused token is refreshed once.
 */
export function classify(err: unknown, op: string): Verdict {
  if (err instanceof WecomErrcode) {
    if (TOKEN_CODES.has(err.errcode)) {
      return { error: new MeetcheckError('vendor_auth', `${err.errcode} ${err.errmsg.slice(0, 120)}`, { vendor: 'wecom', vendorCode: err.errcode }), tokenExpired: true };
    }
    return { error: errorFor(err.errcode, err.errmsg, op), ...(err.errcode === SYSTEM_BUSY ? { retryable: true } : {}) };
  }
  if (err instanceof WecomHttpError) {
    if (err.status === 429) return { error: new MeetcheckError('rate_limited', `wecom ${op}: HTTP 429`, { vendor: 'wecom', retryAfterMs: RATE_RETRY_AFTER_MS }) };
    return { error: new MeetcheckError('vendor_unavailable', `wecom ${op}: ${err.message}`, { vendor: 'wecom' }), ...(err.status >= 500 ? { retryable: true } : {}) };
  }
  return transportVerdict(err) ?? { error: new MeetcheckError('internal', undefined, { vendor: 'wecom', cause: err }) };
}

/** WeCom's own errcode behind a MeetcheckError, for callers that branch on one code (60111 in the meeting lookup). */
export function wecomErrcode(err: unknown): number | undefined {
  return err instanceof MeetcheckError && err.options.vendor === 'wecom' ? err.options.vendorCode : undefined;
}
