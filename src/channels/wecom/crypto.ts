import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * WXBizMsgCrypt for the 智能机器人 (doc 101033), on node:crypto:
 *   signature = sha1_hex(sort([token, timestamp, nonce, encrypt]).join(''))
 *   key = base64(EncodingAESKey + "="), 32 bytes; IV = key[0..16); AES-256-CBC, no auto padding,
 *   PKCS#7 with a 32-byte block applied by hand;
 *   plaintext = random(16) || len(4, big-endian) || msg || receiveid ("" for an internal bot).
 * Written from developer.work.weixin.qq.com/document/path/101033 and checked against the official
 * @wecom/crypto and @wecom/aibot-node-sdk WecomCrypto on the doc's vectors.
 */

/** The failures the official WXBizMsgCrypt libraries tell apart (-40001 … -40008), kept for logs. */
export type CryptoFailure = 'signature' | 'aes_key' | 'base64' | 'decrypt' | 'buffer' | 'receive_id';

export class WecomCryptoError extends Error {
  override readonly name = 'WecomCryptoError';
  constructor(readonly reason: CryptoFailure) {
    super(`wecom crypto: ${reason}`);
  }
}

/** PKCS#7 block size of WXBizMsgCrypt: 32, not AES's 16 (101033). */
const BLOCK = 32;
const RANDOM_BYTES = 16;
const LENGTH_BYTES = 4;

export interface WecomCrypto {
  signature(timestamp: string, nonce: string, encrypt: string): string;
  /** Constant-time check of `msg_signature`. */
  verify(msgSignature: string, timestamp: string, nonce: string, encrypt: string): boolean;
  /** Decrypts; throws WecomCryptoError. See `open` for the trailing receiveid. */
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

export function aesKeyFrom(encodingAesKey: string): Buffer {
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey)) throw new WecomCryptoError('aes_key');
  const key = Buffer.from(encodingAesKey + '=', 'base64');
  if (key.length !== 32) throw new WecomCryptoError('aes_key');
  return key;
}

export function sha1Signature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

export function createWecomCrypto(token: string, encodingAesKey: string, receiveId = ''): WecomCrypto {
  const key = aesKeyFrom(encodingAesKey);
  const iv = key.subarray(0, 16);
  function open(encrypt: string): { message: string; receiveId: string } {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encrypt) || encrypt.length % 4 !== 0) throw new WecomCryptoError('base64');
    const data = Buffer.from(encrypt, 'base64');
    if (data.length === 0 || data.length % BLOCK !== 0) throw new WecomCryptoError('buffer');
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-cbc', key, iv);
      decipher.setAutoPadding(false);
      plain = Buffer.concat([decipher.update(data), decipher.final()]);
    } catch {
      throw new WecomCryptoError('decrypt');
    }
    const pad = plain[plain.length - 1]!;
    if (pad < 1 || pad > BLOCK || pad > plain.length) throw new WecomCryptoError('decrypt');
    for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) throw new WecomCryptoError('decrypt');
    const body = plain.subarray(0, plain.length - pad);
    // Bounds before reading (WxJava#3759: unchecked lengths threw deep inside).
    if (body.length < RANDOM_BYTES + LENGTH_BYTES) throw new WecomCryptoError('buffer');
    const len = body.readUInt32BE(RANDOM_BYTES);
    const start = RANDOM_BYTES + LENGTH_BYTES;
    if (len > body.length - start) throw new WecomCryptoError('buffer');
    const message = body.subarray(start, start + len).toString('utf8');
    const rid = body.subarray(start + len).toString('utf8');
    if (receiveId !== '' && rid !== receiveId) throw new WecomCryptoError('receive_id');
    return { message, receiveId: rid };
  }
  return {
    signature: (timestamp, nonce, encrypt) => sha1Signature(token, timestamp, nonce, encrypt),
    verify(msgSignature, timestamp, nonce, encrypt) {
      const expected = Buffer.from(sha1Signature(token, timestamp, nonce, encrypt), 'utf8');
      const given = Buffer.from(msgSignature.toLowerCase(), 'utf8');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    decrypt: (encrypt) => open(encrypt).message,
    open,
    encrypt(message, random = randomBytes(RANDOM_BYTES)) {
      if (random.length !== RANDOM_BYTES) throw new WecomCryptoError('buffer');
      const msg = Buffer.from(message, 'utf8');
      const len = Buffer.alloc(LENGTH_BYTES);
      len.writeUInt32BE(msg.length);
      const body = Buffer.concat([random, len, msg, Buffer.from(receiveId, 'utf8')]);
      const pad = BLOCK - (body.length % BLOCK);
      const cipher = createCipheriv('aes-256-cbc', key, iv);
      cipher.setAutoPadding(false);
      return Buffer.concat([cipher.update(Buffer.concat([body, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
    },
  };
}
