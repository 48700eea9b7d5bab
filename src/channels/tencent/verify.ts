import type { Context } from 'koa';
import { verifySortedSha1 } from '../../edge/msgcrypt.js';
import { maybe, nonEmpty, parsed, parsedOr4xx, v } from '../../edge/schema.js';
import { checkWindow } from '../../edge/verify.js';
import { HttpError } from '../../http/body.js';

/**
 * The Tencent Meeting event subscription's inbound checks and envelope, parsed once by schema
 * (cloud.tencent.com/document/product/1095/51608 URL check, 51612 签名校验, 51619 meeting.end).
 */

/** The three signed headers of every request, GET and POST alike (DOC 51612). */
const SignedHeaders = v.object({ timestamp: nonEmpty, nonce: nonEmpty, signature: nonEmpty });

/**
 * Verifies the signature over `data` (check_str for GET, the body's `data` for POST) in constant time,
 * then the timestamp window: 400 without the headers, 401 for a bad signature or a stale timestamp.
 * The doc's example timestamp is in milliseconds (1609239040864); seconds are accepted too.
 */
export function verifyTencent(ctx: Context, token: string, data: string, nowMs: number): void {
  const h = parsedOr4xx(SignedHeaders, { timestamp: ctx.get('timestamp'), nonce: ctx.get('nonce'), signature: ctx.get('signature') }, 400, 'missing timestamp, nonce or signature');
  if (!verifySortedSha1(token, h.timestamp, h.nonce, data, h.signature)) throw new HttpError(401, 'bad signature');
  if (checkWindow(h.timestamp, 'ms-or-s', nowMs) !== 'ok') throw new HttpError(401, 'stale timestamp');
}

/** A POST's body: `{"data": "<base64>"}` (DOC 51612). */
export const EventBody = v.object({ data: nonEmpty });

/** The decrypted event: its name, Tencent's trace id, and the payload (read by event.ts). */
const EventEnvelope = v.object({
  event: v.fallback(v.optional(v.string(), ''), ''),
  trace_id: maybe(v.string()),
  payload: v.optional(v.unknown()),
});
export type TencentEvent = v.InferOutput<typeof EventEnvelope>;

/** Any JSON value → the envelope; a value that is not an object reads as an event without a name. */
export function parseTencentEvent(value: unknown): TencentEvent {
  return parsed(EventEnvelope, value) ?? { event: '' };
}

/**
 * check_str is URL-encoded base64 (DOC 51608: "需要进行 Urldecode 处理"). Decoded by hand so a
 * literal "+" stays "+" (form decoding would turn it into a space and break the signature).
 */
export function rawQueryParam(querystring: string, name: string): string | undefined {
  for (const part of querystring.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq) !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1));
    } catch {
      throw new HttpError(400, `bad ${name}`);
    }
  }
  return undefined;
}
