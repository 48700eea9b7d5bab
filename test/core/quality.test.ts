import { describe, expect, it } from 'vitest';
import { runQuality, type QualityCommand } from '../../src/core/quality.js';
import { loadReport } from '../../src/core/report.js';
import { MeetcheckError } from '../../src/core/errors.js';
import type { Attendee, MeetingReport } from '../../src/core/model.js';
import type { VendorClient } from '../../src/core/vendor.js';
import { createDemoVendor } from '../../src/vendors/demo/index.js';
import { attendee, manualClock, report, testCore, notesIn } from '../helpers/core.js';

const cmd = (text: Partial<QualityCommand['meeting']> = { vendor: 'demo', code: '123456789' }): QualityCommand =>
  ({ kind: 'quality', meeting: text, problemsOnly: false });
const ctx = { channel: 'feishu' as const, chatId: 'oc_1', userId: 'ou_1' };

/** A vendor answering from memory that counts calls and can be held mid-call. */
function countingVendor(make: () => MeetingReport, opts: { lazy?: boolean; gate?: Promise<void> } = {}) {
  const calls = { fetch: 0, load: [] as string[][] };
  const vendor: VendorClient = {
    name: 'tencent',
    async fetchReport() {
      calls.fetch++;
      await opts.gate;
      return make();
    },
    ...(opts.lazy ? {
      async loadAttendees(_r: MeetingReport, batch: Attendee[]) {
        calls.load.push(batch.map((a) => a.key));
        return batch.map((a) => ({ ...a, loaded: true, health: 1 as const, ratings: { audio: 1, video: 1, screen: 0, network: 1 } as const }));
      },
    } : {}),
  };
  return { vendor, calls };
}

describe('runQuality', () => {
  it('stores the demo report for the asking chat, sorted pages available', async () => {
    const core = testCore([createDemoVendor({ clock: manualClock() })]);
    const { stored } = await runQuality(core, ctx, cmd(), { pageSize: 10 });
    expect(stored.chat).toEqual({ channel: 'feishu', chatId: 'oc_1' });
    expect(stored.report.attendees.length).toBeGreaterThan(3);
    expect((await loadReport(core.store, stored.id))?.report.meeting.code).toBe('123456789');
  });

  it('demo: unknown meeting → meeting_not_found; unprefixed goes to demo when it is the only vendor', async () => {
    const core = testCore([createDemoVendor({ clock: manualClock() })]);
    await expect(runQuality(core, ctx, cmd({ code: '000000000' }), { pageSize: 10 })).rejects.toMatchObject({ code: 'meeting_not_found' });
    const ok = await runQuality(core, ctx, cmd({ code: '123456789' }), { pageSize: 10 });
    expect(ok.stored.command.vendor).toBe('demo');
    expect(ok.stored.report.meeting.code).toBe('123456789');
  });

  it('a vendor that is not configured is named, not guessed', async () => {
    const core = testCore([createDemoVendor({ clock: manualClock() })]);
    await expect(runQuality(core, ctx, cmd({ vendor: 'wecom', code: '123456789' }), { pageSize: 10 }))
      .rejects.toMatchObject({ code: 'vendor_not_configured', detail: 'wecom' });
  });

  it('allow-lists: chats and admins, with or without the channel prefix', async () => {
    const core = testCore([createDemoVendor({ clock: manualClock() })], { settings: { allowedChats: new Set(['feishu:oc_1']), admins: new Set(['ou_1']) } });
    expect((await runQuality(core, ctx, cmd(), { pageSize: 10 })).stored.chat).toEqual({ channel: 'feishu', chatId: 'oc_1' });
    await expect(runQuality(core, { ...ctx, chatId: 'oc_2' }, cmd(), { pageSize: 10 })).rejects.toMatchObject({ code: 'not_allowed' });
    await expect(runQuality(core, { ...ctx, userId: 'ou_2' }, cmd(), { pageSize: 10 })).rejects.toMatchObject({ code: 'not_allowed' });
  });

  it('the same meeting asked twice at once is fetched once; both chats get their own report', async () => {
    const clock = manualClock();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { vendor, calls } = countingVendor(() => report([attendee('a')]), { gate });
    const core = testCore([vendor], { clock });
    const first = runQuality(core, ctx, cmd({ vendor: 'tencent', code: '806146667' }), { pageSize: 10 });
    const second = runQuality(core, { ...ctx, chatId: 'oc_2' }, cmd({ vendor: 'tencent', code: '806-146-667'.replace(/-/g, '') }), { pageSize: 10 });
    await clock.advance(0);
    open();
    const a = await first;
    await clock.advance(1000);
    const b = await second;
    expect(calls.fetch).toBe(1);
    expect(a.stored.id).not.toBe(b.stored.id);
    expect(b.stored.chat.chatId).toBe('oc_2');
  });

  it('a failed fetch releases the lock so the next command tries again', async () => {
    let fail = true;
    const vendor: VendorClient = {
      name: 'tencent',
      async fetchReport() {
        if (fail) throw new MeetcheckError('vendor_unavailable', '500');
        return report([attendee('a')]);
      },
    };
    const core = testCore([vendor]);
    await expect(runQuality(core, ctx, cmd({ vendor: 'tencent', code: '806146667' }), { pageSize: 10 })).rejects.toMatchObject({ code: 'vendor_unavailable' });
    fail = false;
    const again = await runQuality(core, ctx, cmd({ vendor: 'tencent', code: '806146667' }), { pageSize: 10 });
    expect(again.stored.report.attendees.map((a) => a.key)).toEqual(['a']);
  });

  it('lazy vendors: the first page before the answer, the rest in background batches with updates', async () => {
    const people = Array.from({ length: 25 }, (_, i) => attendee(`p${i}`, { loaded: false, health: 0 }));
    const { vendor, calls } = countingVendor(() => report(people), { lazy: true });
    const core = testCore([vendor]);
    const updates: [number, boolean][] = [];
    const { stored, background } = await runQuality(core, ctx, cmd({ vendor: 'tencent', code: '806146667' }), {
      pageSize: 5,
      onUpdate: (s, done) => void updates.push([s.report.attendees.filter((a) => a.loaded).length, done]),
    });
    // The answer carries the first page loaded; later batches come only from the background.
    expect(calls.load[0]).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    expect(updates.length).toBeLessThanOrEqual(1);
    await background;
    expect(calls.load.map((b) => b.length)).toEqual([5, 10, 10]);
    expect(updates).toEqual([[15, false], [25, true]]);
    expect((await loadReport(core.store, stored.id))!.report.attendees.every((a) => a.loaded)).toBe(true);
  });

  it('lazy loading that fails midway keeps what it has and says the report is partial', async () => {
    const people = Array.from({ length: 30 }, (_, i) => attendee(`p${i}`, { loaded: false, health: 0 }));
    let n = 0;
    const vendor: VendorClient = {
      name: 'feishu',
      async fetchReport() { return report(people); },
      async loadAttendees(_r, batch) {
        if (++n === 2) throw new MeetcheckError('rate_limited', '99991400', { retryAfterMs: 30_000 });
        return batch.map((a) => ({ ...a, loaded: true, health: 1 as const }));
      },
    };
    const core = testCore([vendor]);
    const updates: boolean[] = [];
    const { stored, background } = await runQuality(core, ctx, cmd({ vendor: 'feishu', code: '123456789' }), { pageSize: 10, onUpdate: (_s, done) => void updates.push(done) });
    await background;
    const saved = (await loadReport(core.store, stored.id))!;
    expect(saved.report.complete).toBe(false);
    expect(notesIn('en', saved.report).join(' ')).toContain('30 s');
    expect(updates).toEqual([true]);
  });
});
