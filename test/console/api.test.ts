import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { loadConfig } from '../../src/config.js';
import { startServer, type Running } from '../../src/main.js';
import { decodeAction, encodeAction } from '../../src/core/actions.js';
import { t } from '../../src/core/i18n.js';
import { viewPage } from '../../src/core/paging.js';
import { hasProblems, loadReport, saveReport, sortAttendees, type StoredReport } from '../../src/core/report.js';
import { escapeMarkdown, renderFeishuCard } from '../../src/channels/feishu/card.js';
import { renderWecomCard } from '../../src/channels/wecom/card.js';
import { saveCard, type CardRecord } from '../../src/core/card.js';
import type { ConsoleReply } from '../../src/channels/console/surfaces.js';
import type { VendorClient } from '../../src/core/vendor.js';
import type { VendorName } from '../../src/core/model.js';
import { attendee, report } from '../helpers/core.js';

/**
 * The console's HTTP API against the real server (startServer on port 0, demo vendor): a typed
 * command and a button click go through the same core and store as the chat channels, and the
 * JSON the page draws is exactly what the channels' renderers produce.
 */

const BASE_ENV = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MEETCHECK_LANG: 'en' };
/** A live (non-demo) configuration that starts no connection: the WeCom meeting vendor only. */
const LIVE_ENV = { ...BASE_ENV, WECOM_CORP_ID: 'ww-test', WECOM_MEETING_SECRET: 'not-a-real-secret' };

let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(env: Record<string, string> = BASE_ENV): Promise<Running> {
  running = await startServer(loadConfig(env));
  return running;
}

/** Counts calls to the demo vendor, to show which requests reach a vendor and which are served from the store. */
function countVendorCalls(r: Running): { calls: number } {
  const demo = r.core.vendors.get('demo')!;
  const counter = { calls: 0 };
  const original = demo.fetchReport.bind(demo);
  demo.fetchReport = (query, opts) => {
    counter.calls++;
    return original(query, opts);
  };
  return counter;
}

async function post(r: Running, path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await request(`${r.url}${path}`, { method: 'POST', headers, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function command(r: Running, text: string): Promise<ConsoleReply[]> {
  const res = await post(r, '/console/api/command', JSON.stringify({ text }));
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
  return res.text.trim().split('\n').map((l) => JSON.parse(l) as ConsoleReply);
}

async function action(r: Running, body: Record<string, unknown>): Promise<ConsoleReply> {
  const res = await post(r, '/console/api/action', JSON.stringify(body));
  expect(res.status, res.text).toBe(200);
  return JSON.parse(res.text) as ConsoleReply;
}

function asCard(reply: ConsoleReply | undefined): Extract<ConsoleReply, { type: 'card' }> {
  expect(reply?.type).toBe('card');
  return reply as Extract<ConsoleReply, { type: 'card' }>;
}

/** The callback value of a Feishu button by its element_id, as Feishu would send it back on a click. */
function feishuButton(card: object, id: string): string {
  let found: string | undefined;
  JSON.stringify(card, (_k, v: unknown) => {
    const e = v as { element_id?: string; behaviors?: { value?: { action?: string } }[] };
    if (e && typeof e === 'object' && e.element_id === id) found = e.behaviors?.[0]?.value?.action;
    return v;
  });
  expect(found, `button ${id}`).toBeTypeOf('string');
  return found!;
}

function wecomButton(card: object, text: string): string {
  const list = (card as { button_list: { text: string; key: string }[] }).button_list;
  const b = list.find((x) => x.text === text);
  expect(b, `button ${text} in ${list.map((x) => x.text).join(', ')}`).toBeDefined();
  return b!.key;
}

async function stored(r: Running, id: string): Promise<StoredReport> {
  const s = await loadReport(r.core.store, id);
  expect(s).toBeDefined();
  return s!;
}

describe('console page', () => {
  it('is served in demo mode with a strict CSP, labelled controls and only its own assets', async () => {
    const r = await start();
    const res = await request(`${r.url}/console`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    const html = await res.body.text();
    expect(html).toContain('<label for="command">');
    expect(html).toContain('<legend>');
    // Offline: nothing is loaded from another origin.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const [file, type] of [['console.js', /javascript/], ['console.css', /css/]] as const) {
      const asset = await request(`${r.url}/console/assets/${file}`);
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['content-type']).toMatch(type);
      expect(await asset.body.text()).not.toMatch(/https?:\/\/(?!\/)/);
    }
    const missing = await request(`${r.url}/console/assets/..%2Fapi.ts`);
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();
  });

  it('is off in live mode unless MEETCHECK_CONSOLE=1, since it has no login', async () => {
    let r = await start(LIVE_ENV);
    const off = await request(`${r.url}/console`);
    expect(off.statusCode).toBe(404);
    await off.body.dump();
    const api = await post(r, '/console/api/command', JSON.stringify({ text: '/help' }));
    expect(api.status).toBe(404);
    await r.close();
    running = undefined;

    r = await start({ ...LIVE_ENV, MEETCHECK_CONSOLE: '1' });
    const on = await request(`${r.url}/console`);
    expect(on.statusCode).toBe(200);
    await on.body.dump();
    await r.close();
    running = undefined;

    r = await start({ ...BASE_ENV, MEETCHECK_CONSOLE: '0' });
    const demoOff = await request(`${r.url}/console`);
    expect(demoOff.statusCode).toBe(404);
    await demoOff.body.dump();
  });
});

describe('console API', () => {
  it('answers a command with "querying…", then the very cards the Feishu and WeCom renderers make, worst first', async () => {
    const r = await start();
    const vendor = countVendorCalls(r);
    const replies = await command(r, '/quality demo:123456789');
    expect(replies[0]).toMatchObject({ type: 'progress', text: t('en', 'querying', { meeting: 'demo:123456789' }) });
    expect(replies.slice(0, -1).every((x) => x.type === 'progress')).toBe(true);
    const card = asCard(replies.at(-1));
    expect(vendor.calls).toBe(1);

    const s = await stored(r, card.reportId);
    expect(s.chat).toEqual({ channel: 'console', chatId: 'console' });
    // Not a parallel copy: byte-for-byte what the channels send for this page.
    expect(card.feishu.card).toEqual(renderFeishuCard(viewPage(s, 0, 'all', 10), card.taskId));
    expect(card.wecom.card).toEqual(renderWecomCard(viewPage(s, 0, 'all', 6), card.taskId));
    expect(card.loading).toBe(false);
    expect(decodeAction(card.feishu.current)).toEqual({ cardId: card.taskId, page: 0, filter: 'all', op: 'page' });

    // The rows are the attendees worst first, in the order core sorts them.
    const expected = sortAttendees(s.report.attendees).slice(0, 10);
    expect(expected[0]!.health).toBe(2);
    const rows = (card.feishu.card as { body: { elements: { element_id?: string; content?: string }[] } }).body.elements.filter((e) => e.element_id?.startsWith('row_'));
    expect(rows).toHaveLength(10);
    rows.forEach((row, i) => expect(row.content).toContain(`**${escapeMarkdown(expected[i]!.name)}**`));
  });

  it('pages and filters from the store with the buttons\' own action values: no vendor call', async () => {
    const r = await start();
    const vendor = countVendorCalls(r);
    const first = asCard((await command(r, '/quality demo:123456789')).at(-1));
    const s = await stored(r, first.reportId);
    const sorted = sortAttendees(s.report.attendees);

    const next = asCard(await action(r, { action: feishuButton(first.feishu.card, 'btn_next'), surface: 'feishu', taskId: first.taskId }));
    expect(next.feishu.card).toEqual(renderFeishuCard(viewPage(s, 1, 'all', 10), first.taskId));
    // The WeCom card follows to the page holding the same first attendee (6 per page: row 10 is on page 1).
    expect(next.wecom.card).toEqual(renderWecomCard(viewPage(s, 1, 'all', 6), first.taskId));
    expect(JSON.stringify(next.feishu.card)).toContain(JSON.stringify(`**${escapeMarkdown(sorted[10]!.name)}**`).slice(1, -1));

    const problems = asCard(await action(r, { action: feishuButton(next.feishu.card, 'btn_filter'), surface: 'feishu', taskId: first.taskId }));
    const view = viewPage(s, 0, 'problems', 10);
    expect(view.rows.every(hasProblems)).toBe(true);
    expect(problems.feishu.card).toEqual(renderFeishuCard(view, first.taskId));

    // A click on the WeCom card pages by WeCom's size.
    const wecomNext = asCard(await action(r, { action: wecomButton(first.wecom.card, t('en', 'btn.next')), surface: 'wecom', taskId: first.taskId }));
    expect(wecomNext.wecom.card).toEqual(renderWecomCard(viewPage(s, 1, 'all', 6), first.taskId));
    expect(wecomNext.feishu.card).toEqual(renderFeishuCard(viewPage(s, 0, 'all', 10), first.taskId));

    expect(vendor.calls).toBe(1);

    // Refresh is the one button that asks the vendor again, and makes a new report.
    const refreshed = asCard(await action(r, { action: feishuButton(first.feishu.card, 'btn_refresh'), surface: 'feishu', taskId: first.taskId }));
    expect(vendor.calls).toBe(2);
    expect(refreshed.reportId).not.toBe(first.reportId);
  });

  it('passes vendor text through the renderers escaped: a name like <at id=all></at> pings nobody', async () => {
    const r = await start();
    const first = asCard((await command(r, '/quality demo:123456789')).at(-1));
    const s = await stored(r, first.reportId);
    const index = sortAttendees(s.report.attendees).findIndex((a) => a.name === '<at id=all></at>');
    expect(index).toBeGreaterThanOrEqual(0);
    const page = asCard(await action(r, { action: encodeAction({ cardId: first.taskId, page: Math.floor(index / 10), filter: 'all', op: 'page' }), surface: 'feishu', taskId: first.taskId }));
    const json = JSON.stringify(page.feishu.card);
    // Escaped the way Feishu's own plugin does: a backslash before each markup character.
    expect(json).toContain('\\\\<at id=all\\\\>\\\\</at\\\\>');
    expect(json).not.toContain('<at id=all>');
  });

  it('shows a lazily loaded report as it fills in: the card says loading and carries the page to ask for again', async () => {
    const r = await start();
    // A vendor that, like Feishu VC, lists attendees first and loads their quality in batches.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let batches = 0;
    const lazy: VendorClient = {
      name: 'demo',
      async fetchReport() {
        return report(Array.from({ length: 25 }, (_, i) => ({ ...attendee(`p${i}`, { worst: i % 5 === 0 ? 4 : 1 }), loaded: false })));
      },
      async loadAttendees(_report, batch) {
        if (batches++ > 0) await gate;
        return batch.map((a) => ({ ...a, loaded: true }));
      },
    };
    (r.core.vendors as Map<VendorName, VendorClient>).set('demo', lazy);

    const first = asCard((await command(r, '/quality demo:123456789')).at(-1));
    expect(first.loading).toBe(true);
    const s0 = viewPage((await stored(r, first.reportId)), 0, 'all', 10);
    expect(s0.counts.loading).toBe(15);

    release();
    await r.core.tasks.idle();
    // What the page's poll sends: the shown page's own action value.
    const after = asCard(await action(r, { action: first.feishu.current, surface: 'feishu', taskId: first.taskId }));
    expect(after.loading).toBe(false);
    const s1 = await stored(r, first.reportId);
    expect(after.feishu.card).toEqual(renderFeishuCard(viewPage(s1, 0, 'all', 10), first.taskId));
    expect(viewPage(s1, 0, 'all', 10).rows[0]!.health).toBe(2);
  });

  it('answers help, a bad command and vendor errors with a card that says what to do', async () => {
    const r = await start();
    const help = await command(r, '/help');
    expect(help).toHaveLength(1);
    expect(help[0]!.type).toBe('message');
    expect(JSON.stringify(help[0])).toContain(t('en', 'help.title'));

    const bad = await command(r, '/quality not-a-meeting!');
    expect(bad).toHaveLength(1);
    expect(JSON.stringify(bad[0])).toContain(t('en', 'help.title'));

    const missing = await command(r, '/quality demo:000000000');
    const last = missing.at(-1)!;
    expect(last.type).toBe('message');
    expect(JSON.stringify(last)).toContain(t('en', 'err.meeting_not_found').slice(0, 30));

    const unconfigured = await command(r, '/quality tencent:123456789');
    expect(JSON.stringify(unconfigured.at(-1))).toContain('tencent is not set up on this bot');

    // WeCom's message card carries a help button; clicking it shows help.
    const buttons = ((last as Extract<ConsoleReply, { type: 'message' }>).wecom.card as { button_list: { key: string }[] }).button_list;
    const helpKey = buttons.find((b) => decodeAction(b.key)?.op === 'help')?.key;
    expect(decodeAction(helpKey)).toMatchObject({ op: 'help' });
    const helped = await action(r, { action: helpKey, surface: 'wecom', taskId: 'mc_x' });
    expect(helped.type).toBe('message');
    expect(JSON.stringify(helped)).toContain('/quality');
  });

  it('refuses clicks on expired reports and on reports made for another chat, with a card', async () => {
    const r = await start();
    const expired = await action(r, { action: encodeAction({ cardId: 'mc_AAAAAAAAAAAAAAAA', page: 0, filter: 'all', op: 'page' }), surface: 'feishu', taskId: 'mc_x' });
    expect(expired.type).toBe('message');
    expect(JSON.stringify(expired)).toContain(t('en', 'err.report_expired').slice(0, 30));

    const first = asCard((await command(r, '/quality demo:123456789')).at(-1));
    const s = await stored(r, first.reportId);
    const foreign: StoredReport = { ...s, id: 'feishuReport0001', chat: { channel: 'feishu', chatId: 'oc_other' } };
    await saveReport(r.core.store, foreign);
    const foreignCard: CardRecord = {
      id: 'mc_feishuCard000001', chat: foreign.chat, userId: 'ou_1', lang: 'en', createdAt: 0, state: { kind: 'report' }, page: 0, filter: 'all', reportId: foreign.id,
    };
    await saveCard(r.core.store, foreignCard);
    const refused = await action(r, { action: encodeAction({ cardId: foreignCard.id, page: 0, filter: 'all', op: 'page' }), surface: 'feishu', taskId: 'mc_x' });
    expect(refused.type).toBe('message');
    expect(JSON.stringify(refused)).toContain(t('en', 'err.foreign_chat').slice(0, 30));
  });

  it('answers bad requests with 4xx and keeps serving', async () => {
    const r = await start();
    const cases: [string, string, Record<string, string> | undefined, number][] = [
      ['/console/api/command', '{"text":"/help"}', { 'content-type': 'text/plain' }, 415],
      ['/console/api/command', '{"text":', undefined, 400],
      ['/console/api/command', '[]', undefined, 400],
      ['/console/api/command', '{"text":42}', undefined, 400],
      ['/console/api/command', JSON.stringify({ text: 'x'.repeat(10_000) }), undefined, 413],
      ['/console/api/command', '{"text":"/help"}', { 'content-type': 'application/json', origin: 'http://evil.example' }, 403],
      ['/console/api/command', '{"text":"/help"}', { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, 403],
      ['/console/api/action', '{"action":"mc1|x|0|a|p","surface":"feishu"}', undefined, 400],
      ['/console/api/action', '{"action":"mc1|x|0|a|p","surface":"teams","taskId":"t"}', undefined, 400],
      ['/console/api/action', '{"action":"mc1|x|0|a|p","surface":"feishu","taskId":"bad id!"}', undefined, 400],
      ['/console/api/action', '{"action":"not an action","surface":"feishu","taskId":"t"}', undefined, 400],
    ];
    for (const [path, body, headers, status] of cases) {
      const res = await post(r, path, body, headers);
      expect(res.status, `${path} ${body.slice(0, 60)} ${JSON.stringify(headers)}`).toBe(status);
      expect(JSON.parse(res.text)).toHaveProperty('error');
    }
    // Same-origin requests (what the page sends) are accepted.
    const ok = await post(r, '/console/api/command', '{"text":"/help"}', { 'content-type': 'application/json', origin: r.url, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
  });
});
