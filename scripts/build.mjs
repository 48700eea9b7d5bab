#!/usr/bin/env node
// `npm run build`: compile src/ with tsc into dist/ and copy what the compiled code reads at run time,
// so dist/ runs on its own (with node_modules beside or above it):
//   dist/src/**.js          tsc output (rootDir is the repo root, so paths keep their src/ prefix)
//   dist/src/**/<non-.ts>   every other file under src/ (the console's assets/*.js and *.css)
//   dist/cards/**           the card templates, which src/channels/*/ read at ../../../cards
//   dist/package.json       {"type":"module"}, so the .js files are ES modules wherever dist/ sits
//   dist/.meetcheck-build.json  written last: when the build started and from how many inputs
//
//   node scripts/build.mjs [--out-dir DIR] [--if-stale]
// --if-stale does nothing when DIR already holds a build of the current sources (`npm start` uses it).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildState, inputs, STAMP } from './build-state.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { 'out-dir': { type: 'string' }, 'if-stale': { type: 'boolean' } } });
const outDir = resolve(values['out-dir'] ?? join(root, 'dist'));

// The output directory is wiped first: refuse anything that holds the sources.
const within = (dir, parent) => {
  const rel = relative(parent, dir);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};
if (
  within(root, outDir) ||
  ['src', 'cards', 'bin', 'scripts', 'test', 'bench', 'docs', '.git'].some((d) => within(outDir, join(root, d)))
) {
  console.error(`build: refusing to use ${outDir} as the output directory (it would delete sources)`);
  process.exit(2);
}

if (values['if-stale'] && buildState(root, outDir) === 'fresh') process.exit(0);

const started = Date.now();
const before = inputs(root);
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('build: typescript (a dev dependency) is not installed: run `npm install` (or build where dev dependencies are)');
  process.exit(1);
}
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`build: tsc failed (exit ${r.status ?? r.signal})`);
  process.exit(1);
}

cpSync(join(root, 'src'), join(outDir, 'src'), { recursive: true, filter: (p) => !p.endsWith('.ts') });
cpSync(join(root, 'cards'), join(outDir, 'cards'), { recursive: true });
writeFileSync(join(outDir, 'package.json'), JSON.stringify({ type: 'module', private: true }, null, 2) + '\n');
writeFileSync(join(outDir, STAMP), JSON.stringify({ startedAtMs: started, inputs: before.count }) + '\n');

const shown = relative(process.cwd(), outDir) || '.';
console.error(`build: ${shown.startsWith('..') ? outDir : shown.split(sep).join('/')}/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
