import { StoreUnavailableError } from '../store/types.js';

/**
 * Coded errors (after slackapi/bolt-js src/errors.ts): one code per failure a caller must tell
 * apart. Every code maps to a message in core/i18n.ts that tells the person what happened and what
 * to do, so a card never shows a stack trace.
 */
export const ERROR_CODES = [
  'meeting_not_found',
  'meeting_not_ended',
  'meeting_too_old',
  'meeting_not_created_by_app',
  'wecom_meeting_not_visible',
  'no_permission',
  /** The vendor serves this data only with a person's authorisation (Feishu VC for apps created today). */
  'user_auth_required',
  /** The stored authorisation was revoked or lapsed (its refresh was refused): authorise again. */
  'user_auth_lapsed',
  /** The vendor needs a person's authorisation but this bot cannot keep one (no encryption key or public URL). */
  'user_auth_off',
  'ip_not_trusted',
  'quality_addon_missing',
  'rate_limited',
  'vendor_auth',
  'vendor_unavailable',
  'vendor_timeout',
  'vendor_not_configured',
  'store_unavailable',
  'not_allowed',
  'report_expired',
  'foreign_chat',
  'busy',
  'interrupted',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class MeetcheckError extends Error {
  override readonly name = 'MeetcheckError';
  constructor(
    readonly code: ErrorCode,
    /** Safe-to-show detail (already free of secrets), e.g. the vendor's error code and message. */
    readonly detail?: string,
    /** `vendorCode`: the vendor's own error code (WeCom errcode, Tencent error_code, Feishu code), for callers that branch on one. */
    readonly options: { retryAfterMs?: number; vendor?: string; vendorCode?: number; cause?: unknown } = {},
  ) {
    super(detail ? `${code}: ${detail}` : code, options.cause ? { cause: options.cause } : undefined);
  }
}

/** Wrap anything thrown into a MeetcheckError; unknown failures become `internal`. */
export function asMeetcheckError(err: unknown): MeetcheckError {
  if (err instanceof MeetcheckError) return err;
  // A lost Redis is "try again shortly", not "something broke": every card path says so.
  if (err instanceof StoreUnavailableError) return new MeetcheckError('store_unavailable', undefined, { cause: err });
  return new MeetcheckError('internal', undefined, { cause: err });
}
