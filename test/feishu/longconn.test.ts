import { Writable } from 'node:stream';
import * as lark from '@larksuiteoapi/node-sdk';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptCardFrames, asEventFrame, type SdkFrame } from '../../src/channels/feishu/longconn.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { decodeFrame, headerOf } from '../fakes/feishu-ws.js';
import { startFakeFeishu, type FakeFeishu } from '../fakes/feishu.js';
import { manualClock, type ManualClock } from '../helpers/core.js';
import { APP_ID, APP_SECRET, ENCRYPT_KEY, TOKEN, clickEvent, encrypt, meeting, messageEvent, signHeaders } from './helpers.js';

/**
 * Feishu's long connection end to end: the official SDK's WSClient (as meetcheck runs it) against a
 * fake Feishu that speaks the SDK's protocol (endpoint discovery, protobuf pbbp2 frames, ping/pong,
 * fragmented data frames, answers), see test/fakes/feishu-ws.ts.
 */

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

interface WsBot {
  running: Running;
  fake: FakeFeishu;
  clock: ManualClock;
  logs: LogLine[];
  /** Resolves with the first log line (so far or later) that `match` accepts. */
  logged(match: (l: LogLine) => boolean): Promise<LogLine>;
  drain(): Promise<void>;
  post(path: string, envelope: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

let bot: WsBot | undefined;
afterEach(async () => {
  await bot?.close();
  bot = undefined;
});

async function startWsBot(opts: { env?: Record<string, string>; appId?: string; before?: (f: FakeFeishu) => void } = {}): Promise<WsBot> {
  const clock = manualClock();
  const appId = opts.appId ?? APP_ID;
  const fake = await startFakeFeishu({ appId, appSecret: APP_SECRET, now: () => clock.now() });
  opts.before?.(fake);
  const logs: LogLine[] = [];
  const watchers: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const raw of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const line = JSON.parse(raw) as LogLine;
        logs.push(line);
        for (const w of [...watchers]) if (w.match(line)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(line);
        }
      }
      done();
    },
  });
  const running = await startServer(loadConfig({
    PORT: '0', HOST: '127.0.0.1', MEETCHECK_LANG: 'en', FEISHU_MODE: 'ws',
    FEISHU_APP_ID: appId, FEISHU_APP_SECRET: APP_SECRET, FEISHU_BASE_URL: fake.url, ...opts.env,
  }), { clock, log: createLogger('debug', sink) });
  return {
    running, fake, clock, logs,
    logged(match) {
      const seen = logs.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => watchers.push({ match, resolve }));
    },
    async drain() {
      for (let i = 0; i < 5000; i++) {
        await new Promise((r) => setImmediate(r));
        if (running.core.tasks.size === 0) return;
        if (clock.waiting > 0) await clock.advance(1000);
        else await new Promise((r) => setTimeout(r, 1));
      }
      throw new Error('background work did not finish');
    },
    async post(path, envelope) {
      const body = JSON.stringify({ encrypt: encrypt(ENCRYPT_KEY, JSON.stringify(envelope)) });
      const res = await request(`${running.url}${path}`, { method: 'POST', body, headers: signHeaders(ENCRYPT_KEY, body, Math.floor(clock.now() / 1000)) });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch { /* not JSON */ }
      return { status: res.statusCode, body: parsed };
    },
    async close() {
      await running.close();
      await fake.close();
    },
  };
}

const lastCard = (b: WsBot) => b.fake.patches.at(-1)!.card;
const buttonAction = (card: any, id: string): string => JSON.stringify(card).match(new RegExp(`"element_id":"${id}"[^]*?"action":"([^"]+)"`))![1]!;
const markdownOf = (card: any): string => JSON.stringify(card.body?.elements ?? []);

/** A report on the card, asked for over the long connection. */
async function reportOverWs(b: WsBot, messageId: string): Promise<string> {
  await b.fake.ws.connected();
  const ack = await b.fake.ws.push('event', messageEvent('/quality 123456789', { messageId }));
  expect(ack.code).toBe(200);
  expect(ack.data).toEqual({});
  await b.drain();
  return b.fake.replies.find((r) => r.to === messageId)!.messageId;
}

describe('Feishu long connection: card clicks', () => {
  it('a click in a `card` frame reaches the handler and its answer comes back as that frame\'s response', async () => {
    bot = await startWsBot();
    bot.fake.meetings.push(meeting('123456789', 25, { bad: [20] }));
    const messageId = await reportOverWs(bot, 'om_ws1');
    expect(JSON.stringify(lastCard(bot).header.subtitle)).toContain('Page 1 / 3');

    const answer = await bot.fake.ws.push('card', clickEvent(buttonAction(lastCard(bot), 'btn_next'), { messageId }));
    expect(answer.code).toBe(200);
    const data = answer.data as any;
    expect(data.card.type).toBe('raw');
    expect(JSON.stringify(data.card.data.header.subtitle)).toContain('Page 2 / 3');
    // The answer is the same frame (same message_id), as the SDK answers events.
    expect(headerOf(answer.frame, 'message_id')).toBe('msg-2');
    expect(headerOf(answer.frame, 'biz_rt')).toMatch(/^-?\d+$/);
    expect(bot.fake.ws.unanswered().size).toBe(0);
    const note = await bot.logged((l) => l.msg === 'feishu long connection delivers card clicks in this frame type');
    expect(note.frameType).toBe('card');
  });

  it('refresh in a `card` frame answers at once, then re-runs the query and patches the card', async () => {
    bot = await startWsBot();
    bot.fake.meetings.push(meeting('123456789', 3));
    const messageId = await reportOverWs(bot, 'om_ws2');
    const before = bot.fake.vcCalls('meeting_list').length;
    const answer = await bot.fake.ws.push('card', clickEvent(buttonAction(lastCard(bot), 'btn_refresh'), { messageId }));
    const data = answer.data as any;
    expect(data.toast.type).toBe('info');
    expect(data.card.type).toBe('raw');
    await bot.drain();
    expect(bot.fake.vcCalls('meeting_list').length).toBe(before + 1);
    expect(bot.fake.patches.at(-1)!.messageId).toBe(messageId);
    expect(markdownOf(lastCard(bot))).toContain('3 attendees (per device)');
  });

  it('clicks in `event` frames and a `card` frame split into fragments work too', async () => {
    bot = await startWsBot();
    bot.fake.meetings.push(meeting('123456789', 25));
    const messageId = await reportOverWs(bot, 'om_ws3');
    const next = buttonAction(lastCard(bot), 'btn_next');
    const asEvent = await bot.fake.ws.push('event', clickEvent(next, { messageId }));
    expect(JSON.stringify((asEvent.data as any).card.data.header.subtitle)).toContain('Page 2 / 3');
    const split = await bot.fake.ws.push('card', clickEvent(next, { messageId }), { fragments: 3 });
    expect(JSON.stringify((split.data as any).card.data.header.subtitle)).toContain('Page 2 / 3');
    const foreign = await bot.fake.ws.push('card', clickEvent(next, { messageId, chatId: 'oc_elsewhere' }));
    expect((foreign.data as any).toast.content).toContain('only be used in the chat');
  });
});

describe('Feishu long connection: wiring', () => {
  it('mounts POST /feishu/card (verified) in ws mode, for callbacks configured as HTTP; /feishu/events stays off', async () => {
    bot = await startWsBot({ env: { FEISHU_ENCRYPT_KEY: ENCRYPT_KEY, FEISHU_VERIFICATION_TOKEN: TOKEN } });
    bot.fake.meetings.push(meeting('123456789', 25));
    const messageId = await reportOverWs(bot, 'om_ws4');
    const click = await bot.post('/feishu/card', clickEvent(buttonAction(lastCard(bot), 'btn_next'), { messageId }));
    expect(click.status).toBe(200);
    expect(JSON.stringify(click.body.card.data.header.subtitle)).toContain('Page 2 / 3');
    const challenge = await bot.post('/feishu/card', { challenge: 'ch-1', token: TOKEN, type: 'url_verification' });
    expect(challenge.body).toEqual({ challenge: 'ch-1' });
    expect((await bot.post('/feishu/events', messageEvent('/quality 123456789'))).status).toBe(404);
  });

  it('without an Encrypt Key or Verification Token, /feishu/card is not mounted and the log says why', async () => {
    bot = await startWsBot();
    expect((await bot.post('/feishu/card', clickEvent('mc1|x|0|a|p', { messageId: 'om_1' }))).status).toBe(404);
    expect(bot.logs.some((l) => l.level === 30 && l.msg.includes('/feishu/card is not mounted'))).toBe(true);
  });

  it('the SDK\'s errors reach the log: a refused endpoint shows as an error, with the SDK\'s own words', async () => {
    bot = await startWsBot({ before: (f) => (f.ws.endpointCode = 514) });
    const sdk = await bot.logged((l) => l.sdk === 'lark' && l.msg.includes('code: 514'));
    expect(sdk.level).toBe(50);
    const ours = await bot.logged((l) => l.msg.startsWith('feishu long connection gave up'));
    expect(ours.level).toBe(50);
    expect(bot.fake.ws.endpointCalls).toBe(1);
  });

  it('an app id the SDK refuses gives a start-up warning, and the SDK\'s own "invalid appId" is logged', async () => {
    bot = await startWsBot({ appId: 'my-app-id' });
    const warn = await bot.logged((l) => l.msg.startsWith('FEISHU_APP_ID is not "cli_"'));
    expect(warn.level).toBe(40);
    const sdk = await bot.logged((l) => l.sdk === 'lark' && l.msg.includes('invalid appId'));
    expect(sdk.level).toBe(50);
    expect(bot.fake.ws.endpointCalls).toBe(0);
  });
});

describe('the card-frame rewrite against the installed SDK (lib/index.js WSClient.handleEventData)', () => {
  /** A data frame the way the SDK's pbbp2.Frame.decode gives it to handleEventData. */
  const frame = (type: string, payload: unknown): SdkFrame => ({
    SeqID: 1, LogID: 1, service: 7, method: 1,
    headers: [{ key: 'type', value: type }, { key: 'message_id', value: 'm-1' }, { key: 'sum', value: '1' }, { key: 'seq', value: '0' }, { key: 'trace_id', value: 't-1' }],
    payload: new TextEncoder().encode(JSON.stringify(payload)),
  });

  it('the stock SDK drops `card` frames without an answer; with acceptCardFrames they are dispatched and answered', async () => {
    const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, trace: () => undefined };
    const client = new lark.WSClient({ appId: APP_ID, appSecret: APP_SECRET, logger: quiet });
    const sent: Uint8Array[] = [];
    const internals = client as unknown as { wsConfig: { setWSInstance(ws: unknown): void }; eventDispatcher: unknown; handleEventData(f: SdkFrame): Promise<void> };
    internals.wsConfig.setWSInstance({ readyState: 1, send: (buf: Uint8Array, cb?: (err?: Error) => void) => { sent.push(buf); cb?.(); } });
    const seen: unknown[] = [];
    internals.eventDispatcher = new lark.EventDispatcher({ logger: quiet }).register({
      'card.action.trigger': async (data: Record<string, unknown>) => {
        seen.push((data.action as { value: unknown }).value);
        return { toast: { type: 'info', content: 'ok' } };
      },
    });
    try {
      const click = clickEvent('mc1|r|0|a|p', { messageId: 'om_1' });
      await internals.handleEventData(frame('card', click));
      expect(sent).toHaveLength(0);
      expect(seen).toHaveLength(0);

      acceptCardFrames(client, (err) => { throw err; });
      await internals.handleEventData(frame('card', click));
      expect(seen).toEqual([{ action: 'mc1|r|0|a|p' }]);
      expect(sent).toHaveLength(1);
      const answer = decodeFrame(sent[0]!);
      expect(headerOf(answer, 'message_id')).toBe('m-1');
      const body = JSON.parse(new TextDecoder().decode(answer.payload)) as { code: number; data: string };
      expect(body.code).toBe(200);
      expect(JSON.parse(Buffer.from(body.data, 'base64').toString('utf8'))).toEqual({ toast: { type: 'info', content: 'ok' } });
    } finally {
      internals.wsConfig.setWSInstance(null);
      client.close();
    }
  });

  it('asEventFrame changes only the type header', () => {
    const f = frame('card', { a: 1 });
    const e = asEventFrame(f);
    expect(e.headers.map((h) => `${h.key}=${h.value}`)).toEqual(['type=event', 'message_id=m-1', 'sum=1', 'seq=0', 'trace_id=t-1']);
    expect(e.payload).toBe(f.payload);
    expect(f.headers[0]!.value).toBe('card');
  });
});
