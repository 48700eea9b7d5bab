import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { safeEqual } from './verify.js';

/**
 * The WXBizMsgCrypt family, shared by the WeCom 智能机器人 callback and the Tencent Meeting event
 * subscription. Both platforms publish the same primitives:
 *   signature = lowercase hex sha1(sort([token, timestamp, nonce, data]).join(''))
 *   key       = base64decode(EncodingAESKey + "="), 32 bytes; IV = key[0..16); AES-256-CBC; PKCS#7
 * (WeCom: developer.work.weixin.qq.com/document/path/101033; Tencent Meeting:
 * cloud.tencent.com/document/product/1095/51612 签名校验 and /54658 事件加解密).
 * What differs is the layout around the message, so each platform has its own `Layout`:
 *   WeCom   PKCS#7 with a 32-byte block; plaintext = random(16) ‖ len(4, big-endian) ‖ msg ‖ receiveid;
 *   Tencent PKCS#7 over AES's 16-byte block; plaintext = msg ‖ $key ("AES_Encrypt[msg + $key]"),
 *           so the JSON is cut off the front (see leadingJsonObject).
 * Checked against the official @wecom/crypto and @wecom/aibot-node-sdk WecomCrypto on WeCom's vectors
 * and against DOC 51612's worked example (test/edge/msgcrypt.test.ts).
 */

/** The failures the official WXBizMsgCrypt libraries tell apart (-40001 … -40008), kept for logs. */
export type CryptoFailure = 'signature' | 'aes_key' | 'base64' | 'decrypt' | 'buffer' | 'receive_id';

export class MsgCryptError extends Error {
  override readonly name = 'MsgCryptError';
  constructor(readonly reason: CryptoFailure, detail?: string) {
    super(`msg crypt: ${detail ?? reason}`);
  }
}

/**
 * An EncodingAESKey: 43 characters. WeCom and Tencent both say "从a-z, A-Z, 0-9共62个字符中选取"
 * (doc 101033, DOC 54658); + and / are base64's own and accepted too. config.ts checks keys with this.
 */
export const ENCODING_AES_KEY = /^[A-Za-z0-9+/]{43}$/;

export function aesKeyOf(encodingAesKey: string): Buffer {
  if (!ENCODING_AES_KEY.test(encodingAesKey)) throw new MsgCryptError('aes_key', 'EncodingAESKey must be 43 base64 characters');
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) throw new MsgCryptError('aes_key', 'EncodingAESKey must decode to 32 bytes');
  return key;
}

/** sha1 hex of the four values sorted and joined: the signature of both platforms. */
export function sortedSha1(token: string, timestamp: string, nonce: string, data: string): string {
  return createHash('sha1').update([token, timestamp, nonce, data].sort().join(''), 'utf8').digest('hex');
}

/** Constant-time check of a given signature (any case) against the one we compute. */
export function verifySortedSha1(token: string, timestamp: string, nonce: string, data: string, signature: string): boolean {
  return safeEqual(sortedSha1(token, timestamp, nonce, data), signature.toLowerCase());
}

export interface Layout {
  /** The ciphertext must be whole blocks of this size (WeCom 32, as its pad block; Tencent AES's 16). */
  cipherBlock: 16 | 32;
  /** Encryption pads to this block (WeCom 32; AES's 16 elsewhere). */
  padBlock: 16 | 32;
  /** The largest pad byte accepted on decryption (32 for both: Tencent also takes WeCom-style padding). */
  maxPad: number;
  /** Whether base64 must carry its `=` padding (WeCom's libraries require it; Tencent's example omits it). */
  paddedBase64: boolean;
}

export const LAYOUT_WECOM: Layout = { cipherBlock: 32, padBlock: 32, maxPad: 32, paddedBase64: true };
export const LAYOUT_TENCENT: Layout = { cipherBlock: 16, padBlock: 16, maxPad: 32, paddedBase64: false };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function isBase64(text: string, padded = false): boolean {
  return BASE64.test(text) && (!padded || text.length % 4 === 0);
}

/** AES-256-CBC, IV = key[0..16); PKCS#7 checked byte by byte, so bad input is one coded error. */
export function aesDecrypt(key: Buffer, b64: string, layout: Layout): Buffer {
  if (!isBase64(b64, layout.paddedBase64)) throw new MsgCryptError('base64', 'not base64');
  const data = Buffer.from(b64, 'base64');
  if (data.length === 0 || data.length % layout.cipherBlock !== 0) throw new MsgCryptError('buffer', 'ciphertext is not whole blocks');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new MsgCryptError('decrypt', 'could not decrypt');
  }
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > layout.maxPad || pad > plain.length) throw new MsgCryptError('decrypt', 'bad padding');
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) throw new MsgCryptError('decrypt', 'bad padding');
  return plain.subarray(0, plain.length - pad);
}

export function aesEncrypt(key: Buffer, plain: Buffer, layout: Layout): string {
  const pad = layout.padBlock - (plain.length % layout.padBlock);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
}

// ---- WeCom: random(16) ‖ len(4, BE) ‖ msg ‖ receiveid (doc 101033) ----

const RANDOM_BYTES = 16;
const LENGTH_BYTES = 4;

export interface WecomCrypto {
  signature(timestamp: string, nonce: string, encrypt: string): string;
  /** Constant-time check of `msg_signature`. */
  verify(msgSignature: string, timestamp: string, nonce: string, encrypt: string): boolean;
  /** Decrypts; throws MsgCryptError. See `open` for the trailing receiveid. */
  decrypt(encrypt: string): string;
  /**
   * Decrypts and returns the trailing receiveid too. A crypto made with a non-empty receiveId
   * refuses any other; one made with "" accepts whatever follows, as the official SDK's
   * WecomCrypto does (it checks only a non-empty receiveId): 101033 says the bot's is "", and
   * refusing an id WeCom might append would turn away every callback after the signature had
   * already proved it genuine. The caller logs an unexpected one.
   */
  open(encrypt: string): { message: string; receiveId: string };
  encrypt(message: string, random?: Buffer): string;
}

export function createWecomCrypto(token: string, encodingAesKey: string, receiveId = ''): WecomCrypto {
  const key = aesKeyOf(encodingAesKey);
  function open(encrypt: string): { message: string; receiveId: string } {
    const body = aesDecrypt(key, encrypt, LAYOUT_WECOM);
    // Bounds before reading (WxJava#3759: unchecked lengths threw deep inside).
    if (body.length < RANDOM_BYTES + LENGTH_BYTES) throw new MsgCryptError('buffer');
    const len = body.readUInt32BE(RANDOM_BYTES);
    const start = RANDOM_BYTES + LENGTH_BYTES;
    if (len > body.length - start) throw new MsgCryptError('buffer');
    const message = body.subarray(start, start + len).toString('utf8');
    const rid = body.subarray(start + len).toString('utf8');
    if (receiveId !== '' && rid !== receiveId) throw new MsgCryptError('receive_id');
    return { message, receiveId: rid };
  }
  return {
    signature: (timestamp, nonce, encrypt) => sortedSha1(token, timestamp, nonce, encrypt),
    verify: (msgSignature, timestamp, nonce, encrypt) => verifySortedSha1(token, timestamp, nonce, encrypt, msgSignature),
    decrypt: (encrypt) => open(encrypt).message,
    open,
    encrypt(message, random = randomBytes(RANDOM_BYTES)) {
      if (random.length !== RANDOM_BYTES) throw new MsgCryptError('buffer');
      const msg = Buffer.from(message, 'utf8');
      const len = Buffer.alloc(LENGTH_BYTES);
      len.writeUInt32BE(msg.length);
      return aesEncrypt(key, Buffer.concat([random, len, msg, Buffer.from(receiveId, 'utf8')]), LAYOUT_WECOM);
    },
  };
}

// ---- Tencent Meeting: msg ‖ $key (DOC 54658) ----

/** How the data arrived, for the log: the doc's own signature example carries plain base64 JSON. */
export type Encoding = 'aes' | 'plain';

/**
 * `data` of a POST event → the event JSON text. Encrypted (the normal case with an EncodingAESKey);
 * or plain base64 JSON, as in DOC 51612's worked example and when no key is set in the Tencent
 * console (accepted only after the signature has been verified).
 */
export function decodeTencentEvent(key: Buffer, data: string): { json: string; encoding: Encoding } {
  try {
    const json = leadingJsonObject(aesDecrypt(key, data, LAYOUT_TENCENT).toString('utf8'));
    if (json) return { json, encoding: 'aes' };
  } catch (err) {
    if (!(err instanceof MsgCryptError)) throw err;
  }
  const plain = isBase64(data) ? leadingJsonObject(Buffer.from(data, 'base64').toString('utf8')) : undefined;
  if (plain) return { json: plain, encoding: 'plain' };
  throw new MsgCryptError('decrypt', 'data is neither an encrypted nor a plain event');
}

/** `check_str` of the URL check → the text to echo (DOC 51608: reply the decrypted string as is). */
export function decodeTencentCheckStr(key: Buffer, checkStr: string): { text: string; encoding: Encoding } {
  try {
    return { text: aesDecrypt(key, checkStr, LAYOUT_TENCENT).toString('utf8'), encoding: 'aes' };
  } catch (err) {
    if (!(err instanceof MsgCryptError)) throw err;
  }
  if (!isBase64(checkStr)) throw new MsgCryptError('base64', 'check_str is not base64');
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
