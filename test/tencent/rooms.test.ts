import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TencentConfig } from '../../src/config.js';
import { MeetcheckError } from '../../src/core/errors.js';
import type { FetchOptions, VendorQuery } from '../../src/core/vendor.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { createTencentVendor } from '../../src/vendors/tencent/index.js';
import { manualClock, type ManualClock, notesIn } from '../helpers/core.js';
import { manyAttendees, startFakeTencent, type FakeAttendee, type FakeMeeting, type FakeTencent, type FakeTencentOptions } from '../fakes/tencent-meeting.js';

/**
 * Ended meetings as Tencent really shows them: a one-time meeting that was ended, or is 1 h past
 * its scheduled end, is gone from /v1/meetings (DOC 42418) and found through the ended-meeting
 * lists, which also name each media room's real start for /quality (DOC 52492, 53805, 80575).
 */
const OPERATOR = 'admin1';
const ID = '7567173273889276131';
const CODE = '806146667';
let clock: ManualClock;
let fake: FakeTencent;
let nowS: number;
let logs: Record<string, unknown>[];

async function startFake(over: Partial<FakeTencentOptions> = {}) {
  await fake?.close();
  fake = await startFakeTencent({ appId: '200000001', secretId: 'AKIDsecretid', secretKey: 'the-secret-key', now: () => clock.now(), operatorId: OPERATOR, ...over });
}

beforeEach(async () => {
  clock = manualClock();
  nowS = Math.floor(clock.now() / 1000);
  logs = [];
  await startFake();
});
afterEach(async () => {
  await fake.close();
});

function vendor() {
  const config: TencentConfig = { appId: '200000001', secretId: 'AKIDsecretid', secretKey: 'the-secret-key', operatorId: OPERATOR, baseUrl: fake.url };
  const log = createLogger('info', new Writable({ write(chunk, _e, cb) { logs.push(JSON.parse(String(chunk)) as Record<string, unknown>); cb(); } }));
  return createTencentVendor({ config, store: createMemoryStore({ clock }), clock, log, metrics: createMetrics({ defaults: false }) });
}
const q = (meeting: VendorQuery['meeting'], extra: Partial<VendorQuery> = {}): VendorQuery => ({ meeting: { vendor: 'tencent', ...meeting }, lang: 'en', ...extra });

async function settle<T>(p: Promise<T>): Promise<T> {
  let result: { ok: true; value: T } | { ok: false; err: unknown } | undefined;
  void p.then((value) => { result = { ok: true, value }; }, (err: unknown) => { result = { ok: false, err }; });
  while (!result) {
    await new Promise((r) => setImmediate(r));
    if (clock.waiting > 0) await clock.advance(1000);
  }
  if (!result.ok) throw result.err;
  return result.value;
}
const fetchReport = (query: VendorQuery, opts: FetchOptions = {}) => settle(vendor().fetchReport(query, opts));
async function fetchError(query: VendorQuery, opts: FetchOptions = {}): Promise<MeetcheckError> {
  const err = await fetchReport(query, opts).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(MeetcheckError);
  return err as MeetcheckError;
}

const qualityCalls = () => fake.calls.filter((c) => c.path.endsWith('/quality'));
const participantCalls = () => fake.calls.filter((c) => c.path.endsWith('/participants'));
const shapeLogs = () => logs.filter((l) => l.msg === 'tencent ended-meeting list: shape seen').map((l) => ({ source: l.source, timeUnit: l.timeUnit, window: l.window }));

function people(n: number, start: number, prefix: string, len = 1500): FakeAttendee[] {
  return manyAttendees(n, start, prefix).map((a) => ({ ...a, sessions: [[start + (a.sessions[0]![0] - start), start + len]] as [number, number | undefined][] }));
}

/** Yesterday 10:00–11:00 (Asia/Shanghai), held 10:02–10:40 and ended by its host: the case. */
function endedEarlyYesterday(over: Partial<FakeMeeting> = {}) {
  const sched = nowS - 86_400 - 2 * 3600;
  const m: FakeMeeting = {
    meetingId: ID, code: CODE, subject: '周会', status: 'MEETING_STATE_INIT', meetingType: 0,
    startTime: sched, endTime: sched + 3600, endedByHost: true,
    rooms: [{ start: sched + 120, end: sched + 120 + 38 * 60, attendees: people(3, sched + 120, 'a', 38 * 60) }],
    ...over,
  };
  fake.meetings.push(m);
  return m;
}

describe('Tencent: a one-time meeting its host ended early yesterday', () => {
  for (const unlistedAnswer of ['error', 'empty'] as const) {
    it(`is found through /v1/corp/meetings when /v1/meetings no longer returns it (${unlistedAnswer === 'error' ? '9003' : 'empty list'})`, async () => {
      await startFake({ unlistedAnswer });
      const m = endedEarlyYesterday();
      const r = await fetchReport(q({ code: CODE }));
      expect(r.meeting).toMatchObject({ meetingId: ID, code: CODE, subject: '周会', ended: true, startTime: m.rooms![0]!.start, endTime: m.rooms![0]!.end });
      expect(r.attendees).toHaveLength(3);
      expect(r.attendees.filter((a) => a.health !== 0)).toHaveLength(3);
      expect(r.complete).toBe(true);
      const lookup = fake.calls[0]!;
      expect(lookup.path).toBe('/v1/meetings');
      expect(lookup.outcome).toBe(unlistedAnswer === 'error' ? 400 : 200);
      // The code lookup keeps userid + instanceid, and asks for every occurrence (DOC 42421).
      expect(Object.fromEntries(lookup.query)).toEqual({ meeting_code: CODE, userid: OPERATOR, instanceid: '1', is_show_all_sub_meetings: '1' });
      const corp = fake.calls.find((c) => c.path === '/v1/corp/meetings')!;
      expect(corp.query.get('meeting_state')).toBe('1');
      expect(corp.query.get('operator_id_type')).toBe('1');
      // /quality is asked from the room's real start (ms → s), not "scheduled start − 30 min".
      expect(qualityCalls().map((c) => c.query.get('start_time'))).toEqual([String(m.rooms![0]!.start)]);
      expect(fake.calls.every((c) => c.path === '/v1/meetings' || c.outcome === 200)).toBe(true);
      expect(shapeLogs()).toEqual([{ source: 'corp', timeUnit: 'ms', window: 'seconds' }]);
    });
  }

  it('accepts corp times in seconds too, and logs which unit arrived', async () => {
    await startFake({ corpTimeUnit: 's' });
    const m = endedEarlyYesterday();
    const r = await fetchReport(q({ code: CODE }));
    expect(r.meeting.startTime).toBe(m.rooms![0]!.start);
    expect(qualityCalls().map((c) => c.query.get('start_time'))).toEqual([String(m.rooms![0]!.start)]);
    expect(shapeLogs()).toEqual([{ source: 'corp', timeUnit: 's', window: 'seconds' }]);
  });

  it('a corp list that reads its window as ms (so lists nothing) is asked again without one', async () => {
    await startFake({ corpQueryUnit: 'ms' });
    endedEarlyYesterday();
    const r = await fetchReport(q({ code: CODE }));
    expect(r.attendees).toHaveLength(3);
    const corp = fake.calls.filter((c) => c.path === '/v1/corp/meetings');
    expect(corp.map((c) => c.query.has('start_time'))).toEqual([true, false]);
    expect(shapeLogs()).toEqual([{ source: 'corp', timeUnit: 'ms', window: 'none' }]);
  });

  it('by meeting_id: operator_id + operator_id_type=1 + instanceid=1 (the legacy userid alone is refused), then the corp list scanned for the id', async () => {
    endedEarlyYesterday();
    // Another meeting's room on the same page: the id picks ours.
    fake.meetings.push({ meetingId: '1111', code: '111222333', subject: 'Other', status: 'MEETING_STATE_NULL', startTime: nowS - 7200, endTime: nowS - 3600 - 600, attendees: people(2, nowS - 7000, 'o') });
    const r = await fetchReport(q({ id: ID }));
    expect(r.meeting).toMatchObject({ meetingId: ID, code: CODE, subject: '周会' });
    expect(r.attendees).toHaveLength(3);
    const byId = fake.calls[0]!;
    expect(byId.path).toBe(`/v1/meetings/${ID}`);
    expect(Object.fromEntries(byId.query)).toEqual({ operator_id: OPERATOR, operator_id_type: '1', instanceid: '1' });
    expect(byId.query.has('userid')).toBe(false);
    expect(fake.calls.find((c) => c.path === '/v1/corp/meetings')!.query.has('meeting_code')).toBe(false);
  });

  it('a meeting still listed by id (within the hour after its end) also takes its room start from the corp list', async () => {
    const sched = nowS - 3600;
    fake.meetings.push({ meetingId: ID, code: CODE, subject: 'Sync', status: 'MEETING_STATE_NULL', startTime: sched, endTime: sched + 1800, attendees: people(2, sched + 300, 'b') });
    const r = await fetchReport(q({ id: ID }));
    expect(fake.calls[0]!.outcome).toBe(200);
    expect(r.attendees).toHaveLength(2);
    expect(qualityCalls()[0]!.query.get('start_time')).toBe(String(sched + 300));
  });

  it('too old (> 7 days) even when only the corp list still has it', async () => {
    const sched = nowS - 8 * 86_400;
    fake.meetings.push({ meetingId: ID, code: CODE, subject: 'Old', status: 'MEETING_STATE_NULL', startTime: sched, endTime: sched + 3600, attendees: people(2, sched + 60, 'c') });
    // The corp list's window is 8 days: the room starting 8 days ago (+60 s) is inside it.
    expect((await fetchError(q({ code: CODE }))).code).toBe('meeting_too_old');
    expect(qualityCalls()).toHaveLength(0);
  });
});

describe('Tencent: several media rooms under one meeting', () => {
  function reopened() {
    const sched = nowS - 5 * 3600;
    const first = { start: sched + 60, end: sched + 1800, attendees: people(2, sched + 60, 'r1', 1700) };
    const second = { start: sched + 2 * 3600, end: sched + 2 * 3600 + 1200, attendees: people(4, sched + 2 * 3600, 'r2', 1100) };
    // Scheduled for 3 h, ended and re-opened the same day, now past its end (not listed).
    fake.meetings.push({ meetingId: ID, code: CODE, subject: 'Ops', status: 'MEETING_STATE_NULL', startTime: sched, endTime: sched + 3 * 3600, rooms: [first, second] });
    return { sched, first, second };
  }

  it('the latest ended room by default: /quality from its start, /participants narrowed to it', async () => {
    const { second } = reopened();
    const r = await fetchReport(q({ code: CODE }));
    expect(r.attendees).toHaveLength(4);
    expect(r.attendees.every((a) => a.key.includes('r2'))).toBe(true);
    expect(r.meeting.startTime).toBe(second.start);
    expect(notesIn('en', r)[0]).toMatch(/had 2 meetings/);
    expect(qualityCalls().map((c) => c.query.get('start_time'))).toEqual([String(second.start)]);
    const p = participantCalls()[0]!.query;
    expect([p.get('start_time'), p.get('end_time')]).toEqual([String(second.start), String(second.end)]);
  });

  it('--at names the earlier room', async () => {
    const { first } = reopened();
    const local = new Date((first.start + 8 * 3600) * 1000).toISOString();
    const r = await fetchReport(q({ code: CODE }, { at: { date: local.slice(0, 10), time: local.slice(11, 16) } }));
    expect(r.attendees).toHaveLength(2);
    expect(r.attendees.every((a) => a.key.includes('r1'))).toBe(true);
    expect(qualityCalls().map((c) => c.query.get('start_time'))).toEqual([String(first.start)]);
  });
});

describe('Tencent: when the corp list is refused, the operator\'s history', () => {
  it('corp 9042 (no 会议列表查看权限) → /v1/history/meetings/{operator}, times in seconds', async () => {
    const m = endedEarlyYesterday({ creator: OPERATOR });
    fake.failures.push({ path: /^\/v1\/corp\/meetings$/, status: 403, errorCode: 9042, times: 10 });
    const r = await fetchReport(q({ code: CODE }));
    expect(r.attendees).toHaveLength(3);
    const history = fake.calls.find((c) => c.path.startsWith('/v1/history/meetings/'))!;
    expect(history.path).toBe(`/v1/history/meetings/${OPERATOR}`);
    expect(history.query.get('meeting_code')).toBe(CODE);
    expect(Number(history.query.get('page_size'))).toBeLessThanOrEqual(20);
    // History's start may be the room's or the schedule's (UNCONFIRMED): asked from half an hour before it.
    expect(qualityCalls()[0]!.query.get('start_time')).toBe(String(m.rooms![0]!.start - 1800));
    expect(shapeLogs()).toEqual([{ source: 'history', timeUnit: 's', window: undefined }]);
  });

  it('history in milliseconds, and with scheduled times while people joined early, still finds the room', async () => {
    await startFake({ historyTimeUnit: 'ms', historyTimes: 'scheduled' });
    const m = endedEarlyYesterday({ creator: OPERATOR });
    m.rooms![0]!.start = m.startTime - 300;
    m.rooms![0]!.attendees = people(3, m.startTime - 300, 'e', 2000);
    fake.failures.push({ path: /^\/v1\/corp\/meetings$/, status: 403, errorCode: 9042, times: 10 });
    const r = await fetchReport(q({ code: CODE }));
    expect(r.attendees.filter((a) => a.health !== 0)).toHaveLength(3);
    expect(shapeLogs()).toEqual([{ source: 'history', timeUnit: 'ms', window: undefined }]);
  });

  it('corp over its 100/min (190313) with a chat deadline → history, without waiting a minute', async () => {
    endedEarlyYesterday({ creator: OPERATOR });
    fake.failures.push({ path: /^\/v1\/corp\/meetings$/, status: 500, errorCode: 190313, times: 1 });
    const t0 = clock.now();
    const r = await fetchReport(q({ code: CODE }), { deadline: clock.now() + 10_000 });
    expect(r.attendees).toHaveLength(3);
    expect(clock.now() - t0).toBeLessThan(10_000);
  });

  it('both refused and nothing listed: the corp list\'s reason', async () => {
    endedEarlyYesterday();
    fake.failures.push({ path: /^\/v1\/corp\/meetings$/, status: 403, errorCode: 9042, times: 10 });
    fake.failures.push({ path: /^\/v1\/history\//, status: 403, errorCode: 9042, times: 10 });
    expect((await fetchError(q({ code: CODE }))).code).toBe('no_permission');
  });
});

describe('Tencent: recurring meetings', () => {
  it('deleted occurrences (status 1) are skipped', async () => {
    const first = nowS - 2 * 86_400;
    fake.meetings.push({
      meetingId: ID, code: CODE, subject: 'Standup', status: 'MEETING_STATE_INIT', meetingType: 1,
      startTime: first, endTime: first + 1800, currentSubMeetingId: 'sub3',
      subMeetings: [
        { subMeetingId: 'sub1', startTime: first, endTime: first + 1800 },
        { subMeetingId: 'sub2', startTime: nowS - 7200, endTime: nowS - 5400, deleted: true },
        { subMeetingId: 'sub3', startTime: nowS + 86_400, endTime: nowS + 86_400 + 1800 },
      ],
      bySub: { sub1: people(2, first + 30, 's1') },
    });
    const r = await fetchReport(q({ code: CODE }));
    expect(r.meeting.subMeetingId).toBe('sub1');
    expect(r.attendees).toHaveLength(2);
    expect(qualityCalls().map((c) => c.query.get('sub_meeting_id'))).toEqual(['sub1']);
  });

  it('a room listed without its sub_meeting_id gets the occurrence it started in', async () => {
    await startFake({ corpOmitsSubMeetingId: true });
    const first = nowS - 2 * 86_400;
    const second = nowS - 3 * 3600;
    fake.meetings.push({
      meetingId: ID, code: CODE, subject: 'Standup', status: 'MEETING_STATE_INIT', meetingType: 1,
      startTime: first, endTime: first + 1800, currentSubMeetingId: 'sub3',
      subMeetings: [
        { subMeetingId: 'sub1', startTime: first, endTime: first + 1800 },
        { subMeetingId: 'sub2', startTime: second, endTime: second + 1800 },
        { subMeetingId: 'sub3', startTime: nowS + 86_400, endTime: nowS + 86_400 + 1800 },
      ],
      // People joined sub2 five minutes early.
      bySub: { sub1: people(2, first + 30, 's1'), sub2: people(3, second - 300, 's2') },
    });
    const r = await fetchReport(q({ code: CODE }));
    expect(r.meeting.subMeetingId).toBe('sub2');
    expect(r.attendees).toHaveLength(3);
    expect(qualityCalls().map((c) => [c.query.get('sub_meeting_id'), c.query.get('start_time')])).toEqual([['sub2', String(second - 300)]]);
  });

  it('current_sub_meeting_id in progress but missing from sub_meetings is still the live one', async () => {
    const s = nowS - 600;
    fake.meetings.push({
      meetingId: ID, code: CODE, subject: 'Standup', status: 'MEETING_STATE_STARTED', meetingType: 1,
      startTime: s, endTime: s + 1800, currentSubMeetingId: 'subL',
      subMeetings: [{ subMeetingId: 'sub0', startTime: nowS - 86_400, endTime: nowS - 86_400 + 1800 }],
      bySub: {
        subL: [{ msOpenId: 'msL', name: 'Live one', instanceid: 1, sessions: [[s, undefined]], qos: [{ delay: 40, upLoss: 0, downLoss: 0, audioKbps: 48, videoFps: 30, videoKbps: 1200 }] }],
      },
    });
    const r = await fetchReport(q({ code: CODE }));
    expect(r.meeting).toMatchObject({ ended: false, subMeetingId: 'subL' });
    expect(r.attendees.map((a) => a.name)).toEqual(['Live one']);
    expect(participantCalls()[0]!.query.get('sub_meeting_id')).toBe('subL');
    expect(fake.calls.some((c) => c.path === '/v1/corp/meetings')).toBe(false);
  });
});

describe('Tencent: partial data instead of a failed report', () => {
  it('/quality page 1 with an unpublished code: the participant list, a note with the code, the code logged', async () => {
    endedEarlyYesterday();
    fake.failures.push({ path: /\/quality$/, status: 400, errorCode: 9_300_123, message: '未开通', times: 10 });
    const r = await fetchReport(q({ code: CODE }));
    expect(r.attendees).toHaveLength(3);
    expect(r.attendees.every((a) => a.health === 0)).toBe(true);
    expect(notesIn('en', r)).toContain('Tencent Meeting gave no health data (error 9300123); listing attendees only. Health needs the quality add-on, read by an enterprise admin or super-admin.');
    expect(logs.some((l) => l.errorCode === 9_300_123 && String(l.msg).includes('unpublished code'))).toBe(true);
  });

  it('/quality refused for permission (500014): participants only, "needs the add-on"', async () => {
    endedEarlyYesterday();
    fake.failures.push({ path: /\/quality$/, status: 400, errorCode: 500014, times: 10 });
    const r = await fetchReport(q({ code: CODE }));
    expect(r.attendees).toHaveLength(3);
    expect(notesIn('en', r)).toContain("Health needs Tencent Meeting's quality add-on; listing attendees only.");
  });

  it('/participants 9042: the ratings without names, and a note naming the role needed', async () => {
    endedEarlyYesterday();
    fake.failures.push({ path: /\/participants$/, status: 403, errorCode: 9042, times: 10 });
    const r = await fetchReport(q({ code: CODE }));
    expect(r.attendees).toHaveLength(3);
    expect(r.attendees.filter((a) => a.health !== 0)).toHaveLength(3);
    // No names: the userid (same-enterprise members) stands in.
    expect(r.attendees.map((a) => a.name).sort()).toEqual(['auser0', 'auser1', 'auser2']);
    expect(notesIn('en', r)).toContain("No participant list (Tencent Meeting said 9042): it needs the operator to be the meeting's creator or an enterprise super-admin; showing ratings without names.");
  });

  it('both refused: no_permission', async () => {
    endedEarlyYesterday();
    fake.failures.push({ path: /\/participants$/, status: 403, errorCode: 9042, times: 10 });
    fake.failures.push({ path: /\/quality$/, status: 403, errorCode: 9042, times: 10 });
    expect((await fetchError(q({ code: CODE }))).code).toBe('no_permission');
  });

  it('a /quality outage is still an error (not mistaken for a missing add-on)', async () => {
    endedEarlyYesterday();
    fake.failures.push({ path: /\/quality$/, status: 500, errorCode: 960000, times: 10 });
    expect((await fetchError(q({ code: CODE }))).code).toBe('vendor_unavailable');
  });
});

describe('Tencent: a meeting-end hint (the event\'s own meeting_info)', () => {
  it('skips the by-id lookup and takes the room that closed at the event', async () => {
    const m = endedEarlyYesterday();
    const room = m.rooms![0]!;
    const r = await fetchReport(q({ id: ID, code: CODE }, { hint: { startTime: m.startTime, endTime: m.endTime, endedAt: room.end! + 5 } }));
    expect(r.attendees).toHaveLength(3);
    expect(fake.calls.some((c) => c.path === `/v1/meetings/${ID}` || c.path === '/v1/meetings')).toBe(false);
    expect(qualityCalls()[0]!.query.get('start_time')).toBe(String(room.start));
  });

  it('no list has the room yet: the event\'s times, but never from before an earlier room of the same meeting closed', async () => {
    const sched = nowS - 3 * 3600;
    const earlier = { start: sched + 60, end: sched + 1200, attendees: people(2, sched + 60, 'r1', 1100) };
    // The ended lists lag the event: they show only the earlier room so far.
    const later = { start: sched + 5400, end: nowS - 120, attendees: people(3, sched + 5400, 'r2', nowS - 120 - sched - 5400), unlisted: true };
    fake.meetings.push({ meetingId: ID, code: CODE, subject: 'Ops', status: 'MEETING_STATE_NULL', startTime: sched, endTime: sched + 3 * 3600, endedByHost: true, rooms: [earlier, later] });
    const r = await fetchReport(q({ id: ID, code: CODE }, { hint: { startTime: sched, endTime: sched + 3 * 3600, endedAt: nowS - 115 } }));
    expect(qualityCalls()[0]!.query.get('start_time')).toBe(String(earlier.end + 1));
    expect(r.attendees).toHaveLength(3);
    expect(r.attendees.every((a) => a.key.includes('r2'))).toBe(true);
  });

  it('lists refused: the event\'s own times', async () => {
    const m = endedEarlyYesterday();
    fake.failures.push({ path: /^\/v1\/corp\/meetings$/, status: 403, errorCode: 9042, times: 10 });
    fake.failures.push({ path: /^\/v1\/history\//, status: 403, errorCode: 9042, times: 10 });
    const r = await fetchReport(q({ id: ID, code: CODE }, { hint: { startTime: m.startTime, endTime: m.endTime, endedAt: m.rooms![0]!.end! } }));
    expect(qualityCalls()[0]!.query.get('start_time')).toBe(String(m.startTime - 1800));
    expect(r.attendees).toHaveLength(3);
  });
});
