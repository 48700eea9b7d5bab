import { describe, expect, it } from 'vitest';
import { decodeAction, encodeAction, openPage } from '../../src/core/actions.js';
import { viewPage } from '../../src/core/paging.js';
import { compareAttendees, saveReport, sortAttendees, type StoredReport } from '../../src/core/report.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { attendee, report } from '../helpers/core.js';

const stored = (attendees = [attendee('a')]): StoredReport => ({
  id: 'r1', createdAt: 0, chat: { channel: 'feishu', chatId: 'oc_1' }, lang: 'en',
  command: { vendor: 'demo', meeting: { vendor: 'demo', code: '123456789' }, problemsOnly: false }, report: report(attendees),
});

describe('worst-first order', () => {
  it('alert before healthy, then by worst rating, then by name; no data and loading last', () => {
    const list = [
      attendee('healthy-b', { name: 'Bob' }),
      attendee('nodata', { health: 0, ratings: { audio: 0, video: 0, screen: 0, network: 0 } }),
      attendee('alert-3', { worst: 3, name: 'Zed' }),
      attendee('loading', { loaded: false, health: 0 }),
      attendee('healthy-a', { name: 'alice' }),
      attendee('alert-4', { worst: 4, name: 'Yan' }),
      attendee('alert-3b', { worst: 3, name: 'Amy' }),
      attendee('fair+', { worst: 2, name: 'Zoe' }),
    ];
    expect(sortAttendees(list).map((a) => a.key)).toEqual(['alert-4', 'alert-3b', 'alert-3', 'fair+', 'healthy-a', 'healthy-b', 'nodata', 'loading']);
  });
  it('is a total order (stable for equal people)', () => {
    const a = attendee('k1', { name: 'Same' });
    const b = attendee('k2', { name: 'Same' });
    expect(compareAttendees(a, b)).toBeLessThan(0);
    expect(compareAttendees(b, a)).toBeGreaterThan(0);
  });
});

describe('paging and the problems filter', () => {
  const people = Array.from({ length: 23 }, (_, i) => attendee(`p${String(i).padStart(2, '0')}`, { worst: i % 5 === 0 ? 4 : 1 }));

  it('pages of the given size, clamped at both ends', () => {
    const s = stored(people);
    const first = viewPage(s, 0, 'all', 10);
    expect(first.pages).toBe(3);
    expect(first.rows).toHaveLength(10);
    expect(first.rows.slice(0, 5).every((a) => a.health === 2)).toBe(true);
    expect(viewPage(s, 2, 'all', 10).rows).toHaveLength(3);
    expect(viewPage(s, 99, 'all', 10).page).toBe(2);
    expect(viewPage(s, -4, 'all', 10).page).toBe(0);
    expect(viewPage(s, Number.NaN, 'all', 10).page).toBe(0);
  });

  it('only problems: the matching count, and every row has a problem', () => {
    const v = viewPage(stored(people), 0, 'problems', 10);
    expect(v.matching).toBe(5);
    expect(v.total).toBe(23);
    expect(v.pages).toBe(1);
    expect(v.rows.every((a) => a.health === 2)).toBe(true);
  });

  it('no problems → an empty page, not an error', () => {
    const v = viewPage(stored([attendee('ok')]), 0, 'problems', 10);
    expect(v.rows).toEqual([]);
    expect(v.pages).toBe(1);
  });

  it('counts and the commonest problems', () => {
    const v = viewPage(stored([
      attendee('a', { worst: 4, problems: ['loss', 'delay'] }), attendee('b', { worst: 3, problems: ['loss'] }),
      attendee('c'), attendee('d', { health: 0, ratings: { audio: 0, video: 0, screen: 0, network: 0 } }), attendee('e', { loaded: false }),
    ]), 0, 'all', 10);
    expect(v.counts).toEqual({ alert: 2, healthy: 1, noData: 1, loading: 1 });
    expect(v.topProblems).toEqual([{ text: 'loss', count: 2 }, { text: 'delay', count: 1 }]);
  });
});

describe('card actions', () => {
  it('round-trips and rejects anything else', () => {
    for (const op of ['page', 'refresh', 'show', 'help'] as const) {
      const a = { cardId: 'mc_AbC_-1AbC_-1AbC_', page: 3, filter: 'problems' as const, op };
      expect(decodeAction(encodeAction(a))).toEqual(a);
    }
    // The earlier report-id buttons (mc1) and anything malformed decode to nothing.
    for (const bad of [undefined, 42, '', 'mc1|AbC_-1|1|a|p', 'mc2|mc_AbC_-1AbC_-1AbC_|1|a', 'mc2|mc_AbC_-1AbC_-1AbC_|1|z|p',
      'mc2|mc_<x>|1|a|p', 'mc2|mc_AbC_-1AbC_-1AbC_|-1|a|p', 'mc2|mc_short|1|a|p', 'x'.repeat(500)]) {
      expect(decodeAction(bad)).toBeUndefined();
    }
  });

  it('a page flip comes from the store; another chat is refused; an unknown id has expired', async () => {
    const store = createMemoryStore();
    const s = stored(Array.from({ length: 12 }, (_, i) => attendee(`p${i}`)));
    await saveReport(store, s);
    const view = await openPage(store, s.chat, { reportId: 'r1', page: 1, filter: 'all' }, 10);
    expect(view.rows).toHaveLength(2);
    await expect(openPage(store, { channel: 'feishu', chatId: 'oc_other' }, { reportId: 'r1', page: 0, filter: 'all' }, 10))
      .rejects.toMatchObject({ code: 'foreign_chat' });
    await expect(openPage(store, { channel: 'wecom', chatId: 'oc_1' }, { reportId: 'r1', page: 0, filter: 'all' }, 10))
      .rejects.toMatchObject({ code: 'foreign_chat' });
    await expect(openPage(store, s.chat, { reportId: 'nope', page: 0, filter: 'all' }, 10)).rejects.toMatchObject({ code: 'report_expired' });
  });
});
