import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type FeishuConfig } from '../../src/config.js';
import type { VendorClient } from '../../src/core/vendor.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { createRedisStore } from '../../src/store/redis.js';
import type { Store } from '../../src/store/types.js';
import { REFRESH_EARLY_MS, seal, unseal } from '../../src/vendors/feishu/grant.js';
import { createFeishuVendor } from '../../src/vendors/feishu/index.js';
import { startFakeFeishu, type FakeFeishu, type FakeFeishuOptions } from '../fakes/feishu.js';
import { manualClock, type ManualClock } from '../helpers/core.js';
import { cleanPrefix, probeRedis, REDIS_URL, testPrefix } from '../store/redis-env.js';
import { APP_ID, APP_SECRET, GRANT_KEY, meeting, PUBLIC_URL, TOKEN } from './helpers.js';

let fake: FakeFeishu | undefined;
const stores: Store[] = [];
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  for (const s of stores.splice(0)) await s.close();
});

const ALICE = { openId: 'ou_alice', name: 'Alice' };

function feishuConfig(baseUrl: string, env: Record<string, string> = {}): FeishuConfig {
  return loadConfig({
    FEISHU_APP_ID: APP_ID, FEISHU_APP_SECRET: APP_SECRET, FEISHU_VERIFICATION_TOKEN: TOKEN, FEISHU_BASE_URL: baseUrl,
    MEETCHECK_PUBLIC_URL: PUBLIC_URL, MEETCHECK_ENCRYPTION_KEY: GRANT_KEY, ...env,
  }).feishu!;
}

async function setup(opts: Partial<FakeFeishuOptions> = {}) {
  const clock = manualClock();
  fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => clock.now(), vcScope: 'user', ...opts });
  fake.meetings.push(meeting('123456789', 2));
  return { clock, fake };
}

function vendorOn(store: Store, clock: ManualClock, config: FeishuConfig, log = silentLogger): VendorClient {
  return createFeishuVendor({ config, store, clock, log, metrics: createMetrics({ defaults: false }) });
}

/** Runs `p` to the end, moving the manual clock whenever something waits on it. */
async function settle<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  watched.catch(() => undefined);
  for (let i = 0; i < 4000 && !done; i++) {
    await new Promise((r) => setTimeout(r, 1));
    if (clock.waiting > 0) await clock.advance(200);
  }
  return watched;
}

/** One admin authorises through `vendor` (the consent page is the fake's). */
async function authorise(f: FakeFeishu, vendor: VendorClient): Promise<void> {
  const { code } = f.authorize(vendor.userAuth!.authorizeUrl('s'.repeat(43)), ALICE);
  const exchanged = await vendor.userAuth!.exchange(code);
  expect(exchanged.userId).toBe('ou_alice');
  await exchanged.keep();
}

const query = { meeting: { vendor: 'feishu' as const, code: '123456789' }, lang: 'en' as const };

describe('sealing grants at rest', () => {
  const key = Buffer.alloc(32, 1);
  it('AES-256-GCM: a fresh IV each time, and a wrong key, another key name or an altered value opens nothing', () => {
    const a = seal(key, 'feishu:grant:cli_a', '{"accessToken":"u-secret"}');
    const b = seal(key, 'feishu:grant:cli_a', '{"accessToken":"u-secret"}');
    expect(a).not.toBe(b);
    expect(a).not.toContain('u-secret');
    expect(unseal(key, 'feishu:grant:cli_a', a)).toBe('{"accessToken":"u-secret"}');
    expect(unseal(Buffer.alloc(32, 2), 'feishu:grant:cli_a', a)).toBeUndefined();
    expect(unseal(key, 'feishu:grant:cli_b', a)).toBeUndefined();
    const parts = a.split('.');
    parts[3] = `${parts[3]!.slice(0, -2)}AA`;
    expect(unseal(key, 'feishu:grant:cli_a', parts.join('.'))).toBeUndefined();
    expect(unseal(key, 'feishu:grant:cli_a', 'garbage')).toBeUndefined();
  });
});

describe('the Feishu user grant', () => {
  it('accepts every plausible token answer (code 0, no code, code "0") and logs each shape once, without values', async () => {
    for (const tokenShape of ['doc', 'rfc', 'string-code'] as const) {
      const { clock, fake: f } = await setup({ tokenShape });
      const lines: string[] = [];
      const log = createLogger('info', { write: (s: string) => void lines.push(s) } as never);
      const store = createMemoryStore({ clock });
      const vendor = vendorOn(store, clock, feishuConfig(f.url), log);
      await authorise(f, vendor);
      const report = await settle(clock, vendor.fetchReport(query, {}));
      expect(report.attendees).toHaveLength(2);
      const shapes = lines.filter((l) => l.includes('token endpoint answer shape'));
      expect(shapes).toHaveLength(1);
      expect(JSON.parse(shapes[0]!).codeType).toBe(tokenShape === 'rfc' ? 'undefined' : tokenShape === 'doc' ? 'number' : 'string');
      expect(lines.join('')).not.toMatch(/u-fake|ur-fake/);
      await f.close();
      fake = undefined;
    }
  });

  it('a refresh token works once: two vendors sharing one store race a refresh, Feishu sees exactly one, both succeed', async () => {
    const { clock, fake: f } = await setup();
    const store = createMemoryStore({ clock });
    const config = feishuConfig(f.url);
    const a = vendorOn(store, clock, config);
    const b = vendorOn(store, clock, config);
    await authorise(f, a);
    // Inside the last five minutes of the access token: the next call refreshes first.
    await clock.advance(7200_000 - REFRESH_EARLY_MS + 60_000);
    const [ra, rb] = await settle(clock, Promise.all([a.fetchReport(query, {}), b.fetchReport(query, {})]));
    expect(ra.attendees).toHaveLength(2);
    expect(rb.attendees).toHaveLength(2);
    expect(f.tokenCalls('refresh_token')).toHaveLength(1);
    // Every call of both went out with the one refreshed token.
    expect(new Set(f.vcCalls().map((c) => c.auth)).size).toBe(1);
  });

  it('a refresh Feishu cannot answer (20050, then again) keeps the grant and uses the token while it lasts', async () => {
    const { clock, fake: f } = await setup();
    const store = createMemoryStore({ clock });
    const vendor = vendorOn(store, clock, feishuConfig(f.url));
    await authorise(f, vendor);
    await clock.advance(7200_000 - REFRESH_EARLY_MS + 60_000);
    f.failNext('token', 2, { status: 500, code: 20050, msg: 'server error' });
    const report = await settle(clock, vendor.fetchReport(query, {}));
    expect(report.attendees).toHaveLength(2);
    expect(f.tokenCalls('refresh_token')).toHaveLength(2);
    expect(await store.get(`feishu:grant:${APP_ID}`)).toBeDefined();
  });

  it('a grant sealed under another MEETCHECK_ENCRYPTION_KEY is dropped and authorisation asked for again', async () => {
    const { clock, fake: f } = await setup();
    const store = createMemoryStore({ clock });
    await authorise(f, vendorOn(store, clock, feishuConfig(f.url)));
    const other = vendorOn(store, clock, feishuConfig(f.url, { MEETCHECK_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') }));
    await expect(settle(clock, other.fetchReport(query, {}))).rejects.toMatchObject({ code: 'user_auth_required' });
    expect(await store.get(`feishu:grant:${APP_ID}`)).toBeUndefined();
  });

  it('without offline_access no refresh token comes back; when the access token ends the grant has lapsed', async () => {
    const { clock, fake: f } = await setup();
    const store = createMemoryStore({ clock });
    const vendor = vendorOn(store, clock, feishuConfig(f.url));
    const link = new URL(vendor.userAuth!.authorizeUrl('s'.repeat(43)));
    link.searchParams.set('scope', link.searchParams.get('scope')!.replace('offline_access', '').trim());
    const exchanged = await vendor.userAuth!.exchange(f.authorize(link.toString(), ALICE).code);
    await exchanged.keep();
    expect((await settle(clock, vendor.fetchReport(query, {}))).attendees).toHaveLength(2);
    await clock.advance(7200_000);
    await expect(settle(clock, vendor.fetchReport(query, {}))).rejects.toMatchObject({ code: 'user_auth_lapsed' });
    expect(f.tokenCalls('refresh_token')).toHaveLength(0);
  });

  it('the user scope not granted (99991679) asks for authorisation again, with the scope Feishu named', async () => {
    const { clock, fake: f } = await setup();
    const store = createMemoryStore({ clock });
    const vendor = vendorOn(store, clock, feishuConfig(f.url, { FEISHU_USER_SCOPES: 'vc:something.else:read' }));
    await authorise(f, vendor);
    const err = await settle(clock, vendor.fetchReport(query, {})).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'user_auth_required' });
    expect((err as Error).message).toContain('99991679');
  });
});

const probe = await probeRedis();
describe.skipIf(!probe.ok)('the Feishu user grant on Redis', () => {
  const prefix = testPrefix('feishu-grant');
  afterAll(async () => {
    await cleanPrefix(prefix);
  });

  it('two replicas, each with its own Redis client, race a refresh: exactly one refresh call, both succeed', async () => {
    const { clock, fake: f } = await setup();
    const config = feishuConfig(f.url);
    const sa = await createRedisStore({ url: REDIS_URL, prefix, log: silentLogger, clock });
    const sb = await createRedisStore({ url: REDIS_URL, prefix, log: silentLogger, clock });
    stores.push(sa, sb);
    const a = vendorOn(sa, clock, config);
    const b = vendorOn(sb, clock, config);
    await authorise(f, a);
    await clock.advance(7200_000 - REFRESH_EARLY_MS + 60_000);
    const [ra, rb] = await settle(clock, Promise.all([a.fetchReport(query, {}), b.fetchReport(query, {})]));
    expect(ra.attendees).toHaveLength(2);
    expect(rb.attendees).toHaveLength(2);
    expect(f.tokenCalls('refresh_token')).toHaveLength(1);
    expect(await sb.get(`feishu:grant:${APP_ID}`)).toMatch(/^v1\./);
  });
});
if (!probe.ok) console.warn(`[test/feishu/grant] skipping the Redis refresh race: ${probe.reason}`);
