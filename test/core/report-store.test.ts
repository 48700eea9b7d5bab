import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHeadFor, openPage, readPage, type PageRef } from '../../src/core/actions.js';
import type { Attendee, Level } from '../../src/core/model.js';
import { viewPage, type Filter, type PageView } from '../../src/core/paging.js';
import { REPORT_TTL_MS, hasProblems, loadHead, loadReport, saveReport, sortAttendees, type StoredReport } from '../../src/core/report.js';
import { silentLogger } from '../../src/log.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { createRedisStore } from '../../src/store/redis.js';
import type { Store } from '../../src/store/types.js';
import { attendee, manualClock, report } from '../helpers/core.js';
import { recordingStore, type StoreCall } from '../store/recording.js';
import { IN_CI, REDIS_URL, cleanPrefix, keysUnder, probeRedis, testPrefix } from '../store/redis-env.js';

/**
 * The report store's paged layout (src/core/report.ts): a flip reads the header and the chunks of
 * its page, shows exactly what sorting the whole report would, never mixes two saves, and every
 * key of a report lives REPORT_TTL_MS from the report's last save.
 */

const NAMES = ['王伟', '李娜', 'Alice Chen', 'bob', '张敏', 'Zoë', '陈静', '<at id=all></at>', '**x**', '刘洋'];

/** A deterministic crowd with every kind of row, problems interleaved with healthy rows, and many equal names (ties go by key). */
function crowd(n: number, seed = 7): Attendee[] {
  let x = seed;
  const rnd = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
  const out: Attendee[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const key = `u${String(i).padStart(6, '0')}`;
    const name = NAMES[Math.floor(rnd() * NAMES.length)]!;
    const worst = (1 + Math.floor(rnd() * 2)) as Level;
    if (r < 0.08) out.push(attendee(key, { name, worst: 4, problems: ['High packet loss', 'Echo'].slice(0, 1 + Math.floor(rnd() * 2)) }));
    else if (r < 0.16) out.push(attendee(key, { name, worst: 3 }));
    // Healthy by the vendor's word, yet with a problem or a fair rating: the filter keeps them, the order puts them among the healthy.
    else if (r < 0.24) out.push(attendee(key, { name, worst: 2, health: 1, problems: ['High CPU usage'] }));
    else if (r < 0.27) out.push(attendee(key, { name, worst: 3, health: 1, problems: [] }));
    else if (r < 0.28) out.push(attendee(key, { name, worst: 1, health: 1, problems: ['Echo'] }));
    else if (r < 0.34) out.push(attendee(key, { name, health: 0, ratings: { audio: 0, video: 0, screen: 0, network: 0 } }));
    else if (r < 0.4) out.push(attendee(key, { name, loaded: false, health: 0, ratings: { audio: 0, video: 0, screen: 0, network: 0 }, problems: [] }));
    else out.push(attendee(key, { name, worst }));
  }
  // Shuffled, so nothing here is in worst-first order to begin with.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const CHAT = { channel: 'feishu' as const, chatId: 'oc_1' };
let ids = 0;
function storedOf(attendees: Attendee[], id = `rep${ids++}`): StoredReport {
  return {
    id, createdAt: 0, chat: CHAT, lang: 'en',
    command: { vendor: 'demo', meeting: { vendor: 'demo', code: '123456789' }, problemsOnly: false },
    report: report(attendees, { notes: [{ key: 'note.healthUnavailable', params: { code: 'first note' } }] }),
  };
}
const clone = <T>(v: T): T => structuredClone(v);
const act = (s: { id: string }, page: number, filter: Filter): PageRef => ({ reportId: s.id, page, filter });
/** A view without its header object, for comparing what a card shows. */
const shown = (v: PageView) => ({ ...v, stored: { ...v.stored, report: { ...v.stored.report, attendees: undefined } } });
const reads = (calls: StoreCall[]) => calls.filter((c) => c.op === 'get');
const NO_RATINGS = { audio: 0, video: 0, screen: 0, network: 0 } as const;
/** The attendee as a lazy vendor lists it before its quality is fetched. */
const unloaded = (a: Attendee): Attendee => ({ ...a, loaded: false, health: 0, ratings: NO_RATINGS, problems: [] });

const probe = await probeRedis();
const skipRedis = !probe.ok && !IN_CI;
if (skipRedis) console.warn(`[test/core/report-store] Redis cases skipped: ${probe.ok ? '' : probe.reason} (set CI=1 to make this a failure)`);
const prefix = testPrefix('report-store');
const redisStores: Store[] = [];
afterAll(async () => {
  for (const s of redisStores) await s.close();
  if (probe.ok) await cleanPrefix(prefix);
});
let redisN = 0;
async function redisStore(): Promise<{ store: Store; prefix: string }> {
  if (!probe.ok) throw new Error(`CI is set, so the Redis cases may not skip: ${probe.reason} (REDIS_URL=${REDIS_URL.replace(/\/\/[^@]*@/, '//***@')})`);
  const p = `${prefix}${redisN++}:`;
  const store = await createRedisStore({ url: REDIS_URL, prefix: p, log: silentLogger, clock: manualClock() });
  redisStores.push(store);
  return { store, prefix: p };
}

const STORES: { name: string; skip: boolean; make: () => Promise<Store> }[] = [
  { name: 'memory', skip: false, make: async () => createMemoryStore({ clock: manualClock() }) },
  { name: 'redis', skip: skipRedis, make: async () => (await redisStore()).store },
];

describe.each(STORES)('$name store: a 5,000-attendee report, page by page', ({ skip, make }) => {
  let store: Store;
  let original: StoredReport;
  let saved: StoredReport;
  beforeAll(async () => {
    if (skip) return;
    store = await make();
    original = storedOf(crowd(5000), 'big5000');
    saved = clone(original);
    await saveReport(store, saved);
  });

  it.skipIf(skip)('page 1, a middle page and the last page, with and without the problems filter, are the old full-sort pages', async () => {
    const matching = original.report.attendees.filter(hasProblems).length;
    expect(matching).toBeGreaterThan(1000);
    for (const filter of ['all', 'problems'] as const) {
      const pages = Math.ceil((filter === 'all' ? 5000 : matching) / 10);
      for (const page of [0, Math.floor(pages / 2), pages - 1, pages + 40]) {
        // The old path: the whole report in memory, sorted and sliced (the snapshot every flip used to parse).
        const old = viewPage(original, page, filter, 10);
        const flip = await readPage(store, CHAT, act(saved, page, filter), 10);
        expect(flip.rows.map((a) => a.key)).toEqual(old.rows.map((a) => a.key));
        expect(flip.rows).toEqual(old.rows);
        expect({ ...flip, stored: undefined, rows: undefined }).toEqual({ ...old, stored: undefined, rows: undefined });
        const { attendees: _all, ...summary } = original.report;
        expect(flip.stored).toEqual({ id: original.id, createdAt: 0, chat: CHAT, lang: 'en', command: original.command, report: summary });
        expect('attendees' in flip.stored.report).toBe(false);
      }
    }
  });

  it.skipIf(skip)('every page at the WeCom, Feishu and largest page sizes holds the next rows of the worst-first order, across chunk boundaries', async () => {
    const all = sortAttendees(original.report.attendees);
    const problems = all.filter(hasProblems);
    for (const size of [6, 10, 20, 7]) {
      for (const [filter, list] of [['all', all], ['problems', problems]] as const) {
        const seen: string[] = [];
        for (let page = 0; page < Math.ceil(list.length / size); page++) {
          const flip = await readPage(store, CHAT, act(saved, page, filter), size);
          expect(flip.page).toBe(page);
          seen.push(...flip.rows.map((a) => a.key));
        }
        expect(seen).toEqual(list.map((a) => a.key));
      }
    }
  });

  it.skipIf(skip)('the whole report reads back worst first, equal to sorting the original', async () => {
    const whole = await loadReport(store, saved.id);
    expect(whole!.report.attendees).toEqual(sortAttendees(original.report.attendees));
    expect(whole).toEqual({ ...original, report: { ...original.report, attendees: sortAttendees(original.report.attendees) } });
    // openPage (kept for callers that page the view again) still carries the whole report.
    const view = await openPage(store, CHAT, act(saved, 3, 'all'), 10);
    expect(shown(view)).toEqual(shown(viewPage(original, 3, 'all', 10)));
    expect((view.stored as StoredReport).report.attendees).toHaveLength(5000);
  });

  it.skipIf(skip)('another chat is refused on the header alone, before any attendee is read', async () => {
    const rec = recordingStore(store);
    await expect(readPage(rec, { channel: 'feishu', chatId: 'oc_other' }, act(saved, 0, 'all'), 10)).rejects.toMatchObject({ code: 'foreign_chat' });
    await expect(readPage(rec, { channel: 'wecom', chatId: 'oc_1' }, act(saved, 0, 'all'), 10)).rejects.toMatchObject({ code: 'foreign_chat' });
    await expect(loadHeadFor(rec, { channel: 'wecom', chatId: 'oc_1' }, saved.id)).rejects.toMatchObject({ code: 'foreign_chat' });
    expect(reads(rec.calls).map((c) => c.keys)).toEqual([[`report:${saved.id}`], [`report:${saved.id}`], [`report:${saved.id}`]]);
    await expect(readPage(store, CHAT, act({ id: 'nope' }, 0, 'all'), 10)).rejects.toMatchObject({ code: 'report_expired' });
    expect((await loadHeadFor(store, CHAT, saved.id)).command).toEqual(original.command);
  });
});

describe('a flip reads O(page), whatever the size of the report', () => {
  /** The most keys and characters one flip read, over every page of the report, both filters. */
  async function flipCost(n: number): Promise<{ keys: number; chars: number; whole: number }> {
    const rec = recordingStore(createMemoryStore({ clock: manualClock() }));
    const s = storedOf(crowd(n, 11));
    await saveReport(rec, s);
    let keys = 0;
    let chars = 0;
    for (const filter of ['all', 'problems'] as const) {
      const pages = Math.ceil((filter === 'all' ? n : s.report.attendees.filter(hasProblems).length) / 10);
      for (let page = 0; page < pages; page++) {
        rec.reset();
        await readPage(rec, CHAT, act(s, page, filter), 10);
        keys = Math.max(keys, reads(rec.calls).reduce((k, c) => k + c.keys.length, 0));
        chars = Math.max(chars, reads(rec.calls).reduce((k, c) => k + c.chars, 0));
      }
    }
    rec.reset();
    await loadReport(rec, s.id);
    return { keys, chars, whole: reads(rec.calls).reduce((k, c) => k + c.chars, 0) };
  }

  it('the same few keys and KB at 1,000, 5,000 and 20,000 attendees; the whole report is hundreds of times more', async () => {
    const [small, mid, large] = [await flipCost(1000), await flipCost(5000), await flipCost(20_000)];
    for (const c of [small, mid, large]) {
      // The header, one index chunk (10 divides its 300 positions) and at most two data chunks: a
      // page's rows are one run of the worst-first order, or (only problems) the ends of two runs.
      expect(c.keys).toBeLessThanOrEqual(4);
      expect(c.chars).toBeLessThan(16_000);
    }
    expect(large.keys).toBe(small.keys);
    expect(large.chars).toBeLessThan(small.chars * 1.25);
    expect(mid.whole).toBeGreaterThan(800_000);
    expect(large.whole / large.chars).toBeGreaterThan(100);
  });

  it('a page of a report laid out in order reads exactly the header, one index chunk and one data chunk', async () => {
    const rec = recordingStore(createMemoryStore({ clock: manualClock() }));
    const s = storedOf(crowd(5000, 3));
    await saveReport(rec, s);
    for (const page of [0, 1, 2, 250, 499]) {
      rec.reset();
      await readPage(rec, CHAT, act(s, page, 'all'), 10);
      expect(reads(rec.calls).map((c) => c.keys.length)).toEqual([1, 1, 1]);
    }
  });
});

describe('a lazily loaded report, saved batch by batch as quality.ts does', () => {
  const N = 900;
  const BATCH = 10;
  /** Everyone still loading (as Feishu lists participants), and the quality each will turn out to have. */
  function lazy(): { stored: StoredReport; final: Map<string, Attendee> } {
    const final = new Map(crowd(N, 5).map((a) => [a.key, { ...a, loaded: true }]));
    const pending = [...final.values()].map(unloaded);
    return { stored: storedOf(pending), final };
  }

  it('each batch rewrites one or two data chunks, the small index and the header; flips stay right; no key is left over', async () => {
    const rec = recordingStore(createMemoryStore({ clock: manualClock() }));
    const { stored, final } = lazy();
    await saveReport(rec, stored);
    const fullChars = rec.calls.filter((c) => c.op === 'set').reduce((n, c) => n + c.chars, 0);
    const order = stored.report.attendees.map((a) => a.key);
    for (let b = 0; b * BATCH < N; b++) {
      const batch = new Set(order.slice(b * BATCH, (b + 1) * BATCH));
      stored.report.attendees = stored.report.attendees.map((a) => (batch.has(a.key) ? final.get(a.key)! : a));
      rec.reset();
      await saveReport(rec, stored);
      const sets = rec.calls.filter((c) => c.op === 'set');
      const dataSets = sets.filter((c) => /:d\d+:/.test(c.keys[0]!));
      const last = (b + 1) * BATCH >= N;
      if (!last) {
        expect(dataSets.length).toBeGreaterThanOrEqual(1);
        expect(dataSets.length).toBeLessThanOrEqual(2);
        expect(sets.reduce((n, c) => n + c.chars, 0)).toBeLessThan(fullChars * 0.15);
      } else {
        // Everyone loaded: laid out once more in worst-first order, so flips read one chunk again.
        expect(dataSets.length).toBe(Math.ceil(N / 30));
      }
      const snapshot = clone(stored);
      for (const [page, filter] of [[0, 'all'], [b, 'all'], [1, 'problems']] as const) {
        expect(shown(await readPage(rec, CHAT, act(stored, page, filter), 10))).toEqual(shown(viewPage(snapshot, page, filter, 10)));
      }
    }
    const whole = await loadReport(rec, stored.id);
    expect(whole!.report.attendees).toEqual(sortAttendees([...final.values()]));
    rec.reset();
    await readPage(rec, CHAT, act(stored, 7, 'all'), 10);
    expect(reads(rec.calls).map((c) => c.keys.length)).toEqual([1, 1, 1]);
    // What is left is exactly the header and the chunks it points at: every superseded chunk was deleted.
    const problems = [...final.values()].filter(hasProblems).length;
    expect(rec.live().size).toBe(1 + Math.ceil(N / 30) + Math.ceil(N / 300) + Math.ceil(problems / 300));
  });

  it('a save of another object under the same id replaces the report and deletes the old chunks', async () => {
    const rec = recordingStore(createMemoryStore({ clock: manualClock() }));
    const first = storedOf(crowd(700, 2), 'sameid');
    await saveReport(rec, first);
    const copy = (await loadReport(rec, 'sameid'))!;
    copy.report.notes.push({ key: 'note.healthUnavailable', params: { code: 'second note' } });
    copy.report.attendees = copy.report.attendees.slice(0, 650);
    await saveReport(rec, copy);
    expect(await loadReport(rec, 'sameid')).toEqual({ ...copy, report: { ...copy.report, attendees: sortAttendees(copy.report.attendees) } });
    const problems = copy.report.attendees.filter(hasProblems).length;
    expect(rec.live().size).toBe(1 + Math.ceil(650 / 30) + Math.ceil(650 / 300) + Math.ceil(problems / 300));
    // The first object saved again: its own last save is no longer the stored one, so it is written whole.
    first.report.attendees = first.report.attendees.map((a, i) => (i === 0 ? { ...a, name: 'Changed' } : a));
    rec.reset();
    await saveReport(rec, first);
    expect(rec.calls.filter((c) => c.op === 'set' && /:d\d+:/.test(c.keys[0]!))).toHaveLength(Math.ceil(700 / 30));
    expect(await loadReport(rec, 'sameid')).toEqual({ ...first, report: { ...first.report, attendees: sortAttendees(first.report.attendees) } });
    const firstProblems = first.report.attendees.filter(hasProblems).length;
    expect(rec.live().size).toBe(1 + Math.ceil(700 / 30) + Math.ceil(700 / 300) + Math.ceil(firstProblems / 300));
  });
});

describe.each(STORES)('$name store: a background update mid-read never yields a torn page', ({ skip, make }) => {
  /** A report, and the same report after one background batch loaded the first page's worth and added a note. */
  async function twoVersions(store: Store) {
    const lazyCrowd = crowd(400, 9).map(unloaded);
    const stored = storedOf(lazyCrowd);
    await saveReport(store, stored);
    const v1 = clone(stored);
    const loadBatch = () => {
      const batch = new Set(stored.report.attendees.slice(0, 10).map((a) => a.key));
      const bad = (a: Attendee): Attendee =>
        ({ ...a, loaded: true, health: 2, ratings: { audio: 4, video: 1, screen: 0, network: 4 }, problems: ['High packet loss'] });
      stored.report.attendees = stored.report.attendees.map((a) => (batch.has(a.key) ? bad(a) : a));
      stored.report.notes.push({ key: 'note.healthUnavailable', params: { code: 'second note' } });
    };
    const expectFor = (s: StoredReport, page: number, filter: Filter) => shown(viewPage(s, page, filter, 10));
    return { stored, v1, loadBatch, expectFor };
  }

  for (const [where, nth] of [['after the header, before the index', 0], ['after the index, before the data chunks', 1]] as const) {
    it.skipIf(skip)(`a save that lands ${where}: the flip shows the new report whole`, async () => {
      const inner = await make();
      const rec = recordingStore(inner);
      const { stored, v1, loadBatch, expectFor } = await twoVersions(inner);
      let gets = 0;
      let v2: StoredReport | undefined;
      rec.before = async (call) => {
        if (call.op !== 'get' || gets++ !== nth + 1) return;
        // The reader has read the header (and the index, for nth = 1): a whole save happens now.
        loadBatch();
        await saveReport(inner, stored);
        v2 = clone(stored);
      };
      const flip = shown(await readPage(rec, CHAT, act(stored, 0, 'all'), 10));
      expect(v2).toBeDefined();
      expect(flip).not.toEqual(expectFor(v1, 0, 'all'));
      expect(flip).toEqual(expectFor(v2!, 0, 'all'));
      // It read the header again: the first one pointed at chunks the save had replaced.
      expect(reads(rec.calls).filter((c) => c.keys[0] === `report:${stored.id}`)).toHaveLength(2);
    });
  }

  it.skipIf(skip)('a flip between any two store calls of a save shows the old report whole or the new one whole', async () => {
    const inner = await make();
    const rec = recordingStore(inner);
    const { stored, v1, loadBatch, expectFor } = await twoVersions(rec);
    loadBatch();
    const v2 = clone(stored);
    const seen: string[] = [];
    rec.before = async (call) => {
      if (call.op === 'get') return;
      for (const filter of ['all', 'problems'] as const) {
        const flip = shown(await readPage(inner, CHAT, act(stored, 0, filter), 10));
        const is = (s: StoredReport) => JSON.stringify(flip) === JSON.stringify(expectFor(s, 0, filter));
        const which = is(v1) ? 'old' : is(v2) ? 'new' : 'torn';
        seen.push(`${call.op} ${which}`);
      }
    };
    await saveReport(rec, stored);
    rec.before = undefined;
    expect(seen.filter((w) => w.endsWith('torn'))).toEqual([]);
    // Old until the header is written (the chunks go first), new from then on (the deletes come last).
    const firstNew = seen.findIndex((w) => w.endsWith('new'));
    expect(firstNew).toBeGreaterThan(0);
    expect(seen.slice(0, firstNew).every((w) => w.endsWith('old'))).toBe(true);
    expect(seen.slice(firstNew).every((w) => w.endsWith('new') && w.startsWith('delete'))).toBe(true);
    expect(seen.filter((w) => w.startsWith('delete')).length).toBeGreaterThan(0);
    expect(shown(await readPage(inner, CHAT, act(stored, 0, 'all'), 10))).toEqual(expectFor(v2, 0, 'all'));
  });

  it.skipIf(skip)('a chunk the store lost (evicted) makes the report expired, never a partial page', async () => {
    const inner = await make();
    const rec = recordingStore(inner);
    const s = storedOf(crowd(200, 4));
    await saveReport(rec, s);
    const dataKey = [...rec.live()].find((k) => /:d0:/.test(k))!;
    await inner.delete(dataKey);
    await expect(readPage(inner, CHAT, act(s, 0, 'all'), 10)).rejects.toMatchObject({ code: 'report_expired' });
    expect(await loadReport(inner, s.id)).toBeUndefined();
    // The next save of the report puts the lost chunk back.
    await saveReport(rec, s);
    expect(shown(await readPage(inner, CHAT, act(s, 0, 'all'), 10))).toEqual(shown(viewPage(s, 0, 'all', 10)));
  });
});

describe('every key of a report lives REPORT_TTL_MS from its last save', () => {
  it('memory: chunks a later save did not change are kept alive with the rest, and all go together', async () => {
    const clock = manualClock();
    const rec = recordingStore(createMemoryStore({ clock }));
    const s = storedOf(crowd(600, 8));
    await saveReport(rec, s);
    const everKeys = new Set(rec.live());
    await clock.advance(20 * 3600_000);
    // One attendee changes: one data chunk is rewritten, the others are not.
    s.report.attendees = s.report.attendees.map((a, i) => (i === 0 ? { ...a, problems: [...a.problems, 'Echo'] } : a));
    rec.reset();
    await saveReport(rec, s);
    expect(rec.calls.filter((c) => c.op === 'set' && /:d\d+:/.test(c.keys[0]!))).toHaveLength(1);
    for (const k of rec.live()) everKeys.add(k);
    // 40 h after the first save, 20 h after the last: whole.
    await clock.advance(20 * 3600_000);
    const whole = await loadReport(rec, s.id);
    expect(whole!.report.attendees).toEqual(sortAttendees(s.report.attendees));
    for (let page = 0; page < 60; page++) expect((await readPage(rec, CHAT, act(s, page, 'all'), 10)).rows).toHaveLength(10);
    // Just past 24 h after the last save: every key is gone.
    await clock.advance(4 * 3600_000 + 1);
    expect(await loadHead(rec, s.id)).toBeUndefined();
    for (const k of everKeys) expect(await rec.get(k)).toBeUndefined();
  });

  it('every set and refresh of a report key carries REPORT_TTL_MS, and the last save touched every live key', async () => {
    const rec = recordingStore(createMemoryStore({ clock: manualClock() }));
    const s = storedOf(crowd(600, 8));
    await saveReport(rec, s);
    s.report.notes.push({ key: 'note.healthUnavailable', params: { code: 'later' } });
    rec.reset();
    await saveReport(rec, s);
    const refreshed = new Set(rec.calls.filter((c) => c.op === 'set' || c.op === 'expire').flatMap((c) => c.keys));
    expect(rec.calls.filter((c) => c.op === 'set' || c.op === 'expire').every((c) => c.ttlMs === REPORT_TTL_MS)).toBe(true);
    expect([...rec.live()].sort()).toEqual([...refreshed].sort());
  });

  it.skipIf(skipRedis)('redis: every key under the report has a TTL of about REPORT_TTL_MS, and nothing else is left', async () => {
    const { store, prefix: p } = await redisStore();
    const s = storedOf(crowd(700, 6), 'ttlreport');
    await saveReport(store, s);
    s.report.attendees = s.report.attendees.map((a, i) => (i === 5 ? { ...a, name: 'Renamed' } : a));
    await saveReport(store, s);
    const keys = await keysUnder(p);
    const problems = s.report.attendees.filter(hasProblems).length;
    expect(keys.size).toBe(1 + Math.ceil(700 / 30) + Math.ceil(700 / 300) + Math.ceil(problems / 300));
    for (const [key, ttl] of keys) {
      expect(key.startsWith('report:ttlreport')).toBe(true);
      expect(ttl).toBeGreaterThan(REPORT_TTL_MS - 60_000);
      expect(ttl).toBeLessThanOrEqual(REPORT_TTL_MS);
    }
  });
});

describe('reports saved whole by replicas before the chunked layout', () => {
  it('a whole snapshot under report:<id> still pages, loads and is replaced by the next save', async () => {
    const rec = recordingStore(createMemoryStore({ clock: manualClock() }));
    const s = storedOf(crowd(120, 12), 'legacy');
    const sorted = { ...s, report: { ...s.report, attendees: sortAttendees(s.report.attendees) } };
    await rec.set('report:legacy', JSON.stringify(sorted), REPORT_TTL_MS);
    for (const filter of ['all', 'problems'] as const) {
      expect(shown(await readPage(rec, CHAT, act(s, 1, filter), 10))).toEqual(shown(viewPage(s, 1, filter, 10)));
    }
    expect(await loadReport(rec, 'legacy')).toEqual(sorted);
    await saveReport(rec, clone(sorted));
    expect(JSON.parse((await rec.get('report:legacy'))!)).toMatchObject({ v: 2, total: 120 });
    expect(shown(await readPage(rec, CHAT, act(s, 2, 'all'), 10))).toEqual(shown(viewPage(s, 2, 'all', 10)));
  });

  it('viewPage refuses a view read from the store (it holds one page), with a coded error', async () => {
    const store = createMemoryStore({ clock: manualClock() });
    const s = storedOf(crowd(40, 1));
    await saveReport(store, s);
    const flip = await readPage(store, CHAT, act(s, 0, 'all'), 10);
    let err: unknown;
    try {
      viewPage(flip.stored, 1, 'all', 6);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'internal' });
  });
});

describe('saves of one report never interleave', () => {
  it('two saves of one report started together run one after the other: the last one wins, nothing is left over', async () => {
    const rec = recordingStore(createMemoryStore({ clock: manualClock() }));
    const a = storedOf(crowd(300, 13), 'both');
    await saveReport(rec, a);
    a.report.attendees = a.report.attendees.map((x, i) => (i < 30 ? { ...x, name: `A${i}` } : x));
    // Another object under the same id (a copy read back and saved): its save must not run inside a's.
    const b = storedOf(crowd(250, 14), 'both');
    await Promise.all([saveReport(rec, a), saveReport(rec, b)]);
    expect(await loadReport(rec, 'both')).toEqual({ ...b, report: { ...b.report, attendees: sortAttendees(b.report.attendees) } });
    const problems = b.report.attendees.filter(hasProblems).length;
    expect(rec.live().size).toBe(1 + Math.ceil(250 / 30) + Math.ceil(250 / 300) + Math.ceil(problems / 300));
  });
});
