import { createDecipheriv, createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { FeishuConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import { jsonObject, maybe, nonEmpty, parsed, v } from '../../edge/schema.js';
import { checkWindow, safeEqual, SIGNATURE_WINDOW_MS } from '../../edge/verify.js';
import { HttpError, parseJsonObject, readRawBody } from '../../http/body.js';

/**
 * Verifies and opens one Feishu callback (events and card actions alike), over the raw bytes
 * (open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/encrypt-key-encryption-configuration-case):
 * with an Encrypt Key the body is `{"encrypt": base64(iv ‖ AES-256-CBC(sha256(key), iv, json))}` and
 * the headers carry `X-Lark-Signature = sha256hex(timestamp + nonce + key + rawBody)`; the
 * URL-verification challenge alone is unsigned. With only a Verification Token the body's token is
 * compared. The Lark SDK's adapters (larksuite/node-sdk dispatcher/request-handle.ts) answer a bad
 * signature with a silent 204 and never check the token or the timestamp; here a forged or stale
 * request gets a 401 and is never processed.
 */

/** The replay window for signed requests (one for every platform, src/edge/verify.ts): 5 minutes. */
export { SIGNATURE_WINDOW_MS, safeEqual };
/**
 * A text message may be up to 150 KB (open.feishu.cn/document/server-docs/im-v1/message/create:
 * "文本消息请求体最大不能超过 150 KB"), and its receive event carries it whole; encrypted, base64 adds a
 * third (≈ 200 KB). 256 KB takes that with room for the envelope, so a long pasted message is
 * acked instead of answered 413 (which Feishu would re-push), and a flood is still cut off early.
 */
export const CALLBACK_BODY_LIMIT = 256 * 1024;

export type Envelope = Record<string, unknown>;

export function decrypt(encryptKey: string, encrypt: string): string {
  const key = createHash('sha256').update(encryptKey).digest();
  const buf = Buffer.from(encrypt, 'base64');
  if (buf.length < 32 || buf.length % 16 !== 0) throw new Error('bad ciphertext length');
  const decipher = createDecipheriv('aes-256-cbc', key, buf.subarray(0, 16));
  return Buffer.concat([decipher.update(buf.subarray(16)), decipher.final()]).toString('utf8');
}

export function sign(timestamp: string, nonce: string, encryptKey: string, rawBody: Buffer): string {
  return createHash('sha256').update(timestamp + nonce + encryptKey).update(rawBody).digest('hex');
}

/** An encrypted body: `{"encrypt": "<base64>"}`. */
const Encrypted = v.object({ encrypt: v.string() });
/**
 * The verification token: schema 2.0 carries it in `header.token`, v1 events and the challenge at
 * the top (open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/encrypt-key-encryption-configuration-case).
 */
const Tokens = v.object({
  header: maybe(v.object({ token: v.optional(v.unknown()) })),
  token: v.optional(v.unknown()),
});
/** The URL-verification challenge. */
const Challenge = v.object({ type: v.literal('url_verification'), challenge: v.string() });
/** The signed headers; the nonce may be empty. */
const Signed = v.object({ ts: nonEmpty, nonce: v.string(), signature: nonEmpty });

function tokenOf(env: Envelope): string | undefined {
  const t = parsed(Tokens, env);
  const token = t?.header?.token ?? t?.token;
  return typeof token === 'string' ? token : undefined;
}

export function isChallenge(env: Envelope): env is Envelope & { challenge: string } {
  return v.is(Challenge, env);
}

/**
 * Reads, verifies and decrypts. Throws HttpError 400 for a broken body, 401 for a bad or stale
 * signature or token; returns the plain envelope otherwise.
 */
export async function openCallback(ctx: Context, config: FeishuConfig, clock: Clock): Promise<Envelope> {
  const raw = await readRawBody(ctx, CALLBACK_BODY_LIMIT);
  const outer = parseJsonObject(raw);
  const encrypted = parsed(Encrypted, outer);
  let env: Envelope = outer;
  if (config.encryptKey) {
    if (!encrypted) throw new HttpError(401, 'expected an encrypted body');
    let inner: Envelope | undefined;
    try {
      inner = parsed(jsonObject, JSON.parse(decrypt(config.encryptKey, encrypted.encrypt)));
    } catch {
      inner = undefined;
    }
    if (!inner) throw new HttpError(400, 'body does not decrypt');
    env = inner;
    // The challenge is the one unsigned request (same page); decrypting it with our key already shows
    // it came from someone holding the key, and the token check below still applies.
    if (!isChallenge(env)) {
      const h = parsed(Signed, { ts: ctx.get('x-lark-request-timestamp'), nonce: ctx.get('x-lark-request-nonce'), signature: ctx.get('x-lark-signature') });
      if (!h) throw new HttpError(401, 'missing signature');
      if (!safeEqual(sign(h.ts, h.nonce, config.encryptKey, raw), h.signature.toLowerCase())) throw new HttpError(401, 'bad signature');
      if (checkWindow(h.ts, 's', clock.now()) !== 'ok') throw new HttpError(401, 'stale request');
    }
  } else if (encrypted) {
    throw new HttpError(400, 'encrypted body but FEISHU_ENCRYPT_KEY is not set');
  }
  if (config.verificationToken) {
    const token = tokenOf(env);
    if (token === undefined || !safeEqual(token, config.verificationToken)) throw new HttpError(401, 'bad verification token');
  }
  return env;
}
