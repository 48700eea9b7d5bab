import { describe, expect, it } from 'vitest';
import { authorisationCard, claimState, createState, feishuAdmins, mayAuthorise, STATE_TTL_MS } from '../../src/channels/feishu/authorise.js';
import { MeetcheckError } from '../../src/core/errors.js';
import type { VendorClient } from '../../src/core/vendor.js';
import { manualClock, testCore } from '../helpers/core.js';
import { authoriseLink } from './helpers.js';

/** A Feishu vendor as the channel sees it: only its name and its consent link matter here. */
const vendor: VendorClient = {
  name: 'feishu',
  fetchReport: () => Promise.reject(new Error('not used')),
  userAuth: { authorizeUrl: (state) => `https://accounts.feishu.cn/open-apis/authen/v1/authorize?state=${state}`, exchange: () => Promise.reject(new Error('not used')) },
};
const pending = {
  chatId: 'oc_1', userId: 'ou_alice', cardId: 'mc_AAAAAAAAAAAAAAAA',
};
const needed = new MeetcheckError('user_auth_required', 'feishu meeting_list: 99991672 Access denied', { vendor: 'feishu' });
const text = (card: any) => JSON.stringify(card.body.elements);

describe('who may authorise', () => {
  it('MEETCHECK_ADMINS (Feishu entries only) when set; else the person who asked', () => {
    expect(feishuAdmins({ lang: 'en' })).toBeUndefined();
    expect(feishuAdmins({ lang: 'en', admins: new Set(['ou_boss', 'feishu:ou_deputy', 'wecom:zhangsan']) })).toEqual(['ou_boss', 'ou_deputy']);
    expect(mayAuthorise({ lang: 'en' }, 'ou_alice', 'ou_alice')).toBe(true);
    expect(mayAuthorise({ lang: 'en' }, 'ou_alice', 'ou_bob')).toBe(false);
    const admins = { lang: 'en' as const, admins: new Set(['ou_boss', 'feishu:ou_deputy']) };
    expect(mayAuthorise(admins, 'ou_alice', 'ou_deputy')).toBe(true);
    expect(mayAuthorise(admins, 'ou_alice', 'ou_alice')).toBe(false);
  });

  it('a non-admin is told who can fix it, with no button; an admin gets the button', async () => {
    const settings = { admins: new Set(['ou_boss', 'wecom:zhangsan', 'feishu:<at id=all></at>']) };
    const core = testCore([vendor], { settings });
    const forAlice = (await authorisationCard(core, needed, pending))!;
    expect(authoriseLink(forAlice)).toBeUndefined();
    expect(text(forAlice)).toContain('Only an admin can authorise: <at id=ou_boss></at>');
    // Only open_ids become mentions; anything else is escaped and pings nobody.
    // (text() is JSON, so each escaping backslash shows doubled.)
    expect(text(forAlice)).toContain('\\\\<at id=all\\\\>\\\\</at\\\\>');
    expect(text(forAlice)).not.toContain('zhangsan');

    const forBoss = (await authorisationCard(core, needed, { ...pending, userId: 'ou_boss' }))!;
    expect(authoriseLink(forBoss)).toMatch(/^https:\/\/accounts\.feishu\.cn\/open-apis\/authen\/v1\/authorize\?state=[A-Za-z0-9_-]{43}$/);
    expect(text(forBoss)).toContain('<at id=ou_boss></at> can fix this');
    expect(forBoss).toMatchObject({ schema: '2.0', config: { update_multi: true } });
    // JSON 2.0: element_ids unique, a letter first, letters/digits/_ only, at most 20 characters;
    // the button opens the link (behaviors open_url), no legacy `action` module.
    const ids = (forBoss as any).body.elements.map((e: any) => e.element_id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z][A-Za-z0-9_]{0,19}$/);
    const button = (forBoss as any).body.elements.find((e: any) => e.tag === 'button');
    expect(button).toMatchObject({ type: 'primary', text: { tag: 'plain_text', content: 'Authorise' }, behaviors: [{ type: 'open_url' }] });
    expect(JSON.stringify(forBoss)).not.toContain('"tag":"action"');
  });

  it('other failures, and vendors that cannot take an authorisation, get the usual card', async () => {
    const core = testCore([vendor]);
    expect(await authorisationCard(core, new MeetcheckError('meeting_not_found', undefined, { vendor: 'feishu' }), pending)).toBeUndefined();
    const { userAuth: _, ...plain } = vendor;
    expect(await authorisationCard(testCore([plain as VendorClient]), needed, pending)).toBeUndefined();
  });
});

describe('the OAuth state', () => {
  it('works once, for 10 minutes; a failed callback gives it back; nothing else opens it', async () => {
    const clock = manualClock();
    const core = testCore([vendor], { clock });
    const state = await createState(core.store, clock, pending);
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const first = (await claimState(core.store, clock, state))!;
    expect(first.pending).toMatchObject({ chatId: 'oc_1', userId: 'ou_alice', cardId: pending.cardId });
    // Held by one callback: a second one at the same time finds nothing.
    expect(await claimState(core.store, clock, state)).toBeUndefined();
    await first.release();
    const second = (await claimState(core.store, clock, state))!;
    await second.spend();
    await second.release();
    expect(await claimState(core.store, clock, state)).toBeUndefined();

    expect(await claimState(core.store, clock, 'x'.repeat(43))).toBeUndefined();
    expect(await claimState(core.store, clock, 'short')).toBeUndefined();
    const late = await createState(core.store, clock, pending);
    await clock.advance(STATE_TTL_MS + 1);
    expect(await claimState(core.store, clock, late)).toBeUndefined();
  });
});
