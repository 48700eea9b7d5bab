import { performance } from 'node:perf_hooks';

/**
 * Shared bench plumbing: timings, percentiles, a fixed-concurrency load loop and one result shape,
 * so every bench prints a ratio against a floor measured in the same run plus absolute figures.
 */

export interface Figure {
  /** What was measured, e.g. "p99 server time". */
  name: string;
  value: number;
  unit: string;
}

export interface BenchResult {
  bench: string;
  /** One line on what ran, for the record (sizes, concurrency, latency). */
  setup: string;
  /** ours ÷ floor for the headline figure; how to read it is in `ratioMeaning`. */
  ratio?: { value: number; meaning: string; target?: string; pass?: boolean };
  figures: Figure[];
  notes?: string[];
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i]!;
}

export function summarize(samplesMs: number[]): { p50: number; p90: number; p99: number; max: number; mean: number; n: number } {
  const s = [...samplesMs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, mean, n: s.length };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/**
 * Runs `fn` from `concurrency` loops at once until `total` calls are done; returns each call's
 * latency and the throughput over the whole run. A failed call is counted, not retried.
 */
export async function load(concurrency: number, total: number, fn: (i: number) => Promise<void>): Promise<{ latencies: number[]; perSecond: number; failures: number; firstError?: unknown }> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  let firstError: unknown;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const s = performance.now();
      try {
        await fn(i);
        latencies.push(performance.now() - s);
      } catch (e) {
        failures++;
        firstError ??= e;
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  return { latencies, perSecond: latencies.length / seconds, failures, ...(firstError ? { firstError } : {}) };
}

export const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
export const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

export function printResult(r: BenchResult): void {
  const lines = [`■ ${r.bench}`, `  setup: ${r.setup}`];
  if (r.ratio) {
    const verdict = r.ratio.pass === undefined ? '' : r.ratio.pass ? '  ✔ meets target' : '  ✘ misses target';
    lines.push(`  ratio: ${r.ratio.value.toFixed(2)}× (${r.ratio.meaning})${r.ratio.target ? `; target ${r.ratio.target}` : ''}${verdict}`);
  }
  for (const f of r.figures) lines.push(`  ${f.name}: ${f.unit === 'ms' ? ms(f.value) : f.unit === 'MB' ? mb(f.value) : Number.isInteger(f.value) ? f.value.toLocaleString('en') : f.value.toFixed(2)} ${f.unit === 'count' ? '' : f.unit}`.trimEnd());
  for (const n of r.notes ?? []) lines.push(`  note: ${n}`);
  console.log(lines.join('\n'));
}

/** Markdown rows for the README's performance table. */
export function markdownRows(results: BenchResult[]): string {
  const rows = ['| bench | ratio (ours ÷ floor) | target | absolute |', '| --- | --- | --- | --- |'];
  for (const r of results) {
    const abs = r.figures.map((f) => `${f.name} ${f.unit === 'ms' ? ms(f.value) + ' ms' : f.unit === 'MB' ? mb(f.value) + ' MB' : Number.isInteger(f.value) ? f.value.toLocaleString('en') + (f.unit === 'count' ? '' : ' ' + f.unit) : f.value.toFixed(2) + ' ' + f.unit}`).join('; ');
    rows.push(`| ${r.bench} | ${r.ratio ? `${r.ratio.value.toFixed(2)}× ${r.ratio.meaning}` : '–'} | ${r.ratio?.target ?? '–'}${r.ratio?.pass === undefined ? '' : r.ratio.pass ? ' ✔' : ' ✘'} | ${abs} |`);
  }
  return rows.join('\n');
}

type LoadRun = Awaited<ReturnType<typeof load>>;

/**
 * One callback-ack row: our throughput against the bare verify + decrypt floor, the issue's target
 * (≥ 0.70 of the floor, p99 far below the platforms' 3 s, no failures), and the latency figures.
 * With `floor` given, the floor's own figures are printed too.
 */
export function ackRow(bench: string, setup: string, ours: LoadRun, floorPerSecond: number, opts: { floor?: LoadRun; extra?: Figure[]; notes?: string[] } = {}): BenchResult {
  const os = summarize(ours.latencies);
  const ratio = ours.perSecond / floorPerSecond;
  const floorFigures: Figure[] = [];
  if (opts.floor) {
    const fs = summarize(opts.floor.latencies);
    floorFigures.push({ name: 'floor', value: opts.floor.perSecond, unit: 'req/s' }, { name: 'floor p50', value: fs.p50, unit: 'ms' }, { name: 'floor p99', value: fs.p99, unit: 'ms' });
  }
  return {
    bench,
    setup,
    ratio: { value: ratio, meaning: 'our throughput ÷ bare node:http verify + decrypt', target: '≥ 0.70, p99 ≪ 3 s', pass: ratio >= 0.7 && os.p99 < 1000 && ours.failures === 0 },
    figures: [
      { name: 'ours', value: ours.perSecond, unit: 'req/s' },
      ...floorFigures,
      { name: 'ours p50', value: os.p50, unit: 'ms' },
      { name: 'ours p99', value: os.p99, unit: 'ms' },
      { name: 'failed requests', value: ours.failures + (opts.floor?.failures ?? 0), unit: 'count' },
      ...(opts.extra ?? []),
    ],
    ...(opts.notes ? { notes: opts.notes } : {}),
  };
}
