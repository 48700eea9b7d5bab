import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { createBotSimulator } from '../fakes/wecom-bot.js';
import { manualClock } from '../helpers/core.js';

// Official vectors: sbzhu/weworkapi_python callback/Sample.py (the WXBizMsgCrypt sample of doc 101033).
const TOKEN = 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo';
const KEY = '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt';
const CORP = 'ww1436e0e65a779aee';
const ECHO = 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==';

// The crypto's own vectors (GET/POST, encrypt, padding, receiveid, broken input): test/edge/msgcrypt.test.ts.

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
