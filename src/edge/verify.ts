import { timingSafeEqual } from 'node:crypto';

/**
 * The two checks every signed callback shares, whatever the platform: the signature compared in
 * constant time, and the signed timestamp inside a replay window.
 */

/**
 * Signed callbacks whose timestamp is further than this from our clock are refused as replays: the
 * window Slack's Bolt uses (github.com/slackapi/bolt-js src/receivers/verify-request.ts), generous
 * for clock skew. None of Feishu (open.feishu.cn/document/server-docs/event-subscription-guide/
 * event-subscription-configure-/encrypt-key-encryption-configuration-case), WeCom (doc 101033) or
 * Tencent Meeting (cloud.tencent.com/document/product/1095/51612) publishes a window of its own; each
 * signs the timestamp, so the window is ours to choose.
 */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;

/**
 * Constant-time string comparison. Unequal lengths compare a buffer with itself, so the time taken
 * says nothing about how much of a guess was right.
 */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/**
 * How a platform writes its signed timestamp:
 *   's'       decimal seconds, at most 12 digits (Feishu's X-Lark-Request-Timestamp, WeCom's `timestamp`);
 *   'ms-or-s' milliseconds or seconds, at most 13 digits (Tencent Meeting: DOC 51612's example is in
 *             ms, 1609239040864; seconds are accepted too). A value of 1e11 or more is read as ms:
 *             1e11 s is the year 5138, 1e11 ms is 1973.
 */
export type TimestampUnit = 's' | 'ms-or-s';

const DIGITS: Record<TimestampUnit, RegExp> = { s: /^\d{1,12}$/, 'ms-or-s': /^\d{1,13}$/ };
const MS_FROM = 1e11;

/** The signed timestamp as epoch ms, or undefined when it is not one (not digits, too long). */
export function timestampMs(text: string, unit: TimestampUnit): number | undefined {
  if (!DIGITS[unit].test(text)) return undefined;
  const n = Number(text);
  return unit === 'ms-or-s' && n >= MS_FROM ? n : n * 1000;
}

export type WindowCheck = 'ok' | 'malformed' | 'stale';

/**
 * The one replay check: `malformed` when the text is not a timestamp of that unit, `stale` when it is
 * more than `windowMs` from `nowMs` either way, else `ok`. Each platform maps the outcome to its 4xx.
 */
export function checkWindow(text: string, unit: TimestampUnit, nowMs: number, windowMs = SIGNATURE_WINDOW_MS): WindowCheck {
  const at = timestampMs(text, unit);
  if (at === undefined) return 'malformed';
  return Math.abs(nowMs - at) > windowMs ? 'stale' : 'ok';
}
