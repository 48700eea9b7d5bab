import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { createRedisStore } from '../../src/store/redis.js';
import type { Store } from '../../src/store/types.js';
import { startFakeFeishu, type FakeFeishu } from '../fakes/feishu.js';
import { FAKE_CORP_ID, FAKE_SECRET, fakeMeeting, qualityRow, startFakeWecomApi } from '../fakes/wecom-api.js';
import { APP_ID, APP_SECRET, ENCRYPT_KEY, TOKEN, clickEvent, encrypt, meeting, messageEvent, signHeaders } from '../feishu/helpers.js';
import { manualClock, type ManualClock } from '../helpers/core.js';
import { IN_CI, REDIS_URL, cleanPrefix, probeRedis, testPrefix } from '../store/redis-env.js';

/**
 * Two replicas behind a load balancer: two servers on their own ports, each with its own Redis
 * client, sharing one Redis (a fresh key prefix per run) and one Feishu. Feishu hands each event to
 * one replica and re-sends to any other; whichever gets it, the chat sees one answer, and a click on
 * either replica pages the same report.
 */
const probe = await probeRedis();
const skip = !probe.ok && !IN_CI;
if (skip) console.warn(`[test/replicas] skipping the two-replica tests: ${probe.ok ? '' : probe.reason} (set CI=1 to make this a failure)`);

describe.skipIf(skip)('two replicas sharing one Redis (Feishu)', () => {
  const prefix = testPrefix('replicas');
  let clock: ManualClock;
  let fake: FakeFeishu;
  let replicas: Running[] = [];
  let stores: Store[] = [];
  let run = 0;

  beforeAll(() => {
    if (!probe.ok) throw new Error(`CI is set, so the Redis tests may not skip: ${probe.reason}`);
  });
  afterAll(async () => {
    if (probe.ok) await cleanPrefix(prefix);
  });

  async function start(env: Record<string, string> = {}): Promise<void> {
    clock = manualClock();
    fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => clock.now() });
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MEETCHECK_LANG: 'en',
      FEISHU_APP_ID: APP_ID, FEISHU_APP_SECRET: APP_SECRET, FEISHU_VERIFICATION_TOKEN: TOKEN, FEISHU_ENCRYPT_KEY: ENCRYPT_KEY,
      FEISHU_BASE_URL: fake.url, ...env,
    });
    const p = `${prefix}${run++}:`;
    for (let i = 0; i < 2; i++) {
      const store = await createRedisStore({ url: REDIS_URL, prefix: p, log: silentLogger, clock });
      stores.push(store);
      replicas.push(await startServer(config, { clock, log: silentLogger, store }));
    }
  }
  afterEach(async () => {
    // startServer's close() closes the store it was given.
    for (const r of replicas) await r.close();
    await fake?.close();
    replicas = [];
    stores = [];
  });

  async function post(replica: Running, path: '/feishu/events' | '/feishu/card', envelope: unknown): Promise<{ status: number; body: any }> {
    const body = JSON.stringify({ encrypt: encrypt(ENCRYPT_KEY, JSON.stringify(envelope)) });
    const res = await request(`${replica.url}${path}`, { method: 'POST', body, headers: signHeaders(ENCRYPT_KEY, body, Math.floor(clock.now() / 1000)) });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  }

  /** Runs both replicas' background work to the end, moving the shared manual clock when asked. */
  async function drain(): Promise<void> {
    for (let i = 0; i < 5000; i++) {
      await new Promise((r) => setImmediate(r));
      if (replicas.every((r) => r.core.tasks.size === 0)) {
        await new Promise((r) => setTimeout(r, 5));
        if (replicas.every((r) => r.core.tasks.size === 0)) return;
      }
      if (clock.waiting > 0) await clock.advance(250);
      else await new Promise((r) => setTimeout(r, 1));
    }
    throw new Error('background work did not finish');
  }

  const cardText = (card: any): string => JSON.stringify(card?.body?.elements ?? []);
  const buttonAction = (card: any, id: string): string => JSON.stringify(card).match(new RegExp(`"element_id":"${id}"[^]*?"action":"([^"]+)"`))![1]!;

  it('the same event delivered to both replicas at once gets one reply and one vendor lookup', async () => {
    await start();
    fake.meetings.push(meeting('123456789', 3));
    const ev = messageEvent('/quality 123456789', { messageId: 'om_twice' });
    const retry = { ...ev, header: { ...ev.header, event_id: 'ev-resent' } };
    const [a, b] = await Promise.all([post(replicas[0]!, '/feishu/events', ev), post(replicas[1]!, '/feishu/events', retry)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await drain();
    expect(fake.calls.filter((c) => c.path.endsWith('/reply'))).toHaveLength(1);
    expect(fake.replies.map((r) => r.to)).toEqual(['om_twice']);
    expect(fake.vcCalls('meeting_list')).toHaveLength(1);
    expect(cardText(fake.patches.at(-1)?.card)).toContain('3 attendees');
  });

  it('two commands for one meeting on different replicas query the vendor once (shared in-flight lock)', async () => {
    // WeCom meetings answer a whole report per query (no lazy loading), so the lock covers all of it.
    const wecom = await startFakeWecomApi({ now: () => clock.now() });
    try {
      // From a Feishu chat only WECOM_MEETING_ADMINS' meeting lists are searched for the code.
      await start({ WECOM_CORP_ID: FAKE_CORP_ID, WECOM_MEETING_SECRET: FAKE_SECRET, WECOM_BASE_URL: wecom.url, WECOM_MEETING_ADMINS: 'zhangsan' });
      wecom.add(fakeMeeting({ rows: Array.from({ length: 120 }, (_, i) => qualityRow(i, i === 7 ? 4 : 1)) }, clock.now()));
      await Promise.all([
        post(replicas[0]!, '/feishu/events', messageEvent('/quality wecom:123456789', { messageId: 'om_a' })),
        post(replicas[1]!, '/feishu/events', messageEvent('/quality wecom:123-456-789', { messageId: 'om_b' })),
      ]);
      await drain();
      expect(fake.replies.map((r) => r.to).sort()).toEqual(['om_a', 'om_b']);
      expect(wecom.count('get_info')).toBe(1);
      // ⌈120 / 50⌉ pages, once.
      expect(wecom.count('get_quality')).toBe(3);
      for (const r of fake.replies) {
        const last = fake.patches.filter((p) => p.messageId === r.messageId).at(-1);
        expect(cardText(last?.card)).toContain('120 attendees');
      }
    } finally {
      await wecom.close();
    }
  });

  it('a click on the other replica pages the report made on the first, with no vendor call', async () => {
    await start();
    fake.meetings.push(meeting('123456789', 25, { bad: [20] }));
    await post(replicas[0]!, '/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_c' }));
    await drain();
    const messageId = fake.replies[0]!.messageId;
    const card = fake.patches.at(-1)!.card;
    expect(JSON.stringify(card.header.subtitle)).toContain('Page 1 / 3');
    const vcBefore = fake.vcCalls().length;

    const onB = await post(replicas[1]!, '/feishu/card', clickEvent(buttonAction(card, 'btn_next'), { messageId }));
    const onA = await post(replicas[0]!, '/feishu/card', clickEvent(buttonAction(card, 'btn_next'), { messageId }));
    expect(onB.status).toBe(200);
    expect(JSON.stringify(onB.body.card.data.header.subtitle)).toContain('Page 2 / 3');
    // The same page, whichever replica answered.
    expect(cardText(onB.body.card.data)).toBe(cardText(onA.body.card.data));
    expect(cardText(onB.body.card.data)).not.toBe(cardText(card));

    const filtered = await post(replicas[1]!, '/feishu/card', clickEvent(buttonAction(card, 'btn_filter'), { messageId }));
    expect(cardText(filtered.body.card.data)).toContain('Person 020');
    expect(cardText(filtered.body.card.data)).not.toContain('Person 001');
    // Still the chat check on the other replica.
    const foreign = await post(replicas[1]!, '/feishu/card', clickEvent(buttonAction(card, 'btn_next'), { messageId, chatId: 'oc_elsewhere' }));
    expect(foreign.body.card).toBeUndefined();
    expect(fake.vcCalls().length).toBe(vcBefore);
  });
});
