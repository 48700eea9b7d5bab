import { performance } from 'node:perf_hooks';
import { openPage, readPage, type PageRef } from '../src/core/actions.js';
import { systemClock } from '../src/core/clock.js';
import type { Filter } from '../src/core/paging.js';
import { runQuality, type CoreDeps } from '../src/core/quality.js';
import type { StoredReport } from '../src/core/report.js';
import { createTasks } from '../src/core/tasks.js';
import type { VendorClient } from '../src/core/vendor.js';
import { silentLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import type { Store } from '../src/store/types.js';
import { createDemoVendor } from '../src/vendors/demo/index.js';
import { summarize, type BenchResult } from './lib.js';
import { benchStores } from './stores.js';

const PAGE_SIZE = 10;
const FLIPS = 3000;
/** The whole-report read (openPage, as every flip was before the chunked layout) is slow at 5,000: fewer of them. */
const WHOLE_READS = 100;

/**
 * Page flips are answered from the store alone. Ours = readPage (header + the chunks of one page,
 * chat check, no sort); the floor is the same flip on an everyday meeting (43 attendees), measured
 * in the same run, interleaved flip by flip: a flip of the 5,000-attendee all-hands should cost
 * about the same, not 100 times more. For the record, the whole-report read (openPage, which the
 * console still uses, and what every flip cost before) runs on the big report too. Vendor calls
 * are counted on a wrapped vendor: the target is 0.
 */
export async function benchPageFlip(): Promise<BenchResult[]> {
  const { stores, skipped } = await benchStores();
  const results: BenchResult[] = [];
  for (const { name, store, dispose } of stores) {
    let vendorCalls = 0;
    const demo = createDemoVendor({ clock: systemClock });
    const counting: VendorClient = { name: 'demo', fetchReport: (q, o) => { vendorCalls++; return demo.fetchReport(q, o); } };
    const core: CoreDeps = {
      vendors: new Map([['demo', counting]]), store, clock: systemClock, log: silentLogger,
      metrics: createMetrics({ defaults: false }), tasks: createTasks(() => undefined), settings: { lang: 'zh' },
    };
    const chat = { channel: 'feishu' as const, chatId: 'oc_bench' };
    const run = async (code: string) => {
      const cmd = { kind: 'quality' as const, meeting: { vendor: 'demo' as const, code }, problemsOnly: false };
      return (await runQuality(core, { ...chat, userId: 'ou_bench' }, cmd, { pageSize: PAGE_SIZE, fresh: true })).stored;
    };
    const big = await run('555555555');
    const small = await run('123456789');
    const callsBefore = vendorCalls;
    const action = (s: StoredReport, i: number): PageRef => {
      const pages = Math.ceil(s.report.attendees.length / PAGE_SIZE);
      const filter: Filter = i % 5 === 0 ? 'problems' : 'all';
      return { reportId: s.id, page: (i * 7919) % pages, filter };
    };

    // Warm-up (JIT, the store's connection) is not measured.
    for (let i = 0; i < 100; i++) for (const s of [big, small]) await readPage(store, chat, action(s, i), PAGE_SIZE);
    const ours = { big: [] as number[], small: [] as number[] };
    for (let i = 0; i < FLIPS; i++) {
      for (const [which, s] of [['big', big], ['small', small]] as const) {
        const t0 = performance.now();
        await readPage(store, chat, action(s, i), PAGE_SIZE);
        ours[which].push(performance.now() - t0);
      }
    }
    const whole: number[] = [];
    for (let i = 0; i < WHOLE_READS; i++) {
      const t0 = performance.now();
      await openPage(store, chat, action(big, i), PAGE_SIZE);
      whole.push(performance.now() - t0);
    }
    const perFlip = (vendorCalls - callsBefore) / (2 * FLIPS + WHOLE_READS);
    const readBig = await bytesRead(store, chat, big, action);
    const readSmall = await bytesRead(store, chat, small, action);

    const b = summarize(ours.big);
    const s = summarize(ours.small);
    const w = summarize(whole);
    const ratio = b.p50 / s.p50;
    results.push({
      bench: `page flip, ${name} store, ${big.report.attendees.length.toLocaleString('en')} vs ${small.report.attendees.length} attendees`,
      setup: `${FLIPS} flips of each report, interleaved (random page, every 5th "only problems"), ${PAGE_SIZE} rows a page; `
        + `${WHOLE_READS} whole-report reads (openPage) of the big one`,
      ratio: {
        value: ratio,
        meaning: `p50 flip at ${big.report.attendees.length.toLocaleString('en')} ÷ p50 flip at ${small.report.attendees.length}`,
        target: '≤ 2× and 0 vendor calls per flip',
        pass: ratio <= 2 && perFlip === 0,
      },
      figures: [
        { name: 'p50 flip, big', value: b.p50, unit: 'ms' },
        { name: 'p99 flip, big', value: b.p99, unit: 'ms' },
        { name: 'p50 flip, small', value: s.p50, unit: 'ms' },
        { name: 'p99 flip, small', value: s.p99, unit: 'ms' },
        { name: 'p90 ratio big ÷ small', value: b.p90 / s.p90, unit: '×' },
        { name: 'p99 ratio big ÷ small', value: b.p99 / s.p99, unit: '×' },
        { name: 'p50 whole-report read, big (openPage)', value: w.p50, unit: 'ms' },
        { name: 'most read by one flip, big', value: readBig.maxBytes / 1024, unit: 'KB' },
        { name: 'most read by one flip, small', value: readSmall.maxBytes / 1024, unit: 'KB' },
        { name: 'most keys read by one flip, big', value: readBig.maxKeys, unit: 'count' },
        { name: 'whole report, big', value: readBig.wholeBytes / 1024, unit: 'KB' },
        { name: 'vendor calls per flip', value: perFlip, unit: 'count' },
      ],
    });
    await dispose();
  }
  if (skipped) results.push({ bench: 'page flip, redis store', setup: skipped, figures: [] });
  return results;
}

/** The most characters and keys one flip reads, over the bench's flips, and the size of the whole report's keys. */
async function bytesRead(
  store: Store, chat: { channel: 'feishu'; chatId: string }, s: StoredReport, action: (s: StoredReport, i: number) => PageRef,
): Promise<{ maxBytes: number; maxKeys: number; wholeBytes: number }> {
  let bytes = 0;
  let keys = 0;
  const note = (v: string | undefined) => {
    keys++;
    bytes += v?.length ?? 0;
  };
  const counting: Store = {
    ...store,
    get: async (k) => {
      const v = await store.get(k);
      note(v);
      return v;
    },
    getMany: async (ks) => {
      const vs = await (store.getMany ? store.getMany(ks) : Promise.all(ks.map((k) => store.get(k))));
      vs.forEach(note);
      return vs;
    },
  };
  let maxBytes = 0;
  let maxKeys = 0;
  for (let i = 0; i < 200; i++) {
    bytes = 0;
    keys = 0;
    await readPage(counting, chat, action(s, i), PAGE_SIZE);
    maxBytes = Math.max(maxBytes, bytes);
    maxKeys = Math.max(maxKeys, keys);
  }
  bytes = 0;
  await openPage(counting, chat, action(s, 0), PAGE_SIZE);
  return { maxBytes, maxKeys, wholeBytes: bytes };
}
