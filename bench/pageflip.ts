import { performance } from 'node:perf_hooks';
import { openPage } from '../src/core/actions.js';
import { systemClock } from '../src/core/clock.js';
import { runQuality, type CoreDeps } from '../src/core/quality.js';
import { createTasks } from '../src/core/tasks.js';
import type { VendorClient } from '../src/core/vendor.js';
import { silentLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { createDemoVendor } from '../src/vendors/demo/index.js';
import { summarize, type BenchResult } from './lib.js';
import { benchStores } from './stores.js';

/**
 * Page flips are answered from the store alone: ours = openPage (load the snapshot, check the
 * chat, sort, slice one page); floor = the bare read of the same snapshot (GET + JSON.parse), which
 * no implementation can skip. Vendor calls are counted on a wrapped vendor: the target is 0.
 */
export async function benchPageFlip(): Promise<BenchResult[]> {
  const { stores, skipped } = await benchStores();
  const results: BenchResult[] = [];
  for (const { name, store, dispose } of stores) {
    // The all-hands (5,000 attendees, ~1 MB snapshot) and an everyday meeting; fewer flips of the big one keep the run short.
    for (const [code, flips] of [['555555555', 200], ['123456789', 1000]] as const) {
      let vendorCalls = 0;
      const demo = createDemoVendor({ clock: systemClock });
      const counting: VendorClient = { name: 'demo', fetchReport: (q, o) => { vendorCalls++; return demo.fetchReport(q, o); } };
      const core: CoreDeps = {
        vendors: new Map([['demo', counting]]), store, clock: systemClock, log: silentLogger,
        metrics: createMetrics({ defaults: false }), tasks: createTasks(() => undefined), settings: { lang: 'zh' },
      };
      const chat = { channel: 'feishu' as const, chatId: 'oc_bench' };
      const { stored } = await runQuality(core, { ...chat, userId: 'ou_bench' }, { kind: 'quality', meeting: { vendor: 'demo', code }, problemsOnly: false }, { pageSize: 10, fresh: true });
      const callsBefore = vendorCalls;
      const pages = Math.ceil(stored.report.attendees.length / 10);
      const ours: number[] = [];
      const floor: number[] = [];
      for (let i = 0; i < flips; i++) {
        const page = (i * 7919) % pages;
        const filter = i % 5 === 0 ? 'problems' : 'all';
        let t0 = performance.now();
        const raw = await store.get(`report:${stored.id}`);
        JSON.parse(raw!);
        floor.push(performance.now() - t0);
        t0 = performance.now();
        await openPage(store, chat, { reportId: stored.id, page, filter, op: 'page' }, 10);
        ours.push(performance.now() - t0);
      }
      const o = summarize(ours);
      const f = summarize(floor);
      const perFlip = (vendorCalls - callsBefore) / flips;
      results.push({
        bench: `page flip, ${name} store, ${stored.report.attendees.length.toLocaleString('en')} attendees`,
        setup: `${flips} flips (random page, every 5th "only problems") of one stored report, 10 rows a page`,
        ratio: { value: o.p99 / f.p99, meaning: 'p99 flip ÷ p99 bare read of the snapshot', target: 'vendor calls per flip 0', pass: perFlip === 0 },
        figures: [
          { name: 'p50 flip', value: o.p50, unit: 'ms' },
          { name: 'p99 flip', value: o.p99, unit: 'ms' },
          { name: 'p99 bare read', value: f.p99, unit: 'ms' },
          { name: 'snapshot size', value: (await store.get(`report:${stored.id}`))!.length / 1024, unit: 'KB' },
          { name: 'vendor calls per flip', value: perFlip, unit: 'count' },
        ],
      });
    }
    await dispose();
  }
  if (skipped) results.push({ bench: 'page flip, redis store', setup: skipped, figures: [] });
  return results;
}
