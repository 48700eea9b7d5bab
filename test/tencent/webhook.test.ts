import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createChannels } from '../../src/channels/index.js';
import { startServer, type Running } from '../../src/main.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { StoreUnavailableError, type Store } from '../../src/store/types.js';
import { loadCard } from '../../src/core/card.js';
import { loadReport } from '../../src/core/report.js';
import { manualClock, testCore, type ManualClock } from '../helpers/core.js';
import { manyAttendees, startFakeTencent, type FakeTencent } from '../fakes/tencent-meeting.js';
import { meetingEndEvent, signedHeaders, startReportTargets, tencentEncrypt, type MeetingEndOptions, type ReportTargets } from '../fakes/tencent-webhook.js';

// DOC 51612's worked example's token (its vectors are in test/edge/msgcrypt.test.ts).
const DOC_TOKEN = 'bVPU6F8Htxl5XkAbp3jGV2xWp';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

// The crypto's own vectors (DOC 51612's example, the $key tail, broken input): test/edge/msgcrypt.test.ts.

describe('Tencent Meeting webhook configuration', () => {
  it('a malformed EncodingAESKey, or a Feishu report chat without Feishu credentials, fails at start-up', () => {
    const base = { PORT: '0', TENCENT_MEETING_WEBHOOK_TOKEN: DOC_TOKEN };
    const core = testCore([]);
    expect(() => createChannels({ config: loadConfig({ ...base, TENCENT_MEETING_WEBHOOK_AES_KEY: 'x'.repeat(42) }), core })).toThrow(ConfigError);
    expect(() => createChannels({ config: loadConfig({ ...base, TENCENT_MEETING_WEBHOOK_AES_KEY: AES, TENCENT_MEETING_REPORT_CHAT: 'feishu:oc_1' }), core }))
      .toThrow(/FEISHU_APP_ID/);
  });
});

let clock: ManualClock;
let fake: FakeTencent;
let targets: ReportTargets;
let running: Running | undefined;
const ROBOT_KEY = 'robot-key-123';
const MEETING_ID = '6058890385480921052';

beforeEach(async () => {
  clock = manualClock();
  fake = await startFakeTencent({ appId: '2000', secretId: 'AKID1', secretKey: 'sk1', now: () => clock.now(), operatorId: 'admin' });
  targets = await startReportTargets({ robotKey: ROBOT_KEY, feishuAppId: 'cli_1', feishuAppSecret: 'fs_secret' });
});
afterEach(async () => {
  await running?.close();
  running = undefined;
  await fake.close();
  await targets.close();
});

async function start(env: Record<string, string>, store: Store = createMemoryStore({ clock })) {
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MEETCHECK_LANG: 'en',
    TENCENT_MEETING_APP_ID: '2000', TENCENT_MEETING_SECRET_ID: 'AKID1', TENCENT_MEETING_SECRET_KEY: 'sk1',
    TENCENT_MEETING_OPERATOR_ID: 'admin', TENCENT_MEETING_BASE_URL: fake.url,
    TENCENT_MEETING_WEBHOOK_TOKEN: DOC_TOKEN, TENCENT_MEETING_WEBHOOK_AES_KEY: AES,
    ...env,
  });
  running = await startServer(config, { clock, store });
  return running;
}

const wecomEnv = { TENCENT_MEETING_REPORT_CHAT: `wecom-webhook:${ROBOT_KEY}`, WECOM_CORP_ID: 'ww1', WECOM_MEETING_SECRET: 's', WECOM_BASE_URL: '' };

async function post(data: string, headers = signedHeaders(DOC_TOKEN, data, clock.now())) {
  const res = await request(`${running!.url}/tencent/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ data }) });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Moves the manual clock on while real HTTP runs, until `done()` (or the step budget runs out). */
async function until(done: () => boolean, steps = 400) {
  for (let i = 0; i < steps && !done(); i++) {
    await new Promise((r) => setImmediate(r));
    if (clock.waiting > 0) await clock.advance(30_000);
  }
  expect(done()).toBe(true);
}

/** meeting.end for the meeting endedMeeting() makes, sent as its room closes (operate_time = now). */
function endEvent(opts: MeetingEndOptions = {}): string {
  const nowS = Math.floor(clock.now() / 1000);
  return meetingEndEvent(MEETING_ID, '530812452', { operateTimeMs: clock.now(), start: nowS - 3600, end: nowS - 60, ...opts });
}

function endedMeeting(withQuality: boolean) {
  const nowS = Math.floor(clock.now() / 1000);
  const attendees = manyAttendees(30, nowS - 3600).map((a, i) => (i === 3 ? { ...a, name: '<at id=all></at> **x**' } : a));
  fake.meetings.push({
    meetingId: MEETING_ID, code: '530812452', subject: 'Weekly', status: 'MEETING_STATE_ENDED', startTime: nowS - 3600, endTime: nowS - 60,
    attendees: withQuality ? attendees : attendees.map(({ quality: _q, ...rest }) => rest),
  });
}

describe('Tencent Meeting webhook receiver', () => {
  it('answers the URL check with the decrypted check_str; refuses forged and stale ones', async () => {
    await start(wecomEnv);
    const checkStr = tencentEncrypt(AES, 'check-me-123', '');
    const url = (q: string) => `${running!.url}/tencent/webhook?check_str=${encodeURIComponent(q)}`;
    const ok = await request(url(checkStr), { headers: signedHeaders(DOC_TOKEN, checkStr, clock.now()) });
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.text()).toBe('check-me-123');
    const forged = await request(url(checkStr), { headers: signedHeaders('x'.repeat(25), checkStr, clock.now()) });
    expect(forged.statusCode).toBe(401);
    await forged.body.dump();
    const stale = await request(url(checkStr), { headers: signedHeaders(DOC_TOKEN, checkStr, clock.now() - 10 * 60_000) });
    expect(stale.statusCode).toBe(401);
    await stale.body.dump();
    const missing = await request(`${running!.url}/tencent/webhook`);
    expect(missing.statusCode).toBe(400);
    await missing.body.dump();
  });

  it('meeting.end: acks first, dedupes repeats, waits for quality data, posts one markdown report to the robot', async () => {
    wecomEnv.WECOM_BASE_URL = targets.url;
    endedMeeting(false);
    await start(wecomEnv);
    const opTime = clock.now();
    const data = tencentEncrypt(AES, endEvent());
    const headers = signedHeaders(DOC_TOKEN, data, clock.now());
    const first = await post(data, headers);
    expect(first).toEqual({ status: 200, text: 'successfully received callback' });
    // The ack went out before any vendor call.
    expect(fake.calls).toHaveLength(0);
    expect((await post(data, headers)).status).toBe(409);
    // Tencent sends meeting.end more than once for one meeting: one report.
    expect((await post(tencentEncrypt(AES, endEvent({ traceId: 'trace-2', operateTimeMs: opTime })))).status).toBe(200);
    expect((await post('bad', signedHeaders(DOC_TOKEN, 'bad', clock.now()))).status).toBe(400);

    // First try: participants but no quality yet → no post, a retry later.
    await until(() => fake.calls.some((c) => c.path.endsWith('/participants')));
    await until(() => running!.core.tasks.size === 1 && clock.waiting > 0 && fake.calls.filter((c) => c.path.endsWith('/quality')).length === 1);
    expect(targets.wecom).toHaveLength(0);
    fake.meetings.length = 0;
    endedMeeting(true);
    await until(() => targets.wecom.length === 1);
    await running!.core.tasks.idle();
    expect(targets.wecom).toHaveLength(1);
    const md = targets.wecom[0]!.body.markdown!.content!;
    expect(targets.wecom[0]!.body.msgtype).toBe('markdown');
    expect(Buffer.byteLength(md, 'utf8')).toBeLessThanOrEqual(4096);
    expect(md).toContain('Meeting quality: Weekly');
    expect(md).toContain('30 attendees');
    expect(md).toContain('＜at id=all＞＜/at＞ ＊＊x＊＊');
    expect(md).not.toContain('<at');
    expect(fake.calls.every((c) => c.outcome === 200)).toBe(true);
  });

  it('posts a Feishu card into the configured chat, stored for that chat so its buttons work there', async () => {
    endedMeeting(true);
    await start({ TENCENT_MEETING_REPORT_CHAT: 'feishu:oc_report', FEISHU_APP_ID: 'cli_1', FEISHU_APP_SECRET: 'fs_secret', FEISHU_VERIFICATION_TOKEN: 'v', FEISHU_BASE_URL: targets.url });
    expect((await post(tencentEncrypt(AES, endEvent()))).status).toBe(200);
    await until(() => targets.feishu.length === 1);
    const sent = targets.feishu[0]!;
    expect(sent.query.get('receive_id_type')).toBe('chat_id');
    expect(sent.body).toMatchObject({ receive_id: 'oc_report', msg_type: 'interactive' });
    const card = JSON.parse(sent.body.content as string) as { schema?: string };
    expect(card.schema).toBe('2.0');
    // The buttons carry the card's id; its record names the report and the chat.
    const cardId = /mc2\|(mc_[A-Za-z0-9_-]+)\|/.exec(sent.body.content as string)?.[1];
    expect(cardId).toMatch(/^mc_/);
    const shown = await loadCard(running!.core.store, cardId!);
    expect(shown?.chat).toEqual({ channel: 'feishu', chatId: 'oc_report' });
    const stored = await loadReport(running!.core.store, shown!.reportId!);
    expect(stored?.chat).toEqual({ channel: 'feishu', chatId: 'oc_report' });
    expect(stored?.report.attendees).toHaveLength(30);
  });

  it('a vendor error that retrying cannot fix is posted at once as a message', async () => {
    wecomEnv.WECOM_BASE_URL = targets.url;
    endedMeeting(true);
    fake.failures.push({ path: /^\/v1\/meetings\//, status: 403, errorCode: 9042, times: 10 });
    await start(wecomEnv);
    await post(tencentEncrypt(AES, endEvent()));
    await until(() => targets.wecom.length === 1);
    expect(targets.wecom[0]!.body.markdown!.content).toMatch(/permission/);
  });

  it('shutting down abandons a report still waiting for its data, without waiting it out', async () => {
    wecomEnv.WECOM_BASE_URL = targets.url;
    await start(wecomEnv);
    await post(tencentEncrypt(AES, endEvent()));
    await until(() => clock.waiting > 0);
    await running!.close();
    running = undefined;
    expect(fake.calls).toHaveLength(0);
  });

  it('a one-time meeting its host ended: reported from the event\'s own meeting_info, no lookup by id', async () => {
    wecomEnv.WECOM_BASE_URL = targets.url;
    endedMeeting(true);
    // Ended by its host: /v1/meetings/{id} no longer returns it (DOC 42418).
    fake.meetings[0]!.endedByHost = true;
    const roomStart = Math.floor(clock.now() / 1000) - 3600;
    await start(wecomEnv);
    expect((await post(tencentEncrypt(AES, endEvent()))).status).toBe(200);
    await until(() => targets.wecom.length === 1);
    await running!.core.tasks.idle();
    expect(targets.wecom[0]!.body.markdown!.content).toContain('30 attendees');
    expect(fake.calls.some((c) => c.path === `/v1/meetings/${MEETING_ID}` || c.path === '/v1/meetings')).toBe(false);
    expect(fake.calls.filter((c) => c.path.endsWith('/quality')).map((c) => c.query.get('start_time'))).toEqual([String(roomStart)]);
  });

  it('the replay key is set only after the hand-off: a delivery that failed is processed when it comes again', async () => {
    wecomEnv.WECOM_BASE_URL = targets.url;
    endedMeeting(true);
    const inner = createMemoryStore({ clock });
    let failures = 1;
    const flaky: Store = Object.assign(Object.create(inner) as Store, {
      setIfAbsent: async (key: string, value: string, ttl: number) => {
        if (key.startsWith('tencent:meeting-end:') && failures > 0) {
          failures--;
          throw new StoreUnavailableError('redis went away');
        }
        return inner.setIfAbsent(key, value, ttl);
      },
    });
    await start(wecomEnv, flaky);
    const data = tencentEncrypt(AES, endEvent());
    const headers = signedHeaders(DOC_TOKEN, data, clock.now());
    const first = await post(data, headers);
    expect(first.status).toBe(500);
    // The same signed request again: handled this time, not refused as a replay.
    expect(await post(data, headers)).toEqual({ status: 200, text: 'successfully received callback' });
    // And once handed off, a true replay is refused.
    expect((await post(data, headers)).status).toBe(409);
    await until(() => targets.wecom.length === 1);
    await running!.core.tasks.idle();
    expect(targets.wecom).toHaveLength(1);
  });

  it('a meeting ended, re-opened and ended again: one report per media room, duplicates of an event still one', async () => {
    wecomEnv.WECOM_BASE_URL = targets.url;
    const nowS = Math.floor(clock.now() / 1000);
    const sched = nowS - 4 * 3600;
    const room = (n: number, start: number, len: number, prefix: string) => ({ start, end: start + len, attendees: manyAttendees(n, start, prefix).map((a) => ({ ...a, sessions: [[start + (a.sessions[0]![0] - start), start + len]] as [number, number | undefined][] })) });
    const first = room(2, sched + 60, 1800, 'r1');
    const second = room(4, nowS - 1800, 1740, 'r2');
    fake.meetings.push({ meetingId: MEETING_ID, code: '530812452', subject: 'Ops', status: 'MEETING_STATE_NULL', startTime: sched, endTime: sched + 3600, rooms: [first, second] });
    await start(wecomEnv);
    // The same meeting_info (scheduled times) in both events; operate_time tells the rooms apart.
    const at = (s: number, extra: MeetingEndOptions = {}) => tencentEncrypt(AES, endEvent({ start: sched, end: sched + 3600, operateTimeMs: s * 1000, ...extra }));
    expect((await post(at(first.end + 3, { endType: 3 }))).status).toBe(200);
    expect((await post(at(second.end + 2, { endType: 1 }))).status).toBe(200);
    // Another event for the second room a moment later ("若满足多种情况会发送多条事件").
    expect((await post(at(second.end + 40, { endType: 2, traceId: 'trace-dup' }))).status).toBe(200);
    await until(() => targets.wecom.length === 2);
    await until(() => running!.core.tasks.size === 0);
    expect(targets.wecom).toHaveLength(2);
    const texts = targets.wecom.map((w) => w.body.markdown!.content!);
    expect(texts.some((t) => t.includes('2 attendees'))).toBe(true);
    expect(texts.some((t) => t.includes('4 attendees'))).toBe(true);
    expect(new Set(fake.calls.filter((c) => c.path.endsWith('/quality')).map((c) => c.query.get('start_time')))).toEqual(new Set([String(first.start), String(second.start)]));
  });

  for (const withSub of [true, false]) {
    it(`a recurring occurrence: ${withSub ? 'the event\'s sub_meeting_id' : 'the corp list\'s sub_meeting_id (none in the event)'} picks it`, async () => {
      wecomEnv.WECOM_BASE_URL = targets.url;
      const nowS = Math.floor(clock.now() / 1000);
      const aStart = nowS - 86_400 - 3600;
      const bStart = nowS - 3600;
      fake.meetings.push({
        meetingId: MEETING_ID, code: '530812452', subject: 'Standup', status: 'MEETING_STATE_INIT', meetingType: 1,
        startTime: aStart, endTime: aStart + 1800, currentSubMeetingId: 'subC',
        subMeetings: [
          { subMeetingId: 'subA', startTime: aStart, endTime: aStart + 1800 },
          { subMeetingId: 'subB', startTime: bStart, endTime: bStart + 1800 },
          { subMeetingId: 'subC', startTime: nowS + 86_400, endTime: nowS + 86_400 + 1800 },
        ],
        bySub: { subA: manyAttendees(2, aStart, 'a'), subB: manyAttendees(3, bStart, 'b') },
      });
      await start(wecomEnv);
      expect((await post(tencentEncrypt(AES, endEvent({ meetingType: 1, start: bStart, end: bStart + 1800, ...(withSub ? { subMeetingId: 'subB' } : {}) })))).status).toBe(200);
      await until(() => targets.wecom.length === 1);
      await running!.core.tasks.idle();
      expect(targets.wecom[0]!.body.markdown!.content).toContain('3 attendees');
      expect(fake.calls.filter((c) => c.path.endsWith('/quality')).map((c) => c.query.get('sub_meeting_id'))).toEqual(['subB']);
    });
  }
});
