import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';

/**
 * Tencent Meeting event subscription crypto (cloud.tencent.com/document/product/1095: DOC 51612 签名校验,
 * 54658 事件加解密):
 *   signature = lowercase hex sha1 of [token, timestamp, nonce, data] sorted and joined
 *   AESKey    = base64decode(EncodingAESKey + "="), AES-256-CBC, IV = AESKey[0..16], PKCS#7
 *   msg_encrypt = base64(AES_Encrypt[msg + $key]): the JSON, then a tail we cut off.
 */

export function signatureOf(token: string, timestamp: string, nonce: string, data: string): string {
  return createHash('sha1').update([token, timestamp, nonce, data].sort().join(''), 'utf8').digest('hex');
}

export function verifySignature(token: string, timestamp: string, nonce: string, data: string, signature: string): boolean {
  const want = Buffer.from(signatureOf(token, timestamp, nonce, data), 'utf8');
  const got = Buffer.from(signature.toLowerCase(), 'utf8');
  return got.length === want.length && timingSafeEqual(got, want);
}

/** "长度固定为43个字符，从a-z, A-Z, 0-9共62个字符中选取" (DOC 54658); we also allow + and /, base64's own. */
export const ENCODING_AES_KEY = /^[A-Za-z0-9+/]{43}$/;

export function aesKeyOf(encodingAesKey: string): Buffer {
  if (!ENCODING_AES_KEY.test(encodingAesKey)) throw new Error('EncodingAESKey must be 43 base64 characters');
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) throw new Error('EncodingAESKey must decode to 32 bytes');
  return key;
}

export class WebhookCryptoError extends Error {
  override readonly name = 'WebhookCryptoError';
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** AES-256-CBC with the key's first 16 bytes as IV; PKCS#7 checked by hand so bad input is one clear error. */
export function aesDecrypt(key: Buffer, b64: string): Buffer {
  if (!BASE64.test(b64)) throw new WebhookCryptoError('not base64');
  const cipher = Buffer.from(b64, 'base64');
  if (cipher.length === 0 || cipher.length % 16 !== 0) throw new WebhookCryptoError('ciphertext is not whole AES blocks');
  let plain: Buffer;
  try {
    const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    d.setAutoPadding(false);
    plain = Buffer.concat([d.update(cipher), d.final()]);
  } catch {
    throw new WebhookCryptoError('could not decrypt');
  }
  const pad = plain[plain.length - 1] ?? 0;
  // PKCS#7 pads to the block size: 1..16 bytes, all equal to the pad length (WeCom-style 32 also accepted).
  if (pad < 1 || pad > 32 || pad > plain.length || !plain.subarray(plain.length - pad).every((b) => b === pad)) {
    throw new WebhookCryptoError('bad padding');
  }
  return plain.subarray(0, plain.length - pad);
}

/** How the data arrived, for the log: the doc's own signature example carries plain base64 JSON. */
export type Encoding = 'aes' | 'plain';

/**
 * `data` of a POST event → the event JSON text. Encrypted (the normal case with an EncodingAESKey);
 * or plain base64 JSON, as in DOC 51612's worked example and when no key is set in the Tencent
 * console (accepted only after the signature has been verified).
 */
export function decodeEvent(key: Buffer, data: string): { json: string; encoding: Encoding } {
  try {
    const json = leadingJsonObject(aesDecrypt(key, data).toString('utf8'));
    if (json) return { json, encoding: 'aes' };
  } catch (err) {
    if (!(err instanceof WebhookCryptoError)) throw err;
  }
  const plain = BASE64.test(data) ? leadingJsonObject(Buffer.from(data, 'base64').toString('utf8')) : undefined;
  if (plain) return { json: plain, encoding: 'plain' };
  throw new WebhookCryptoError('data is neither an encrypted nor a plain event');
}

/** `check_str` of the URL check → the text to echo (DOC 51608: reply the decrypted string as is). */
export function decodeCheckStr(key: Buffer, checkStr: string): { text: string; encoding: Encoding } {
  try {
    return { text: aesDecrypt(key, checkStr).toString('utf8'), encoding: 'aes' };
  } catch (err) {
    if (!(err instanceof WebhookCryptoError)) throw err;
  }
  if (!BASE64.test(checkStr)) throw new WebhookCryptoError('check_str is not base64');
  return { text: Buffer.from(checkStr, 'base64').toString('utf8'), encoding: 'plain' };
}

/**
 * The JSON object at the start of `text`, without the `$key` tail that AES_Encrypt[msg + $key]
 * appends (DOC 54658). Found by matching braces outside strings, so a `}` in the tail cannot fool it.
 */
export function leadingJsonObject(text: string): string | undefined {
  const s = text.replace(/^\uFEFF/, '');
  if (!s.startsWith('{')) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return s.slice(0, i + 1);
    }
  }
  return undefined;
}
