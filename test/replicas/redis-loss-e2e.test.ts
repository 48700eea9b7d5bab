import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { createRedisStore } from '../../src/store/redis.js';
import { startFakeFeishu, type FakeFeishu } from '../fakes/feishu.js';
import { APP_ID, APP_SECRET, ENCRYPT_KEY, TOKEN, clickEvent, encrypt, meeting, messageEvent, signHeaders } from '../feishu/helpers.js';
import { manualClock, type ManualClock } from '../helpers/core.js';
import { startProxy, type TcpProxy } from '../store/proxy.js';
import { IN_CI, REDIS_URL, cleanPrefix, probeRedis, testPrefix } from '../store/redis-env.js';

/** A replica whose Redis goes away mid-run (through a relay we own), then comes back. */
const probe = await probeRedis();
const skip = !probe.ok && !IN_CI;
if (skip) console.warn(`[test/replicas] skipping the Redis-loss end-to-end test: ${probe.ok ? '' : probe.reason} (set CI=1 to make this a failure)`);

describe.skipIf(skip)('a replica losing Redis while running (Feishu)', () => {
  const prefix = testPrefix('loss-e2e');
  let clock: ManualClock;
  let fake: FakeFeishu;
  let proxy: TcpProxy;
  let bot: Running;
  beforeAll(async () => {
    if (!probe.ok) throw new Error(`CI is set, so the Redis tests may not skip: ${probe.reason}`);
    clock = manualClock();
    fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => clock.now() });
    const target = new URL(REDIS_URL);
    proxy = await startProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const via = new URL(REDIS_URL);
    via.hostname = '127.0.0.1';
    via.port = String(proxy.port);
    const store = await createRedisStore({ url: via.toString(), prefix, log: silentLogger, clock, commandTimeoutMs: 300 });
    bot = await startServer(loadConfig({
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MEETCHECK_LANG: 'en',
      FEISHU_APP_ID: APP_ID, FEISHU_APP_SECRET: APP_SECRET, FEISHU_VERIFICATION_TOKEN: TOKEN, FEISHU_ENCRYPT_KEY: ENCRYPT_KEY, FEISHU_BASE_URL: fake.url,
    }), { clock, log: silentLogger, store });
  });
  afterAll(async () => {
    await bot?.close();
    await fake?.close();
    await proxy?.close();
    if (probe.ok) await cleanPrefix(prefix);
  });

  async function post(path: '/feishu/events' | '/feishu/card', envelope: unknown): Promise<{ status: number; body: any }> {
    const body = JSON.stringify({ encrypt: encrypt(ENCRYPT_KEY, JSON.stringify(envelope)) });
    const res = await request(`${bot.url}${path}`, { method: 'POST', body, headers: signHeaders(ENCRYPT_KEY, body, Math.floor(clock.now() / 1000)) });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  }
  async function drain(): Promise<void> {
    for (let i = 0; i < 5000 && bot.core.tasks.size > 0; i++) {
      if (clock.waiting > 0) await clock.advance(250);
      else await new Promise((r) => setTimeout(r, 1));
    }
  }
  /** ioredis reconnects on its own real-time timer: wait for that (bounded), never for ours. */
  async function untilBack(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      try {
        await bot.core.store.get('probe');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    throw new Error('the store did not reconnect within 5 s');
  }
  const buttonAction = (card: any, id: string): string => JSON.stringify(card).match(new RegExp(`"element_id":"${id}"[^]*?"action":"([^"]+)"`))![1]!;

  it('clicks say "temporarily unavailable", the server stays up, and everything works again once Redis is back', async () => {
    fake.meetings.push(meeting('123456789', 25));
    await post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_before' }));
    await drain();
    const messageId = fake.replies[0]!.messageId;
    const card = fake.patches.at(-1)!.card;

    await proxy.cut();
    const click = await post('/feishu/card', clickEvent(buttonAction(card, 'btn_next'), { messageId }));
    expect(click.status).toBe(200);
    expect(click.body.toast.content).toMatch(/Temporarily unavailable/);
    // A command during the outage is answered at once with a "temporarily unavailable" card.
    const during = await post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_during' }));
    expect(during.status).toBe(200);
    await drain();
    expect(fake.replies.map((r) => r.to)).toEqual(['om_before', 'om_during']);
    expect(JSON.stringify(fake.replies[1]!.card)).toMatch(/Temporarily unavailable/);
    expect((await request(`${bot.url}/healthz`)).statusCode).toBe(200);

    await proxy.restore();
    await untilBack();
    const again = await post('/feishu/card', clickEvent(buttonAction(card, 'btn_next'), { messageId }));
    expect(JSON.stringify(again.body.card.data.header.subtitle)).toContain('Page 2 / 3');
    const after = await post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_after' }));
    expect(after.status).toBe(200);
    await drain();
    expect(fake.replies.map((r) => r.to)).toEqual(['om_before', 'om_during', 'om_after']);
    expect(JSON.stringify(fake.patches.at(-1)!.card)).toContain('Page 1 / 3');
  });
});
