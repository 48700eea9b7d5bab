import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Asker } from '../../src/core/vendor.js';
import { parseCommand } from '../../src/core/command.js';
import { vendorAliases } from '../../src/vendors/index.js';
import { MeetcheckError } from '../../src/core/errors.js';
import { describeError } from '../../src/core/messages.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { createWecomVendor, type WecomVendor } from '../../src/vendors/wecom/index.js';
import { CODE_CACHE_TTL_MS, MAX_INFO_CALLS } from '../../src/vendors/wecom/lookup.js';
import { FAKE_CORP_ID, FAKE_SECRET, fakeMeeting, qualityRow, startFakeWecomApi, type FakeMeeting, type FakeWecomApi } from '../fakes/wecom-api.js';
import { manualClock, type ManualClock } from '../helpers/core.js';

/**
 * Meeting code → meetingid through `meeting/get_user_meetingid` (WeCom doc 99050) and get_info
 * (98149), against the fake over real HTTP. get_info's answer has no meetingid, so every code is
 * found through a member's list: the asker's, then WECOM_MEETING_ADMINS'.
 */

const DAY = 86400;
let api: FakeWecomApi;
let clock: ManualClock;
let store: Store;
let nowS: number;

beforeEach(async () => {
  clock = manualClock(Date.UTC(2026, 10, 22, 4, 0, 0));
  nowS = Math.floor(clock.now() / 1000);
  store = createMemoryStore({ clock });
  api = await startFakeWecomApi({ now: () => clock.now() });
});
afterEach(async () => {
  await api.close();
});

function vendor(opts: { admins?: string[]; log?: Logger } = {}): WecomVendor {
  return createWecomVendor({
    corpId: FAKE_CORP_ID, secret: FAKE_SECRET, baseUrl: api.url, store, clock, log: opts.log ?? silentLogger,
    metrics: createMetrics({ defaults: false }), retryDelayMs: 1, ...(opts.admins ? { admins: opts.admins } : {}),
  });
}

const wecomAsker = (userId: string): Asker => ({ channel: 'wecom', chatId: 'wrkSFfCgAAxxxx', userId });

function query(code: string, asker: Asker | null = wecomAsker('zhangsan')) {
  return { meeting: { vendor: 'wecom' as const, code }, lang: 'zh' as const, ...(asker ? { asker } : {}) };
}

/** An ended one-off meeting `hoursAgo` before now, attended by `members` (rows follow qualityRow). */
function meeting(meetingid: string, code: string, over: Partial<FakeMeeting> = {}, hoursAgo = 3): FakeMeeting {
  const m = fakeMeeting({ meetingid, meeting_code: code, rows: [qualityRow(0), qualityRow(1, 4)], ...over }, clock.now());
  m.meeting_start = nowS - hoursAgo * 3600;
  return m;
}

async function failure(p: Promise<unknown>): Promise<MeetcheckError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MeetcheckError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

const lists = () => api.calls.filter((c) => c.op === 'get_user_meetingid');
const infos = () => api.calls.filter((c) => c.op === 'get_info');

describe('a meeting code, found through the members\' meeting lists', () => {
  it('finds the code in the asker\'s list of the last 7 days, then reports it', async () => {
    api.add(meeting('hyOTHER', '111222333'));
    api.add(meeting('hyMEETING1', '123456789'));
    const r = await vendor().fetchReport(query('123456789'), {});
    expect(r.meeting).toMatchObject({ meetingId: 'hyMEETING1', code: '123456789', subject: '周例会' });
    expect(r.attendees.map((a) => a.name).sort()).toEqual(['user0000', 'user0001']);
    expect(lists().map((c) => c.body)).toEqual([{ userid: 'zhangsan', begin_time: nowS - 7 * DAY, end_time: nowS, limit: 100 }]);
    // Each listed id is looked at once; get_info by meeting_code is never used (its answer has no meetingid).
    expect(infos().map((c) => c.body.meetingid).sort()).toEqual(['hyMEETING1', 'hyOTHER']);
    expect(infos().every((c) => Object.keys(c.body).join() === 'meetingid')).toBe(true);
    expect(api.calls.find((c) => c.op === 'get_quality')!.body.meetingid).toBe('hyMEETING1');
  });

  it('matches a code WeCom writes with dashes or spaces', async () => {
    api.add(meeting('hyMEETING1', '123-456 789'));
    expect((await vendor().fetchReport(query('123456789'), {})).meeting.meetingId).toBe('hyMEETING1');
  });

  it('finds it in an admin\'s list when the asker has none, in WECOM_MEETING_ADMINS order', async () => {
    api.users.add('lisi');
    api.add(meeting('hyMEETING1', '123456789', { admin_userid: 'boss', members: ['boss', 'wangwu'] }));
    const r = await vendor({ admins: ['zhaoliu', 'wangwu', 'boss'] }).fetchReport(query('123456789', wecomAsker('lisi')), {});
    expect(r.meeting.meetingId).toBe('hyMEETING1');
    // zhaoliu is unknown to WeCom (60111) and skipped; wangwu's list has it, boss is never asked.
    expect(lists().map((c) => c.body.userid)).toEqual(['lisi', 'zhaoliu', 'wangwu']);
  });

  it('uses only the admins for a command from a Feishu chat (its user id is no WeCom userid)', async () => {
    api.add(meeting('hyMEETING1', '123456789'));
    const r = await vendor({ admins: ['zhangsan'] }).fetchReport(query('123456789', { channel: 'feishu', chatId: 'oc_1', userId: 'ou_abc' }), {});
    expect(r.meeting.meetingId).toBe('hyMEETING1');
    expect(lists().map((c) => c.body.userid)).toEqual(['zhangsan']);
  });

  it('pages through a list with its cursor, the same limit every page', async () => {
    api.listPageSize = 2;
    for (let i = 1; i <= 4; i++) api.add(meeting(`hyM${i}`, `10000000${i}`, {}, i));
    const r = await vendor().fetchReport(query('100000003'), {});
    expect(r.meeting.meetingId).toBe('hyM3');
    const pages = lists();
    expect(pages).toHaveLength(2);
    expect(pages.map((c) => c.body.limit)).toEqual([100, 100]);
    expect(pages[0]!.body.cursor).toBeUndefined();
    expect(pages[1]!.body.cursor).toBe('2');
    expect(infos().map((c) => c.body.meetingid).slice(0, 2).sort()).toEqual(['hyM1', 'hyM2']);
    expect(api.calls.find((c) => c.op === 'get_quality')!.body.meetingid).toBe('hyM3');
  });

  it('stops looking at listed meetings once one matched', async () => {
    api.add(meeting('hyM0', '100000000', {}, 1));
    api.add(meeting('hyMATCH', '123456789', {}, 2));
    for (let i = 2; i < 30; i++) api.add(meeting(`hyM${i}`, `1000000${String(i).padStart(2, '0')}`, {}, 3));
    expect((await vendor().fetchReport(query('123456789'), {})).meeting.meetingId).toBe('hyMATCH');
    expect(lists()).toHaveLength(1);
    // At most a few in flight beside the match (bounded concurrency), never the whole list of 30.
    expect(infos().length).toBeGreaterThanOrEqual(2);
    expect(infos().length).toBeLessThanOrEqual(6);
  });

  it('finds a series begun weeks ago in the rest of the 180 days when the last 7 hold nothing', async () => {
    const subs = [{ sub_meetingid: 's9', start_time: nowS - 2 * DAY, end_time: nowS - 2 * DAY + 3600 }];
    const m = meeting('hySERIES', '123456789', { sub_meetings: subs, subRows: { s9: [qualityRow(3)] } });
    m.meeting_start = nowS - 40 * DAY;
    api.add(m);
    const r = await vendor().fetchReport(query('123456789'), {});
    expect(r.meeting).toMatchObject({ meetingId: 'hySERIES', subMeetingId: 's9' });
    expect(r.attendees).toHaveLength(1);
    const spans = lists().map((c) => [c.body.begin_time, c.body.end_time] as [number, number]);
    expect(spans).toEqual([[nowS - 7 * DAY, nowS], [nowS - 180 * DAY + 60, nowS - 7 * DAY]]);
    // "时间跨度不超过180天" (99050): every span the vendor asks for is inside it.
    expect(spans.every(([b, e]) => e - b <= 180 * DAY)).toBe(true);
  });

  it('with --at on a day older than a week, lists from that day', async () => {
    const subs = [{ sub_meetingid: 's1', start_time: nowS - 20 * DAY, end_time: nowS - 20 * DAY + 3600 }];
    const m = meeting('hySERIES', '123456789', { sub_meetings: subs });
    m.meeting_start = nowS - 20 * DAY;
    api.add(m);
    const date = new Date((nowS - 20 * DAY + 8 * 3600) * 1000).toISOString().slice(0, 10);
    const err = await failure(vendor().fetchReport({ ...query('123456789'), at: { date } }, {}));
    // Found in the first list; an occurrence that old is past get_quality's 7 days.
    expect(err.code).toBe('meeting_too_old');
    expect(lists()).toHaveLength(1);
    expect(lists()[0]!.body.begin_time).toBeLessThanOrEqual(nowS - 20 * DAY);
  });

  it('answers from the cache the second time: no list call, one get_info that still shows the code', async () => {
    api.add(meeting('hyOTHER', '111222333'));
    api.add(meeting('hyMEETING1', '123456789'));
    const v = vendor();
    await v.fetchReport(query('123456789'), {});
    expect(lists()).toHaveLength(1);
    expect(infos()).toHaveLength(2);
    // Someone else asks: the cache answers (the lists find meetings; they are no access check).
    const r = await v.fetchReport(query('123456789', wecomAsker('someone-else')), {});
    expect(r.meeting.meetingId).toBe('hyMEETING1');
    expect(lists()).toHaveLength(1);
    expect(infos()).toHaveLength(3);
    expect(infos()[2]!.body).toEqual({ meetingid: 'hyMEETING1' });
    expect(await store.get(`wecom:code:${FAKE_CORP_ID}:123456789`)).toBe('hyMEETING1');
  });

  it('searches again when the cached meeting no longer has the code, and when the entry has expired', async () => {
    api.add(meeting('hyMEETING1', '123456789'));
    const v = vendor();
    await v.fetchReport(query('123456789'), {});
    // The code moved to a newer meeting: the cached id's get_info shows another code.
    api.meetings.get('hyMEETING1')!.meeting_code = '999888777';
    api.add(meeting('hyMEETING2', '123456789', {}, 1));
    const moved = await v.fetchReport(query('123456789'), {});
    expect(moved.meeting.meetingId).toBe('hyMEETING2');
    expect(lists()).toHaveLength(2);
    expect(await store.get(`wecom:code:${FAKE_CORP_ID}:123456789`)).toBe('hyMEETING2');

    await clock.advance(CODE_CACHE_TTL_MS + 1000);
    nowS = Math.floor(clock.now() / 1000);
    await v.fetchReport(query('123456789'), {});
    expect(lists()).toHaveLength(3);
  });

  it('answers wecom_meeting_not_visible, giving both reasons and what to do, when no list has the code', async () => {
    api.users.add('lisi');
    // Attended by zhangsan, but booked in the WeCom client: in nobody's list (99050).
    api.add(meeting('hyCLIENT', '123456789', { createdByThisApp: false }));
    api.add(meeting('hyOTHER', '111222333'));
    const err = await failure(vendor({ admins: ['lisi'] }).fetchReport(query('123456789'), {}));
    expect(err.code).toBe('wecom_meeting_not_visible');
    expect(err.detail).toContain('zhangsan, lisi');
    // Both members, both windows; the one listed meeting was looked at once.
    expect(lists().map((c) => c.body.userid)).toEqual(['zhangsan', 'lisi', 'zhangsan', 'lisi']);
    expect(infos().map((c) => c.body.meetingid)).toEqual(['hyOTHER']);
    expect(api.count('get_quality')).toBe(0);

    const zh = describeError('zh', err);
    expect(zh.text).toContain('本应用创建');
    expect(zh.text).toContain('请用本应用预约');
    expect(zh.text).toContain('WECOM_MEETING_ADMINS');
    expect(zh.text).toContain('请让参会者来查');
    expect(zh.text).toContain('组织者的 userid');
    // Our own search detail is for the log; the card does not call it "the vendor said".
    expect(zh.detail).toBeUndefined();
    expect(Array.from(zh.text).length).toBeLessThanOrEqual(112);
    const en = describeError('en', err).text;
    expect(en).toContain('only reports on meetings this app created');
    expect(en).toContain('book meetings through this app');
    expect(en).toContain('ask someone who attended');
    expect(en).toContain('add the organiser\'s userid to WECOM_MEETING_ADMINS');
  });

  it('says not visible without a single list call when there is nobody to ask', async () => {
    api.add(meeting('hyMEETING1', '123456789'));
    const err = await failure(vendor().fetchReport(query('123456789', null), {}));
    expect(err.code).toBe('wecom_meeting_not_visible');
    expect(lists()).toHaveLength(0);
  });

  it('stops after a bounded number of get_info calls', async () => {
    for (let i = 0; i < MAX_INFO_CALLS + 20; i++) api.add(meeting(`hyM${i}`, String(200000000 + i), {}, 1));
    const err = await failure(vendor().fetchReport(query('123456789'), {}));
    expect(err.code).toBe('wecom_meeting_not_visible');
    expect(err.detail).toContain(`stopped at ${MAX_INFO_CALLS}`);
    expect(infos()).toHaveLength(MAX_INFO_CALLS);
  });

  it('passes a vendor failure of the list on instead of calling it "not visible"', async () => {
    api.add(meeting('hyMEETING1', '123456789'));
    // 48002 "API 无权限": the app is not among the meeting API's 可调用接口的应用 (doc 96213).
    api.listError = { errcode: 48002, errmsg: 'api forbidden' };
    expect((await failure(vendor().fetchReport(query('123456789'), {}))).code).toBe('no_permission');
    expect(infos()).toHaveLength(0);
    delete api.listError;
    api.meetings.get('hyMEETING1')!.fail = { get_info: { errcode: 45009, errmsg: 'api freq out of limit' } };
    expect((await failure(vendor().fetchReport(query('123456789'), {}))).code).toBe('rate_limited');
  });

  it('a typed meetingid (bare or wecom:) goes straight to get_info, with no list call', async () => {
    api.add(meeting('hyMEETING1', '123456789'));
    for (const text of ['/quality hyMEETING1', '/quality wecom:hyMEETING1']) {
      const parsed = parseCommand(text, vendorAliases());
      expect(parsed.ok && parsed.command.kind === 'quality' ? parsed.command.meeting.id : undefined).toBe('hyMEETING1');
      const ref = parsed.ok && parsed.command.kind === 'quality' ? parsed.command.meeting : {};
      const r = await vendor().fetchReport({ meeting: { ...ref, vendor: 'wecom' }, lang: 'zh' }, {});
      expect(r.meeting).toMatchObject({ meetingId: 'hyMEETING1', code: '123456789' });
    }
    expect(lists()).toHaveLength(0);
    expect(infos().map((c) => c.body)).toEqual([{ meetingid: 'hyMEETING1' }, { meetingid: 'hyMEETING1' }]);
  });
});

describe('get_user_meetingid answer shapes (UNCONFIRMED beyond the doc)', () => {
  const shapes: [string, FakeWecomApi['listShape'], string][] = [
    ['the doc: meetingid_list of strings, string cursor', {}, 'meetingid_list[string] next_cursor:string'],
    ['meeting_id_list', { listField: 'meeting_id_list' }, 'meeting_id_list[string] next_cursor:string'],
    ['ids as {meetingid} objects', { items: 'object' }, 'meetingid_list[object.meetingid] next_cursor:string'],
    ['a numeric cursor', { cursorAs: 'number' }, 'meetingid_list[string] next_cursor:number'],
    ['no next_cursor on the last page', { omitLastCursor: true }, 'meetingid_list[string] next_cursor:absent'],
  ];
  for (const [name, shape, logged] of shapes) {
    it(`reads ${name} across two pages, and logs the shape once`, async () => {
      api.listPageSize = 1;
      api.listShape = shape;
      api.add(meeting('hyA', '111111111'));
      api.add(meeting('hyB', '123456789', {}, 2));
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
          done();
        },
      });
      const v = vendor({ log: createLogger('info', sink) });
      expect((await v.fetchReport(query('123456789'), {})).meeting.meetingId).toBe('hyB');
      expect(lists()).toHaveLength(2);
      expect(lists()[1]!.body.cursor).toBe('1');
      await store.delete(`wecom:code:${FAKE_CORP_ID}:123456789`);
      await v.fetchReport(query('123456789'), {});
      const shapeLines = lines.filter((l) => l.msg === 'wecom get_user_meetingid answer shape');
      expect(shapeLines.map((l) => l.shape)).toContain(logged);
      expect(new Set(shapeLines.map((l) => l.shape)).size).toBe(shapeLines.length);
    });
  }
});

describe('the fake keeps get_user_meetingid\'s documented limits (so the tests above can fail)', () => {
  it('refuses limit > 100, a span over 180 days and an unknown userid', async () => {
    const { request } = await import('undici');
    const token = await (await request(`${api.url}/cgi-bin/gettoken?corpid=${FAKE_CORP_ID}&corpsecret=${FAKE_SECRET}`)).body.json() as { access_token: string };
    const post = async (body: Record<string, unknown>) => (await (await request(`${api.url}/cgi-bin/meeting/get_user_meetingid?access_token=${token.access_token}`, { method: 'POST', body: JSON.stringify(body) })).body.json()) as { errcode: number };
    api.users.add('zhangsan');
    expect((await post({ userid: 'zhangsan', limit: 101 })).errcode).toBe(40058);
    expect((await post({ userid: 'zhangsan', begin_time: nowS - 181 * DAY, end_time: nowS })).errcode).toBe(40058);
    expect((await post({ userid: 'ghost' })).errcode).toBe(60111);
    expect((await post({ userid: 'zhangsan', begin_time: nowS - 180 * DAY, end_time: nowS, limit: 100 })).errcode).toBe(0);
  });
});
