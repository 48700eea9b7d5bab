import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/main.js';
import { IN_CI, REDIS_URL, cleanPrefix, probeRedis, testPrefix } from '../store/redis-env.js';

describe('job and shutdown variables', () => {
  it('have their defaults, and a bad value names its variable', () => {
    expect(loadConfig({}).jobs).toEqual({ redisPrefix: 'meetcheck:', shutdownGraceMs: 10_000, lockMs: 10_000, stalledCheckMs: 10_000 });
    expect(loadConfig({ MEETCHECK_JOB_LOCK_MS: '1500', MEETCHECK_JOB_STALLED_CHECK_MS: '700', MEETCHECK_SHUTDOWN_GRACE_MS: '0', MEETCHECK_REDIS_PREFIX: 'bot2:' }).jobs)
      .toEqual({ redisPrefix: 'bot2:', shutdownGraceMs: 0, lockMs: 1500, stalledCheckMs: 700 });
    for (const [name, value] of [['MEETCHECK_JOB_LOCK_MS', '10'], ['MEETCHECK_JOB_STALLED_CHECK_MS', 'soon'], ['MEETCHECK_SHUTDOWN_GRACE_MS', '-1'], ['MEETCHECK_REDIS_PREFIX', 'has space']] as const) {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
    }
  });
});

describe('/readyz without Redis (embedded jobs)', () => {
  it('answers 200 while serving; /healthz too', async () => {
    const running = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }), { log: silentLogger });
    try {
      expect(running.jobs.kind).toBe('embedded');
      const ready = await request(`${running.url}/readyz`);
      expect(ready.statusCode).toBe(200);
      expect(await ready.body.json()).toEqual({ ready: true });
      expect((await request(`${running.url}/healthz`)).statusCode).toBe(200);
    } finally {
      await running.close();
    }
  });
});

const probe = await probeRedis();
const skip = !probe.ok && !IN_CI;
if (skip) console.warn(`[test/jobs] skipping the draining /readyz test: ${probe.ok ? '' : probe.reason} (set CI=1 to make this a failure)`);

describe.skipIf(skip)('/readyz with durable jobs (Redis)', () => {
  const prefix = testPrefix('readyz');
  beforeAll(() => {
    if (!probe.ok) throw new Error(`CI is set, so the Redis tests may not skip: ${probe.reason}`);
  });
  afterAll(async () => {
    if (probe.ok) await cleanPrefix(prefix);
  });

  it('answers 503 while draining, while /healthz stays 200, and job counts are on /metrics', async () => {
    const running = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', REDIS_URL, MEETCHECK_REDIS_PREFIX: prefix }), { log: silentLogger });
    expect(running.jobs.kind).toBe('bullmq');
    expect((await request(`${running.url}/readyz`)).statusCode).toBe(200);
    const metrics = await (await request(`${running.url}/metrics`)).body.text();
    expect(metrics).toContain('meetcheck_jobs{state="waiting"} 0');
    expect(metrics).toContain('meetcheck_jobs_failed_total 0');
    // Work in flight keeps the drain going until we let it finish.
    let finish!: () => void;
    void running.core.tasks.run('reply', () => new Promise<void>((r) => (finish = r)));
    const closed = running.close();
    const draining = await request(`${running.url}/readyz`);
    expect(draining.statusCode).toBe(503);
    expect(await draining.body.json()).toEqual({ ready: false, reason: 'draining' });
    expect((await request(`${running.url}/healthz`)).statusCode).toBe(200);
    finish();
    await closed;
  });
});
