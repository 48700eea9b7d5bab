import { afterEach, describe, expect, it } from 'vitest';
import { encodeAction } from '../../src/core/actions.js';
import { loadCard } from '../../src/core/card.js';
import { CHAT, clickEvent, ENCRYPT_KEY, encrypt, meeting, messageEvent, startBot, TOKEN, type Bot } from './helpers.js';

let bot: Bot | undefined;
afterEach(async () => {
  await bot?.close();
  bot = undefined;
});

const markdownOf = (card: any): string => JSON.stringify(card.body?.elements ?? []);
const lastCard = (b: Bot) => b.fake.patches.at(-1)?.card;
const buttonAction = (card: any, id: string): string => {
  const found = JSON.stringify(card).match(new RegExp(`"element_id":"${id}"[^]*?"action":"([^"]+)"`));
  return found![1]!;
};

describe('Feishu callbacks: verification', () => {
  it('answers the url_verification challenge (encrypted, unsigned) and refuses a wrong token', async () => {
    bot = await startBot();
    const ok = await bot.post('/feishu/events', { challenge: 'ch-123', token: TOKEN, type: 'url_verification' }, { unsigned: true });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ challenge: 'ch-123' });
    const bad = await bot.post('/feishu/events', { challenge: 'ch-123', token: 'nope', type: 'url_verification' }, { unsigned: true });
    expect(bad.status).toBe(401);
  });

  it('refuses forged, stale, unsigned and undecryptable requests with a 4xx and never processes them', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 3));
    const now = Math.floor(bot.clock.now() / 1000);
    const forged = await bot.post('/feishu/events', messageEvent('/quality 123456789'), { signWith: 'not-the-key' });
    expect(forged.status).toBe(401);
    expect(forged.contentType).toMatch(/json/);
    expect((await bot.post('/feishu/events', messageEvent('/quality 123456789'), { ts: now - 3600 })).status).toBe(401);
    expect((await bot.post('/feishu/events', messageEvent('/quality 123456789'), { unsigned: true })).status).toBe(401);
    const plain = JSON.stringify(messageEvent('/quality 123456789'));
    expect((await bot.post('/feishu/events', null, { raw: plain })).status).toBe(401);
    expect((await bot.post('/feishu/events', null, { raw: '{"encrypt":"bm90IGNpcGhlcnRleHQ="}' })).status).toBe(400);
    expect((await bot.post('/feishu/events', null, { raw: '{nope' })).status).toBe(400);
    expect((await bot.post('/feishu/card', clickEvent('mc1|x|0|a|p', { messageId: 'om_1' }), { signWith: 'forged' })).status).toBe(401);
    // A body signed correctly but carrying the wrong verification token.
    const wrongToken = messageEvent('/quality 123456789');
    wrongToken.header.token = 'stolen';
    expect((await bot.post('/feishu/events', wrongToken)).status).toBe(401);
    await bot.drain();
    expect(bot.fake.replies).toHaveLength(0);
    expect(bot.fake.vcCalls()).toHaveLength(0);
  });
});

describe('Feishu /quality end to end', () => {
  it('acks at once, replies "querying…" with a uuid, then patches the same message with the report', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 4, { bad: [2], spike: [1], silent: [3] }));
    const res = await bot.post('/feishu/events', messageEvent('/quality 123-456-789', { messageId: 'om_cmd1' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(res.contentType).toMatch(/application\/json/);
    // The answer went out before any vendor call.
    expect(bot.fake.vcCalls()).toHaveLength(0);
    await bot.drain();

    expect(bot.fake.replies).toHaveLength(1);
    const reply = bot.fake.replies[0]!;
    expect(reply.to).toBe('om_cmd1');
    expect(reply.uuid).toBe('q:om_cmd1');
    expect(markdownOf(reply.card)).toContain('Checking the quality of meeting 123456789');
    const card = lastCard(bot)!;
    expect(bot.fake.patches.every((p) => p.messageId === reply.messageId)).toBe(true);
    expect(card.schema).toBe('2.0');
    expect(card.header.template).toBe('red');
    const text = markdownOf(card);
    // Worst first: the sustained-bad person leads; the one-spike person is healthy; no samples = no data.
    expect(text.indexOf('Person 002')).toBeLessThan(text.indexOf('Person 000'));
    expect(text).toContain('Heavy packet loss');
    expect(text).toContain('4 attendees (per device), 1 with alerts, 1 without data');
    expect(text).not.toContain('loading');
    // Times went to Feishu as unix seconds, the start accurate to the minute.
    const q = bot.fake.vcCalls('participant_quality_list')[0]!.query;
    expect(q.meeting_start_time).toBe(String(bot.fake.meetings[0]!.start));
    expect(q.join_time).toMatch(/^\d{10}$/);
  });

  it('drops a duplicate delivery of the same message_id (new event_id), and stale messages', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 2));
    const ev = messageEvent('/quality 123456789', { messageId: 'om_dup' });
    const again = { ...ev, header: { ...ev.header, event_id: 'ev-other' } };
    expect((await bot.post('/feishu/events', ev)).status).toBe(200);
    expect((await bot.post('/feishu/events', again)).status).toBe(200);
    const stale = messageEvent('/quality 123456789', { messageId: 'om_old', createTime: bot.clock.now() - 3 * 3600_000 });
    expect((await bot.post('/feishu/events', stale)).status).toBe(200);
    await bot.drain();
    expect(bot.fake.replies.map((r) => r.to)).toEqual(['om_dup']);
    // One reply call at all (the uuid would only hide a second one), one lookup.
    expect(bot.fake.calls.filter((c) => c.path.endsWith('/reply'))).toHaveLength(1);
    expect(bot.fake.vcCalls('meeting_list')).toHaveLength(1);
  });

  it('answers 1:1 chats and rich-text posts; ignores group messages that do not @ the bot', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 2));
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_p2p', chatType: 'p2p', chatId: 'oc_dm' }));
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_post', type: 'post' }));
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_nobot', mentions: [] }));
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_other', mentions: ['ou_someone'] }));
    await bot.drain();
    expect(bot.fake.replies.map((r) => r.to).sort()).toEqual(['om_p2p', 'om_post']);
  });

  it('answers help and bad commands with a card, never silence', async () => {
    bot = await startBot();
    await bot.post('/feishu/events', messageEvent('/help', { messageId: 'om_help' }));
    await bot.post('/feishu/events', messageEvent('/quality 12', { messageId: 'om_bad' }));
    await bot.drain();
    const byTo = Object.fromEntries(bot.fake.replies.map((r) => [r.to, r.card]));
    expect(markdownOf(byTo.om_help)).toContain('/quality \\\\<meeting\\\\>');
    expect(markdownOf(byTo.om_bad)).toContain('I could not read that command');
  });

  it('page flips answer from the store (no vendor call); a click from another chat is refused', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 25, { bad: [20] }));
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_c' }));
    await bot.drain();
    const messageId = bot.fake.replies[0]!.messageId;
    const card = lastCard(bot)!;
    expect(JSON.stringify(card.header.subtitle)).toContain('Page 1 / 3');
    const vcBefore = bot.fake.vcCalls().length;

    const next = await bot.post('/feishu/card', clickEvent(buttonAction(card, 'btn_next'), { messageId }));
    expect(next.status).toBe(200);
    expect(next.body.card.type).toBe('raw');
    expect(JSON.stringify(next.body.card.data.header.subtitle)).toContain('Page 2 / 3');

    const filter = await bot.post('/feishu/card', clickEvent(buttonAction(card, 'btn_filter'), { messageId }));
    expect(markdownOf(filter.body.card.data)).toContain('Person 020');
    expect(markdownOf(filter.body.card.data)).not.toContain('Person 001');

    const foreign = await bot.post('/feishu/card', clickEvent(buttonAction(card, 'btn_next'), { messageId, chatId: 'oc_elsewhere' }));
    expect(foreign.status).toBe(200);
    expect(foreign.body.card).toBeUndefined();
    expect(foreign.body.toast.content).toContain('only be used in the chat');

    const junk = await bot.post('/feishu/card', clickEvent('garbage', { messageId }));
    expect(junk.status).toBe(200);
    expect(junk.body.toast.type).toBe('error');
    expect(bot.fake.vcCalls().length).toBe(vcBefore);
  });

  it('a click on an expired report re-runs the query and says so; refresh re-runs too', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 3));
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_e' }));
    await bot.drain();
    const messageId = bot.fake.replies[0]!.messageId;
    const action = buttonAction(lastCard(bot)!, 'btn_next');
    // The button names the card; the card record names the report it shows.
    const shown = await loadCard(bot.running.core.store, action.split('|')[1]!);
    await bot.running.core.store.delete(`report:${shown!.reportId}`);
    const listBefore = bot.fake.vcCalls('meeting_list').length;

    const click = await bot.post('/feishu/card', clickEvent(action, { messageId }));
    expect(click.status).toBe(200);
    expect(click.body.toast.content).toContain('expired');
    await bot.drain();
    expect(bot.fake.vcCalls('meeting_list').length).toBe(listBefore + 1);
    const rerun = lastCard(bot)!;
    expect(markdownOf(rerun)).toContain('The earlier report had expired');
    const rerunReportId = (await loadCard(bot.running.core.store, shown!.id))!.reportId;
    expect(rerunReportId).not.toBe(shown!.reportId);
    expect(bot.fake.patches.at(-1)!.messageId).toBe(messageId);

    const refresh = await bot.post('/feishu/card', clickEvent(buttonAction(rerun, 'btn_refresh'), { messageId }));
    expect(refresh.body.card.type).toBe('raw');
    await bot.drain();
    expect(bot.fake.vcCalls('meeting_list').length).toBe(listBefore + 2);
    // The refreshed report has a new id; the card (whose id the buttons carry) now shows it.
    const now = await loadCard(bot.running.core.store, buttonAction(lastCard(bot)!, 'btn_next').split('|')[1]!);
    expect(now!.reportId).toBeDefined();
    expect(now!.reportId).not.toBe(rerunReportId);
  });

  it('a 300-person meeting: first page first, progress patched while the rest loads, within 100 calls a minute', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 300, { bad: [150, 299] }));
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_big' }));
    await bot.drain();
    expect(bot.fake.vcCalls('participant_list')).toHaveLength(3);
    // The first report card went out after the first page's quality only, the rest behind it. The
    // sliding window lets the background start at once, so its first round (4 calls in parallel)
    // may reach Feishu alongside the card's patch: the card waits for 10, never for more.
    const firstReport = bot.fake.calls.findIndex((c) => c.method === 'PATCH' && String((c.body as { content?: string }).content).includes('row_0'));
    expect(bot.fake.calls.slice(0, firstReport).filter((c) => c.path.endsWith('participant_quality_list')).length).toBeLessThanOrEqual(10 + 4);
    const quality = bot.fake.vcCalls('participant_quality_list');
    // One call per person, none repeated: the shared budget kept the fake from ever answering 429.
    expect(quality).toHaveLength(300);
    // Background batches were shown as they landed: the loaded count only ever grew, short of 300.
    const progress = bot.fake.patches.map((p) => /Loaded quality for (\d+) \/ 300/.exec(markdownOf(p.card))?.[1]).filter((n): n is string => n !== undefined).map(Number);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.every((n) => n >= 10 && n < 300)).toBe(true);
    const final = markdownOf(lastCard(bot)!);
    expect(final).toContain('300 attendees (per device), 2 with alerts');
    expect(final).not.toContain('Loaded quality for');
    // Coalesced: far fewer patches than background batches would have asked for at 5 QPS.
    expect(bot.fake.patches.length).toBeLessThan(40);
  });

  it('shows a name like <at id=all></at> as written and pings nobody', async () => {
    bot = await startBot();
    const m = meeting('123456789', 2);
    m.participants[0]!.name = '<at id=all></at>';
    m.participants[1]!.name = '**bold** [x](https://evil.invalid)';
    bot.fake.meetings.push(m);
    await bot.post('/feishu/events', messageEvent('/quality 123456789'));
    await bot.drain();
    const text = lastCard(bot)!.body.elements.filter((e: any) => e.tag === 'markdown').map((e: any) => e.content as string).join('\n');
    expect(text).not.toMatch(/(^|[^\\])<at/);
    expect(text).not.toContain('**bold**');
    expect(text).toContain('\\<at id=all\\>\\</at\\>');
    expect(text).toContain('\\[x\\](https://evil.invalid)');
  });

  it('honours vendor 429s (x-ogw-ratelimit-reset) and a revoked token (99991663, dropped and retried once)', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 5, { bad: [0] }));
    bot.fake.failNext('participant_quality_list', 2, { status: 429, code: 99991400, msg: 'request trigger frequency limit', headers: { 'x-ogw-ratelimit-reset': '7' } });
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_r1' }));
    await bot.drain();
    expect(bot.fake.vcCalls('participant_quality_list')).toHaveLength(7);
    expect(markdownOf(lastCard(bot)!)).toContain('5 attendees (per device), 1 with alerts');

    const issued = bot.fake.tokensIssued;
    bot.fake.revokeTokens();
    bot.fake.meetings.push(meeting('987654321', 2));
    await bot.post('/feishu/events', messageEvent('/quality 987654321', { messageId: 'om_r2' }));
    await bot.drain();
    // IM and VC share the app's one client (http/lark.ts): the rejected token is dropped once and fetched once.
    expect(bot.fake.tokensIssued).toBe(issued + 1);
    expect(markdownOf(lastCard(bot)!)).toContain('2 attendees (per device)');
  });

  it('says what went wrong in plain words: not found, not ended, no permission, rate limited', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('222333444', 2, { end: undefined }));
    bot.fake.meetings.push(meeting('333444555', 2));
    bot.fake.meetings.push(meeting('444555666', 2));
    await bot.post('/feishu/events', messageEvent('/quality 111222333', { messageId: 'om_nf' }));
    await bot.post('/feishu/events', messageEvent('/quality 222333444', { messageId: 'om_ne' }));
    await bot.drain();
    bot.fake.failNext('participant_list', 1, { status: 403, code: 121005, msg: 'no permission' });
    await bot.post('/feishu/events', messageEvent('/quality 333444555', { messageId: 'om_np' }));
    await bot.drain();
    bot.fake.failNext('meeting_list', 10, { status: 429, code: 99991400, msg: 'request trigger frequency limit', headers: { 'x-ogw-ratelimit-reset': '30' } });
    await bot.post('/feishu/events', messageEvent('/quality 444555666', { messageId: 'om_rl' }));
    await bot.drain();
    const cardFor = (to: string) => {
      const reply = bot!.fake.replies.find((r) => r.to === to)!;
      return markdownOf(bot!.fake.patches.filter((p) => p.messageId === reply.messageId).at(-1)!.card);
    };
    expect(cardFor('om_nf')).toContain('Meeting not found');
    expect(cardFor('om_ne')).toContain('has not ended yet');
    expect(cardFor('om_np')).toContain('no permission');
    expect(cardFor('om_np')).toContain('Meeting management');
    expect(cardFor('om_rl')).toContain('rate-limiting us; try again in 30 s');
  });
});

describe('Feishu transport edge cases', () => {
  it('the report lands even when patches are refused (230020 frequency limit, HTTP 500): no card left on "querying…"', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 3, { bad: [1] }));
    bot.fake.failNext('patch', 3, { status: 400, code: 230020, msg: 'This operation triggers the frequency limit' });
    bot.fake.failNext('patch', 2, { status: 500, code: 230099, msg: 'internal error' });
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_rl_patch' }));
    await bot.drain();
    const final = markdownOf(lastCard(bot)!);
    expect(final).toContain('3 attendees (per device), 1 with alerts');
    expect(final).not.toContain('Checking the quality');
    // Five refusals, then the newest card: far fewer calls than pushes, and the last one is the report.
    const calls = bot.fake.calls.filter((c) => c.method === 'PATCH');
    expect(calls.length).toBeGreaterThanOrEqual(6);
    expect(String((calls.at(-1)!.body as { content: string }).content)).toContain('row_0');
  });

  it('a bot-info answer with code ≠ 0 (HTTP 200) is not kept: the next message asks again', async () => {
    bot = await startBot();
    bot.fake.meetings.push(meeting('123456789', 2));
    bot.fake.failNext('bot_info', 1, { status: 200, code: 230006, msg: 'Bot ability is not activated' });
    // Without the bot's id any @mention counts (the documented fallback) …
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_other1', mentions: ['ou_someone'] }));
    await bot.drain();
    // … but once Feishu answers, an @mention of someone else is not a command any more.
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_other2', mentions: ['ou_someone'] }));
    await bot.post('/feishu/events', messageEvent('/quality 123456789', { messageId: 'om_bot', mentions: ['ou_bot'] }));
    await bot.drain();
    expect(bot.fake.replies.map((r) => r.to).sort()).toEqual(['om_bot', 'om_other1']);
    expect(bot.fake.calls.filter((c) => c.path === '/open-apis/bot/v3/info')).toHaveLength(2);
  });

  it('takes a 200 KB callback (a 150 KB text, the documented maximum, encrypted) and answers 413 to a 300 KB body', async () => {
    bot = await startBot();
    const long = messageEvent('x'.repeat(150 * 1024), { messageId: 'om_long', mentions: [] });
    const body = JSON.stringify({ encrypt: encrypt(ENCRYPT_KEY, JSON.stringify(long)) });
    expect(body.length).toBeGreaterThan(200 * 1024);
    expect(body.length).toBeLessThan(256 * 1024);
    expect((await bot.post('/feishu/events', null, { raw: body })).status).toBe(200);
    const huge = JSON.stringify({ encrypt: 'A'.repeat(300 * 1024) });
    expect((await bot.post('/feishu/events', null, { raw: huge })).status).toBe(413);
    await bot.drain();
  });
});

describe('Feishu channel wiring', () => {
  it('long-connection mode mounts no event route, only /feishu/card (for callbacks set to HTTP), and stops cleanly', async () => {
    bot = await startBot({ FEISHU_MODE: 'ws' });
    const res = await bot.post('/feishu/events', { challenge: 'x', token: TOKEN, type: 'url_verification' }, { unsigned: true });
    expect(res.status).toBe(404);
    const card = await bot.post('/feishu/card', { challenge: 'x', token: TOKEN, type: 'url_verification' }, { unsigned: true });
    expect(card.body).toEqual({ challenge: 'x' });
  });

  it('registers both routes and keeps the signed encrypted envelope format for clicks', async () => {
    bot = await startBot();
    const body = JSON.stringify({ encrypt: encrypt(ENCRYPT_KEY, JSON.stringify(clickEvent(encodeAction({ cardId: 'mc_nopenopenopenope', page: 0, filter: 'all', op: 'page' }), { messageId: 'om_x', chatId: CHAT }))) });
    const res = await bot.post('/feishu/events', null, { raw: body });
    expect(res.status).toBe(200);
    expect(res.body.toast.content).toContain('expired');
  });
});
