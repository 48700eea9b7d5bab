#!/usr/bin/env node
// Runs the compiled code in dist/ (what `npm run build` makes and `npm start` builds first when the
// sources changed). When dist/ is missing or older than src/ (a clone where nobody built yet, or
// `npx meetcheck` right after an edit), it runs the TypeScript sources through tsx, a dev dependency,
// so the answer always matches the code on disk. An install without src/ (a deployed build) always
// runs dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `meetcheck quality … | head` closes the pipe early: that is the reader's choice, not a crash.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const root = new URL('../', import.meta.url);
const dist = new URL('dist/src/cli.js', root);

async function loadCli() {
  if (!existsSync(new URL('src/', root))) return import(dist.href);
  const { buildState } = await import(new URL('scripts/build-state.mjs', root).href);
  if (buildState(fileURLToPath(root)) === 'fresh') return import(dist.href);
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    process.stderr.write(
      'meetcheck: dist/ is missing or older than src/, and tsx (a dev dependency) is not installed: run `npm run build` first\n',
    );
    process.exit(1);
  }
  register();
  return import(new URL('src/cli.ts', root).href);
}

const { main } = await loadCli();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`meetcheck: ${err?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
