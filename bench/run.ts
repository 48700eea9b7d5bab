import { markdownRows, printResult, type BenchResult } from './lib.js';
import { benchCallbackAck } from './callback.js';
import { benchWecomCallbackAck } from './callback-wecom.js';
import { benchIdle } from './idle.js';
import { benchLargeMeetings } from './large.js';
import { benchMemory } from './memory.js';
import { benchPageFlip } from './pageflip.js';
import { benchTakeover } from './takeover.js';

/**
 * `npm run bench [-- name …]`: every bench (or the named ones), each printing its ratio against a
 * floor measured in the same run plus absolute figures, then a Markdown table for the README.
 * Loopback only; the whole run is bounded to a few minutes.
 */
const BENCHES: Record<string, () => Promise<BenchResult[]>> = {
  callback: () => benchCallbackAck(),
  'callback-wecom': () => benchWecomCallbackAck(),
  large: () => benchLargeMeetings(),
  pageflip: () => benchPageFlip(),
  memory: () => benchMemory(),
  idle: () => benchIdle(),
  takeover: () => benchTakeover(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const all: BenchResult[] = [];
const started = Date.now();
console.log(`meetcheck bench: node ${process.version}, ${(await import('node:os')).cpus().length} CPUs (${(await import('node:os')).cpus()[0]?.model ?? 'unknown'})\n`);
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  const results = await BENCHES[name]!();
  for (const r of results) {
    printResult(r);
    console.log();
  }
  all.push(...results);
}
console.log(`all benches done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
console.log(markdownRows(all));
