import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { MeetcheckError } from '../../src/core/errors.js';
import { describeError } from '../../src/core/messages.js';
import { runQuality } from '../../src/core/quality.js';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/main.js';
import { createStore } from '../../src/store/index.js';
import { createRedisStore } from '../../src/store/redis.js';
import { StoreUnavailableError, type Store } from '../../src/store/types.js';
import { createDemoVendor } from '../../src/vendors/demo/index.js';
import { manualClock, testCore } from '../helpers/core.js';
import { closedPort, startProxy, type TcpProxy } from './proxy.js';
import { IN_CI, REDIS_URL, cleanPrefix, probeRedis, testPrefix } from './redis-env.js';

describe('Redis unreachable at start', () => {
  it('fails with one clear error that names REDIS_URL and never shows the password', async () => {
    const url = `redis://admin:s3cret-pw@127.0.0.1:${await closedPort()}/0`;
    const err = await createRedisStore({ url, log: silentLogger }).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^REDIS_URL: cannot connect to redis:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/0 \(connect ECONNREFUSED/);
    expect(err!.message).toMatch(/unset it to use the in-process store/);
    expect(err!.message).not.toContain('s3cret-pw');
    expect(err!.message).not.toContain('admin');
  });

  it('stops startServer before it listens (REDIS_URL set → Redis, never a silent fallback)', async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', REDIS_URL: `redis://:pw-123@127.0.0.1:${await closedPort()}` });
    await expect(startServer(config, { log: silentLogger })).rejects.toThrow(/^REDIS_URL: cannot connect/);
    await expect(createStore(config, { clock: manualClock(), log: silentLogger })).rejects.not.toThrow(/pw-123/);
  });
});

const probe = await probeRedis();
const skipRedis = !probe.ok && !IN_CI;
if (skipRedis) console.warn(`[test/store] skipping the Redis loss tests: ${probe.ok ? '' : probe.reason} (set CI=1 to make this a failure)`);

describe.skipIf(skipRedis)('Redis lost while running', () => {
  const prefix = testPrefix('loss');
  let proxy: TcpProxy;
  let store: Store;
  beforeAll(async () => {
    if (!probe.ok) throw new Error(`CI is set, so the Redis tests may not skip: ${probe.reason}`);
    const target = new URL(REDIS_URL);
    proxy = await startProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const via = new URL(REDIS_URL);
    via.hostname = '127.0.0.1';
    via.port = String(proxy.port);
    store = await createRedisStore({ url: via.toString(), prefix, log: silentLogger, commandTimeoutMs: 300 });
  });
  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    if (probe.ok) await cleanPrefix(prefix);
  });

  /** Waits (bounded) for ioredis's own reconnect: the retry timer is real time, not ours. */
  async function untilBack(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      try {
        await store.get('probe');
        return;
      } catch (e) {
        expect(e).toBeInstanceOf(StoreUnavailableError);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    throw new Error('the Redis store did not reconnect by itself within 5 s');
  }

  it('answers every call with StoreUnavailableError at once (no queue), then reconnects by itself', async () => {
    await store.set('report:r1', 'kept', 60_000);
    await proxy.cut();
    const calls = [
      ...Array.from({ length: 500 }, (_, i) => store.setIfAbsent(`dedupe:${i}`, '1', 60_000)),
      store.get('report:r1'),
      store.set('report:r2', 'x', 60_000),
      store.delete('report:r1'),
      store.take('feishu:app', { limit: 100, windowMs: 60_000 }),
    ];
    const settled = await Promise.allSettled(calls);
    expect(settled.every((s) => s.status === 'rejected' && s.reason instanceof StoreUnavailableError)).toBe(true);

    await proxy.restore();
    await untilBack();
    // Nothing sent while Redis was away reached it later (no offline queue replayed on reconnect).
    expect(await store.get('report:r1')).toBe('kept');
    expect(await store.get('report:r2')).toBeUndefined();
    expect(await store.setIfAbsent('dedupe:0', '1', 60_000)).toBe(true);
  });

  it('a /quality command while Redis is away gets the "temporarily unavailable" answer, not a crash', async () => {
    const clock = manualClock();
    const core = testCore([createDemoVendor({ clock })], { clock, store });
    await proxy.cut();
    const err = await runQuality(core, { channel: 'feishu', chatId: 'oc_1', userId: 'ou_1' }, { kind: 'quality', meeting: { vendor: 'demo', code: '123456789' }, problemsOnly: false }, { pageSize: 10 })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MeetcheckError);
    expect((err as MeetcheckError).code).toBe('store_unavailable');
    expect(describeError('en', err as MeetcheckError).text).toMatch(/Temporarily unavailable/);
    await proxy.restore();
    await untilBack();
    const ok = await runQuality(core, { channel: 'feishu', chatId: 'oc_1', userId: 'ou_1' }, { kind: 'quality', meeting: { vendor: 'demo', code: '123456789' }, problemsOnly: false }, { pageSize: 10 });
    expect(ok.stored.report.attendees.length).toBeGreaterThan(0);
  });

  it('a hung Redis (connection open, no answers) times calls out and the store recovers when it answers again', async () => {
    proxy.stall(true);
    const settled = await Promise.allSettled([store.get('report:r1'), store.setIfAbsent('dedupe:h', '1', 60_000)]);
    expect(settled.map((s) => s.status === 'rejected' && s.reason instanceof StoreUnavailableError)).toEqual([true, true]);
    proxy.stall(false);
    await untilBack();
    expect(await store.get('report:r1')).toBe('kept');
  });
});
