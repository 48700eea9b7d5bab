import { MeetcheckError } from '../../core/errors.js';
import { LARK_TOKEN_INVALID, larkFailure, larkRetry } from '../../http/lark.js';
import { transportVerdict, type Verdict } from '../../http/policy.js';

/**
 * The Feishu VC vendor's one classifier: a failed call → what the policy does (http/lark.ts
 * larkRetry: rate limits after x-ogw-ratelimit-reset, 99991663 refreshed once, 5xx with back-off)
 * and what the person is told. Codes: the VC pages' 错误码 tables
 * (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/vc-v1/{meeting_list,participant_list,participant_quality_list}/get) and the
 * generic ones (open.feishu.cn/document/server-docs/api-call-guide/generic-error-code).
 *
 * Scope and token-type refusals (open.feishu.cn server-docs/api-call-guide/generic-error-code):
 * 99991672 the app lacks the API's scope; 99991679 the user has not granted it; 99991668 the
 * user_access_token is invalid; 99991677 it has expired. 121005 is the VC APIs' own "no
 * permission", which covers the token type as well as the operator (vc-v1/participant_list/get, 错误码).
 */
export const APP_SCOPE_MISSING = 99991672;
export const USER_SCOPE_MISSING = 99991679;
export const USER_TOKEN_INVALID = 99991668;
export const USER_TOKEN_EXPIRED = 99991677;
export const VC_NO_PERMISSION = 121005;
/** 126006: end − start over 1 day; 126009: no meeting for these times (participant_list/get 错误码). */
export const SPAN_TOO_LONG = 126006;
export const MEETING_NOT_MATCHED = 126009;
/** 126010: no device for this user and join_time (quality only): that attendee has no data. */
export const DEVICE_NOT_FOUND = 126010;

const AUTH = new Set([99991661, 99991664, 99991665, 99991668, 99991671, 99991677, 10003, 10014, 10015]);
const PERMISSION = new Set([121005, 99991672, 99991679, 99991673, 99991662, 99991403]);
const NOT_FOUND = new Set([126009, 121004, 126003, 126004]);

/** How the call was made: with the admin's user_access_token or the app's tenant token, and whether user mode is on. */
export interface CallAuth {
  userToken: boolean;
  userMode: boolean;
}

export function classify(err: unknown, api: string, auth: CallAuth = { userToken: false, userMode: false }): Verdict {
  const transport = transportVerdict(err);
  if (transport) return transport;
  const f = larkFailure(err);
  if (!f) {
    if (err instanceof Error && /failed to get (tenant|app)_access_token/.test(err.message)) {
      // The SDK's token manager (token-manager.ts buildTokenError): code and msg in the message.
      const m = /code: (\d+), msg: (.*)$/.exec(err.message);
      return { error: new MeetcheckError('vendor_auth', `feishu token: ${m ? `${m[1]} ${m[2]}` : 'no token'}`.slice(0, 200), { vendor: 'feishu', cause: err }) };
    }
    return { error: new MeetcheckError('internal', undefined, { vendor: 'feishu', cause: err }) };
  }
  const { code, status } = f;
  const retry = larkRetry(f);
  const detail = `feishu ${api}: ${code ?? `HTTP ${status}`}${f.msg ? ` ${f.msg}` : ''}`.slice(0, 200);
  const make = (c: MeetcheckError['code'], extra: { retryAfterMs?: number } = {}, text = detail) =>
    new MeetcheckError(c, text, { vendor: 'feishu', cause: err, ...(code !== undefined ? { vendorCode: code } : {}), ...extra });
  if (retry.retryAfterMs !== undefined) return { error: make('rate_limited', { retryAfterMs: retry.retryAfterMs }), ...retry };
  if (code === LARK_TOKEN_INVALID) return { error: make('vendor_auth'), tokenExpired: true };
  if (auth.userToken) {
    // The user_access_token was refused as invalid or expired: renewed once (grant.ts), then the grant is dropped.
    if (code === USER_TOKEN_INVALID || code === USER_TOKEN_EXPIRED) return { error: make('user_auth_lapsed'), tokenExpired: true };
    // The authoriser did not grant this API's scope: authorising again (with FEISHU_USER_SCOPES) fixes it.
    if (code === USER_SCOPE_MISSING) return { error: make('user_auth_required') };
    if (code === VC_NO_PERMISSION) {
      return { error: make('no_permission', {}, `feishu ${api}: 121005 no permission. The person who authorised needs Feishu Admin → Video Conferencing → Meeting management (授权人需有“视频会议-会议管理”管理员权限)`) };
    }
  } else if (code === APP_SCOPE_MISSING || code === USER_SCOPE_MISSING || (code === VC_NO_PERMISSION && auth.userMode)) {
    // The tenant token was refused for scope: apps created today hold the VC scope for
    // user_access_token only ("新权限只支持使用user_access_token", vc-v1/meeting_list/get).
    if (auth.userMode) return { error: make('user_auth_required') };
    if (code !== VC_NO_PERMISSION) return { error: make('user_auth_off') };
  }
  if (code !== undefined && AUTH.has(code)) return { error: make('vendor_auth') };
  if (code === VC_NO_PERMISSION) {
    // "All four query APIs require that the user who created the self-built app has … Video
    // Conferencing → Meeting management" (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/vc-v1/meeting-room-data/resource-introduction): say so on the card.
    return { error: make('no_permission', {}, `feishu ${api}: 121005 no permission. The app's creator needs Feishu Admin → Video Conferencing → Meeting management (应用创建者需有“视频会议-会议管理”管理员权限)`) };
  }
  if (code !== undefined && PERMISSION.has(code)) return { error: make('no_permission') };
  if (code === 99991401) return { error: make('ip_not_trusted') };
  if (code !== undefined && NOT_FOUND.has(code)) return { error: make('meeting_not_found') };
  // 121001: the VC APIs' own "internal error, try again" (错误码).
  if (code === 121001 || retry.retryable) return { error: make('vendor_unavailable'), retryable: true };
  return { error: make('vendor_unavailable') };
}
