import { MeetcheckError, type ErrorCode } from '../../core/errors.js';
import { transportVerdict, type Verdict } from '../../http/policy.js';

/**
 * The Tencent Meeting vendor's one classifier. Tencent Meeting error codes (DOC 42700/43704 错误码, DOC 105276 rate limits, and the per-API
 * tables such as DOC 42701 and 80575). We branch on `error_info.error_code`, never on the HTTP status,
 * which is 400, 403 or 500 for the same kinds of failure.
 */
export interface TencentErrorInfo {
  errorCode: number;
  newErrorCode?: number;
  message: string;
}

/** 190310 per-minute app total, 190313 per-endpoint, 500046 /qos per meeting, 9061 "queried too often" (DOC 105276). */
export const RATE_LIMIT_CODES: ReadonlySet<number> = new Set([190310, 190313, 500046, 9061]);
/** 190311: the 200,000-a-day budget; waiting a minute does not help, so it is not retried (DOC 105276). */
export const DAILY_LIMIT_CODE = 190311;
/** Internal or network errors on Tencent's side: "网络错误，请稍后重试" (DOC 43704, 42701). */
export const TRANSIENT_CODES: ReadonlySet<number> = new Set([41, 5108, 960000]);
/** Replay: the (timestamp, nonce) pair was seen; a re-signed attempt with a fresh nonce may pass (DOC 42413). */
export const REPLAY_CODE = 190301;
/** "会议已结束": /qos on a meeting that has just ended (DOC 104578). */
export const MEETING_ENDED_CODE = 13603;
/** For per-minute limits: the next minute (DOC 105276 counts per minute). */
export const RATE_LIMIT_RETRY_MS = 61_000;
/** For the daily limit: retrying in the same command cannot help; the card says to come back in an hour (DOC 105276: 200,000 a day). */
const DAILY_LIMIT_RETRY_MS = 3_600_000;

const CODE_MAP: Record<number, ErrorCode> = {
  200003: 'vendor_auth', // signature failed
  190300: 'vendor_auth', // clock skew over 5 minutes
  190301: 'vendor_auth', // replay (after our one re-signed retry)
  190303: 'vendor_auth', // bad AppId / X-TC-Key / SdkId
  9042: 'no_permission',
  190315: 'no_permission',
  500014: 'no_permission',
  9003: 'meeting_not_found',
  190457: 'meeting_not_found',
  13603: 'meeting_not_ended',
  190004: 'internal', // invalid parameter: our request was wrong
  200001: 'internal', // a required header is missing: our request was wrong
  190001: 'no_permission', // unregistered user (the operator id is not a member)
};

export function tencentError(info: TencentErrorInfo, op: string): MeetcheckError {
  const detail = `${info.errorCode} ${info.message}`.trim().slice(0, 200);
  const base = { vendor: 'tencent', vendorCode: info.errorCode, cause: info };
  if (RATE_LIMIT_CODES.has(info.errorCode)) return new MeetcheckError('rate_limited', detail, { ...base, retryAfterMs: RATE_LIMIT_RETRY_MS });
  if (info.errorCode === DAILY_LIMIT_CODE) return new MeetcheckError('rate_limited', detail, { ...base, retryAfterMs: DAILY_LIMIT_RETRY_MS });
  if (TRANSIENT_CODES.has(info.errorCode)) return new MeetcheckError('vendor_unavailable', detail, base);
  const code = CODE_MAP[info.errorCode] ?? 'vendor_unavailable';
  return new MeetcheckError(code, `${op}: ${detail}`.slice(0, 200), base);
}

/** An answer carrying an `error_info` envelope, as an attempt throws it (whatever the HTTP status: 400, 403 or 500). */
export class TencentApiError extends Error {
  override readonly name = 'TencentApiError';
  constructor(readonly info: TencentErrorInfo, readonly op: string) {
    super(`${info.errorCode} ${info.message}`.slice(0, 200));
  }
}

/**
 * Retries only the documented retryable failures (DOC 43704, 105276): the per-minute rate limits
 * after their window, Tencent's internal/network codes and transport errors with back-off, and a
 * replay (190301) at once: every attempt is re-signed with a fresh nonce. The daily limit is told,
 * not waited out.
 */
export function classify(err: unknown): Verdict {
  if (err instanceof TencentApiError) {
    const { errorCode } = err.info;
    const error = tencentError(err.info, err.op);
    if (RATE_LIMIT_CODES.has(errorCode)) return { error, retryable: true, retryAfterMs: RATE_LIMIT_RETRY_MS };
    if (errorCode === REPLAY_CODE) return { error, retryable: true, retryAfterMs: 0 };
    return { error, ...(TRANSIENT_CODES.has(errorCode) ? { retryable: true } : {}) };
  }
  // Transport failures and a 5xx without an envelope carry no Tencent code.
  return transportVerdict(err) ?? { error: new MeetcheckError('internal', undefined, { vendor: 'tencent', cause: err }) };
}

/**
 * A code Tencent documents (a rate limit, a transient failure, or one of CODE_MAP). Anything else
 * is a code nobody has published, such as the one for an unbought quality add-on (DOC 80575 gives none).
 */
export function isPublishedCode(code: number): boolean {
  return RATE_LIMIT_CODES.has(code) || code === DAILY_LIMIT_CODE || TRANSIENT_CODES.has(code) || code === REPLAY_CODE || code in CODE_MAP;
}

/** Reads the `error_info` envelope (DOC 43704; GO core/errors.go); accepts a missing `new_error_code` (older responses). */
export function readErrorInfo(json: unknown): TencentErrorInfo | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const info = (json as { error_info?: unknown }).error_info;
  if (typeof info !== 'object' || info === null) return undefined;
  const e = info as { error_code?: unknown; new_error_code?: unknown; message?: unknown };
  const errorCode = Number(e.error_code);
  if (!Number.isFinite(errorCode)) return undefined;
  const out: TencentErrorInfo = { errorCode, message: typeof e.message === 'string' ? e.message : '' };
  const n = Number(e.new_error_code);
  if (e.new_error_code !== undefined && Number.isFinite(n)) out.newErrorCode = n;
  return out;
}

/** The Tencent code behind a MeetcheckError made by tencentError, if any. */
export function tencentCodeOf(err: unknown): number | undefined {
  return err instanceof MeetcheckError && err.options.vendor === 'tencent' ? err.options.vendorCode : undefined;
}
