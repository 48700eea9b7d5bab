import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MeetcheckError } from '../../src/core/errors.js';
import { LarkBusinessError, LarkHttpError, createLarkClient } from '../../src/http/lark.js';
import { classify as feishuClassify } from '../../src/vendors/feishu/errors.js';
import { TencentApiError, classify as tencentClassify } from '../../src/vendors/tencent/errors.js';
import { WecomErrcode, classify as wecomClassify } from '../../src/vendors/wecom/errors.js';
import { httpJson, withCallContext } from '../../src/http/outbound.js';
import { createCaller, type Policy, type Verdict } from '../../src/http/policy.js';
import { mapPool } from '../../src/http/pool.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { manualClock, type ManualClock } from '../helpers/core.js';

/** A failure as a vendor's attempt would throw it, read by the test's classifier. */
class Refusal extends Error {
  constructor(readonly verdict: Omit<Verdict, 'error'> & { code?: MeetcheckError['code'] }) {
    super(verdict.code ?? 'refused');
  }
}
const classify = (err: unknown): Verdict => {
  if (err instanceof Refusal) {
    const { code, ...rest } = err.verdict;
    return { error: new MeetcheckError(code ?? 'vendor_unavailable', 'test', { vendor: 'test', ...(rest.retryAfterMs !== undefined ? { retryAfterMs: rest.retryAfterMs } : {}) }), ...rest };
  }
  return { error: new MeetcheckError('internal', undefined, { cause: err }) };
};

function setup(over: Partial<Policy> = {}): { clock: ManualClock; metrics: Metrics; store: ReturnType<typeof createMemoryStore>; call: ReturnType<typeof createCaller> } {
  const clock = manualClock();
  const metrics = createMetrics({ defaults: false });
  const store = createMemoryStore({ clock });
  return { clock, metrics, store, call: createCaller({ clock, log: silentLogger, metrics, store }, { kind: 'vendor', target: 'test', classify, ...over }) };
}

/** Runs `p`, moving the manual clock whenever something sleeps; returns how far it moved. */
async function settle<T>(clock: ManualClock, p: Promise<T>): Promise<{ value?: T; error?: unknown; waitedMs: number }> {
  const t0 = clock.now();
  let done = false;
  const out: { value?: T; error?: unknown } = {};
  p.then((v) => { out.value = v; }, (e: unknown) => { out.error = e; }).finally(() => { done = true; });
  for (let i = 0; i < 5000 && !done; i++) {
    await new Promise((r) => setTimeout(r, 0));
    if (clock.waiting > 0) await clock.advance(100);
  }
  return { ...out, waitedMs: clock.now() - t0 };
}

/** An attempt that fails with the given refusals in turn, then answers its attempt number. */
const script = (...failures: Refusal[]) => {
  const seen: number[] = [];
  return { seen, attempt: async (n: number) => { seen.push(n); const f = failures[n - 1]; if (f) throw f; return n; } };
};

describe('the outbound call policy', () => {
  it('retries what is retryable, with back-off 500 ms × 3^n; gives up after its retries; never retries the rest', async () => {
    const { clock, call, metrics } = setup({ retries: { transient: 2 } });
    const ok = script(new Refusal({ retryable: true }), new Refusal({ retryable: true }));
    const r = await settle(clock, call({ op: 'x' }, ok.attempt));
    expect(r.value).toBe(3);
    expect(r.waitedMs).toBe(500 + 1500);
    expect(await metrics.registry.getSingleMetricAsString('meetcheck_call_retries_total')).toContain('meetcheck_call_retries_total{kind="vendor",target="test",reason="transient"} 2');

    const tooMany = script(...Array.from({ length: 3 }, () => new Refusal({ retryable: true })));
    expect((await settle(clock, call({ op: 'x' }, tooMany.attempt))).error).toMatchObject({ code: 'vendor_unavailable' });
    expect(tooMany.seen).toEqual([1, 2, 3]);

    const fatal = script(new Refusal({ code: 'no_permission' }));
    expect((await settle(clock, call({ op: 'x' }, fatal.attempt))).error).toMatchObject({ code: 'no_permission' });
    expect(fatal.seen).toEqual([1]);
  });

  it('a rate limit waits its reset (its own count), shares it through the pause key, and is not waited past the deadline', async () => {
    const { clock, store, call } = setup({ retries: { rate: 1 } });
    const limited = () => new Refusal({ code: 'rate_limited', retryable: true, retryAfterMs: 7_000 });
    const once = script(limited());
    const r = await settle(clock, call({ op: 'x', pauseKey: 'pause:test' }, once.attempt));
    expect(r.value).toBe(2);
    expect(r.waitedMs).toBeGreaterThanOrEqual(7_000);

    // Another call that learned a reset pauses every call reading the same key.
    await store.set('pause:test', String(clock.now() + 5_000), 5_000);
    const other = script();
    expect((await settle(clock, call({ op: 'y', pauseKey: 'pause:test' }, other.attempt))).waitedMs).toBeGreaterThanOrEqual(5_000);
    // With a deadline before the reset, the person is told when to come back instead.
    await store.set('pause:test', String(clock.now() + 5_000), 5_000);
    const e = (await settle(clock, call({ op: 'y', pauseKey: 'pause:test', deadline: clock.now() + 1_000 }, script().attempt))).error as MeetcheckError;
    expect(e.code).toBe('rate_limited');
    expect(e.options.retryAfterMs).toBe(5_000);

    const late = script(limited());
    const given = await settle(clock, call({ op: 'x', deadline: clock.now() + 3_000 }, late.attempt));
    expect((given.error as MeetcheckError).options.retryAfterMs).toBe(7_000);
    expect(late.seen).toEqual([1]);
  });

  it('a refused credential is refreshed once; refused again, the hook hears it and the error goes up', async () => {
    const refreshed: string[] = [];
    const { clock, call } = setup({ refreshToken: () => void refreshed.push('refresh'), tokenRefusedAgain: () => void refreshed.push('again') });
    const expired = () => new Refusal({ code: 'vendor_auth', tokenExpired: true });
    expect((await settle(clock, call({ op: 'x' }, script(expired()).attempt))).value).toBe(2);
    expect(refreshed).toEqual(['refresh']);
    const twice = script(expired(), expired());
    expect((await settle(clock, call({ op: 'x' }, twice.attempt))).error).toMatchObject({ code: 'vendor_auth' });
    expect(twice.seen).toEqual([1, 2]);
    expect(refreshed).toEqual(['refresh', 'refresh', 'again']);
  });

  it('budgets are taken before every attempt; spent with a deadline, the call fails fast as rate limited', async () => {
    const { clock, call } = setup();
    const budget = { key: 'b', rate: { limit: 2, windowMs: 60_000, kind: 'sliding' as const } };
    for (let i = 0; i < 2; i++) expect((await settle(clock, call({ op: 'x', budgets: [budget] }, script().attempt))).waitedMs).toBe(0);
    const fast = await settle(clock, call({ op: 'x', budgets: [budget], deadline: clock.now() + 1_000 }, script().attempt));
    expect(fast.error).toMatchObject({ code: 'rate_limited' });
    // Without one it waits for the window's oldest grant to age out.
    expect((await settle(clock, call({ op: 'x', budgets: [budget] }, script().attempt))).waitedMs).toBeGreaterThanOrEqual(59_000);
  });

  it('an aborted call stops at once, even while it waits', async () => {
    const { clock, call } = setup();
    const ac = new AbortController();
    const p = call({ op: 'x', signal: ac.signal }, script(new Refusal({ retryable: true })).attempt);
    const watched = p.catch((e: unknown) => e);
    for (let i = 0; i < 50 && clock.waiting === 0; i++) await new Promise((r) => setTimeout(r, 0));
    expect(clock.waiting).toBe(1);
    ac.abort(new Error('stop'));
    expect(await watched).toMatchObject({ message: 'stop' });
  });
});

describe('bounded concurrency (mapPool)', () => {
  it('a failure aborts the calls in flight and is thrown once they have settled; a tolerated one keeps what was done', async () => {
    const settledAfterAbort: number[] = [];
    const failing = mapPool([1, 2, 3, 4, 5, 6], 3, async (n, _i, signal) => {
      if (n === 2) throw new Error('boom');
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, 50);
        signal.addEventListener('abort', () => { clearTimeout(t); settledAfterAbort.push(n); reject(signal.reason); }, { once: true });
      });
      return n;
    });
    await expect(failing).rejects.toThrow('boom');
    expect(settledAfterAbort.sort()).toEqual([1, 3]);

    const partial = await mapPool([1, 2, 3, 4], 1, async (n) => {
      if (n === 3) throw new MeetcheckError('rate_limited');
      return n * 10;
    }, { tolerate: (e) => e instanceof MeetcheckError });
    expect(partial.results).toEqual([10, 20, undefined, undefined]);
    expect(partial.stopped).toMatchObject({ error: { code: 'rate_limited' } });
  });
});

describe('outbound metrics and the lark client', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('vendor calls and platform calls are counted in their own families', async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    const metrics = createMetrics({ defaults: false });
    const deps = { metrics, clock: manualClock() };
    await httpJson(deps, { kind: 'vendor', target: 'tencent', op: 'meeting_quality', method: 'GET', url });
    await httpJson(deps, { kind: 'platform', target: 'feishu', op: 'im/v1/messages', method: 'POST', url, body: '{}' });
    // Inside a policy call, the call's own labels are used (the lark SDK passes none).
    await withCallContext({ kind: 'vendor', target: 'feishu' }, () => httpJson(deps, { op: 'vc/v1/meeting_list', method: 'GET', url }));
    const text = await metrics.registry.metrics();
    expect(text).toContain('meetcheck_vendor_call_seconds_count{vendor="tencent",op="meeting_quality",outcome="200"} 1');
    expect(text).toContain('meetcheck_vendor_call_seconds_count{vendor="feishu",op="vc/v1/meeting_list",outcome="200"} 1');
    expect(text).toContain('meetcheck_platform_call_seconds_count{platform="feishu",op="im/v1/messages",outcome="200"} 1');
    expect(text).not.toContain('meetcheck_vendor_call_seconds_count{vendor="feishu",op="im/v1/messages"');
  });

  it('one client (one token cache) per Feishu app and server', () => {
    const app = { appId: 'cli_a', appSecret: 's', baseUrl: 'http://127.0.0.1:9' };
    const metrics = createMetrics({ defaults: false });
    const clock = manualClock();
    const a = createLarkClient(app, { metrics, clock }, silentLogger);
    expect(createLarkClient(app, { metrics, clock }, silentLogger)).toBe(a);
    expect(createLarkClient({ ...app, appId: 'cli_b' }, { metrics, clock }, silentLogger)).not.toBe(a);
    expect(createLarkClient(app, { metrics: createMetrics({ defaults: false }), clock }, silentLogger)).not.toBe(a);
  });
});

describe('one classifier per vendor: its error envelope → what the policy does', () => {
  it.each([
    ['feishu 429 + x-ogw-ratelimit-reset', feishuClassify(new LarkHttpError(429, { code: 99991400, msg: 'request trigger frequency limit' }, { 'x-ogw-ratelimit-reset': '7' }), 'quality'), { code: 'rate_limited', retryable: true, retryAfterMs: 7_000 }],
    ['feishu 99991663 in a 200 body', feishuClassify(new LarkBusinessError(99991663, 'Invalid access token'), 'quality'), { code: 'vendor_auth', tokenExpired: true }],
    ['feishu 5xx', feishuClassify(new LarkHttpError(502, {}, {}), 'quality'), { code: 'vendor_unavailable', retryable: true }],
    ['feishu 126010', feishuClassify(new LarkHttpError(400, { code: 126010, msg: 'no device' }, {}), 'quality'), { code: 'vendor_unavailable', vendorCode: 126010 }],
    ['wecom 42001', wecomClassify(new WecomErrcode(42001, 'access_token expired'), 'get_quality'), { code: 'vendor_auth', tokenExpired: true }],
    ['wecom 45009', wecomClassify(new WecomErrcode(45009, 'api freq out of limit'), 'get_quality'), { code: 'rate_limited', retryAfterMs: 60_000 }],
    ['wecom -1', wecomClassify(new WecomErrcode(-1, 'system busy'), 'get_quality'), { code: 'vendor_unavailable', retryable: true }],
    ['tencent 190310', tencentClassify(new TencentApiError({ errorCode: 190310, message: '每分钟总接口调用次数超过限制' }, 'meeting_quality')), { code: 'rate_limited', retryable: true, retryAfterMs: 61_000 }],
    ['tencent 190311', tencentClassify(new TencentApiError({ errorCode: 190311, message: '每天总接口调用次数超过限制' }, 'meeting_quality')), { code: 'rate_limited', retryAfterMs: 3_600_000 }],
    ['tencent 190301', tencentClassify(new TencentApiError({ errorCode: 190301, message: 'replay' }, 'meeting_quality')), { code: 'vendor_auth', retryable: true, retryAfterMs: 0 }],
  ])('%s', (_name, v, expected) => {
    const { code, vendorCode, retryAfterMs, ...rest } = expected as { code: string; vendorCode?: number; retryAfterMs?: number; retryable?: boolean; tokenExpired?: boolean };
    expect(v.error.code).toBe(code);
    if (vendorCode !== undefined) expect(v.error.options.vendorCode).toBe(vendorCode);
    // A retry waits the verdict's time; a limit not waited out tells the person when to come back.
    if (retryAfterMs !== undefined && !rest.retryable) expect(v.error.options.retryAfterMs).toBe(retryAfterMs);
    expect({ retryable: v.retryable ?? false, tokenExpired: v.tokenExpired ?? false, ...(v.retryable ? { retryAfterMs: v.retryAfterMs } : {}) })
      .toEqual({ retryable: rest.retryable ?? false, tokenExpired: rest.tokenExpired ?? false, ...(rest.retryable ? { retryAfterMs } : {}) });
  });
});
