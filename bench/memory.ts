import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './lib.js';

/** Forks bench/memory-child.ts in a fresh process and returns the JSON line it prints. */
async function child<T>(args: string[]): Promise<T> {
  const path = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
  const p = fork(path, args, { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => p.on('exit', resolve));
  if (code !== 0) throw new Error(`memory bench child ${args.join(' ')} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/**
 * RSS of the in-process store: 10,000 cached reports (floor: the JSON they hold), and a flood of
 * 1,000,000 distinct message ids for dedupe (floor: RSS at 250,000; bounded means the ratio stays
 * near 1 because the store keeps at most its maxEntries and evicts the oldest).
 */
export async function benchMemory(): Promise<BenchResult[]> {
  const r = await child<{ base: number; after: number; baseHeap: number; heap: number; chars: number; bytes: number; n: number; kept: number }>(['reports', '10000']);
  const d = await child<{ base: number; marks: Record<string, number>; newestKept: boolean; oldestEvicted: boolean }>(['dedupe', '1000000']);
  const grown = r.after - r.base;
  const m = d.marks;
  return [
    {
      bench: 'memory, 10,000 cached reports (memory store)',
      setup: `${r.n.toLocaleString('en')} demo reports of 4–60 attendees saved with saveReport; RSS after GC in a fresh process`,
      ratio: { value: grown / r.bytes, meaning: 'RSS growth ÷ UTF-8 bytes of the report JSON held' },
      figures: [
        { name: 'RSS before', value: r.base, unit: 'MB' },
        { name: 'RSS with the reports', value: r.after, unit: 'MB' },
        { name: 'JS heap growth', value: r.heap - r.baseHeap, unit: 'MB' },
        { name: 'report JSON (UTF-8)', value: r.bytes, unit: 'MB' },
        { name: 'reports still cached', value: r.kept, unit: 'count' },
      ],
      notes: ['V8 keeps JSON with Chinese names as UTF-16 (2 bytes a character), hence ≈ 2× the UTF-8 size'],
    },
    {
      bench: 'memory, 1,000,000 deduped message ids (memory store)',
      setup: '1,000,000 distinct Feishu-style message ids through setIfAbsent (1 h TTL); default bound 200,000 entries',
      ratio: { value: m['1000000']! / m['250000']!, meaning: 'RSS at 1,000,000 ids ÷ RSS at 250,000 ids', target: '≈ 1 (bounded)', pass: m['1000000']! / m['250000']! < 1.25 && d.newestKept },
      figures: [
        { name: 'RSS before', value: d.base, unit: 'MB' },
        ...Object.entries(m).map(([k, v]) => ({ name: `RSS after ${Number(k).toLocaleString('en')} ids`, value: v, unit: 'MB' })),
      ],
      notes: [`newest id still deduped: ${d.newestKept}; oldest id evicted: ${d.oldestEvicted}`],
    },
  ];
}
