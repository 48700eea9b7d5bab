import { spawn } from 'node:child_process';
import type { BenchResult } from './lib.js';

/**
 * Kill -9 takeover, measured on real processes: the kill test of test/jobs/takeover.suite.ts starts
 * two replicas on Redis, loads a paced Feishu meeting on one, kills it mid-load, and times the card
 * to completion on the other. It prints one `[bench jobs]` line with the figures; this bench runs
 * those two tests (the kill and its unkilled reference) and reads that line, so the bench and the
 * test measure one and the same path. Needs Redis (REDIS_URL or 127.0.0.1:6379).
 */
export async function benchTakeover(): Promise<BenchResult[]> {
  const out = await new Promise<string>((resolve) => {
    const child = spawn('npx', ['vitest', 'run', 'test/jobs/processes.test.ts', '-t', 'kill -9|no kill'], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let text = '';
    child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { text += d.toString(); });
    child.on('close', () => resolve(text));
  });
  const m = /\[bench jobs\] kill→done (\d+) ms; bound \(takeover (\d+) ms \+ (\d+) calls at ([\d.]+)\/s\) (\d+) ms; ratio ([\d.]+); the same job unkilled, command→done (\d+) ms/.exec(out);
  if (!m) {
    return [{ bench: 'kill -9 takeover (real processes)', setup: 'test/jobs kill test', figures: [], notes: ['did not run (is Redis up?): no [bench jobs] line in the test output'] }];
  }
  const [, killToDone, takeover, calls, perS, bound, ratio, unkilled] = m;
  return [{
    bench: 'kill -9 takeover, two replicas on Redis (real processes)',
    setup: `a paced Feishu load killed mid-way; takeover bound = job lock + stalled check (${takeover} ms) + the ${calls} calls left at ${perS}/s`,
    ratio: { value: Number(ratio), meaning: 'kill→card done ÷ (takeover bound + remaining work)', target: '≤ 1.0 (the bound holds)', pass: Number(ratio) <= 1 },
    figures: [
      { name: 'kill → card done', value: Number(killToDone), unit: 'ms' },
      { name: 'bound', value: Number(bound), unit: 'ms' },
      { name: 'the same job with no kill, command → done', value: Number(unkilled), unit: 'ms' },
    ],
  }];
}
