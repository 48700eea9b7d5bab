import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { FeishuConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import { HttpError, parseJsonObject, readRawBody } from '../../http/body.js';

/**
 * Verifies and opens one Feishu callback (events and card actions alike), over the raw bytes.
 * feishu-bot-and-vc-api.md §2.1: with an Encrypt Key the body is `{"encrypt": base64(iv ‖
 * AES-256-CBC(sha256(key), iv, json))}` and the headers carry
 * `X-Lark-Signature = sha256hex(timestamp + nonce + key + rawBody)`; the URL-verification
 * challenge alone is unsigned. With only a Verification Token the body's token is compared.
 * The SDK adapters answer a bad signature with a silent 204 and never check the token or the
 * timestamp (§1.8, §0.9); here a forged or stale request gets a 401 and is never processed.
 */

/** Replay window for signed requests, after bolt-js verify-request.ts (anchors.md §4.1): 5 minutes. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;
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

/** Constant-time string comparison; unequal lengths are compared against themselves so timing says nothing. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

function tokenOf(env: Envelope): string | undefined {
  const header = env.header as { token?: unknown } | undefined;
  const token = header?.token ?? env.token;
  return typeof token === 'string' ? token : undefined;
}

export function isChallenge(env: Envelope): boolean {
  return env.type === 'url_verification' && typeof env.challenge === 'string';
}

/**
 * Reads, verifies and decrypts. Throws HttpError 400 for a broken body, 401 for a bad or stale
 * signature or token; returns the plain envelope otherwise.
 */
export async function openCallback(ctx: Context, config: FeishuConfig, clock: Clock): Promise<Envelope> {
  const raw = await readRawBody(ctx, CALLBACK_BODY_LIMIT);
  const outer = parseJsonObject(raw);
  let env: Envelope = outer;
  if (config.encryptKey) {
    if (typeof outer.encrypt !== 'string') throw new HttpError(401, 'expected an encrypted body');
    try {
      env = parseJsonObject(Buffer.from(decrypt(config.encryptKey, outer.encrypt), 'utf8'));
    } catch {
      throw new HttpError(400, 'body does not decrypt');
    }
    // The challenge is the one unsigned request (§2.1); decrypting it with our key already shows
    // it came from someone holding the key, and the token check below still applies.
    if (!isChallenge(env)) {
      const ts = ctx.get('x-lark-request-timestamp');
      const nonce = ctx.get('x-lark-request-nonce');
      const signature = ctx.get('x-lark-signature');
      if (!ts || !signature) throw new HttpError(401, 'missing signature');
      if (!safeEqual(sign(ts, nonce, config.encryptKey, raw), signature.toLowerCase())) throw new HttpError(401, 'bad signature');
      const sentAt = Number(ts) * 1000;
      if (!Number.isFinite(sentAt) || Math.abs(clock.now() - sentAt) > SIGNATURE_WINDOW_MS) throw new HttpError(401, 'stale request');
    }
  } else if (typeof outer.encrypt === 'string') {
    throw new HttpError(400, 'encrypted body but FEISHU_ENCRYPT_KEY is not set');
  }
  if (config.verificationToken) {
    const token = tokenOf(env);
    if (token === undefined || !safeEqual(token, config.verificationToken)) throw new HttpError(401, 'bad verification token');
  }
  return env;
}
