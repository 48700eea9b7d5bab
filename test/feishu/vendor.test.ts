import { afterEach, describe, expect, it } from 'vitest';
import { MeetcheckError } from '../../src/core/errors.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { createFeishuVendor } from '../../src/vendors/feishu/index.js';
import { readNumber, toSample } from '../../src/vendors/feishu/samples.js';
import { parseFeishuTime } from '../../src/vendors/feishu/time.js';
import { feishuTime, qualitySample, startFakeFeishu, type FakeFeishu } from '../fakes/feishu.js';
import { manualClock, type ManualClock, notesIn } from '../helpers/core.js';
import { APP_ID, APP_SECRET, meeting } from './helpers.js';

let fake: FakeFeishu | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(): Promise<{ fake: FakeFeishu; clock: ManualClock; vendor: ReturnType<typeof createFeishuVendor> }> {
  const clock = manualClock();
  fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => clock.now() });
  const vendor = createFeishuVendor({
    config: { appId: APP_ID, appSecret: APP_SECRET, baseUrl: fake.url, mode: 'webhook' },
    store: createMemoryStore({ clock }), clock, log: silentLogger, metrics: createMetrics({ defaults: false }),
  });
  return { fake, clock, vendor };
}

/** Runs `p` to the end, moving the manual clock whenever it waits. */
async function settle<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  watched.catch(() => undefined);
  for (let i = 0; i < 2000 && !done; i++) {
    await new Promise((r) => setTimeout(r, 1));
    if (clock.waiting > 0) await clock.advance(1000);
  }
  return watched;
}

describe('Feishu VC times and samples', () => {
  it('turns "2022.12.23 11:16:59 (GMT+08:00)" and digit strings into unix seconds', () => {
    expect(parseFeishuTime('2022.12.23 11:16:59 (GMT+08:00)')).toBe(Date.UTC(2022, 11, 23, 3, 16, 59) / 1000);
    expect(parseFeishuTime('2022.12.23 11:16:59 (GMT-05:30)')).toBe(Date.UTC(2022, 11, 23, 16, 46, 59) / 1000);
    expect(parseFeishuTime('2022.12.23 11:17:00')).toBe(Date.UTC(2022, 11, 23, 3, 17, 0) / 1000);
    expect(parseFeishuTime('1655276858')).toBe(1655276858);
    expect(parseFeishuTime('1655276858000')).toBe(1655276858);
    expect(parseFeishuTime('')).toBeUndefined();
    expect(parseFeishuTime('yesterday')).toBeUndefined();
    expect(parseFeishuTime(feishuTime(1_700_000_000))).toBe(1_700_000_000);
  });

  it('reads unit-suffixed values and keeps a camera that is off as not measured', () => {
    expect(readNumber('100ms')).toBe(100);
    expect(readNumber('0.8%')).toBe(0.8);
    expect(readNumber('1.5Mbps')).toBe(1500);
    expect(readNumber('-')).toBeUndefined();
    const s = toSample(qualitySample({ loss: 12, delay: 320, fps: 0 }), 'tcp');
    expect(s).toMatchObject({ delayMs: 320, lossPct: 12, screenFps: 0, screenBitrateKbps: 0, transport: 'tcp' });
    expect(toSample({})).toEqual({});
  });
});

describe('Feishu VC vendor', () => {
  it('several meetings with one number: the most recent ended one, and the card says which; --at picks another', async () => {
    const { fake, clock, vendor } = await setup();
    const now = Math.floor(clock.now() / 1000);
    fake.meetings.push(meeting('123456789', 2, { start: now - 3 * 86_400, topic: 'Older' }));
    fake.meetings.push(meeting('123456789', 3, { start: now - 86_400, topic: 'Newer' }));
    fake.meetings.push(meeting('123456789', 1, { start: now - 600, end: undefined, topic: 'Running now' }));
    const report = await settle(clock, vendor.fetchReport({ meeting: { vendor: 'feishu', code: '123456789' }, lang: 'en' }, {}));
    expect(report.meeting.subject).toBe('Newer');
    expect(report.attendees).toHaveLength(3);
    expect(report.attendees.every((a) => !a.loaded && a.ref)).toBe(true);
    expect(notesIn('en', report).join()).toContain('This number had 2 meetings; showing the most recent ended one');
    const q = fake.vcCalls('meeting_list')[0]!.query;
    expect(Number(q.end_time) - Number(q.start_time)).toBe(7 * 86_400);

    const older = new Date((now - 3 * 86_400 + 8 * 3600) * 1000).toISOString().slice(0, 10);
    const atReport = await settle(clock, vendor.fetchReport({ meeting: { code: '123456789' }, at: { date: older }, lang: 'en' }, {}));
    expect(atReport.meeting.subject).toBe('Older');
  });

  it('grades the worst sustained value, not one spike; no samples and unknown devices are no data', async () => {
    const { fake, clock, vendor } = await setup();
    const m = meeting('123456789', 4, { bad: [0], spike: [1], silent: [2] });
    fake.meetings.push(m);
    const report = await settle(clock, vendor.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}));
    // Person 3 is asked for with a join time Feishu does not know: 126010 → no data, not a failure.
    report.attendees[3]!.ref = { ...report.attendees[3]!.ref!, join: 1 };
    const loaded = await settle(clock, vendor.loadAttendees!(report, report.attendees, { lang: 'en' }));
    expect(loaded.map((a) => a.health)).toEqual([2, 1, 0, 0]);
    expect(loaded[0]!.problems.join()).toMatch(/packet loss.*15%/);
    expect(loaded[0]!.ratings.network).toBe(4);
    expect(loaded[1]!.problems).toEqual([]);
    expect(loaded.every((a) => a.loaded)).toBe(true);
  });

  it('meeting numbers that are not 9 digits never reach Feishu; unknown numbers are not found', async () => {
    const { fake, clock, vendor } = await setup();
    await expect(vendor.fetchReport({ meeting: { code: '1234567890' }, lang: 'en' }, {})).rejects.toMatchObject({ code: 'meeting_not_found' });
    expect(fake.calls).toHaveLength(0);
    await expect(settle(clock, vendor.fetchReport({ meeting: { code: '999888777' }, lang: 'en' }, {}))).rejects.toMatchObject({ code: 'meeting_not_found' });
  });

  it('a token rejected again after the one retry is vendor_auth; 5xx are retried; wrong secrets are vendor_auth', async () => {
    const { fake, clock, vendor } = await setup();
    fake.meetings.push(meeting('123456789', 1));
    fake.failNext('meeting_list', 2, { status: 401, code: 99991663, msg: 'Invalid access token for authorization' });
    const err = await settle(clock, vendor.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeetcheckError);
    expect((err as MeetcheckError).code).toBe('vendor_auth');
    expect(fake.vcCalls('meeting_list')).toHaveLength(2);

    fake.failNext('meeting_list', 2, { status: 500, code: 121001, msg: 'internal error' });
    const ok = await settle(clock, vendor.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}));
    expect(ok.attendees).toHaveLength(1);

    const wrong = createFeishuVendor({
      config: { appId: APP_ID, appSecret: 'wrong', baseUrl: fake.url, mode: 'webhook' },
      store: createMemoryStore({ clock }), clock, log: silentLogger, metrics: createMetrics({ defaults: false }),
    });
    await expect(settle(clock, wrong.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}))).rejects.toMatchObject({ code: 'vendor_auth' });
  });
});

describe('Feishu VC at the rate-limit floor: 100 in any window, shared through the store', () => {
  /** Lets the vendor's calls run (real I/O to the fake) without moving the manual clock, until `done()` or nothing more moves. */
  async function runIdle(clock: ManualClock, done: () => boolean): Promise<void> {
    for (let i = 0; i < 2000 && !(done() && clock.waiting > 0); i++) await new Promise((r) => setTimeout(r, 1));
  }

  it('the first 100 quality calls go at once, the next 100 one window (61 s) later, and Feishu never answers 429', async () => {
    const { fake, clock, vendor } = await setup();
    fake.meetings.push(meeting('123456789', 250));
    const report = await settle(clock, vendor.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}));
    const quality = () => fake.vcCalls('participant_quality_list').length;
    const loading = vendor.loadAttendees!(report, report.attendees, { lang: 'en' });
    loading.catch(() => undefined);
    await runIdle(clock, () => quality() === 100);
    expect(quality()).toBe(100);
    // A minute is not enough: the window is a second longer than Feishu's (clock jitter between us and Feishu).
    await clock.advance(60_000);
    await runIdle(clock, () => false);
    expect(quality()).toBe(100);
    await clock.advance(1_100);
    await runIdle(clock, () => quality() === 200);
    expect(quality()).toBe(200);
    await clock.advance(61_100);
    const loaded = await loading;
    // Exactly one call per person: none was refused and retried.
    expect(quality()).toBe(250);
    expect(loaded.every((a) => a.loaded)).toBe(true);
  });

  it('two replicas (one store) share one window between them', async () => {
    const clock = manualClock();
    fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => clock.now() });
    const store = createMemoryStore({ clock });
    const replica = () => createFeishuVendor({
      config: { appId: APP_ID, appSecret: APP_SECRET, baseUrl: fake!.url, mode: 'webhook' },
      store, clock, log: silentLogger, metrics: createMetrics({ defaults: false }),
    });
    const [a, b] = [replica(), replica()];
    fake.meetings.push(meeting('123456789', 70));
    const ra = await settle(clock, a.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}));
    const rb = await settle(clock, b.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}));
    const loads = [a.loadAttendees!(ra, ra.attendees, { lang: 'en' }), b.loadAttendees!(rb, rb.attendees, { lang: 'en' })];
    for (const l of loads) l.catch(() => undefined);
    const quality = () => fake!.vcCalls('participant_quality_list').length;
    await runIdle(clock, () => quality() === 100);
    await runIdle(clock, () => false);
    expect(quality()).toBe(100);
    await clock.advance(61_100);
    await Promise.all(loads);
    expect(quality()).toBe(140);
  });
});

describe('Feishu VC meetings longer than a day (F7)', () => {
  /** A 30-hour meeting: one person joins in the first hour, one on the second day. */
  function longMeeting(now: number) {
    const m = meeting('123456789', 2, { start: now - 40 * 3600 + 17, end: now - 10 * 3600 + 42 });
    m.participants[1]!.join = m.start + 26 * 3600;
    return m;
  }

  it('asks in windows of at most a day, the last ending at the exact end, and finds who joined on day two', async () => {
    const { fake, clock, vendor } = await setup();
    const m = longMeeting(Math.floor(clock.now() / 1000));
    fake.meetings.push(m);
    const report = await settle(clock, vendor.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}));
    const windows = fake.vcCalls('participant_list').map((c) => [Number(c.query.meeting_start_time), Number(c.query.meeting_end_time)]);
    expect(windows).toEqual([[m.start, m.start + 86_400], [m.start + 86_400, m.end!]]);
    expect(report.attendees.map((a) => a.name).sort()).toEqual(['Person 000', 'Person 001']);
    expect(report.complete).toBe(true);
    const loaded = await settle(clock, vendor.loadAttendees!(report, report.attendees, { lang: 'en' }));
    expect(loaded.every((a) => a.loaded && a.health === 1)).toBe(true);
    // Each person's quality was asked for in the window they were listed in.
    const q = fake.vcCalls('participant_quality_list').map((c) => Number(c.query.meeting_start_time)).sort();
    expect(q).toEqual([m.start, m.start + 86_400]);
  });

  it('a meeting of a day or less is asked for with its exact end', async () => {
    const { fake, clock, vendor } = await setup();
    const now = Math.floor(clock.now() / 1000);
    const m = meeting('123456789', 1, { start: now - 25 * 3600, end: now - 25 * 3600 + 86_400 });
    fake.meetings.push(m);
    await settle(clock, vendor.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}));
    expect(fake.vcCalls('participant_list').map((c) => Number(c.query.meeting_end_time))).toEqual([m.end]);
  });

  it('when Feishu refuses the windows, the report says it could not list past the first day', async () => {
    const clock = manualClock();
    fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => clock.now(), longMeetings: 'refuse' });
    const vendor = createFeishuVendor({
      config: { appId: APP_ID, appSecret: APP_SECRET, baseUrl: fake.url, mode: 'webhook' },
      store: createMemoryStore({ clock }), clock, log: silentLogger, metrics: createMetrics({ defaults: false }),
    });
    fake.meetings.push(longMeeting(Math.floor(clock.now() / 1000)));
    const report = await settle(clock, vendor.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}));
    expect(report.complete).toBe(false);
    expect(report.attendees).toEqual([]);
    expect(notesIn('en', report).join()).toContain('the meeting ran 30 h and Feishu would not list participants past its first 24 h');
  });
});

describe('Feishu VC time text in the vendor (F6)', () => {
  it('a meeting whose end time text cannot be read is logged once per shape, never by value', async () => {
    const clock = manualClock();
    fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => clock.now() });
    const lines: string[] = [];
    const log = createLogger('info', { write: (s: string) => void lines.push(s) } as never);
    const vendor = createFeishuVendor({
      config: { appId: APP_ID, appSecret: APP_SECRET, baseUrl: fake.url, mode: 'webhook' },
      store: createMemoryStore({ clock }), clock, log, metrics: createMetrics({ defaults: false }),
    });
    fake.meetings.push(meeting('123456789', 1));
    fake.timeText = (unix) => `${feishuTime(unix).slice(0, 19)} (Asia/Shanghai)`;
    for (let i = 0; i < 2; i++) {
      await expect(settle(clock, vendor.fetchReport({ meeting: { code: '123456789' }, lang: 'en' }, {}))).rejects.toMatchObject({ code: 'meeting_not_ended' });
    }
    const unread = lines.map((l) => JSON.parse(l) as { msg: string; shape?: string; field?: string }).filter((l) => l.msg === 'a Feishu time text we cannot read');
    expect(unread.map((l) => [l.field, l.shape])).toEqual([
      ['meeting_start_time', '9999.99.99 99:99:99 (Asia/Shanghai)'],
    ]);
  });
});
