import { afterEach, describe, expect, it } from 'vitest';
import type { FeishuConfig } from '../../src/config.js';
import { createIm, type Im } from '../../src/channels/feishu/im.js';
import { RETRY_MAX_MS, RETRY_WINDOW_MS, createPatcher } from '../../src/channels/feishu/patcher.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { manualClock, type ManualClock } from '../helpers/core.js';
import { startFakeFeishu, type FakeFeishu } from '../fakes/feishu.js';
import { APP_ID, APP_SECRET } from './helpers.js';

/**
 * The card patcher against the fake Feishu over real HTTP: failed patches (230020 frequency limit,
 * HTTP 500, a request that never answers) are retried with the newest card until the report lands.
 */

let fake: FakeFeishu | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const card = (text: string) => ({ schema: '2.0', config: { update_multi: true }, body: { elements: [{ tag: 'markdown', content: text }] } });
const RATE_LIMITED = { status: 400, code: 230020, msg: 'This operation triggers the frequency limit' };
const SERVER_ERROR = { status: 500, code: 230099, msg: 'internal error' };

async function setup(timeoutMs?: number): Promise<{ fake: FakeFeishu; im: Im; clock: ManualClock; messageId: string }> {
  const clock = manualClock();
  fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => clock.now() });
  const config: FeishuConfig = { appId: APP_ID, appSecret: APP_SECRET, baseUrl: fake.url, mode: 'webhook' };
  const im = createIm({ config, clock, log: silentLogger, metrics: createMetrics({ defaults: false }), ...(timeoutMs ? { timeoutMs } : {}) });
  // A bot message to patch: the fake only patches messages the bot sent.
  const messageId = await im.reply('om_cmd', card('querying…'), 'q:om_cmd');
  return { fake, im, clock, messageId };
}

const patchCalls = (f: FakeFeishu) => f.calls.filter((c) => c.method === 'PATCH').length;
const shown = (f: FakeFeishu) => f.patches.map((p) => p.card.body.elements[0].content as string);

/** Until the patcher sleeps on the clock (a retry back-off), without sleeping for real. */
async function untilWaiting(clock: ManualClock): Promise<void> {
  for (let i = 0; i < 10_000 && clock.waiting === 0; i++) await new Promise((r) => setImmediate(r));
  expect(clock.waiting).toBeGreaterThan(0);
}

/** Flushes while moving the manual clock whenever the patcher waits (the test's timeout bounds it). */
async function drain(clock: ManualClock, flush: Promise<void>): Promise<void> {
  let done = false;
  void flush.then(() => (done = true));
  while (!done) {
    if (clock.waiting > 0) await clock.advance(1000);
    else await new Promise((r) => setImmediate(r));
  }
}

describe('Feishu card patcher: the final card lands', () => {
  it('retries 230020 and HTTP 500 with back-off until the report is shown', async () => {
    const { fake, im, clock, messageId } = await setup();
    fake.failNext('patch', 2, RATE_LIMITED);
    fake.failNext('patch', 2, SERVER_ERROR);
    const patcher = createPatcher(im, messageId, clock, silentLogger);
    const started = clock.now();
    patcher.push(card('report'));
    await drain(clock, patcher.flush());
    expect(shown(fake)).toEqual(['report']);
    expect(patchCalls(fake)).toBe(5);
    // Back-off 1 + 2 + 4 + 8 s before the fifth attempt: not a hot loop.
    expect(clock.now() - started).toBeGreaterThanOrEqual(15_000);
  });

  it('coalesces: cards pushed while a patch is failing are not sent one by one, the newest goes next', async () => {
    const { fake, im, clock, messageId } = await setup();
    fake.failNext('patch', 1, RATE_LIMITED);
    const patcher = createPatcher(im, messageId, clock, silentLogger);
    patcher.push(card('progress 1'));
    await untilWaiting(clock);
    patcher.push(card('progress 2'));
    patcher.push(card('progress 3'));
    patcher.push(card('report'));
    await drain(clock, patcher.flush());
    expect(shown(fake)).toEqual(['report']);
    expect(patchCalls(fake)).toBe(2);
  });

  it('a failed progress card is resent if nothing newer came, then the report follows', async () => {
    const { fake, im, clock, messageId } = await setup();
    fake.failNext('patch', 1, SERVER_ERROR);
    const patcher = createPatcher(im, messageId, clock, silentLogger);
    patcher.push(card('progress 1'));
    await drain(clock, patcher.flush());
    patcher.push(card('report'));
    await drain(clock, patcher.flush());
    expect(shown(fake)).toEqual(['progress 1', 'report']);
  });

  it('retries a patch that never answers (timeout) and the report still lands', async () => {
    const { fake, im, clock, messageId } = await setup(150);
    fake.failNext('patch', 1, { ...SERVER_ERROR, hang: true });
    const patcher = createPatcher(im, messageId, clock, silentLogger);
    patcher.push(card('report'));
    await drain(clock, patcher.flush());
    expect(shown(fake)).toEqual(['report']);
    expect(patchCalls(fake)).toBe(2);
  });

  it('does not retry what resending cannot fix (230031: older than 14 days)', async () => {
    const { fake, im, clock, messageId } = await setup();
    fake.failNext('patch', 1, { status: 400, code: 230031, msg: 'the message is too old to be updated' });
    const patcher = createPatcher(im, messageId, clock, silentLogger);
    patcher.push(card('report'));
    await drain(clock, patcher.flush());
    expect(shown(fake)).toEqual([]);
    expect(patchCalls(fake)).toBe(1);
  });

  it('gives up after the retry window, with a bounded number of attempts', async () => {
    const { fake, im, clock, messageId } = await setup();
    fake.failNext('patch', 1000, SERVER_ERROR);
    const patcher = createPatcher(im, messageId, clock, silentLogger);
    const started = clock.now();
    patcher.push(card('report'));
    await drain(clock, patcher.flush());
    expect(shown(fake)).toEqual([]);
    const elapsed = clock.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(RETRY_WINDOW_MS);
    expect(elapsed).toBeLessThan(RETRY_WINDOW_MS + RETRY_MAX_MS + 1000);
    // 1, 2, 4, 8, 16 s, then every 30 s: attempts at 0, 1, 3, 7, 15, 31, 61, … 601 s.
    expect(patchCalls(fake)).toBe(25);
  });

  it('a stopping channel cuts the back-off short: one last try, then no more', async () => {
    const { fake, im, clock, messageId } = await setup();
    fake.failNext('patch', 5, SERVER_ERROR);
    const patcher = createPatcher(im, messageId, clock, silentLogger);
    patcher.push(card('report'));
    await untilWaiting(clock);
    im.close!();
    await patcher.flush();
    expect(patchCalls(fake)).toBe(2);
    expect(clock.waiting).toBe(0);
  });
});
