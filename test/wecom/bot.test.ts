import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { loadConfig } from '../../src/config.js';
import { decodeAction } from '../../src/core/actions.js';
import { loadCard } from '../../src/core/card.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { FAKE_CORP_ID, FAKE_SECRET, fakeMeeting, qualityRow, startFakeWecomApi, type FakeWecomApi } from '../fakes/wecom-api.js';
import { createBotSimulator, docEncrypt, docSignature, type BotSimulator, type Chat } from '../fakes/wecom-bot.js';

const TOKEN = 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo';
const KEY = '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt';
const GROUP: Chat = { chatid: 'wrkSFfCgAAxxxx', userid: 'zhangsan' };

type Card = {
  main_title: { title: string; desc?: string };
  sub_title_text?: string;
  horizontal_content_list?: { keyname: string; value: string }[];
  button_list: { text: string; key: string }[];
  task_id: string;
};
type StreamReply = { msgtype: string; stream: { id: string; finish: boolean; content: string }; template_card?: Card };
type UpdateReply = { response_type: string; template_card: Card; userids?: string[] };

let api: FakeWecomApi;
let app: Running;
let sim: BotSimulator;

beforeEach(async () => {
  api = await startFakeWecomApi();
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
    WECOM_BOT_TOKEN: TOKEN, WECOM_BOT_AES_KEY: KEY,
    WECOM_CORP_ID: FAKE_CORP_ID, WECOM_MEETING_SECRET: FAKE_SECRET, WECOM_BASE_URL: api.url,
  });
  app = await startServer(config, { log: silentLogger });
  sim = createBotSimulator({ url: app.url, token: TOKEN, encodingAesKey: KEY });
});
afterEach(async () => {
  await app.close();
  await api.close();
});

async function ask(text: string, chat = GROUP, msgid?: string): Promise<StreamReply> {
  const r = await sim.text(chat, text, msgid);
  expect(r.status).toBe(200);
  return r.reply as StreamReply;
}

/** Lets the background run finish, then asks for the stream as WeCom's refresh would. */
async function finished(streamId: string, chat = GROUP): Promise<StreamReply> {
  await app.core.tasks.idle();
  const r = await sim.refresh(chat, streamId);
  expect(r.status).toBe(200);
  return r.reply as StreamReply;
}

async function click(taskId: string, key: string, chat = GROUP): Promise<UpdateReply> {
  const r = await sim.click(chat, taskId, key);
  expect(r.status).toBe(200);
  return r.reply as UpdateReply;
}

describe('URL verification (GET /wecom/bot)', () => {
  it('answers the decrypted echostr as bare text', async () => {
    const r = await sim.verify('1288432023552776189');
    expect(r.status).toBe(200);
    expect(r.text).toBe('1288432023552776189');
    expect(r.type).toContain('text/plain');
  });

  it('refuses a forged signature and missing parameters', async () => {
    expect((await sim.verify('x', { signature: 'a'.repeat(40) })).status).toBe(401);
    expect((await request(`${app.url}/wecom/bot?echostr=abc`)).statusCode).toBe(400);
  });
});

describe('refused callbacks (POST /wecom/bot)', () => {
  it('never processes a forged signature, a broken body, a stale timestamp or an oversized body', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    const msg = { msgid: 'm-forged', aibotid: 'A', chatid: GROUP.chatid, chattype: 'group', from: { userid: 'u' }, msgtype: 'text', text: { content: '@bot /quality 123456789' } };
    expect((await sim.post(msg, { signature: '0'.repeat(40) })).status).toBe(401);
    expect((await sim.post(msg, { body: '{not json' })).status).toBe(400);
    expect((await sim.post(msg, { timestamp: String(Math.floor(Date.now() / 1000) - 3600) })).status).toBe(401);
    // A correctly signed body whose ciphertext is garbage.
    const ts = String(Math.floor(Date.now() / 1000));
    const junk = Buffer.alloc(48, 1).toString('base64');
    const qs = new URLSearchParams({ msg_signature: docSignature(TOKEN, ts, 'n1', junk), timestamp: ts, nonce: 'n1' });
    const bad = await request(`${app.url}/wecom/bot?${qs}`, { method: 'POST', body: JSON.stringify({ encrypt: junk }) });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();
    // Decrypts fine but is not JSON.
    const notJson = docEncrypt(KEY, 'hello');
    const qs2 = new URLSearchParams({ msg_signature: docSignature(TOKEN, ts, 'n2', notJson), timestamp: ts, nonce: 'n2' });
    const nj = await request(`${app.url}/wecom/bot?${qs2}`, { method: 'POST', body: JSON.stringify({ encrypt: notJson }) });
    expect(nj.statusCode).toBe(400);
    await nj.body.dump();
    const big = await request(`${app.url}/wecom/bot?${qs}`, { method: 'POST', body: 'x'.repeat(200_000) });
    expect(big.statusCode).toBe(413);
    await big.body.dump();
    await app.core.tasks.idle();
    expect(api.calls).toHaveLength(0);
  });
});

describe('/quality in a WeCom group', () => {
  it('acks with a querying stream before the vendor answers, then sends the card on a refresh', async () => {
    api.add(fakeMeeting({ rows: Array.from({ length: 9 }, (_, i) => qualityRow(i, i === 7 ? 4 : 1)) }));
    const held = api.hold('get_info');
    const first = await ask('@会议质量 助手 /quality 123-456-789');
    expect(first.msgtype).toBe('stream');
    expect(first.stream.finish).toBe(false);
    expect(first.stream.content).toContain('正在查询会议');
    await held.reached;
    expect(api.count('get_quality')).toBe(0);
    const mid = await sim.refresh(GROUP, first.stream.id);
    expect((mid.reply as StreamReply).stream.finish).toBe(false);
    held.release();

    const done = await finished(first.stream.id);
    expect(done.msgtype).toBe('stream_with_template_card');
    expect(done.stream).toMatchObject({ id: first.stream.id, finish: true });
    const card = done.template_card!;
    expect(card.main_title.title).toBe('周例会');
    expect(card.main_title.desc).toContain('告警');
    expect(card.horizontal_content_list).toHaveLength(6);
    expect(card.horizontal_content_list![0]!.keyname).toBe('user…');
    expect(card.horizontal_content_list![0]!.value.startsWith('⚠')).toBe(true);
    expect(card.task_id).toMatch(/^mc_[A-Za-z0-9_-]+$/);
    expect(card.button_list.map((b) => b.text)).toEqual(['下一页', '只看问题', '刷新']);
  });

  it('gives a duplicate msgid the same stream and never a second query', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    const a = await ask('@bot /quality 123456789', GROUP, 'dup-1');
    const b = await ask('@bot /quality 123456789', GROUP, 'dup-1');
    expect(b.stream.id).toBe(a.stream.id);
    await app.core.tasks.idle();
    const c = await ask('@bot /quality 123456789', GROUP, 'dup-1');
    expect(c.stream.id).toBe(a.stream.id);
    expect(c.msgtype).toBe('stream_with_template_card');
    expect(api.count('get_info')).toBe(1);
  });

  it('pages, filters and refreshes from clicks; pages come from the store with no vendor call', async () => {
    api.add(fakeMeeting({ rows: Array.from({ length: 14 }, (_, i) => qualityRow(i, i % 5 === 0 ? 4 : 1)) }));
    const s = await ask('@bot /quality 123456789');
    const card = (await finished(s.stream.id)).template_card!;
    const calls = api.calls.length;
    const next = card.button_list.find((b) => b.text === '下一页')!;
    const p2 = await click(card.task_id, next.key);
    expect(p2.response_type).toBe('update_template_card');
    expect(p2.template_card.task_id).toBe(card.task_id);
    expect(p2.template_card.sub_title_text).toContain('第 2 / 3 页');
    expect(p2.template_card.button_list.map((b) => b.text)).toEqual(['上一页', '下一页', '只看问题', '刷新']);
    const problems = await click(card.task_id, p2.template_card.button_list.find((b) => b.text === '只看问题')!.key);
    expect(problems.template_card.horizontal_content_list).toHaveLength(3);
    expect(problems.template_card.horizontal_content_list!.every((r) => r.value.startsWith('⚠'))).toBe(true);
    expect(api.calls.length).toBe(calls);

    const refresh = problems.template_card.button_list.find((b) => b.text === '刷新')!;
    const reportBefore = (await loadCard(app.core.store, card.task_id))!.reportId;
    const refreshed = await click(card.task_id, refresh.key);
    expect(api.count('get_quality')).toBe(2);
    expect(refreshed.template_card.task_id).toBe(card.task_id);
    // The card (its id is the task_id and is in every button) now shows a new report.
    const cardId = decodeAction(refresh.key)!.cardId;
    expect(cardId).toBe(card.task_id);
    expect(decodeAction(refreshed.template_card.button_list.at(-1)!.key)!.cardId).toBe(cardId);
    expect((await loadCard(app.core.store, cardId))!.reportId).not.toBe(reportBefore);
    expect(refreshed.template_card.sub_title_text).toContain('仅显示有问题的参会者');
  });

  it('answers an unknown task_id with a card saying the report expired and how to run it again', async () => {
    const r = await click('mc_unknown', 'mc1|AAAAAAAAAAAAAAAA|1|a|p');
    expect(r.response_type).toBe('update_template_card');
    expect(r.template_card.task_id).toBe('mc_unknown');
    expect(r.template_card.sub_title_text).toContain('已过期');
    expect(r.template_card.sub_title_text).toContain('/quality');
  });

  it('refuses a click from another chat', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    const s = await ask('@bot /quality 123456789');
    const card = (await finished(s.stream.id)).template_card!;
    const r = await click(card.task_id, card.button_list[0]!.key, { chatid: 'other-chat', userid: 'lisi' });
    expect(r.template_card.sub_title_text).toContain('只能在创建它的群里操作');
  });

  it('puts a vendor error on the card in plain words, with a retry button that works later', async () => {
    const m = fakeMeeting({ rows: [qualityRow(0)], fail: { get_quality: { errcode: 60020, errmsg: 'not allow to access from your ip' } } });
    api.add(m);
    const s = await ask('@bot /quality 123456789');
    const done = await finished(s.stream.id);
    expect(done.stream.content).toContain('可信 IP');
    const card = done.template_card!;
    expect(card.sub_title_text).toContain('可信 IP');
    expect(card.horizontal_content_list![0]!.value).toContain('60020');
    const retry = card.button_list.find((b) => b.text === '刷新')!;
    delete m.fail;
    const r = await click(card.task_id, retry.key);
    expect(r.template_card.horizontal_content_list!.length).toBe(1);
    expect(r.template_card.main_title.title).toBe('周例会');
  });

  it('shows loading progress for a 1,200-attendee meeting, then the card sorted worst first across all', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) => qualityRow(i, i >= 1195 ? 4 : 1));
    api.add(fakeMeeting({ rows }));
    // Hold the 7th page: 300 people are loaded by then.
    let pages = 0;
    const held = api.hold('get_quality', () => ++pages === 7);
    const s = await ask('@bot /quality 123456789');
    await held.reached;
    const mid = (await sim.refresh(GROUP, s.stream.id)).reply as StreamReply;
    expect(mid.stream.finish).toBe(false);
    expect(mid.stream.content).toContain('已加载 300 人');
    held.release();
    const done = await finished(s.stream.id);
    expect(api.count('get_quality')).toBe(24);
    const card = done.template_card!;
    expect(card.sub_title_text).toContain('1200 位参会者');
    expect(card.sub_title_text).toContain('5 位告警');
    // The five alerts were the last rows WeCom sent; they lead the first page.
    expect(card.horizontal_content_list!.slice(0, 5).every((r) => r.value.startsWith('⚠'))).toBe(true);
    expect(card.sub_title_text).toContain('第 1 / 200 页');
  });

  it('answers help and malformed commands with a finished stream and a card', async () => {
    const help = await ask('@bot /help');
    expect(help.msgtype).toBe('stream_with_template_card');
    expect(help.stream.finish).toBe(true);
    expect(help.stream.content).toContain('/quality');
    const bad = await ask('@bot /quality abc');
    expect(bad.template_card!.main_title.title).toContain('使用说明');
    expect(bad.stream.content).toContain('abc');
    const helpClick = await click(bad.template_card!.task_id, bad.template_card!.button_list[0]!.key);
    expect(helpClick.template_card.sub_title_text).toContain('/quality');
    expect(api.calls).toHaveLength(0);
  });

  it('finishes an unknown stream instead of leaving WeCom polling', async () => {
    const r = (await sim.refresh(GROUP, 'no-such-stream')).reply as StreamReply;
    expect(r.stream).toMatchObject({ id: 'no-such-stream', finish: true });
  });

  it('answers a token expiry mid-life without the person noticing', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    api.add(fakeMeeting({ meetingid: 'hyMEETING2', meeting_code: '987654321', rows: [qualityRow(1, 4)] }));
    await finished((await ask('@bot /quality 123456789')).stream.id);
    api.expireTokens();
    const s = await ask('@bot /quality wecom:987-654-321 --problems');
    const done = await finished(s.stream.id);
    expect(done.msgtype).toBe('stream_with_template_card');
    expect(done.template_card!.horizontal_content_list).toHaveLength(1);
    expect(api.count('gettoken')).toBe(2);
  });

  it('ignores events it does not act on with an empty 200', async () => {
    const r = await sim.post({ msgid: 'e1', aibotid: 'A', chattype: 'single', from: { userid: 'u' }, msgtype: 'event', event: { eventtype: 'enter_chat' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
  });
});
