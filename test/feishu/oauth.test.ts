import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { FAKE_USER_VC_SCOPE } from '../fakes/feishu.js';
import { APP_ID, authoriseLink, followRedirect, meeting, messageEvent, PUBLIC_URL, startBot, USER_MODE_ENV, type Bot } from './helpers.js';

/**
 * Issue "Works on a real tenant", part 3: an app created today holds the VC scope only for a
 * user_access_token. Through the Feishu channel over real HTTP: the command → a card with an
 * Authorise button for the admin → Feishu's redirect to GET /feishu/oauth/callback → the same
 * card patched into the report.
 */

let bot: Bot | undefined;
afterEach(async () => {
  await bot?.close();
  bot = undefined;
});

const markdownOf = (card: any): string => JSON.stringify(card?.body?.elements ?? []);
const ALICE = { openId: 'ou_alice', name: 'Alice' };
const BOB = { openId: 'ou_bob', name: 'Bob' };

function capture(level = 'debug') {
  const lines: string[] = [];
  const log = createLogger(level, { write: (s: string) => void lines.push(s) } as never);
  return { log, lines };
}

/** The newest card on the bot's answer to the command message `to`. */
function cardFor(b: Bot, to: string): any {
  const reply = b.fake.replies.find((r) => r.to === to)!;
  return b.fake.patches.filter((p) => p.messageId === reply.messageId).at(-1)?.card ?? reply.card;
}

async function ask(b: Bot, messageId: string, sender = 'ou_alice'): Promise<any> {
  const res = await b.post('/feishu/events', messageEvent('/quality 123456789', { messageId, sender, createTime: b.clock.now() }));
  expect(res.status).toBe(200);
  await b.drain();
  return cardFor(b, messageId);
}

describe('Feishu user authorisation, end to end', () => {
  it('an app with only the new user scope: the admin authorises once and the card turns into the report', async () => {
    const { log, lines } = capture();
    bot = await startBot({ ...USER_MODE_ENV, MEETCHECK_ADMINS: 'ou_alice' }, { fake: { vcScope: 'user' }, log });
    bot.fake.meetings.push(meeting('123456789', 3, { bad: [1] }));

    const offer = await ask(bot, 'om_q1');
    // The tenant token was tried and refused for scope.
    const refused = bot.fake.vcCalls('meeting_list');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.auth).toMatch(/^Bearer t-/);
    expect(markdownOf(offer)).toContain('an admin needs to authorise once');
    expect(markdownOf(offer)).toContain('<at id=ou_alice></at> can fix this');
    const link = authoriseLink(offer)!;
    const u = new URL(link);
    expect(`${u.origin}${u.pathname}`).toBe(`${bot.fake.url}/open-apis/authen/v1/authorize`);
    expect(u.searchParams.get('client_id')).toBe(APP_ID);
    expect(u.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/feishu/oauth/callback`);
    expect(u.searchParams.get('scope')!.split(' ')).toEqual(['offline_access', FAKE_USER_VC_SCOPE]);
    expect(u.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const { redirect, code } = bot.fake.authorize(link, ALICE);
    const page = await followRedirect(bot, redirect);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('Authorised');
    await bot.drain();

    // The same card, patched to the report, from calls made with the admin's token.
    const report = cardFor(bot, 'om_q1');
    expect(report.header.template).toBe('red');
    expect(markdownOf(report)).toContain('3 attendees (per device), 1 with alerts');
    expect(authoriseLink(report)).toBeUndefined();
    const after = bot.fake.vcCalls().slice(1);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((c) => c.auth?.startsWith('Bearer u-'))).toBe(true);
    const exchanges = bot.fake.tokenCalls('authorization_code');
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.body).toMatchObject({ grant_type: 'authorization_code', client_id: APP_ID, code, redirect_uri: `${PUBLIC_URL}/feishu/oauth/callback` });

    // The link worked once.
    const again = await followRedirect(bot, redirect);
    expect(again.status).toBe(400);
    expect(again.body).toContain('not valid');

    // The grant is sealed at rest, and no token or code reached the log.
    const sealed = (await bot.running.core.store.get(`feishu:grant:${APP_ID}`))!;
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('u-fake');
    expect(sealed).not.toContain('ur-fake');
    const logged = lines.join('');
    expect(logged).toContain('stored the Feishu user grant');
    expect(logged).not.toMatch(/u-fake|ur-fake/);
    expect(logged).not.toContain(code);

    // The next command goes straight to the report: no second authorisation.
    const next = await ask(bot, 'om_q2');
    expect(markdownOf(next)).toContain('3 attendees (per device)');
    expect(bot.fake.tokenCalls()).toHaveLength(1);
  });

  it('MEETCHECK_ADMINS unset: the asker gets the button; someone else who presses it is refused and the link still works', async () => {
    bot = await startBot(USER_MODE_ENV, { fake: { vcScope: 'user' } });
    bot.fake.meetings.push(meeting('123456789', 2));
    const link = authoriseLink(await ask(bot, 'om_a1'))!;

    const bobs = bot.fake.authorize(link, BOB);
    const refused = await followRedirect(bot, bobs.redirect);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('not for you');
    expect(await bot.running.core.store.get(`feishu:grant:${APP_ID}`)).toBeUndefined();

    const alices = bot.fake.authorize(link, ALICE);
    expect((await followRedirect(bot, alices.redirect)).status).toBe(200);
    await bot.drain();
    expect(markdownOf(cardFor(bot, 'om_a1'))).toContain('2 attendees (per device)');
  });

  it('declined, unknown, forged, expired and incomplete callbacks each get a page that says so', async () => {
    bot = await startBot(USER_MODE_ENV, { fake: { vcScope: 'user' } });
    bot.fake.meetings.push(meeting('123456789', 2));
    const link = authoriseLink(await ask(bot, 'om_d1'))!;
    const state = new URL(link).searchParams.get('state')!;
    const callback = (q: string) => followRedirect(bot!, `${PUBLIC_URL}/feishu/oauth/callback?${q}`);

    const declined = await callback(`error=access_denied&state=${state}`);
    expect(declined.status).toBe(200);
    expect(declined.body).toContain('Authorisation declined');
    expect((await callback(`code=c&state=${'A'.repeat(43)}`)).status).toBe(400);
    expect((await callback('code=c&state=../../etc')).status).toBe(400);
    const missing = await callback(`state=${state}`);
    expect(missing.status).toBe(400);
    expect(missing.body).toContain('Authorisation details missing');
    // A code Feishu never issued: refused at the token endpoint; the link can still be used.
    const badCode = await callback(`code=never-issued&state=${state}`);
    expect(badCode.status).toBe(400);
    expect(badCode.body).toContain('20003');
    // Escaped: nothing a query string carries becomes markup.
    const odd = await callback('error=%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    expect(odd.status).toBe(400);
    expect(odd.body).not.toContain('<script>');
    expect(odd.body).toContain('&lt;script&gt;');

    // Ten minutes later the state is gone.
    await bot.clock.advance(10 * 60_000 + 1000);
    const late = bot.fake.authorize(link, ALICE);
    const expired = await followRedirect(bot, late.redirect);
    expect(expired.status).toBe(400);
    expect(expired.body).toContain('expired');
    expect(await bot.running.core.store.get(`feishu:grant:${APP_ID}`)).toBeUndefined();
  });

  it('a revoked grant: the refresh is refused, the grant dropped, and the card asks for authorisation again', async () => {
    bot = await startBot(USER_MODE_ENV, { fake: { vcScope: 'user' } });
    bot.fake.meetings.push(meeting('123456789', 2));
    const link = authoriseLink(await ask(bot, 'om_r1'))!;
    await followRedirect(bot, bot.fake.authorize(link, ALICE).redirect);
    await bot.drain();

    // Two hours on the access token has ended, and the admin has removed the app meanwhile.
    bot.fake.revokeUserGrants();
    await bot.clock.advance(2 * 3600_000);
    const card = await ask(bot, 'om_r2');
    expect(bot.fake.tokenCalls('refresh_token')).toHaveLength(1);
    expect(markdownOf(card)).toContain('has lapsed or was revoked');
    expect(markdownOf(card)).toContain('20064');
    expect(await bot.running.core.store.get(`feishu:grant:${APP_ID}`)).toBeUndefined();
    const again = authoriseLink(card)!;
    expect(again).not.toBe(link);
    expect((await followRedirect(bot, bot.fake.authorize(again, ALICE).redirect)).status).toBe(200);
    await bot.drain();
    expect(markdownOf(cardFor(bot, 'om_r2'))).toContain('2 attendees (per device)');
  });

  it('a user token refused mid-life (99991677) is renewed once through the refresh token', async () => {
    bot = await startBot(USER_MODE_ENV, { fake: { vcScope: 'user' } });
    bot.fake.meetings.push(meeting('123456789', 2));
    await followRedirect(bot, bot.fake.authorize(authoriseLink(await ask(bot, 'om_t1'))!, ALICE).redirect);
    await bot.drain();
    bot.fake.expireUserTokens();
    // Past the minute in which a second command shares the first one's result.
    await bot.clock.advance(61_000);
    const card = await ask(bot, 'om_t2');
    expect(markdownOf(card)).toContain('2 attendees (per device)');
    expect(bot.fake.tokenCalls('refresh_token')).toHaveLength(1);
  });

  it('no MEETCHECK_ENCRYPTION_KEY: user mode is off, and the card and the start-up log say so in one line', async () => {
    const { log, lines } = capture('info');
    bot = await startBot({ MEETCHECK_PUBLIC_URL: PUBLIC_URL }, { fake: { vcScope: 'user' }, log });
    const startup = lines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => /user authorisation is off/.test(l.msg));
    expect(startup).toHaveLength(1);
    expect(startup[0]!.msg).toContain('MEETCHECK_ENCRYPTION_KEY not set');
    bot.fake.meetings.push(meeting('123456789', 2));
    const card = await ask(bot, 'om_off');
    expect(authoriseLink(card)).toBeUndefined();
    const text = card.body.elements.find((e: any) => e.element_id === 'text').content as string;
    expect(text).not.toContain('\n');
    // (Underscores are backslash-escaped in card markdown, as Feishu's own plugin does.)
    expect(text).toContain('user authorisation is off on this bot: set MEETCHECK\\_ENCRYPTION\\_KEY');
    const page = await followRedirect(bot, `${PUBLIC_URL}/feishu/oauth/callback?code=x&state=y`);
    expect(page.status).toBe(503);
    expect(page.body).toContain('MEETCHECK_ENCRYPTION_KEY is not set');
  });

  it('long-connection mode serves the OAuth callback too (a browser reaches it, not the event push)', async () => {
    bot = await startBot({ ...USER_MODE_ENV, FEISHU_MODE: 'ws' }, { fake: { vcScope: 'user' } });
    const page = await followRedirect(bot, `${PUBLIC_URL}/feishu/oauth/callback?code=x&state=${'B'.repeat(43)}`);
    expect(page.status).toBe(400);
    expect(page.body).toContain('not valid');
  });

  it('121005 for the tenant token also offers authorisation; existing apps with the legacy scope never see the button', async () => {
    bot = await startBot(USER_MODE_ENV, { fake: { vcScope: 'user', tenantRefusal: { status: 403, code: 121005, msg: 'no permission' } } });
    bot.fake.meetings.push(meeting('123456789', 2));
    expect(authoriseLink(await ask(bot, 'om_p1'))).toBeDefined();
    await bot.close();

    bot = await startBot(USER_MODE_ENV);
    bot.fake.meetings.push(meeting('123456789', 2));
    const card = await ask(bot, 'om_p2');
    expect(markdownOf(card)).toContain('2 attendees (per device)');
    expect(bot.fake.vcCalls().every((c) => c.auth?.startsWith('Bearer t-'))).toBe(true);
  });
});
