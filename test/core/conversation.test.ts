import { describe, expect, it } from 'vitest';
import { loadCard } from '../../src/core/card.js';
import { decodeAction as decodeClick, encodeAction as encodeClick, type CardAction as ClickAction } from '../../src/core/actions.js';
import { createConversation } from '../../src/core/conversation.js';
import { MeetcheckError } from '../../src/core/errors.js';
import type { Attendee, MeetingReport } from '../../src/core/model.js';
import type { CardView } from '../../src/core/surface.js';
import type { VendorClient } from '../../src/core/vendor.js';
import { createDemoVendor } from '../../src/vendors/demo/index.js';
import { attendee, manualClock, report, testCore, notesIn } from '../helpers/core.js';
import { fakeSurface } from '../helpers/surface.js';

const ctx = { channel: 'feishu' as const, chatId: 'oc_1', userId: 'ou_1' };

function lazyVendor(people: Attendee[], opts: { failFetch?: MeetcheckError; failBatch?: number } = {}) {
  const calls = { fetch: 0, batches: [] as number[] };
  const vendor: VendorClient = {
    name: 'feishu',
    async fetchReport() {
      calls.fetch++;
      if (opts.failFetch) throw opts.failFetch;
      return report(people.map((a) => ({ ...a })));
    },
    async loadAttendees(_r: MeetingReport, batch: Attendee[]) {
      calls.batches.push(batch.length);
      if (opts.failBatch === calls.batches.length) throw new MeetcheckError('rate_limited', '99991400', { retryAfterMs: 30_000 });
      return batch.map((a) => ({ ...a, loaded: true, health: 1 as const }));
    },
  };
  return { vendor, calls };
}

const rowsOf = (v: CardView | undefined) => (v?.kind === 'report' ? v.page.rows.map((r) => r.key) : []);
const click = (v: CardView | undefined, over: Partial<ClickAction>): string =>
  encodeClick({ cardId: v!.card.id, page: 0, filter: 'all', op: 'page', ...over });

describe('the conversation, through a fake surface', () => {
  it('a command: querying, the first page, each background batch, then one final card', async () => {
    const people = Array.from({ length: 23 }, (_, i) => attendee(`p${String(i).padStart(2, '0')}`, { loaded: false, health: 0 }));
    const { vendor, calls } = lazyVendor(people);
    const core = testCore([vendor]);
    const surface = fakeSurface({ pageSize: 5 });
    const { card, done } = await createConversation(core).command(surface, ctx, '/quality feishu:123456789', { id: 'om_cmd' });
    await done;
    expect(calls.fetch).toBe(1);
    expect(calls.batches).toEqual([5, 10, 8]);
    expect(surface.trail(card.id)).toEqual(['querying', 'report', 'report', 'report:final']);
    const final = surface.last(card.id);
    expect(final?.kind === 'report' && final.page.counts.loading).toBe(0);
    // The first send got a handle; the record keeps it for every later update and for clicks.
    const saved = await loadCard(core.store, card.id);
    expect(saved?.handle).toBe('msg_1');
    expect(saved?.origin).toBe('om_cmd');
    expect(saved?.state.kind).toBe('report');
  });

  it('a "final" surface gets progress and exactly one finished card (the WeCom stream shape)', async () => {
    const people = Array.from({ length: 12 }, (_, i) => attendee(`p${i}`, { loaded: false, health: 0 }));
    const { vendor } = lazyVendor(people);
    const core = testCore([vendor]);
    const surface = fakeSurface({ platform: 'wecom', pageSize: 6, updates: 'final', deadlineMs: 60_000 });
    const { card, done } = await createConversation(core).command({ ...surface, show: surface.show }, { ...ctx, channel: 'wecom' }, '/quality feishu:123456789', { id: 'msg1', handle: 'stream_1' });
    await done;
    const trail = surface.trail(card.id);
    expect(trail.at(-1)).toBe('report:final');
    expect(trail.filter((s) => s.startsWith('report'))).toHaveLength(1);
    expect(surface.shown.every((s) => s.handle === 'stream_1')).toBe(true);
  });

  it('help and a malformed command each get one final message card, and no vendor call', async () => {
    const { vendor, calls } = lazyVendor([]);
    const core = testCore([vendor]);
    const surface = fakeSurface();
    const conv = createConversation(core);
    const help = await conv.command(surface, ctx, '/help');
    const bad = await conv.command(surface, ctx, '/quality 12');
    expect(surface.trail(help.card.id)).toEqual(['message:final']);
    expect(surface.trail(bad.card.id)).toEqual(['message:final']);
    const badView = surface.last(bad.card.id);
    expect(badView?.kind === 'message' && badView.message.text).toContain('"12"');
    expect(calls.fetch).toBe(0);
  });

  it('a vendor failure ends in an error card with a retry button, and the retry runs the command again', async () => {
    const { vendor, calls } = lazyVendor([], { failFetch: new MeetcheckError('vendor_timeout') });
    const core = testCore([vendor]);
    const surface = fakeSurface();
    const conv = createConversation(core);
    const { card, done } = await conv.command(surface, ctx, '/quality feishu:123456789');
    await done;
    const failed = surface.last(card.id);
    expect(failed?.kind).toBe('message');
    const retry = failed?.kind === 'message' ? failed.buttons[0] : undefined;
    expect(retry && 'value' in retry && decodeClick(retry.value)?.op).toBe('refresh');
    const answer = await conv.click(surface, ctx, retry && 'value' in retry ? retry.value : '');
    expect(answer.view?.kind).toBe('querying');
    answer.after?.();
    await core.tasks.idle();
    expect(calls.fetch).toBe(2);
    expect(surface.trail(card.id)).toEqual(['querying', 'message:final', 'message:final']);
  });

  it('page flips and the filter come from the store alone, keep the person\'s place, and refuse other chats', async () => {
    const core = testCore([createDemoVendor({ clock: manualClock() })]);
    const surface = fakeSurface({ pageSize: 4 });
    const conv = createConversation(core);
    const { card, done } = await conv.command(surface, ctx, '/quality demo:123456789');
    await done;
    const first = surface.last(card.id);
    const page2 = await conv.click(surface, ctx, click(first, { page: 1 }));
    expect(page2.view?.kind === 'report' && page2.view.page.page).toBe(1);
    expect(rowsOf(page2.view)).not.toEqual(rowsOf(first));
    expect((await loadCard(core.store, card.id))?.page).toBe(1);
    const problems = await conv.click(surface, ctx, click(first, { filter: 'problems' }));
    expect(problems.view?.kind === 'report' && problems.view.page.filter).toBe('problems');
    // Another chat: a toast, and the card is left alone.
    const foreign = await conv.click(surface, { ...ctx, chatId: 'oc_other' }, click(first, { page: 1 }));
    expect(foreign.view).toBeUndefined();
    expect(foreign.toast?.type).toBe('error');
    // A forged or unknown value: a toast, never an exception.
    expect((await conv.click(surface, ctx, 'mc2|mc_AAAAAAAAAAAAAAAA|0|a|p')).toast?.type).toBe('error');
    expect((await conv.click(surface, ctx, { not: 'a string' })).toast?.type).toBe('error');
  });

  it('a flip after the report expired re-runs the command with a note', async () => {
    const clock = manualClock();
    const core = testCore([createDemoVendor({ clock })], { clock });
    const surface = fakeSurface({ pageSize: 4 });
    const conv = createConversation(core);
    const { card, done } = await conv.command(surface, ctx, '/quality demo:123456789');
    await done;
    await clock.advance(25 * 3600_000);
    const answer = await conv.click(surface, ctx, click(surface.last(card.id), { page: 1 }));
    expect(answer.view?.kind).toBe('querying');
    answer.after?.();
    await core.tasks.idle();
    const after = surface.last(card.id);
    expect(after?.kind).toBe('report');
    expect(after?.kind === 'report' && notesIn('en', after.page.stored.report).join(' ')).toContain('expired');
  });

  it('a click waits for a quick re-run on surfaces that must answer in place (WeCom: clickWaitMs)', async () => {
    const core = testCore([createDemoVendor({ clock: manualClock() })]);
    const surface = fakeSurface({ platform: 'wecom', pageSize: 6, updates: 'final', deadlineMs: 60_000, clickWaitMs: 3000 });
    const wctx = { ...ctx, channel: 'wecom' as const };
    const conv = createConversation(core);
    const { card, done } = await conv.command(surface, wctx, '/quality demo:123456789', { id: 'm1', handle: 's1' });
    await done;
    const answer = await conv.click(surface, wctx, click(surface.last(card.id), { op: 'refresh' }));
    expect(answer.after).toBeUndefined();
    expect(answer.view?.kind).toBe('report');
  });

  it('the store down: clicks answer "temporarily unavailable" instead of failing', async () => {
    const core = testCore([createDemoVendor({ clock: manualClock() })]);
    const surface = fakeSurface();
    const conv = createConversation(core);
    const { card, done } = await conv.command(surface, ctx, '/quality demo:123456789');
    await done;
    const { StoreUnavailableError } = await import('../../src/store/types.js');
    core.store.get = async () => { throw new StoreUnavailableError('down'); };
    const answer = await conv.click(surface, ctx, click(surface.last(card.id), { page: 1 }));
    expect(answer.toast?.text).toBe(conv.unavailable().text);
  });

  it('click values round-trip and reject anything else', () => {
    const a: ClickAction = { cardId: 'mc_abcdefghijklmnop', page: 12, filter: 'problems', op: 'show' };
    expect(decodeClick(encodeClick(a))).toEqual(a);
    for (const bad of ['mc1|x|0|a|p', 'mc2|mc_short|0|a|p', 'mc2|mc_abcdefghijklmnop|0|a|x', `mc2|mc_abcdefghijklmnop|${'9'.repeat(7)}|a|p`, 42, null]) {
      expect(decodeClick(bad)).toBeUndefined();
    }
  });
});

describe('inbound dedupe and stale filter', () => {
  it('the first delivery of an id wins once per platform; old messages are stale, unknown times are not', async () => {
    const { firstDelivery, isStale, STALE_MS } = await import('../../src/core/inbound.js');
    const clock = manualClock();
    const core = testCore([], { clock });
    expect(await firstDelivery(core.store, 'feishu', 'om_1')).toBe(true);
    expect(await firstDelivery(core.store, 'feishu', 'om_1')).toBe(false);
    expect(await firstDelivery(core.store, 'wecom', 'om_1')).toBe(true);
    expect(isStale(clock, clock.now() - STALE_MS - 1)).toBe(true);
    expect(isStale(clock, clock.now() - STALE_MS)).toBe(false);
    expect(isStale(clock, undefined)).toBe(false);
  });
});

describe('bounded shutdown', () => {
  it('work past the grace period is aborted, and its card still ends, saying it was interrupted', async () => {
    const clock = manualClock();
    const people = Array.from({ length: 30 }, (_, i) => attendee(`p${i}`, { loaded: false, health: 0 }));
    const vendor: VendorClient = {
      name: 'feishu',
      async fetchReport() { return report(people.map((a) => ({ ...a }))); },
      // A paced load: each batch waits a minute for the rate budget, as Feishu's does.
      async loadAttendees(_r, batch, opts) {
        await clock.sleep(60_000, opts.signal);
        return batch.map((a) => ({ ...a, loaded: true, health: 1 as const }));
      },
    };
    const core = testCore([vendor], { clock, settings: { lang: 'en' } });
    const surface = fakeSurface({ pageSize: 5 });
    const { card } = await createConversation(core).command(surface, ctx, '/quality feishu:123456789');
    const drained = core.tasks.drain(clock, 10_000);
    await clock.advance(10_000);
    expect(await drained).toBe(false);
    const last = surface.shown.filter((s) => s.view.card.id === card.id).at(-1);
    expect(last?.final).toBe(true);
    expect(last?.view.kind === 'message' && last.view.message.text).toContain('restarted');
  });
});
