import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { loadConfig } from '../../src/config.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { manualClock, type ManualClock } from '../helpers/core.js';
import { qualitySample, startFakeFeishu, type FakeFeishu, type FakeFeishuOptions, type FakeMeeting, type FakeParticipant } from '../fakes/feishu.js';

export const APP_ID = 'cli_a1b2c3d4e5f60718';
export const APP_SECRET = 'secret-for-tests';
export const TOKEN = 'verification-token-xyz';
export const ENCRYPT_KEY = 'encrypt-key-abc';
export const CHAT = 'oc_group1';

/**
 * The documented recipe (feishu-bot-and-vc-api.md §2.1): iv = 16 random bytes,
 * encrypt = base64(iv ‖ AES-256-CBC(sha256(key), iv, json)), signature = sha256hex(ts + nonce + key + body).
 */
export function encrypt(key: string, plain: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', createHash('sha256').update(key).digest(), iv);
  return Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final()]).toString('base64');
}

export function signHeaders(key: string, body: string, ts: number, nonce = randomBytes(8).toString('hex')): Record<string, string> {
  const signature = createHash('sha256').update(String(ts) + nonce + key + body).digest('hex');
  return { 'x-lark-request-timestamp': String(ts), 'x-lark-request-nonce': nonce, 'x-lark-signature': signature, 'content-type': 'application/json' };
}

export interface SendOptions {
  /** Unix seconds for the signature timestamp; defaults to the clock's now. */
  ts?: number;
  signWith?: string;
  unsigned?: boolean;
  raw?: string;
}

export interface Bot {
  running: Running;
  fake: FakeFeishu;
  clock: ManualClock;
  post(path: '/feishu/events' | '/feishu/card', envelope: unknown, opts?: SendOptions): Promise<{ status: number; body: any; contentType: string }>;
  /** Lets background work run to the end, moving the manual clock as rate budgets and patch gaps ask. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface BotOptions {
  /** How the fake Feishu behaves (e.g. `vcScope: 'user'` for an app created today). */
  fake?: Partial<Omit<FakeFeishuOptions, 'appId' | 'appSecret' | 'now'>>;
  log?: Logger;
}

export async function startBot(env: Record<string, string> = {}, opts: BotOptions = {}): Promise<Bot> {
  const clock = manualClock();
  const fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => clock.now(), ...opts.fake });
  const running = await startServer(loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MEETCHECK_LANG: 'en',
    FEISHU_APP_ID: APP_ID, FEISHU_APP_SECRET: APP_SECRET, FEISHU_VERIFICATION_TOKEN: TOKEN, FEISHU_ENCRYPT_KEY: ENCRYPT_KEY,
    FEISHU_BASE_URL: fake.url, ...env,
  }), { clock, log: opts.log ?? silentLogger });
  const bot: Bot = {
    running, fake, clock,
    async post(path, envelope, opts = {}) {
      const body = opts.raw ?? JSON.stringify({ encrypt: encrypt(ENCRYPT_KEY, JSON.stringify(envelope)) });
      const headers = opts.unsigned ? { 'content-type': 'application/json' } : signHeaders(opts.signWith ?? ENCRYPT_KEY, body, opts.ts ?? Math.floor(clock.now() / 1000));
      const res = await request(`${running.url}${path}`, { method: 'POST', body, headers });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch { /* not JSON */ }
      return { status: res.statusCode, body: parsed, contentType: String(res.headers['content-type'] ?? '') };
    },
    async drain() {
      for (let i = 0; i < 5000; i++) {
        await new Promise((r) => setImmediate(r));
        if (running.core.tasks.size === 0) {
          // A click's follow-up starts when its response is flushed: give it a moment to appear.
          await new Promise((r) => setTimeout(r, 5));
          if (running.core.tasks.size === 0) return;
        }
        if (clock.waiting > 0) await clock.advance(1000);
        else await new Promise((r) => setTimeout(r, 1));
      }
      throw new Error('background work did not finish');
    },
    async close() {
      await running.close();
      await fake.close();
    },
  };
  return bot;
}

let eventSeq = 0;

export function messageEvent(text: string, opts: { messageId?: string; chatId?: string; chatType?: 'group' | 'p2p'; mentions?: string[]; createTime?: number; type?: 'text' | 'post'; content?: unknown; sender?: string } = {}) {
  const mentions = (opts.mentions ?? (opts.chatType === 'p2p' ? [] : ['ou_bot'])).map((id, i) => ({ key: `@_user_${i + 1}`, id: { open_id: id, union_id: 'on_x', user_id: 'u' }, name: id === 'ou_bot' ? 'meetcheck' : 'someone', tenant_key: 't' }));
  const prefix = mentions.map((m) => `${m.key} `).join('');
  const content = opts.content ?? (opts.type === 'post' ? { title: '', content: [[{ tag: 'at', user_id: '@_user_1' }, { tag: 'text', text: ` ${text}` }]] } : { text: `${prefix}${text}` });
  return {
    schema: '2.0',
    header: { event_id: `ev-${++eventSeq}`, token: TOKEN, create_time: String(opts.createTime ?? Date.UTC(2026, 10, 22, 4, 0, 0)), event_type: 'im.message.receive_v1', tenant_key: 't', app_id: APP_ID },
    event: {
      sender: { sender_id: { open_id: opts.sender ?? 'ou_alice', union_id: 'on_alice', user_id: 'alice' }, sender_type: 'user', tenant_key: 't' },
      message: {
        message_id: opts.messageId ?? `om_${eventSeq}`, create_time: String(opts.createTime ?? Date.UTC(2026, 10, 22, 4, 0, 0)),
        chat_id: opts.chatId ?? CHAT, chat_type: opts.chatType ?? 'group', message_type: opts.type ?? 'text',
        content: JSON.stringify(content), mentions,
      },
    },
  };
}

export function clickEvent(action: string, opts: { chatId?: string; messageId: string }) {
  return {
    schema: '2.0',
    header: { event_id: `ev-${++eventSeq}`, token: TOKEN, create_time: '1603977298000000', event_type: 'card.action.trigger', tenant_key: 't', app_id: APP_ID },
    event: {
      operator: { tenant_key: 't', user_id: 'alice', open_id: 'ou_alice', union_id: 'on_alice' },
      token: 'c-update-token',
      action: { value: { action }, tag: 'button' },
      host: 'im_message',
      context: { open_message_id: opts.messageId, open_chat_id: opts.chatId ?? CHAT },
    },
  };
}

/** A meeting that ended an hour before the manual clock's start, with `n` participants. */
export function meeting(no: string, n: number, over: Partial<FakeMeeting> & { bad?: number[]; spike?: number[]; silent?: number[] } = {}): FakeMeeting {
  const now = Math.floor(Date.UTC(2026, 10, 22, 4, 0, 0) / 1000);
  const start = over.start ?? now - 3 * 3600 + 17;
  const end = 'end' in over ? over.end : start + 1800;
  const participants: FakeParticipant[] = Array.from({ length: n }, (_, i) => {
    const minutes = 10;
    let samples = Array.from({ length: minutes }, () => qualitySample());
    if (over.bad?.includes(i)) samples = Array.from({ length: minutes }, () => qualitySample({ loss: 15, delay: 600 }));
    if (over.spike?.includes(i)) samples = samples.map((s, m) => (m === 4 ? qualitySample({ loss: 40, delay: 900 }) : s));
    if (over.silent?.includes(i)) samples = [];
    return { name: `Person ${String(i).padStart(3, '0')}`, userId: `ou_p${i}`, device: i % 3 === 0 ? 'mac' : 'windows', join: start + 60 + i, samples };
  });
  return { no, topic: over.topic ?? 'Weekly sync', start, ...(end !== undefined ? { end } : {}), participants: over.participants ?? participants };
}

/** MEETCHECK_ENCRYPTION_KEY for tests: 32 bytes, base64. */
export const GRANT_KEY = Buffer.alloc(32, 7).toString('base64');
/** The bot's public URL as the OAuth redirect names it; tests send the redirect to the real port. */
export const PUBLIC_URL = 'https://meetcheck.example.com';
export const USER_MODE_ENV = { MEETCHECK_PUBLIC_URL: PUBLIC_URL, MEETCHECK_ENCRYPTION_KEY: GRANT_KEY };

/** Follows Feishu's redirect to the bot: the same path and query, on the bot's real address. */
export async function followRedirect(bot: Bot, redirect: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(redirect);
  const res = await request(`${bot.running.url}${u.pathname}${u.search}`, { method: 'GET' });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

/** The open_url of a card's Authorise button, if it has one. */
export function authoriseLink(card: any): string | undefined {
  const button = (card?.body?.elements ?? []).find((e: any) => e.element_id === 'btn_authorise');
  return button?.behaviors?.[0]?.default_url;
}
