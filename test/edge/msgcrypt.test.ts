import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  aesDecrypt, aesEncrypt, aesKeyOf, createWecomCrypto, decodeTencentCheckStr, decodeTencentEvent, ENCODING_AES_KEY,
  leadingJsonObject, MsgCryptError, sortedSha1, LAYOUT_TENCENT, verifySortedSha1, LAYOUT_WECOM,
} from '../../src/edge/msgcrypt.js';
import { docDecrypt, docEncrypt } from '../fakes/wecom-bot.js';
import { meetingEndEvent, tencentEncrypt } from '../fakes/tencent-webhook.js';

/** The failure reason of `f`, or 'no error'. */
function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MsgCryptError);
    return (e as MsgCryptError).reason;
  }
  return 'no error';
}

// ---- WeCom: official vectors, sbzhu/weworkapi_python callback/Sample.py (the WXBizMsgCrypt sample of doc 101033) ----
const TOKEN = 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo';
const KEY = '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt';
const CORP = 'ww1436e0e65a779aee';
const ECHO = 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==';
const POST_ENCRYPT = 'Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+';

// ---- Tencent Meeting: DOC 51612's worked example (token, timestamp in ms, nonce, data → signature) ----
const DOC_TOKEN = 'bVPU6F8Htxl5XkAbp3jGV2xWp';
const DOC_DATA =
  'eyJldmVudCI6Im1lZXRpbmcuY3JlYXRlZCIsInVuaXF1ZV9zZXF1ZW5jZSI6ImYyMDA5NmVlLThhYzgtNGRmMi1hN2RlLTA1NzQ2NDlmMjExYiIsInBheWxvYWQiOlt7Im9wZXJhdGVfdGltZSI6IjIwMjAtMTItMjkgMTc6NDE6MDYiLCJvcGVyYXRvciI6eyJ1c2VyaWQiOiJ0ZXN0ZXIwMDAwNmJhNWJhYjMzOTg1OGMxM2M5MzBjY2E5NTY4NCJ9LCJtZWV0aW5nX2luZm8iOnsibWVldGluZ19pZCI6IjYwNTg4OTAzODU0ODA5MjEwNTIiLCJtZWV0aW5nX2NvZGUiOiI1MzA4MTI0NTIiLCJzdWJqZWN0IjoibWVkaWEgdGVzdGVyIG1lZXRpbmciLCJjcmVhdG9yX2lkIjoidGVzdGVyMDAwMDZiYTViYWIzMzk4NThjMTNjOTMwY2NhOTU2ODQiLCJob3N0cyI6WyJ0ZXN0ZXIwMDAwNmJhNWJhYjMzOTg1OGMxM2M5MzBjY2E5NTY4NCJdLCJtZWV0aW5nX3R5cGUiOjAsInN0YXJ0X3RpbWUiOiIyMDIwLTEyLTI5IDE3OjQxOjA0IiwiZW5kX3RpbWUiOiIyMDIwLTEyLTI5IDE4OjAxOjA0In19XX0';
const TENCENT_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

describe('the shared signature: sha1 of sort(token, timestamp, nonce, data)', () => {
  it('reproduces both platforms\' official vectors', () => {
    expect(sortedSha1(TOKEN, '1476416373', '47744683', ECHO)).toBe('012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb');
    expect(sortedSha1(TOKEN, '1476422779', '1597212914', POST_ENCRYPT)).toBe('0c3914025cb4b4d68103f6bfc8db550f79dcf48e');
    expect(sortedSha1('QDG6eK', '1409659589', '263014780', 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==')).toBe('5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3');
    expect(sortedSha1(DOC_TOKEN, '1609239040864', '14964161', DOC_DATA)).toBe('b11e507817336a91d7df0c8536ee2aca18bbbae8');
  });

  it('verifies in any case, and refuses any other value, length or part', () => {
    expect(verifySortedSha1(DOC_TOKEN, '1609239040864', '14964161', DOC_DATA, 'B11E507817336A91D7DF0C8536EE2ACA18BBBAE8')).toBe(true);
    expect(verifySortedSha1(DOC_TOKEN, '1609239040864', '14964162', DOC_DATA, 'b11e507817336a91d7df0c8536ee2aca18bbbae8')).toBe(false);
    expect(verifySortedSha1(DOC_TOKEN, '1609239040864', '14964161', DOC_DATA, 'b11e')).toBe(false);
    expect(verifySortedSha1(DOC_TOKEN, '1609239040864', '14964161', DOC_DATA, '')).toBe(false);
  });
});

describe('EncodingAESKey', () => {
  it('is 43 base64 characters decoding to 32 bytes; anything else is a coded aes_key error', () => {
    expect(aesKeyOf(KEY)).toHaveLength(32);
    expect(ENCODING_AES_KEY.test(TENCENT_KEY)).toBe(true);
    expect(reason(() => aesKeyOf('short'))).toBe('aes_key');
    expect(reason(() => aesKeyOf(`${KEY}A`))).toBe('aes_key');
    expect(reason(() => aesKeyOf(`${KEY.slice(0, 42)}!`))).toBe('aes_key');
  });
});

describe('WeCom layout: random(16) ‖ len ‖ msg ‖ receiveid, PKCS#7 over 32 bytes (doc 101033)', () => {
  const corp = createWecomCrypto(TOKEN, KEY, CORP);

  it('verifies and decrypts the GET and POST vectors (pad byte 22: 32-byte blocks)', () => {
    expect(corp.verify('012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb', '1476416373', '47744683', ECHO)).toBe(true);
    expect(corp.decrypt(ECHO)).toBe('1288432023552776189');
    expect(corp.verify('0c3914025cb4b4d68103f6bfc8db550f79dcf48e', '1476422779', '1597212914', POST_ENCRYPT)).toBe(true);
    expect(corp.decrypt(POST_ENCRYPT)).toMatch(/^<xml><ToUserName>ww1436e0e65a779aee<\/ToUserName>.*<Content>你好<\/Content>.*<AgentID>1000002<\/AgentID><\/xml>$/);
  });

  it('encrypts byte for byte as the official @wecom/crypto does, and agrees with the fake\'s independent code', () => {
    const bot = createWecomCrypto(TOKEN, KEY, '');
    const enc = bot.encrypt('{"msgtype":"text","text":{"content":"hi"}}', Buffer.from('0123456789abcdef'));
    expect(enc).toBe('scEag1243Fmy/fYz4Ux8D5/ADobluRrJREFP6gMmxgIlfYMf3q/REZxNLCuy9K7rpYH2Jo398se3PR5KqDR++w==');
    expect(bot.signature('1700000000', 'nonce123', enc)).toBe('7c9934206ab8071c39bd46907e4478edbdea42cb');
    expect(docDecrypt(KEY, enc)).toEqual({ message: '{"msgtype":"text","text":{"content":"hi"}}', receiveId: '' });
    expect(bot.decrypt(docEncrypt(KEY, '中文 ✓'))).toBe('中文 ✓');
  });

  it('pads a 32-byte multiple with a full block of 32', () => {
    const bot = createWecomCrypto(TOKEN, KEY, '');
    const enc = bot.encrypt('x'.repeat(12));
    expect(Buffer.from(enc, 'base64')).toHaveLength(64);
    expect(bot.decrypt(enc)).toBe('x'.repeat(12));
  });

  it('with receiveId "" accepts and returns a trailing id; a configured one refuses another', () => {
    const bot = createWecomCrypto(TOKEN, KEY, '');
    expect(bot.open(ECHO)).toEqual({ message: '1288432023552776189', receiveId: CORP });
    expect(bot.open(bot.encrypt('x'))).toEqual({ message: 'x', receiveId: '' });
    expect(reason(() => createWecomCrypto(TOKEN, KEY, 'wwSOMEONEELSE').decrypt(ECHO))).toBe('receive_id');
  });

  it('refuses broken ciphertexts with coded errors, never a crash', () => {
    const bot = createWecomCrypto(TOKEN, KEY, '');
    expect(reason(() => bot.decrypt('not base64!'))).toBe('base64');
    // Unpadded base64 is refused, as WeCom's libraries do.
    expect(reason(() => bot.decrypt(ECHO.replace(/=+$/, '')))).toBe('base64');
    // One AES block is not one WeCom block.
    expect(reason(() => bot.decrypt(Buffer.alloc(16).toString('base64')))).toBe('buffer');
    expect(['decrypt', 'buffer', 'receive_id']).toContain(reason(() => bot.decrypt(Buffer.alloc(64, 7).toString('base64'))));
    // A valid block whose length field points past the end.
    const key = aesKeyOf(KEY);
    const plain = Buffer.concat([Buffer.alloc(16), Buffer.from([0, 0, 1, 0]), Buffer.alloc(12, 0x41)]);
    const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
    const enc = Buffer.concat([c.update(Buffer.concat([plain, Buffer.alloc(32, 32)])), c.final()]).toString('base64');
    expect(reason(() => bot.decrypt(enc))).toBe('buffer');
    expect(reason(() => createWecomCrypto(TOKEN, 'short', ''))).toBe('aes_key');
  });
});

describe('Tencent layout: msg ‖ $key, PKCS#7 over AES blocks (DOC 54658)', () => {
  const key = aesKeyOf(TENCENT_KEY);

  it('reads the documented example data (plain base64 JSON, no "=" padding) and encrypted data with the $key tail', () => {
    const plain = JSON.parse(decodeTencentEvent(key, DOC_DATA).json) as { event: string; payload: { meeting_info: { meeting_id: string } }[] };
    expect(plain.event).toBe('meeting.created');
    expect(plain.payload[0]!.meeting_info.meeting_id).toBe('6058890385480921052');
    expect(decodeTencentEvent(key, DOC_DATA).encoding).toBe('plain');
    const event = meetingEndEvent('6058890385480921052', '530812452');
    expect(decodeTencentEvent(key, tencentEncrypt(TENCENT_KEY, event, 'tail}{"x"'))).toEqual({ json: event, encoding: 'aes' });
    expect(decodeTencentCheckStr(key, tencentEncrypt(TENCENT_KEY, 'hello-check', ''))).toEqual({ text: 'hello-check', encoding: 'aes' });
    expect(decodeTencentCheckStr(key, Buffer.from('plain-check').toString('base64'))).toEqual({ text: 'plain-check', encoding: 'plain' });
  });

  it('takes 16-byte blocks, where WeCom\'s layout refuses them, and WeCom-style 32-byte padding too', () => {
    const one = tencentEncrypt(TENCENT_KEY, 'abc', '');
    expect(Buffer.from(one, 'base64')).toHaveLength(16);
    expect(aesDecrypt(key, one, LAYOUT_TENCENT).toString()).toBe('abc');
    expect(reason(() => aesDecrypt(key, one, LAYOUT_WECOM))).toBe('buffer');
    const wide = aesEncrypt(key, Buffer.from('abc'), LAYOUT_WECOM);
    expect(aesDecrypt(key, wide, LAYOUT_TENCENT).toString()).toBe('abc');
  });

  it('refuses what does not decrypt with a coded error', () => {
    expect(reason(() => aesDecrypt(key, Buffer.alloc(21).toString('base64'), LAYOUT_TENCENT))).toBe('buffer');
    expect(reason(() => aesDecrypt(key, 'not base64!', LAYOUT_TENCENT))).toBe('base64');
    expect(reason(() => decodeTencentEvent(key, tencentEncrypt(TENCENT_KEY, 'not json', '')))).toBe('decrypt');
    expect(reason(() => decodeTencentCheckStr(key, 'not base64!'))).toBe('base64');
  });

  it('cuts the JSON off the $key tail by matching braces outside strings', () => {
    expect(leadingJsonObject('{"a":"}{","b":[1,{"c":2}]}KEYTAIL')).toBe('{"a":"}{","b":[1,{"c":2}]}');
    expect(leadingJsonObject('\uFEFF{"a":"\\"}"}x')).toBe('{"a":"\\"}"}');
    expect(leadingJsonObject('x{"a":1}')).toBeUndefined();
    expect(leadingJsonObject('{"a":1')).toBeUndefined();
  });
});
