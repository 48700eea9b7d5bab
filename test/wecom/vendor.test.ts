import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/core/clock.js';
import type { MeetcheckError } from '../../src/core/errors.js';
import type { Progress } from '../../src/core/vendor.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { createWecomVendor, type WecomVendor } from '../../src/vendors/wecom/index.js';
import { FAKE_CORP_ID, FAKE_SECRET, fakeMeeting, qualityRow, startFakeWecomApi, type FakeWecomApi } from '../fakes/wecom-api.js';
import { manualClock, notesIn } from '../helpers/core.js';

let api: FakeWecomApi;
let nowMs = () => Date.now();

function vendor(clock: Clock = systemClock, over: { secret?: string } = {}): WecomVendor {
  return createWecomVendor({
    corpId: FAKE_CORP_ID, secret: over.secret ?? FAKE_SECRET, baseUrl: api.url, store: createMemoryStore({ clock }), clock, log: silentLogger,
    metrics: createMetrics({ defaults: false }), retryDelayMs: 1,
  });
}

/** Asked in a WeCom chat by zhangsan, the fake meetings' default organiser. */
const query = (code = '123456789') => ({
  meeting: { vendor: 'wecom' as const, code }, lang: 'zh' as const,
  asker: { channel: 'wecom' as const, chatId: 'wrkSFfCgAAxxxx', userId: 'zhangsan' },
});

async function failure(p: Promise<unknown>): Promise<MeetcheckError> {
  try {
    await p;
  } catch (err) {
    return err as MeetcheckError;
  }
  throw new Error('expected a failure');
}

beforeEach(async () => {
  nowMs = () => Date.now();
  api = await startFakeWecomApi({ now: () => nowMs() });
});
afterEach(async () => {
  await api.close();
});

describe('WeCom meeting vendor', () => {
  it('turns a code into a report through get_info and get_quality, with ratings as WeCom gives them', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0, 1), qualityRow(1, 4, { problems: ['<at id=all></at>'] }), qualityRow(2, 1, { userid: undefined as unknown as string })] }));
    const r = await vendor().fetchReport(query(), {});
    expect(api.calls.map((c) => c.op)).toEqual(['gettoken', 'get_user_meetingid', 'get_info', 'get_quality']);
    expect(api.calls[2]!.body).toEqual({ meetingid: 'hyMEETING1' });
    expect(api.calls[3]!.body).toMatchObject({ meetingid: 'hyMEETING1', limit: 50 });
    expect(r.meeting).toMatchObject({ vendor: 'wecom', code: '123456789', meetingId: 'hyMEETING1', subject: '周例会', ended: true });
    expect(r.health).toBe(2);
    expect(r.complete).toBe(true);
    expect(r.attendees).toHaveLength(3);
    const bad = r.attendees.find((a) => a.name === 'user0001')!;
    expect(bad).toMatchObject({ health: 2, ratings: { audio: 4, video: 1, screen: 0, network: 4 }, problems: ['<at id=all></at>'], device: 'pc', loaded: true });
    expect(r.attendees.find((a) => a.name === 'user0000')!.role).toBe('attendee');
    const guest = r.attendees[2]!;
    expect(guest.role).toBe('guest');
    expect(guest.name).toContain('tmp2');
    expect(new Set(r.attendees.map((a) => a.key)).size).toBe(3);
  });

  it('asks get_quality from the first join, not the scheduled start, when people joined early', async () => {
    const m = fakeMeeting({ rows: [qualityRow(0)] });
    m.room_start = m.meeting_start - 600;
    api.add(m);
    const r = await vendor().fetchReport(query(), {});
    expect(api.calls.find((c) => c.op === 'get_quality')!.body.start_time).toBe(m.room_start);
    expect(r.attendees).toHaveLength(1);
  });

  it('loads 1,200 attendees in 24 sequential pages of 50, the same limit on every page, with progress', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) => qualityRow(i, i === 1199 ? 4 : 1));
    api.add(fakeMeeting({ rows }));
    const progress: Progress[] = [];
    const r = await vendor().fetchReport(query(), { onProgress: (p) => progress.push(p) });
    const pages = api.calls.filter((c) => c.op === 'get_quality');
    expect(pages).toHaveLength(24);
    expect(pages.every((c) => c.body.limit === 50)).toBe(true);
    expect(pages[0]!.body.cursor).toBeUndefined();
    expect(pages.slice(1).every((c) => typeof c.body.cursor === 'string')).toBe(true);
    expect(r.attendees).toHaveLength(1200);
    expect(progress.map((p) => p.loaded)).toEqual(Array.from({ length: 24 }, (_, i) => (i + 1) * 50));
    expect(r.complete).toBe(true);
  });

  it('stops at the deadline and says the report is partial', async () => {
    const clock = manualClock(Date.now());
    nowMs = () => clock.now();
    api.add(fakeMeeting({ rows: Array.from({ length: 1200 }, (_, i) => qualityRow(i)) }, clock.now()));
    // Each page "takes" 5 s on the vendor's side.
    api.onRequest = async (c) => {
      if (c.op === 'get_quality') await clock.advance(5_000);
    };
    const deadline = clock.now() + 60_000;
    const r = await vendor(clock).fetchReport(query(), { deadline });
    expect(r.complete).toBe(false);
    expect(api.count('get_quality')).toBe(12);
    expect(r.attendees).toHaveLength(600);
    expect(notesIn('zh', r)[0]).toContain('仅显示部分结果');
    expect(notesIn('zh', r)[0]).toContain('60 秒');
  });

  it('caches the token across reports until shortly before expiry', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    const clock = manualClock(Date.now());
    nowMs = () => clock.now();
    const v = vendor(clock);
    await v.fetchReport(query(), {});
    await v.fetchReport(query(), {});
    expect(api.count('gettoken')).toBe(1);
    await clock.advance(7200_000 - 6 * 60_000);
    await v.fetchReport(query(), {});
    expect(api.count('gettoken')).toBe(1);
    await clock.advance(2 * 60_000);
    await v.fetchReport(query(), {});
    expect(api.count('gettoken')).toBe(2);
  });

  it('refreshes once on 42001 and retries the call once', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    const v = vendor();
    await v.fetchReport(query(), {});
    api.expireTokens();
    const r = await v.fetchReport(query(), {});
    expect(r.attendees).toHaveLength(1);
    expect(api.count('gettoken')).toBe(2);
    // The second report finds the code in the cache; its get_info is the first call on the dead token.
    expect(api.calls.filter((c) => c.op === 'get_info').map((c) => c.token!.slice(0, 6))).toEqual(['tok-1-', 'tok-1-', 'tok-2-']);
  });

  it('shares one refresh among concurrent calls that all see 40014', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    const v = vendor();
    await v.fetchReport(query(), {});
    api.revokeTokens();
    await Promise.all(Array.from({ length: 5 }, () => v.fetchReport(query(), {})));
    expect(api.count('gettoken')).toBe(2);
  });

  it('gives up with vendor_auth when a fresh token is refused too', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    const v = vendor();
    api.onRequest = () => api.revokeTokens();
    const err = await failure(v.fetchReport(query(), {}));
    expect(err.code).toBe('vendor_auth');
    expect(api.count('gettoken')).toBe(2);
  });

  it('maps gettoken and API error codes to plain errors', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    expect((await failure(vendor(systemClock, { secret: 'wrong' }).fetchReport(query(), {}))).code).toBe('vendor_auth');
    api.tokenError = { errcode: 60020, errmsg: 'not allow to access from your ip, hint: [x], from ip: 1.2.3.4' };
    const ip = await failure(vendor().fetchReport(query(), {}));
    expect(ip.code).toBe('ip_not_trusted');
    expect(ip.detail).toContain('60020');
    delete api.tokenError;
    const cases: [number, string, string][] = [
      [48002, 'api forbidden', 'no_permission'],
      [45009, 'api freq out of limit', 'rate_limited'],
      [60020, 'not allow to access from your ip', 'ip_not_trusted'],
    ];
    for (const [errcode, errmsg, code] of cases) {
      api.meetings.get('hyMEETING1')!.fail = { get_quality: { errcode, errmsg } };
      const e = await failure(vendor().fetchReport(query(), {}));
      expect(e.code).toBe(code);
    }
    api.meetings.get('hyMEETING1')!.fail = { get_quality: { errcode: 45009, errmsg: 'api freq out of limit' } };
    expect((await failure(vendor().fetchReport(query(), {}))).options.retryAfterMs).toBe(60_000);
  });

  it('answers not visible, not ended, cancelled and too old in plain words', async () => {
    expect((await failure(vendor().fetchReport(query('987654321'), {}))).code).toBe('wecom_meeting_not_visible');
    api.add(fakeMeeting({ meetingid: 'live', meeting_code: '111111111', status: 2, rows: [] }));
    expect((await failure(vendor().fetchReport(query('111111111'), {}))).code).toBe('meeting_not_ended');
    api.add(fakeMeeting({ meetingid: 'cxl', meeting_code: '222222222', status: 4, rows: [] }));
    expect((await failure(vendor().fetchReport(query('222222222'), {}))).code).toBe('meeting_not_found');
    const old = fakeMeeting({ meetingid: 'old', meeting_code: '333333333', rows: [qualityRow(0)] });
    old.meeting_start = Math.floor(Date.now() / 1000) - 8 * 86400;
    api.add(old);
    expect((await failure(vendor().fetchReport(query('333333333'), {}))).code).toBe('meeting_too_old');
    expect(api.calls.filter((c) => c.op === 'get_quality')).toHaveLength(0);
  });

  it('explains an empty answer (meetings not created by this app return nothing)', async () => {
    api.add(fakeMeeting({ rows: [] }));
    const r = await vendor().fetchReport(query(), {});
    expect(r.attendees).toHaveLength(0);
    expect(notesIn('zh', r).join()).toContain('本应用创建');
  });

  it('retries a 5xx and then succeeds; gives up after three tries', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    api.fail5xx('get_quality', 2);
    expect((await vendor().fetchReport(query(), {})).attendees).toHaveLength(1);
    api.fail5xx('get_quality', 3);
    expect((await failure(vendor().fetchReport(query(), {}))).code).toBe('vendor_unavailable');
  });

  it('picks the latest ended occurrence of a recurring meeting, or the one named by --at', async () => {
    const now = Math.floor(Date.now() / 1000);
    const day = 86400;
    const subs = [
      { sub_meetingid: 's1', start_time: now - 3 * day, end_time: now - 3 * day + 3600 },
      { sub_meetingid: 's2', start_time: now - 1 * day, end_time: now - 1 * day + 3600 },
      { sub_meetingid: 's3', start_time: now + 1 * day, end_time: now + 1 * day + 3600 },
    ];
    api.add(fakeMeeting({ rows: [], sub_meetings: subs, subRows: { s1: [qualityRow(1)], s2: [qualityRow(2), qualityRow(3)] } }));
    const latest = await vendor().fetchReport(query(), {});
    expect(latest.meeting.subMeetingId).toBe('s2');
    expect(latest.attendees).toHaveLength(2);
    expect(notesIn('zh', latest).join()).toContain('2 场会议');
    const d = new Date((subs[0]!.start_time + 8 * 3600) * 1000).toISOString().slice(0, 10);
    const at = await vendor().fetchReport({ ...query(), at: { date: d } }, {});
    expect(at.meeting.subMeetingId).toBe('s1');
    expect(at.attendees).toHaveLength(1);
  });
  it('never picks an occurrence deleted from the series (sub_meetings[].status 1)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const day = 86400;
    const subs = [
      { sub_meetingid: 's1', start_time: now - 3 * day, end_time: now - 3 * day + 3600, status: 0 },
      { sub_meetingid: 's2', start_time: now - 1 * day, end_time: now - 1 * day + 3600, status: 1 },
    ];
    // A deleted occurrence had no media room: get_quality has nothing for it.
    api.add(fakeMeeting({ rows: [], sub_meetings: subs, subRows: { s1: [qualityRow(1)] } }));
    const r = await vendor().fetchReport(query(), {});
    expect(r.meeting.subMeetingId).toBe('s1');
    expect(r.attendees).toHaveLength(1);
    expect(api.calls.filter((c) => c.op === 'get_quality').map((c) => c.body.sub_meetingid)).toEqual(['s1']);
  });

  describe('near the 7-day edge of get_quality', () => {
    const DAY = 86400;
    let clock: ReturnType<typeof manualClock>;
    let nowS: number;
    beforeEach(() => {
      clock = manualClock(Date.UTC(2026, 10, 22, 4, 0, 0));
      nowMs = () => clock.now();
      nowS = Math.floor(clock.now() / 1000);
    });

    it('says too old when the room began before the edge, though the slot is inside it', async () => {
      const m = fakeMeeting({ rows: [qualityRow(0)] }, clock.now());
      m.meeting_start = nowS - 7 * DAY + 600;
      m.room_start = nowS - 7 * DAY - 300;
      api.add(m);
      expect((await failure(vendor(clock).fetchReport(query(), {}))).code).toBe('meeting_too_old');
      expect(api.count('get_quality')).toBe(0);
    });

    it('says too old when the room began so close to the edge that start_time would pass it', async () => {
      const m = fakeMeeting({ rows: [qualityRow(0)] }, clock.now());
      m.meeting_start = nowS - 7 * DAY + 30;
      api.add(m);
      expect((await failure(vendor(clock).fetchReport(query(), {}))).code).toBe('meeting_too_old');
      expect(api.count('get_quality')).toBe(0);
    });

    it('reports a meeting booked before the edge that began inside it, asking from the edge', async () => {
      const m = fakeMeeting({ rows: [qualityRow(0), qualityRow(1)] }, clock.now());
      m.meeting_start = nowS - 7 * DAY - 600;
      m.room_start = nowS - 7 * DAY + 1200;
      api.add(m);
      const r = await vendor(clock).fetchReport(query(), {});
      expect(r.attendees).toHaveLength(2);
      const start = api.calls.find((c) => c.op === 'get_quality')!.body.start_time as number;
      expect(start).toBe(nowS - 7 * DAY + 60);
      expect(start).toBeLessThanOrEqual(m.room_start);
    });
  });
});
