// The bot started from the TypeScript sources through tsx (what bin/meetcheck.js does when dist/ is
// missing or stale), so bench/idle.ts can show what running the compiled code saves.
import { main } from '../src/cli.js';

process.exitCode = await main(['serve']);
