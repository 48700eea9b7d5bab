import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeToken, type Bucket } from '../../src/store/bucket.js';
import { takeSlot } from '../../src/store/window.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { createRedisStore } from '../../src/store/redis.js';
import type { RateLimit, Store } from '../../src/store/types.js';
import { silentLogger } from '../../src/log.js';
import { manualClock, type ManualClock } from '../helpers/core.js';
import { IN_CI, REDIS_URL, cleanPrefix, keysUnder, probeRedis, testPrefix } from './redis-env.js';

/**
 * One contract, two implementations: whatever the in-process store promises, the Redis store must
 * keep too, so a bot moved onto Redis behaves the same (only now shared between replicas).
 */
type Make = (clock: ManualClock) => Promise<Store>;

function contract(name: string, make: Make) {
  describe(`${name} store contract`, () => {
    let clock: ManualClock;
    let store: Store;
    const open: Store[] = [];
    const fresh = async () => {
      clock = manualClock();
      store = await make(clock);
      open.push(store);
      return store;
    };
    afterAll(async () => {
      for (const s of open) await s.close();
    });

    it('gets what was set, and nothing for an unknown key', async () => {
      await fresh();
      expect(await store.get('k:missing')).toBeUndefined();
      await store.set('k:a', 'first', 60_000);
      await store.set('k:a', 'second', 60_000);
      expect(await store.get('k:a')).toBe('second');
      await store.delete('k:a');
      await store.delete('k:never-set');
      expect(await store.get('k:a')).toBeUndefined();
    });

    it('keeps a report-sized value byte for byte, including non-ASCII and markup', async () => {
      await fresh();
      const value = JSON.stringify({ names: Array.from({ length: 20_000 }, (_, i) => `王伟 ${i} <at id=all></at> **x** \u{1F600}`) });
      expect(value.length).toBeGreaterThan(500_000);
      await store.set('report:big', value, 60_000);
      expect(await store.get('report:big')).toBe(value);
    });

    it('getMany: the values in the order asked, undefined where absent, nothing for no keys', async () => {
      await fresh();
      await store.set('k:1', 'one', 60_000);
      await store.set('k:3', '三 <at id=all></at>', 60_000);
      expect(await store.getMany!(['k:3', 'k:2', 'k:1', 'k:3'])).toEqual(['三 <at id=all></at>', undefined, 'one', '三 <at id=all></at>']);
      expect(await store.getMany!([])).toEqual([]);
    });

    it('expire: true for each key that exists, whose value stays as it was; a missing key stays missing', async () => {
      await fresh();
      await store.set('k:a', 'A', 60_000);
      await store.set('k:b', 'B', 60_000);
      expect(await store.expire!(['k:a', 'k:none', 'k:b'], 120_000)).toEqual([true, false, true]);
      expect(await store.getMany!(['k:a', 'k:none', 'k:b'])).toEqual(['A', undefined, 'B']);
      expect(await store.expire!([], 1000)).toEqual([]);
    });

    it('setIfAbsent: only the first caller wins, the value is the winner\'s, and delete frees the key', async () => {
      await fresh();
      expect(await store.setIfAbsent('dedupe:m1', 'A', 60_000)).toBe(true);
      expect(await store.setIfAbsent('dedupe:m1', 'B', 60_000)).toBe(false);
      expect(await store.get('dedupe:m1')).toBe('A');
      await store.delete('dedupe:m1');
      expect(await store.setIfAbsent('dedupe:m1', 'C', 60_000)).toBe(true);
      expect(await store.get('dedupe:m1')).toBe('C');
    });

    it('setIfAbsent: of 50 simultaneous callers exactly one wins', async () => {
      await fresh();
      const wins = await Promise.all(Array.from({ length: 50 }, (_, i) => store.setIfAbsent('inflight:x', String(i), 60_000)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('take: a full bucket of `limit` tokens, then a refusal saying how long to wait', async () => {
      await fresh();
      const rate: RateLimit = { limit: 100, windowMs: 60_000 };
      for (let i = 0; i < 100; i++) expect(await store.take('feishu:app', rate)).toEqual({ ok: true });
      const refused = await store.take('feishu:app', rate);
      expect(refused.ok).toBe(false);
      // One token refills every 600 ms (100 per minute).
      expect(refused.ok === false && refused.retryAfterMs).toBe(600);
      // Another key is another budget.
      expect(await store.take('feishu:other-app', rate)).toEqual({ ok: true });
    });

    it('take: refills evenly with time, exactly as bucket.ts computes it', async () => {
      await fresh();
      const rate: RateLimit = { limit: 3, windowMs: 1000 };
      let ref: Bucket | undefined;
      const steps = [0, 0, 0, 0, 0, 100, 150, 1, 199, 333, 334, 0, 0, 5000, 0, 0, 0, 0, 17, 316, 1];
      const seen: unknown[] = [];
      const expected: unknown[] = [];
      for (const dt of steps) {
        await clock.advance(dt);
        const r = takeToken(ref, rate, clock.now());
        ref = r.bucket;
        expected.push(r.decision);
        seen.push(await store.take('tencent:meeting:m1', rate));
      }
      expect(seen).toEqual(expected);
      expect(expected.filter((d) => (d as { ok: boolean }).ok).length).toBeGreaterThan(5);
      expect(expected.filter((d) => !(d as { ok: boolean }).ok).length).toBeGreaterThan(5);
    });

    it('take: 60 simultaneous takes from a budget of 30 grant exactly 30', async () => {
      await fresh();
      const rate: RateLimit = { limit: 30, windowMs: 60_000 };
      const got = await Promise.all(Array.from({ length: 60 }, () => store.take('tencent:meeting:burst', rate)));
      expect(got.filter((d) => d.ok)).toHaveLength(30);
    });

    it('sliding: a whole window of grants at once, then each waits for the oldest to age out (as window.ts computes it)', async () => {
      await fresh();
      const rate: RateLimit = { limit: 3, windowMs: 1000, kind: 'sliding' };
      let ref: number[] = [];
      const steps = [0, 0, 0, 0, 10, 500, 489, 1, 0, 0, 250, 999, 1, 0, 2000, 0, 0, 0, 0];
      const seen: unknown[] = [];
      const expected: unknown[] = [];
      for (const dt of steps) {
        await clock.advance(dt);
        const r = takeSlot(ref, rate, clock.now());
        ref = r.log;
        expected.push(r.decision);
        seen.push(await store.take('feishu:vc:quality', rate));
      }
      expect(seen).toEqual(expected);
      // The first three go at once; the fourth is told to wait until the first leaves the window.
      expect(expected.slice(0, 4)).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: false, retryAfterMs: 1001 }]);
      // Never more than `limit` grants in any window.
      let t = 0;
      const grants: number[] = [];
      steps.forEach((dt, i) => {
        t += dt;
        if ((expected[i] as { ok: boolean }).ok) grants.push(t);
      });
      for (const g of grants) expect(grants.filter((x) => x > g - rate.windowMs && x <= g).length).toBeLessThanOrEqual(3);
    });

    it('sliding: 150 simultaneous takes from a window of 100 grant exactly 100', async () => {
      await fresh();
      const rate: RateLimit = { limit: 100, windowMs: 60_000, kind: 'sliding' };
      const got = await Promise.all(Array.from({ length: 150 }, () => store.take('feishu:vc:burst', rate)));
      expect(got.filter((d) => d.ok)).toHaveLength(100);
    });

    it('a value key and a rate budget of the same name do not touch each other', async () => {
      await fresh();
      const rate: RateLimit = { limit: 1, windowMs: 60_000 };
      await store.set('same', 'value', 60_000);
      expect(await store.take('same', rate)).toEqual({ ok: true });
      expect(await store.get('same')).toBe('value');
      await store.delete('same');
      expect((await store.take('same', rate)).ok).toBe(false);
    });
  });
}

contract('memory', async (clock) => createMemoryStore({ clock }));

describe('memory store bounds', () => {
  it('a flood of dedupe keys evicts the oldest entries instead of growing without end', async () => {
    const store = createMemoryStore({ clock: manualClock(), maxEntries: 1000 });
    for (let i = 0; i < 20_000; i++) await store.setIfAbsent(`dedupe:${i}`, '1', 3_600_000);
    let kept = 0;
    for (let i = 0; i < 20_000; i++) if ((await store.get(`dedupe:${i}`)) !== undefined) kept++;
    expect(kept).toBe(1000);
    expect(await store.get('dedupe:0')).toBeUndefined();
    expect(await store.get('dedupe:19999')).toBe('1');
  });

  it('large values are evicted by total size, oldest first', async () => {
    const store = createMemoryStore({ clock: manualClock(), maxChars: 1_000_000 });
    const big = 'x'.repeat(300_000);
    for (let i = 0; i < 5; i++) await store.set(`report:${i}`, big, 3_600_000);
    expect(await store.get('report:0')).toBeUndefined();
    expect(await store.get('report:4')).toBe(big);
  });

  it('a dedupe flood never evicts a rate budget (it would hand out a fresh budget)', async () => {
    const store = createMemoryStore({ clock: manualClock(), maxEntries: 1000 });
    const rate: RateLimit = { limit: 2, windowMs: 60_000 };
    await store.take('feishu:app', rate);
    await store.take('feishu:app', rate);
    for (let i = 0; i < 20_000; i++) await store.setIfAbsent(`dedupe:${i}`, '1', 3_600_000);
    expect((await store.take('feishu:app', rate)).ok).toBe(false);
  });

  it('entries expire on the injected clock', async () => {
    const clock = manualClock();
    const store = createMemoryStore({ clock });
    await store.set('report:r', 'v', 1000);
    expect(await store.setIfAbsent('dedupe:d', '1', 1000)).toBe(true);
    await clock.advance(999);
    expect(await store.get('report:r')).toBe('v');
    await clock.advance(2);
    expect(await store.get('report:r')).toBeUndefined();
    expect(await store.setIfAbsent('dedupe:d', '1', 1000)).toBe(true);
  });

  it('expire gives a key a fresh TTL on the injected clock, counted from the call', async () => {
    const clock = manualClock();
    const store = createMemoryStore({ clock });
    await store.set('report:r', 'v', 1000);
    await clock.advance(900);
    expect(await store.expire!(['report:r'], 1000)).toEqual([true]);
    await clock.advance(999);
    expect(await store.get('report:r')).toBe('v');
    await clock.advance(2);
    expect(await store.get('report:r')).toBeUndefined();
    expect(await store.expire!(['report:r'], 1000)).toEqual([false]);
  });
});

// ---- Redis: the same contract against the real server, plus what only Redis has to promise ----

const probe = await probeRedis();
const skipRedis = !probe.ok && !IN_CI;
if (skipRedis) console.warn(`[test/store] skipping the Redis store tests: ${probe.ok ? '' : probe.reason} (set CI=1 to make this a failure)`);

describe.skipIf(skipRedis)('redis', () => {
  const prefix = testPrefix('store');
  beforeAll(() => {
    if (!probe.ok) throw new Error(`CI is set, so the Redis tests may not skip: ${probe.reason} (REDIS_URL=${REDIS_URL.replace(/\/\/[^@]*@/, '//***@')})`);
  });
  afterAll(async () => {
    if (probe.ok) await cleanPrefix(prefix);
  });

  let n = 0;
  contract('redis', async (clock) => createRedisStore({ url: REDIS_URL, prefix: `${prefix}${n++}:`, log: silentLogger, clock }));

  describe('redis store specifics', () => {
    it('keeps every key under its prefix, each with a TTL (nothing lives forever)', async () => {
      const p = `${prefix}ttl:`;
      const store = await createRedisStore({ url: REDIS_URL, prefix: p, log: silentLogger, clock: manualClock() });
      await store.set('report:r1', 'v', 86_400_000);
      await store.setIfAbsent('dedupe:m1', '1', 600_000);
      await store.take('feishu:app', { limit: 100, windowMs: 60_000 });
      await store.close();
      const keys = await keysUnder(p);
      expect([...keys.keys()].sort()).toEqual(['bucket:feishu:app', 'dedupe:m1', 'report:r1']);
      expect(keys.get('report:r1')).toBeGreaterThan(86_000_000);
      expect(keys.get('report:r1')).toBeLessThanOrEqual(86_400_000);
      expect(keys.get('dedupe:m1')).toBeGreaterThan(0);
      expect(keys.get('dedupe:m1')).toBeLessThanOrEqual(600_000);
      expect(keys.get('bucket:feishu:app')).toBeGreaterThan(0);
      expect(keys.get('bucket:feishu:app')).toBeLessThanOrEqual(60_000);
    });

    it('expire sets the TTL of existing keys (PEXPIRE) and creates nothing', async () => {
      const p = `${prefix}expire:`;
      const store = await createRedisStore({ url: REDIS_URL, prefix: p, log: silentLogger, clock: manualClock() });
      await store.set('report:r1', 'v', 1000);
      expect(await store.expire!(['report:r1', 'report:none'], 86_400_000)).toEqual([true, false]);
      await store.close();
      const keys = await keysUnder(p);
      expect([...keys.keys()]).toEqual(['report:r1']);
      expect(keys.get('report:r1')).toBeGreaterThan(86_000_000);
      expect(keys.get('report:r1')).toBeLessThanOrEqual(86_400_000);
    });

    it('two replicas (two clients) share one dedupe, one lock, one report and one rate budget', async () => {
      const p = `${prefix}shared:`;
      const clock = manualClock();
      const a = await createRedisStore({ url: REDIS_URL, prefix: p, log: silentLogger, clock });
      const b = await createRedisStore({ url: REDIS_URL, prefix: p, log: silentLogger, clock });
      try {
        const wins = await Promise.all([a, b, a, b].map((s, i) => s.setIfAbsent('dedupe:om_1', `replica${i}`, 60_000)));
        expect(wins.filter(Boolean)).toHaveLength(1);
        await a.set('report:r1', '{"id":"r1"}', 60_000);
        expect(await b.get('report:r1')).toBe('{"id":"r1"}');
        const rate: RateLimit = { limit: 30, windowMs: 60_000 };
        const got = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take('tencent:meeting:m1', rate)));
        expect(got.filter((d) => d.ok)).toHaveLength(30);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('uses Redis\'s clock for budgets when given the system clock (one timeline for all replicas)', async () => {
      const p = `${prefix}servertime:`;
      const store = await createRedisStore({ url: REDIS_URL, prefix: p, log: silentLogger });
      try {
        const rate: RateLimit = { limit: 2, windowMs: 3_600_000 };
        expect((await store.take('k', rate)).ok).toBe(true);
        expect((await store.take('k', rate)).ok).toBe(true);
        const refused = await store.take('k', rate);
        // 1,800,000 ms per token (+1 from rounding up a float); real time may have refilled a sliver.
        expect(refused.ok).toBe(false);
        expect(refused.ok === false && refused.retryAfterMs).toBeGreaterThan(1_790_000);
        expect(refused.ok === false && refused.retryAfterMs).toBeLessThanOrEqual(1_800_001);
      } finally {
        await store.close();
      }
    });
  });
});
