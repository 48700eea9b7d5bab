import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { FAKE_CORP_ID, FAKE_SECRET, fakeMeeting, qualityRow, startFakeWecomApi, type FakeWecomApi } from '../fakes/wecom-api.js';
import { createBotSimulator, type BotSimulator, type Chat } from '../fakes/wecom-bot.js';

/**
 * End to end for WeCom: "/quality 123-456-789" typed in a WeCom group reaches the bot as a signed,
 * encrypted callback; the code is found through get_user_meetingid (WeCom doc 99050) and the
 * finished card lists the attendees. Everything runs over real HTTP against the fakes.
 */

const TOKEN = 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo';
const KEY = '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt';
const CHAT = 'wrkSFfCgAAxxxx';

type Card = { main_title: { title: string }; sub_title_text?: string; horizontal_content_list?: { keyname: string; value: string }[]; button_list: { text: string }[] };
type StreamReply = { msgtype: string; stream: { id: string; finish: boolean; content: string }; template_card?: Card };

let api: FakeWecomApi;
let app: Running;
let sim: BotSimulator;

async function start(env: Record<string, string> = {}): Promise<void> {
  app = await startServer(loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
    WECOM_BOT_TOKEN: TOKEN, WECOM_BOT_AES_KEY: KEY,
    WECOM_CORP_ID: FAKE_CORP_ID, WECOM_MEETING_SECRET: FAKE_SECRET, WECOM_BASE_URL: api.url, ...env,
  }), { log: silentLogger });
  sim = createBotSimulator({ url: app.url, token: TOKEN, encodingAesKey: KEY });
}

/** Sends the command as `userid` and returns the finished stream, as WeCom's refresh would fetch it. */
async function ask(userid: string, text: string): Promise<StreamReply> {
  const chat: Chat = { chatid: CHAT, userid };
  const first = await sim.text(chat, text);
  expect(first.status).toBe(200);
  const id = (first.reply as StreamReply).stream.id;
  await app.core.tasks.idle();
  const done = await sim.refresh(chat, id);
  expect(done.status).toBe(200);
  return done.reply as StreamReply;
}

beforeEach(async () => {
  api = await startFakeWecomApi();
  // Booked through this app by "boss"; lisi, wang5 and zhao6 attended (short userids fit a card row's 5 characters).
  api.add(fakeMeeting({
    admin_userid: 'boss', title: '周例会',
    rows: [qualityRow(0, 1, { userid: 'lisi' }), qualityRow(1, 4, { userid: 'wang5' }), qualityRow(2, 1, { userid: 'zhao6' })],
  }));
  api.users.add('zhangsan');
});
afterEach(async () => {
  await app.close();
  await api.close();
});

describe('/quality <meeting code> in a WeCom group', () => {
  it('finds the meeting in the list of the member who asked and shows every attendee', async () => {
    await start();
    const done = await ask('lisi', '@会议质量 /quality 123-456-789');
    expect(done.msgtype).toBe('stream_with_template_card');
    expect(done.stream.finish).toBe(true);
    const card = done.template_card!;
    expect(card.main_title.title).toBe('周例会');
    expect(card.horizontal_content_list!.map((r) => r.keyname).sort()).toEqual(['lisi', 'wang5', 'zhao6']);
    // Worst first: wang5's poor audio leads.
    expect(card.horizontal_content_list![0]).toMatchObject({ keyname: 'wang5' });
    expect(card.horizontal_content_list![0]!.value.startsWith('⚠')).toBe(true);
    expect(api.calls.filter((c) => c.op === 'get_user_meetingid').map((c) => c.body.userid)).toEqual(['lisi']);
  });

  it('finds it through WECOM_MEETING_ADMINS when the asker was not in the meeting', async () => {
    await start({ WECOM_MEETING_ADMINS: 'boss' });
    const done = await ask('zhangsan', '@会议质量 /quality 123 456 789');
    expect(done.template_card!.horizontal_content_list!.map((r) => r.keyname).sort()).toEqual(['lisi', 'wang5', 'zhao6']);
    expect(api.calls.filter((c) => c.op === 'get_user_meetingid').map((c) => c.body.userid)).toEqual(['zhangsan', 'boss']);
  });

  it('says why and what to do when no list has the meeting, on the card and in the stream', async () => {
    await start();
    const done = await ask('zhangsan', '@会议质量 /quality 123-456-789');
    expect(done.stream.finish).toBe(true);
    const card = done.template_card!;
    for (const text of [card.sub_title_text!, done.stream.content]) {
      expect(text).toContain('本应用创建');
      expect(text).toContain('请用本应用预约');
      expect(text).toContain('请让参会者来查');
      expect(text).toContain('WECOM');
    }
    // The card holds the whole message (sub_title_text is cut at 112 characters).
    expect(card.sub_title_text).not.toContain('…');
    expect(card.horizontal_content_list ?? []).toEqual([]);
    expect(card.button_list.map((b) => b.text)).toContain('刷新');
    expect(api.count('get_quality')).toBe(0);
  });
});
