import { systemClock } from '../src/core/clock.js';
import { newReportId, saveReport, type StoredReport } from '../src/core/report.js';
import { createMemoryStore } from '../src/store/memory.js';
import { createDemoVendor } from '../src/vendors/demo/index.js';

/**
 * Runs in its own process (bench/memory.ts forks it with --expose-gc) so RSS is this workload's
 * alone. Prints one JSON line of figures.
 */
const gc = (globalThis as { gc?: () => void }).gc;
const rss = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().rss;
};

const mode = process.argv[2];
const store = createMemoryStore();
const base = rss();
const baseHeap = process.memoryUsage().heapUsed;

if (mode === 'reports') {
  const demo = createDemoVendor({ clock: systemClock });
  let chars = 0;
  let bytes = 0;
  const ids: string[] = [];
  const n = Number(process.argv[3] ?? 10_000);
  for (let i = 0; i < n; i++) {
    const code = String(100_000_000 + i * 7);
    const report = await demo.fetchReport({ meeting: { vendor: 'demo', code }, lang: 'zh' }, {});
    const stored: StoredReport = { id: newReportId(), createdAt: Date.now(), chat: { channel: 'feishu', chatId: `oc_${i % 50}` }, lang: 'zh', command: { vendor: 'demo', meeting: { vendor: 'demo', code }, problemsOnly: false }, report };
    const json = JSON.stringify(stored);
    chars += json.length;
    bytes += Buffer.byteLength(json);
    await saveReport(store, stored);
    ids.push(stored.id);
  }
  const after = rss();
  const heap = process.memoryUsage().heapUsed;
  // How many are still there (the store evicts, oldest first, past its size bound).
  let kept = 0;
  for (const id of ids) if ((await store.get(`report:${id}`)) !== undefined) kept++;
  process.stdout.write(JSON.stringify({ base, after, baseHeap, heap, chars, bytes, n, kept }) + '\n');
} else if (mode === 'dedupe') {
  const total = Number(process.argv[3] ?? 1_000_000);
  const marks: Record<number, number> = {};
  const id = (i: number) => `dedupe:feishu:om_${i.toString(16).padStart(32, '0')}`;
  const at = new Set([100_000, 250_000, 500_000, 750_000, total]);
  for (let i = 1; i <= total; i++) {
    // Feishu message ids look like om_ + 32 hex characters (feishu-bot-and-vc-api.md §2).
    await store.setIfAbsent(id(i), '1', 3_600_000);
    if (at.has(i)) marks[i] = rss();
  }
  // Bounded, not forgetful of the recent: the newest ids are still deduped, the oldest evicted.
  const newestKept = (await store.get(id(total))) !== undefined;
  const oldestEvicted = (await store.get(id(1))) === undefined;
  process.stdout.write(JSON.stringify({ base, marks, newestKept, oldestEvicted }) + '\n');
} else if (mode === 'baseline') {
  process.stdout.write(JSON.stringify({ base }) + '\n');
}
