import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TencentConfig } from '../../src/config.js';
import { MeetcheckError } from '../../src/core/errors.js';
import type { MeetingReport } from '../../src/core/model.js';
import type { FetchOptions, VendorQuery } from '../../src/core/vendor.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { APP_RATE, appBudgetKey } from '../../src/vendors/tencent/api.js';
import { createTencentVendor } from '../../src/vendors/tencent/index.js';
import { manualClock, type ManualClock, notesIn } from '../helpers/core.js';
import { manyAttendees, startFakeTencent, type FakeAttendee, type FakeTencent } from '../fakes/tencent-meeting.js';

const OPERATOR = "admin o'ps+1";
let clock: ManualClock;
let fake: FakeTencent;
let store: Store;
let nowS: number;

function config(over: Partial<TencentConfig> = {}): TencentConfig {
  return { appId: '200000001', secretId: 'AKIDsecretid', secretKey: 'the-secret-key', operatorId: OPERATOR, baseUrl: fake.url, ...over };
}
function vendor(over: Partial<TencentConfig> = {}) {
  return createTencentVendor({ config: config(over), store, clock, log: silentLogger, metrics: createMetrics({ defaults: false }) });
}
const q = (meeting: VendorQuery['meeting'], extra: Partial<VendorQuery> = {}): VendorQuery => ({ meeting: { vendor: 'tencent', ...meeting }, lang: 'en', ...extra });

async function settle<T>(p: Promise<T>): Promise<T> {
  // Lets background sleeps (rate-limit back-off) pass on the manual clock while HTTP runs for real.
  let result: { ok: true; value: T } | { ok: false; err: unknown } | undefined;
  void p.then((value) => { result = { ok: true, value }; }, (err: unknown) => { result = { ok: false, err }; });
  while (!result) {
    await new Promise((r) => setImmediate(r));
    if (clock.waiting > 0) await clock.advance(1000);
  }
  if (!result.ok) throw result.err;
  return result.value;
}

async function fetchReport(query: VendorQuery, opts: FetchOptions = {}, over: Partial<TencentConfig> = {}): Promise<MeetingReport> {
  return settle(vendor(over).fetchReport(query, opts));
}
async function fetchError(query: VendorQuery, opts: FetchOptions = {}, over: Partial<TencentConfig> = {}): Promise<MeetcheckError> {
  try {
    await fetchReport(query, opts, over);
  } catch (err) {
    expect(err).toBeInstanceOf(MeetcheckError);
    return err as MeetcheckError;
  }
  throw new Error('expected an error');
}

const BIG_ID = '7567173273889276131'; // > 2^53: must never pass through a JS number

beforeEach(async () => {
  clock = manualClock();
  nowS = Math.floor(clock.now() / 1000);
  store = createMemoryStore({ clock });
  fake = await startFakeTencent({ appId: '200000001', secretId: 'AKIDsecretid', secretKey: 'the-secret-key', now: () => clock.now(), operatorId: OPERATOR });
});
afterEach(async () => {
  await fake.close();
});

function smallMeeting(attendees: FakeAttendee[], over: Partial<Parameters<typeof fake.meetings.push>[0]> = {}) {
  fake.meetings.push({
    meetingId: BIG_ID, code: '806146667', subject: '周会', status: 'MEETING_STATE_ENDED',
    startTime: nowS - 7200, endTime: nowS - 3600, attendees, ...over,
  });
}

describe('Tencent Meeting vendor: ended meetings', () => {
  it('resolves the code, joins /quality with /participants, decodes base64 names, keeps the id a string', async () => {
    const s = nowS - 7200;
    smallMeeting([
      { userid: 'zhangsan', msOpenId: 'msA', name: '张三', instanceid: 1, userRole: 3, sessions: [[s, s + 600], [s + 900, s + 3000]],
        quality: { quality: 2, audio: 4, video: 3, screen: 0, network: 4, problems: ['网络丢包率高'] } },
      { msOpenId: 'msB', name: '<at id=all></at>', instanceid: 4, userRole: 6, sessions: [[s + 10, s + 3000]],
        quality: { quality: 1, audio: 1, video: 2, screen: 0, network: 1 } },
      // On the list, but /quality has no row for this PSTN caller: listed as "no data", never "good".
      { msOpenId: 'msC', name: 'Phone guest', instanceid: 0, userRole: 4, sessions: [[s + 20, s + 1200]] },
    ]);
    const r = await fetchReport(q({ code: '806146667' }));
    expect(r.meeting).toMatchObject({ vendor: 'tencent', meetingId: BIG_ID, code: '806146667', subject: '周会', ended: true });
    expect(r.complete).toBe(true);
    const byName = new Map(r.attendees.map((a) => [a.name, a]));
    expect(byName.get('张三')).toMatchObject({ device: 'pc', role: 'host', health: 2, ratings: { audio: 4, video: 3, screen: 0, network: 4 }, problems: ['网络丢包率高'], joinedAt: s, leftAt: s + 3000 });
    expect(byName.get('<at id=all></at>')).toMatchObject({ device: 'ios', role: 'cohost', health: 1 });
    expect(byName.get('Phone guest')).toMatchObject({ device: 'pstn', role: 'guest', health: 0, ratings: { audio: 0, video: 0, screen: 0, network: 0 } });
    expect(r.attendees).toHaveLength(3);
    expect(notesIn('en', r)).toContain("Problem texts are the vendor's own.");
    // Every request passed the fake's signature check, and the ids went out as sent.
    expect(fake.calls.every((c) => c.outcome === 200)).toBe(true);
    expect(fake.calls.filter((c) => c.path === `/v1/meetings/${BIG_ID}/quality`)).toHaveLength(1);
    expect(fake.calls[0]!.query.get('userid')).toBe(OPERATOR);
  });

  it('pages 5,000 attendees: page 1, then the rest in parallel, under the shared budget', { timeout: 8000 }, async () => {
    const s = nowS - 7200;
    smallMeeting(manyAttendees(5000, s));
    // Pages 2–100 of /quality only get answers 50 at a time: sequential paging would never finish.
    fake.barrier = { path: /\/quality$/, size: 50, expected: 99 };
    const progress: number[] = [];
    const r = await fetchReport(q({ code: '806146667' }), { onProgress: (p) => progress.push(p.loaded) });
    expect(r.attendees).toHaveLength(5000);
    expect(r.complete).toBe(true);
    expect(r.attendees.filter((a) => a.health === 2)).toHaveLength(500);
    expect(new Set(r.attendees.map((a) => a.key)).size).toBe(5000);
    const quality = fake.calls.filter((c) => c.path.endsWith('/quality'));
    const participants = fake.calls.filter((c) => c.path.endsWith('/participants'));
    expect(quality).toHaveLength(100);
    expect(new Set(quality.map((c) => c.query.get('page'))).size).toBe(100);
    expect(participants).toHaveLength(50);
    expect(fake.barrierWaves).toBe(2);
    expect(fake.calls.every((c) => c.outcome === 200)).toBe(true);
    expect(progress.at(-1)).toBe(5000);
    // 151 calls: each one a token from the app's 300/min budget.
    const left = await store.take(appBudgetKey('200000001'), APP_RATE);
    expect(left.ok).toBe(true);
  });

  it('without the quality add-on (permission error), lists the participants and says health needs it', async () => {
    await fake.close();
    fake = await startFakeTencent({ appId: '200000001', secretId: 'AKIDsecretid', secretKey: 'the-secret-key', now: () => clock.now(), operatorId: OPERATOR, qualityAddonMissing: 9042 });
    smallMeeting(manyAttendees(3, nowS - 7200));
    const r = await fetchReport(q({ code: '806146667' }));
    expect(r.attendees.map((a) => a.name).sort()).toEqual(['参会者0', '参会者1', '参会者2']);
    expect(r.attendees.every((a) => a.health === 0 && a.loaded)).toBe(true);
    expect(r.health).toBe(0);
    expect(notesIn('en', r)).toContain("Health needs Tencent Meeting's quality add-on; listing attendees only.");
  });

  it('a recurring meeting: the latest past occurrence by default, --at picks another; sub_meeting_id sent', async () => {
    const day = 86400;
    const first = nowS - 2 * day;
    const second = nowS - 2 * 3600;
    fake.meetings.push({
      meetingId: BIG_ID, code: '806146667', subject: 'Standup', status: 'MEETING_STATE_INIT', meetingType: 1,
      startTime: first, endTime: first + 1800, currentSubMeetingId: 'sub3',
      subMeetings: [
        { subMeetingId: 'sub1', startTime: first, endTime: first + 1800 },
        { subMeetingId: 'sub2', startTime: second, endTime: second + 1800 },
        { subMeetingId: 'sub3', startTime: nowS + day, endTime: nowS + day + 1800 },
      ],
      bySub: { sub1: manyAttendees(2, first, 'a'), sub2: manyAttendees(4, second, 'b') },
    });
    const latest = await fetchReport(q({ code: '806-146-667'.replace(/-/g, '') }));
    expect(latest.attendees).toHaveLength(4);
    expect(latest.meeting.subMeetingId).toBe('sub2');
    expect(notesIn('en', latest)[0]).toMatch(/had 2 meetings/);
    const d = new Date((first + 8 * 3600) * 1000).toISOString().slice(0, 10);
    const earlier = await fetchReport(q({ code: '806146667' }, { at: { date: d } }));
    expect(earlier.attendees).toHaveLength(2);
    expect(earlier.meeting.subMeetingId).toBe('sub1');
    expect(fake.calls.filter((c) => c.path.endsWith('/quality')).map((c) => c.query.get('sub_meeting_id'))).toEqual(['sub2', 'sub1']);
  });

  it('looks a meeting up by its meeting_id too', async () => {
    smallMeeting(manyAttendees(2, nowS - 7200));
    const r = await fetchReport(q({ id: BIG_ID }));
    expect(r.attendees).toHaveLength(2);
    expect(fake.calls[0]!.path).toBe(`/v1/meetings/${BIG_ID}`);
  });
});

describe('Tencent Meeting vendor: meetings in progress (/qos)', () => {
  it('derives health from live samples with the core thresholds, within the per-meeting budget', async () => {
    const s = nowS - 600;
    smallMeeting([
      { msOpenId: 'msA', name: '李四', instanceid: 1, sessions: [[s, undefined]],
        qos: [{ delay: 80, upLoss: 15, downLoss: 0, audioKbps: 40, videoFps: 25, videoKbps: 900 }] },
      { msOpenId: 'msB', name: 'Bob', instanceid: 2, sessions: [[s, undefined]],
        qos: [{ delay: 40, upLoss: 0, downLoss: 0.2, audioKbps: 48, videoFps: 30, videoKbps: 1200 }] },
    ], { status: 'MEETING_STATE_STARTED', startTime: s, endTime: nowS + 3600 });
    const r = await fetchReport(q({ code: '806146667' }));
    expect(r.meeting.ended).toBe(false);
    const li = r.attendees.find((a) => a.name === '李四')!;
    expect(li).toMatchObject({ health: 2, ratings: { network: 4 } });
    expect(li.problems.join()).toMatch(/packet loss/);
    expect(li.leftAt).toBeUndefined();
    expect(r.attendees.find((a) => a.name === 'Bob')).toMatchObject({ health: 1, ratings: { network: 1, video: 1, audio: 1 } });
    expect(fake.calls.some((c) => c.path.endsWith('/quality'))).toBe(false);
    const qosBudget = await store.take(`rate:tencent:qos:${BIG_ID}`, { limit: 30, windowMs: 60_000 });
    expect(qosBudget.ok).toBe(true);
  });

  it('a meeting that ends between lookup and /qos (13603) falls back to the ended-meeting data', async () => {
    smallMeeting(manyAttendees(3, nowS - 7200), { status: 'MEETING_STATE_STARTED' });
    fake.failures.push({ path: /\/qos$/, status: 400, errorCode: 13603, message: '会议已结束', times: 1 });
    const r = await fetchReport(q({ code: '806146667' }));
    expect(r.meeting.ended).toBe(true);
    expect(r.attendees.filter((a) => a.health !== 0)).toHaveLength(3);
  });
});

describe('Tencent Meeting vendor: errors and limits', () => {
  it('an unknown code is meeting_not_found; a non-numeric id never reaches a URL', async () => {
    expect((await fetchError(q({ code: '111222333' }))).code).toBe('meeting_not_found');
    // Not listed (9003), and no ended room under that code either.
    expect(fake.calls.map((c) => c.path)).toEqual(['/v1/meetings', '/v1/corp/meetings', '/v1/corp/meetings']);
    const before = fake.calls.length;
    expect((await fetchError(q({ id: 'abc_defghijklmnop' }))).code).toBe('meeting_not_found');
    expect(fake.calls).toHaveLength(before);
  });

  it('a wrong secret key fails the fake\'s signature check (200003) → vendor_auth', async () => {
    smallMeeting(manyAttendees(1, nowS - 7200));
    const e = await fetchError(q({ code: '806146667' }), {}, { secretKey: 'not-the-key' });
    expect(e.code).toBe('vendor_auth');
    expect(e.detail).toContain('200003');
  });

  it('SdkId: sent when assigned, never when not (190303 otherwise)', async () => {
    smallMeeting(manyAttendees(1, nowS - 7200));
    expect((await fetchError(q({ code: '806146667' }), {}, { sdkId: '18000001' })).code).toBe('vendor_auth');
    await fake.close();
    fake = await startFakeTencent({ appId: '200000001', sdkId: '18000001', secretId: 'AKIDsecretid', secretKey: 'the-secret-key', now: () => clock.now(), operatorId: OPERATOR });
    smallMeeting(manyAttendees(1, nowS - 7200));
    expect((await fetchReport(q({ code: '806146667' }), {}, { sdkId: '18000001' })).attendees).toHaveLength(1);
    expect(fake.calls.every((c) => c.rawHeaders.SdkId === '18000001')).toBe(true);
  });

  it('retries a rate limit (190310) after its window with a fresh nonce; 960000 once; permission errors never', async () => {
    // Scheduled to end 10 minutes ago: still returned by the code lookup after a minute's wait (DOC 42418).
    smallMeeting(manyAttendees(2, nowS - 7200), { endTime: nowS - 600 });
    fake.failures.push({ path: /^\/v1\/meetings$/, status: 500, errorCode: 190310, times: 1 });
    fake.failures.push({ path: /\/participants$/, status: 500, errorCode: 960000, times: 1 });
    const t0 = clock.now();
    const r = await fetchReport(q({ code: '806146667' }));
    expect(r.attendees).toHaveLength(2);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(60_000);
    const lookups = fake.calls.filter((c) => c.path === '/v1/meetings');
    expect(lookups.map((c) => c.outcome)).toEqual([500, 200]);
    expect(lookups[0]!.rawHeaders['X-TC-Nonce']).not.toBe(lookups[1]!.rawHeaders['X-TC-Nonce']);
    expect(fake.calls.filter((c) => c.path.endsWith('/participants')).map((c) => c.outcome)).toEqual([500, 200]);

    // A permission error is not retried (and costs the names only, see rooms.test.ts).
    fake.failures.push({ path: /\/participants$/, status: 403, errorCode: 9042, times: 5 });
    const before = fake.calls.length;
    const denied = await fetchReport(q({ code: '806146667' }));
    expect(notesIn('en', denied).join()).toMatch(/No participant list \(Tencent Meeting said 9042\)/);
    expect(fake.calls.slice(before).filter((c) => c.path.endsWith('/participants'))).toHaveLength(1);
  });

  it('with a deadline, a rate limit is not waited out: rate_limited with a retry time', async () => {
    smallMeeting(manyAttendees(1, nowS - 7200));
    fake.failures.push({ path: /^\/v1\/meetings$/, status: 500, errorCode: 190310, times: 1 });
    const e = await fetchError(q({ code: '806146667' }), { deadline: clock.now() + 10_000 });
    expect(e.code).toBe('rate_limited');
    expect(e.options.retryAfterMs).toBeGreaterThan(60_000);
  });

  it('stops at the deadline with what it has, marked partial, when the shared budget is spent', async () => {
    smallMeeting(manyAttendees(90, nowS - 7200));
    // Four calls left: the lookup, the ended-rooms list, /quality page 1 and /participants.
    for (let i = 0; i < 296; i++) await store.take(appBudgetKey('200000001'), APP_RATE);
    const r = await fetchReport(q({ code: '806146667' }), { deadline: clock.now() + 100 });
    expect(r.complete).toBe(false);
    expect(r.attendees).toHaveLength(90);
    expect(r.attendees.filter((a) => a.health !== 0)).toHaveLength(50);
    expect(notesIn('en', r).join()).toMatch(/Partial result/);
  });

  it('too old (> 7 days) and not yet started meetings get their own answers', async () => {
    smallMeeting(manyAttendees(1, nowS - 8 * 86400), { startTime: nowS - 8 * 86400, endTime: nowS - 8 * 86400 + 3600 });
    expect((await fetchError(q({ code: '806146667' }))).code).toBe('meeting_too_old');
    fake.meetings.length = 0;
    smallMeeting([], { status: 'MEETING_STATE_INIT', startTime: nowS + 3600, endTime: nowS + 7200 });
    expect((await fetchError(q({ code: '806146667' }))).code).toBe('meeting_not_ended');
  });
});
