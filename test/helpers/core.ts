import { noteText, type Lang } from '../../src/core/i18n.js';
import type { Attendee, Level, MeetingReport, Ratings, ReportNote } from '../../src/core/model.js';
import type { Clock } from '../../src/core/clock.js';
import type { CoreDeps } from '../../src/core/quality.js';
import { createTasks } from '../../src/core/tasks.js';
import type { VendorClient } from '../../src/core/vendor.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { vendorAliases } from '../../src/vendors/index.js';

/**
 * A clock that moves only when told to: sleeps resolve when `advance` passes their deadline, so
 * tests that wait on rate budgets or polls run instantly and in a fixed order.
 */
export interface ManualClock extends Clock {
  advance(ms: number): Promise<void>;
  /** Sleeps currently waiting. */
  readonly waiting: number;
}

export function manualClock(start = Date.UTC(2026, 10, 22, 4, 0, 0)): ManualClock {
  let now = start;
  const sleepers: { until: number; resolve: () => void }[] = [];
  return {
    now: () => now,
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const entry = { until: now + Math.max(0, ms), resolve };
        sleepers.push(entry);
        signal?.addEventListener('abort', () => {
          // A sleep that already woke is no longer listed: splice(-1) would drop someone else's.
          const i = sleepers.indexOf(entry);
          if (i >= 0) sleepers.splice(i, 1);
          reject(signal.reason);
        }, { once: true });
      });
    },
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        sleepers.sort((a, b) => a.until - b.until);
        const next = sleepers[0];
        if (!next || next.until > target) break;
        sleepers.shift();
        now = Math.max(now, next.until);
        next.resolve();
        // Let the woken task run up to its next await before waking the next sleeper.
        for (let i = 0; i < 20; i++) await Promise.resolve();
      }
      now = target;
    },
    get waiting() {
      return sleepers.length;
    },
  };
}

export function testCore(vendors: VendorClient[], opts: { clock?: Clock; store?: Store; settings?: Partial<CoreDeps['settings']> } = {}): CoreDeps {
  const clock = opts.clock ?? manualClock();
  return {
    // As vendors/index.ts builds it: the clients given, and every registered vendor's words for the grammar.
    vendors: Object.assign(new Map(vendors.map((v) => [v.name, v])), { aliases: vendorAliases() }),
    store: opts.store ?? createMemoryStore({ clock }),
    clock,
    log: silentLogger,
    metrics: createMetrics({ defaults: false }),
    tasks: createTasks((name, err) => {
      throw new Error(`background task ${name} failed: ${String(err)}`);
    }),
    settings: { lang: 'en', ...opts.settings },
  };
}

export function attendee(key: string, over: Partial<Attendee> & { worst?: Level } = {}): Attendee {
  const w = over.worst ?? 1;
  const ratings: Ratings = over.ratings ?? { audio: w, video: 1, screen: 0, network: 1 };
  return {
    key, name: over.name ?? key, device: 'pc', role: 'attendee',
    health: over.health ?? (w >= 3 ? 2 : 1), ratings, problems: over.problems ?? (w >= 3 ? ['bad audio'] : []), loaded: over.loaded ?? true,
    ...(over.ref ? { ref: over.ref } : {}),
  };
}

export function report(attendees: Attendee[], over: Partial<MeetingReport> = {}): MeetingReport {
  return {
    meeting: { vendor: 'demo', code: '123456789', meetingId: 'm1', ended: true, subject: 'Sync' },
    health: 1, ratings: { audio: 1, video: 1, screen: 0, network: 1 }, problems: [], attendees, complete: true, notes: [],
    ...over,
  };
}

/** A report's notes as the card shows them in `lang` (notes are data: core/i18n.ts noteText). */
export function notesIn(lang: Lang, report: { notes: readonly ReportNote[] }): string[] {
  return report.notes.map((n) => noteText(lang, n));
}
