// Is dist/ a build of the sources as they are now? Shared by scripts/build.mjs (`--if-stale`) and
// bin/meetcheck.js (which runs dist/ when it is, and the TypeScript sources through tsx when not).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Written last by a build, so a build that died half way leaves no stamp. */
export const STAMP = '.meetcheck-build.json';

/** What the compiled output depends on: every file under these, plus these files. */
const INPUT_DIRS = ['src', 'cards'];
const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'scripts/build-state.mjs'];

/** The build inputs of the tree at `root`: how many there are and the newest modification time. */
export function inputs(root) {
  let count = 0;
  let newestMs = 0;
  const visit = (path) => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
      return;
    }
    count++;
    newestMs = Math.max(newestMs, st.mtimeMs);
  };
  for (const d of INPUT_DIRS) visit(join(root, d));
  for (const f of INPUT_FILES) visit(join(root, f));
  return { count, newestMs };
}

/**
 * 'fresh': `outDir` holds a finished build and no input changed since it started (same number of
 * inputs, none modified after the build began); 'stale': it holds an older build; 'absent': no
 * finished build there. Comparing with the build's start, not its end, means an edit made while tsc
 * ran still counts as a change.
 */
export function buildState(root, outDir = join(root, 'dist')) {
  const stampPath = join(outDir, STAMP);
  if (!existsSync(stampPath)) return 'absent';
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampPath, 'utf8'));
  } catch {
    return 'absent';
  }
  const now = inputs(root);
  return now.count === stamp.inputs && now.newestMs <= stamp.startedAtMs ? 'fresh' : 'stale';
}
