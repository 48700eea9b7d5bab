import { createCipheriv } from 'node:crypto';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { WecomCryptoError, createWecomCrypto, sha1Signature } from '../../src/channels/wecom/crypto.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { createBotSimulator, docDecrypt, docEncrypt } from '../fakes/wecom-bot.js';
import { manualClock } from '../helpers/core.js';

// Official vectors: sbzhu/weworkapi_python callback/Sample.py (the WXBizMsgCrypt sample of doc 101033).
const TOKEN = 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo';
const KEY = '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt';
const CORP = 'ww1436e0e65a779aee';
const ECHO = 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==';
const POST_ENCRYPT = 'Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+';

describe('WeCom callback crypto (official vectors)', () => {
  const corp = createWecomCrypto(TOKEN, KEY, CORP);

  it('verifies and decrypts the GET verification vector', () => {
    expect(corp.verify('012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb', '1476416373', '47744683', ECHO)).toBe(true);
    expect(corp.decrypt(ECHO)).toBe('1288432023552776189');
  });

  it('verifies and decrypts the POST vector (pad byte 22: 32-byte PKCS#7 blocks)', () => {
    expect(corp.verify('0c3914025cb4b4d68103f6bfc8db550f79dcf48e', '1476422779', '1597212914', POST_ENCRYPT)).toBe(true);
    expect(corp.decrypt(POST_ENCRYPT)).toContain('<Content>你好</Content>');
    expect(corp.decrypt(POST_ENCRYPT)).toMatch(/^<xml><ToUserName>ww1436e0e65a779aee<\/ToUserName>.*<AgentID>1000002<\/AgentID><\/xml>$/);
  });

  it('matches the older doc signature sample', () => {
    expect(sha1Signature('QDG6eK', '1409659589', '263014780', 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==')).toBe('5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3');
  });

  it('reproduces the JSON round trip with an empty receiveid', () => {
    const bot = createWecomCrypto(TOKEN, KEY, '');
    const enc = bot.encrypt('{"msgtype":"text","text":{"content":"hi"}}', Buffer.from('0123456789abcdef'));
    expect(enc).toBe('scEag1243Fmy/fYz4Ux8D5/ADobluRrJREFP6gMmxgIlfYMf3q/REZxNLCuy9K7rpYH2Jo398se3PR5KqDR++w==');
    expect(bot.signature('1700000000', 'nonce123', enc)).toBe('7c9934206ab8071c39bd46907e4478edbdea42cb');
    expect(bot.decrypt(enc)).toBe('{"msgtype":"text","text":{"content":"hi"}}');
    // And the independent doc implementation in the simulator agrees both ways.
    expect(docDecrypt(KEY, enc)).toEqual({ message: '{"msgtype":"text","text":{"content":"hi"}}', receiveId: '' });
    expect(bot.decrypt(docEncrypt(KEY, '中文 ✓'))).toBe('中文 ✓');
  });

  it('pads a 32-byte multiple with a full block of 32', () => {
    const bot = createWecomCrypto(TOKEN, KEY, '');
    // 16 random + 4 length + 12 message = 32 bytes → one extra block of pad 32.
    const enc = bot.encrypt('x'.repeat(12));
    expect(Buffer.from(enc, 'base64').length).toBe(64);
    expect(bot.decrypt(enc)).toBe('x'.repeat(12));
  });

  it('refuses a wrong signature, in any case or length', () => {
    expect(corp.verify('012bc692d0a58dd4b10f8dfe5c4ac00ae211ebec', '1476416373', '47744683', ECHO)).toBe(false);
    expect(corp.verify('012bc692', '1476416373', '47744683', ECHO)).toBe(false);
    expect(corp.verify('012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb', '1476416374', '47744683', ECHO)).toBe(false);
  });

  it('accepts a trailing receiveid when ours is "" (as the official WecomCrypto does) and returns it', () => {
    const bot = createWecomCrypto(TOKEN, KEY, '');
    expect(bot.open(ECHO)).toEqual({ message: '1288432023552776189', receiveId: CORP });
    expect(bot.decrypt(POST_ENCRYPT)).toContain('<Content>你好</Content>');
    expect(bot.open(bot.encrypt('x'))).toEqual({ message: 'x', receiveId: '' });
  });

  it('refuses a receiveid that differs from a configured non-empty one', () => {
    const other = createWecomCrypto(TOKEN, KEY, 'wwSOMEONEELSE');
    expect(() => other.decrypt(ECHO)).toThrow(expect.objectContaining({ reason: 'receive_id' }));
  });

  it('refuses broken ciphertexts with coded errors, never a crash', () => {
    const bot = createWecomCrypto(TOKEN, KEY, '');
    const reason = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(WecomCryptoError);
        return (e as WecomCryptoError).reason;
      }
      return 'no error';
    };
    expect(reason(() => bot.decrypt('not base64!'))).toBe('base64');
    expect(reason(() => bot.decrypt(Buffer.alloc(16).toString('base64')))).toBe('buffer');
    // Garbage of a valid length: bad padding (or, rarely, a bad length field).
    expect(['decrypt', 'buffer', 'receive_id']).toContain(reason(() => bot.decrypt(Buffer.alloc(64, 7).toString('base64'))));
    // A valid block with a length field pointing past the end.
    const key = Buffer.from(KEY + '=', 'base64');
    const plain = Buffer.concat([Buffer.alloc(16), Buffer.from([0, 0, 1, 0]), Buffer.alloc(12, 0x41)]);
    const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
    const enc = Buffer.concat([c.update(Buffer.concat([plain, Buffer.alloc(32, 32)])), c.final()]).toString('base64');
    expect(reason(() => bot.decrypt(enc))).toBe('buffer');
    expect(() => createWecomCrypto(TOKEN, 'short', '')).toThrow(WecomCryptoError);
  });
});

describe('WeCom callbacks whose plaintext carries a receiveid (review #7)', () => {
  let app: Running | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function serve(atSeconds: number) {
    const lines: { msg: string; receiveId?: string; level: number }[] = [];
    const log = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) });
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', WECOM_BOT_TOKEN: TOKEN, WECOM_BOT_AES_KEY: KEY });
    app = await startServer(config, { log, clock: manualClock(atSeconds * 1000) });
    return { url: app.url, noted: () => lines.filter((l) => l.msg.includes('carries a receiveid')) };
  }

  it('answers the official corp GET vector (receiveid ww1436e0e65a779aee) and logs that id once', async () => {
    const { url, noted } = await serve(1476416373);
    const qs = new URLSearchParams({ msg_signature: '012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb', timestamp: '1476416373', nonce: '47744683', echostr: ECHO });
    for (let i = 0; i < 2; i++) {
      const res = await request(`${url}/wecom/bot?${qs}`);
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('1288432023552776189');
    }
    expect(noted().map((l) => l.receiveId)).toEqual([CORP]);
  });

  it('checks the signature first: a forged request with that id gets 401 and logs nothing', async () => {
    const { url, noted } = await serve(1476416373);
    const qs = new URLSearchParams({ msg_signature: '012bc692d0a58dd4b10f8dfe5c4ac00ae211ebec', timestamp: '1476416373', nonce: '47744683', echostr: ECHO });
    const res = await request(`${url}/wecom/bot?${qs}`);
    expect(res.statusCode).toBe(401);
    await res.body.text();
    expect(noted()).toEqual([]);
  });

  it('answers a POSTed message whose plaintext ends in a corp id, logging each distinct id once', async () => {
    const { url, noted } = await serve(1_800_000_000);
    const sim = createBotSimulator({ url, token: TOKEN, encodingAesKey: KEY, now: () => 1_800_000_000, receiveId: CORP });
    for (const msgid of ['m1', 'm2']) {
      const r = await sim.text({ chatid: 'G1', userid: 'u1' }, '@bot /help', msgid);
      expect(r.status).toBe(200);
      expect((r.reply as { msgtype: string; stream: { finish: boolean } }).stream.finish).toBe(true);
    }
    const other = createBotSimulator({ url, token: TOKEN, encodingAesKey: KEY, now: () => 1_800_000_000, receiveId: 'wwANOTHER' });
    expect((await other.text({ chatid: 'G1', userid: 'u1' }, '@bot /help', 'm3')).status).toBe(200);
    expect(noted().map((l) => l.receiveId)).toEqual([CORP, 'wwANOTHER']);
  });
});
