#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npm install && npm start` and `npx meetcheck`
// work on a fresh clone with no build step.
import { register } from 'tsx/esm/api';

// `meetcheck quality … | head` closes the pipe early: that is the reader's choice, not a crash.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

register();
const { main } = await import('../src/cli.ts');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`meetcheck: ${err?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
