import { afterEach, describe, expect, it } from 'vitest';
import { manyAttendees, startFakeTencent, type FakeAttendee, type FakeTencent } from '../fakes/tencent-meeting.js';
import { messageEvent, startBot, type Bot } from '../feishu/helpers.js';

/**
 * The "done when", end to end through a chat: `/quality tencent:<code>` typed in a Feishu
 * group for a one-time Tencent meeting its host ended early yesterday. /v1/meetings no longer
 * returns it (DOC 42418); the corp list does, with its media room's real start (DOC 52492).
 */
let bot: Bot | undefined;
let tencent: FakeTencent | undefined;
afterEach(async () => {
  await bot?.close();
  await tencent?.close();
  bot = undefined;
  tencent = undefined;
});

const OPERATOR = 'admin1';
const markdownOf = (card: any): string => JSON.stringify(card.body?.elements ?? []);

describe('Tencent /quality from a Feishu chat', () => {
  it('a one-time meeting its host ended early yesterday: the report card, from the corp list\'s room', async () => {
    let now = () => Date.UTC(2026, 10, 22, 4, 0, 0);
    tencent = await startFakeTencent({ appId: '2000', secretId: 'AKID1', secretKey: 'sk1', now: () => now(), operatorId: OPERATOR });
    bot = await startBot({
      TENCENT_MEETING_APP_ID: '2000', TENCENT_MEETING_SECRET_ID: 'AKID1', TENCENT_MEETING_SECRET_KEY: 'sk1',
      TENCENT_MEETING_OPERATOR_ID: OPERATOR, TENCENT_MEETING_BASE_URL: tencent.url,
    });
    const b = bot;
    now = () => b.clock.now();
    const nowS = Math.floor(b.clock.now() / 1000);
    // Yesterday 10:00–11:00 China time; held 10:03–10:35, then the host ended it.
    const sched = nowS - 86_400 - 2 * 3600;
    const roomStart = sched + 180;
    const attendees: FakeAttendee[] = manyAttendees(5, roomStart, 'y').map((a) => ({ ...a, sessions: [[a.sessions[0]![0], roomStart + 1920]] }));
    tencent.meetings.push({
      meetingId: '7567173273889276131', code: '806146667', subject: 'Quarterly review', status: 'MEETING_STATE_INIT',
      startTime: sched, endTime: sched + 3600, endedByHost: true,
      rooms: [{ start: roomStart, end: roomStart + 1920, attendees }],
    });

    const res = await b.post('/feishu/events', messageEvent('/quality tencent:806-146-667', { messageId: 'om_tm1' }));
    expect(res.status).toBe(200);
    await b.drain();

    const card = b.fake.patches.at(-1)!.card;
    const text = markdownOf(card);
    expect(JSON.stringify(card.header)).toContain('Quarterly review');
    expect(text).toContain('5 attendees (per device), 1 with alerts, 0 without data');
    expect(text).toContain('参会者0');
    const paths = tencent.calls.map((c) => `${c.path} ${c.outcome}`);
    expect(paths.slice(0, 2)).toEqual(['/v1/meetings 400', '/v1/corp/meetings 200']);
    expect(tencent.calls.filter((c) => c.path.endsWith('/quality')).map((c) => c.query.get('start_time'))).toEqual([String(roomStart)]);
  });
});
