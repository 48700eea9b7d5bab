import { MeetcheckError } from '../../core/errors.js';
import { LarkHttpError } from '../../http/lark.js';

/**
 * What to do about one failed Feishu call. Codes: the VC pages' 错误码 tables
 * (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/vc-v1/{meeting_list,participant_list,participant_quality_list}/get) and the
 * generic ones (open.feishu.cn/document/server-docs/api-call-guide/generic-error-code).
 */
export type Verdict =
  | { kind: 'token'; error: MeetcheckError }
  /** The user_access_token was refused as invalid or expired: renew it once and retry. */
  | { kind: 'user_token'; error: MeetcheckError }
  | { kind: 'rate'; error: MeetcheckError; waitMs: number }
  | { kind: 'transient'; error: MeetcheckError }
  | { kind: 'fatal'; error: MeetcheckError; code?: number };

/** 99991663: tenant token expired or invalid (generic-error-code); the SDK never drops it itself (node-sdk client/token-manager.ts). */
export const TOKEN_INVALID = 99991663;
/** 99991400: frequency limit, HTTP 429 with x-ogw-ratelimit-reset seconds (open.feishu.cn/document/server-docs/api-call-guide/frequency-control). */
export const RATE_LIMITED = 99991400;
/**
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
/** When the 429 carries no reset header: a fraction of the per-minute window. */
const DEFAULT_RESET_MS = 5_000;

const AUTH = new Set([99991661, 99991664, 99991665, 99991668, 99991671, 99991677, 10003, 10014, 10015]);
const PERMISSION = new Set([121005, 99991672, 99991679, 99991673, 99991662, 99991403]);
const NOT_FOUND = new Set([126009, 121004, 126003, 126004]);

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** How the call was made: with the admin's user_access_token or the app's tenant token, and whether user mode is on. */
export interface CallAuth {
  userToken: boolean;
  userMode: boolean;
}

export function classify(err: unknown, api: string, auth: CallAuth = { userToken: false, userMode: false }): Verdict {
  let status: number | undefined;
  let code: number | undefined;
  let msg = '';
  let resetMs: number | undefined;
  if (err instanceof MeetcheckError) {
    // Transport failures from httpJson: timeouts and connection errors are worth another try.
    return err.code === 'vendor_timeout' || err.code === 'vendor_unavailable' ? { kind: 'transient', error: err } : { kind: 'fatal', error: err };
  }
  if (err instanceof LarkHttpError) {
    status = err.status;
    const body = err.body as { code?: unknown; msg?: unknown } | undefined;
    code = typeof body?.code === 'number' ? body.code : undefined;
    msg = typeof body?.msg === 'string' ? body.msg : '';
    const reset = Number(header(err.headers, 'x-ogw-ratelimit-reset'));
    if (Number.isFinite(reset) && reset >= 0) resetMs = Math.max(1, reset) * 1000;
  } else if (err instanceof BusinessError) {
    code = err.code;
    msg = err.msg;
  } else if (err instanceof Error && /failed to get (tenant|app)_access_token/.test(err.message)) {
    // The SDK's token manager (token-manager.ts buildTokenError): code and msg in the message.
    const m = /code: (\d+), msg: (.*)$/.exec(err.message);
    return { kind: 'fatal', error: new MeetcheckError('vendor_auth', `feishu token: ${m ? `${m[1]} ${m[2]}` : 'no token'}`.slice(0, 200), { vendor: 'feishu', cause: err }) };
  } else {
    return { kind: 'fatal', error: new MeetcheckError('internal', undefined, { vendor: 'feishu', cause: err }) };
  }
  const detail = `feishu ${api}: ${code ?? `HTTP ${status}`}${msg ? ` ${msg}` : ''}`.slice(0, 200);
  const make = (c: MeetcheckError['code'], extra: { retryAfterMs?: number } = {}) => new MeetcheckError(c, detail, { vendor: 'feishu', cause: err, ...extra });
  if (code === RATE_LIMITED || status === 429) {
    const waitMs = resetMs ?? DEFAULT_RESET_MS;
    return { kind: 'rate', error: make('rate_limited', { retryAfterMs: waitMs }), waitMs };
  }
  if (code === TOKEN_INVALID) return { kind: 'token', error: make('vendor_auth') };
  if (auth.userToken) {
    if (code === USER_TOKEN_INVALID || code === USER_TOKEN_EXPIRED) return { kind: 'user_token', error: make('user_auth_lapsed') };
    // The authoriser did not grant this API's scope: authorising again (with FEISHU_USER_SCOPES) fixes it.
    if (code === USER_SCOPE_MISSING) return { kind: 'fatal', error: make('user_auth_required'), code };
    if (code === VC_NO_PERMISSION) {
      const hint = `feishu ${api}: 121005 no permission. The person who authorised needs Feishu Admin → Video Conferencing → Meeting management (授权人需有“视频会议-会议管理”管理员权限)`;
      return { kind: 'fatal', error: new MeetcheckError('no_permission', hint, { vendor: 'feishu', cause: err }), code };
    }
  } else if (code === APP_SCOPE_MISSING || code === USER_SCOPE_MISSING || (code === VC_NO_PERMISSION && auth.userMode)) {
    // The tenant token was refused for scope: apps created today hold the VC scope for
    // user_access_token only ("新权限只支持使用user_access_token", vc-v1/meeting_list/get).
    if (auth.userMode) return { kind: 'fatal', error: make('user_auth_required'), code };
    if (code !== VC_NO_PERMISSION) return { kind: 'fatal', error: make('user_auth_off'), code };
  }
  if (code !== undefined && AUTH.has(code)) return { kind: 'fatal', error: make('vendor_auth'), code };
  if (code === 121005) {
    // "All four query APIs require that the user who created the self-built app has … Video
    // Conferencing → Meeting management" (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/vc-v1/meeting-room-data/resource-introduction): say so on the card.
    const hint = `feishu ${api}: 121005 no permission. The app's creator needs Feishu Admin → Video Conferencing → Meeting management (应用创建者需有“视频会议-会议管理”管理员权限)`;
    return { kind: 'fatal', error: new MeetcheckError('no_permission', hint, { vendor: 'feishu', cause: err }), code };
  }
  if (code !== undefined && PERMISSION.has(code)) return { kind: 'fatal', error: make('no_permission'), code };
  if (code === 99991401) return { kind: 'fatal', error: make('ip_not_trusted'), code };
  if (code !== undefined && NOT_FOUND.has(code)) return { kind: 'fatal', error: make('meeting_not_found'), code };
  if (code === 121001 || (status !== undefined && status >= 500)) return { kind: 'transient', error: make('vendor_unavailable') };
  return { kind: 'fatal', error: make('vendor_unavailable'), ...(code !== undefined ? { code } : {}) };
}

/** An HTTP 200 answer whose `code` is not 0: some Feishu errors come with HTTP 200 (generic-error-code), so `code === 0` is checked too. */
export class BusinessError extends Error {
  override readonly name = 'BusinessError';
  constructor(readonly code: number, readonly msg: string) {
    super(`code ${code}: ${msg}`);
  }
}
