import { parseArgs } from 'node:util';
import { ConfigError, enabledVendors, loadConfig, loadDotEnv, type Config } from './config.js';
import { renderMessage, renderTable } from './channels/console/terminal.js';
import { systemClock } from './core/clock.js';
import { parseCommand } from './core/command.js';
import { createConversation } from './core/conversation.js';
import { t } from './core/i18n.js';
import { describeParseError } from './core/messages.js';
import type { CoreDeps } from './core/quality.js';
import type { CardView, Surface } from './core/surface.js';
import { createTasks } from './core/tasks.js';
import { createLogger, silentLogger } from './log.js';
import { createMetrics } from './metrics.js';
import { startServer } from './main.js';
import { createStore } from './store/index.js';
import { createVendors } from './vendors/index.js';

const USAGE = `usage:
  meetcheck serve                                   run the bot (what npm start runs)
  meetcheck quality <meeting> [--problems] [--at YYYY-MM-DD[ HH:mm]] [--json]
                                                    print a meeting's quality report
  meetcheck help
<meeting> is [vendor:]id, e.g. demo:123456789, tencent:806-146-667, or a meeting code.`;

export async function main(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  const [cmd, ...rest] = argv;
  let config: Config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      err.write(`meetcheck: configuration error: ${e.message}\n`);
      return 78; // EX_CONFIG
    }
    throw e;
  }
  switch (cmd) {
    case 'serve':
    case undefined:
      return serve(config, err);
    case 'quality':
      return quality(config, rest, out, err);
    case 'help':
    case '--help':
    case '-h':
      out.write(USAGE + '\n');
      return 0;
    default:
      err.write(`meetcheck: unknown command "${cmd}"\n${USAGE}\n`);
      return 2;
  }
}

async function serve(config: Config, err: NodeJS.WritableStream): Promise<number> {
  const log = createLogger(config.logLevel);
  let running;
  try {
    running = await startServer(config, { log });
  } catch (e) {
    // What a person can fix (an unreachable REDIS_URL, a port in use) gets one line, not a stack.
    if (e instanceof ConfigError) {
      err.write(`meetcheck: configuration error: ${e.message}\n`);
      return 78; // EX_CONFIG
    }
    const code = (e as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      err.write(`meetcheck: cannot listen on ${config.host}:${config.port} (${code}); set PORT or HOST\n`);
      return 78;
    }
    throw e;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing replies in flight');
      // The process leaves within the grace period whatever still holds its event loop (a socket a
      // platform left open): durable jobs were handed back by then, and another replica has them.
      setTimeout(() => {
        log.warn('grace period over: exiting with work or handles still open');
        process.exit(0);
      }, config.jobs.shutdownGraceMs).unref();
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      running.close().then(resolve, (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  log.info('stopped');
  return 0;
}

async function quality(config: Config, args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, problems: { type: 'boolean' }, at: { type: 'string' } } });
  } catch (e) {
    err.write(`meetcheck: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const text = ['/quality', ...parsed.positionals, parsed.values.problems ? '--problems' : '', parsed.values.at ? `--at ${parsed.values.at}` : ''].join(' ');
  const result = parseCommand(text);
  const lang = config.lang;
  if (!result.ok) {
    const m = describeParseError(lang, result.error, enabledVendors(config));
    err.write(`${m.text}\n`);
    return 2;
  }
  if (result.command.kind !== 'quality') {
    out.write(USAGE + '\n');
    return 0;
  }
  const clock = systemClock;
  const log = config.logLevel === 'debug' || config.logLevel === 'trace' ? createLogger(config.logLevel, process.stderr as never) : silentLogger;
  const metrics = createMetrics({ defaults: false });
  const store = await createStore({ ...config, redisUrl: undefined } as Config, { clock, log });
  const tasks = createTasks((name, e) => log.error({ err: e, task: name }, 'background task failed'));
  const vendors = createVendors({ config, store, clock, log, metrics });
  const core: CoreDeps = { vendors, store, clock, log, metrics, tasks, settings: { lang, ...(config.defaultVendor ? { defaultVendor: config.defaultVendor } : {}) } };
  // The terminal is one more surface of the conversation: progress on stderr, one final card.
  let final: CardView | undefined;
  const surface: Surface = {
    platform: 'cli',
    pageSize: Number.MAX_SAFE_INTEGER,
    updates: 'final',
    clickWaitMs: 0,
    async show(view, last) {
      if (last) final = view;
      else if (view.kind === 'querying' && view.text && process.stderr.isTTY) process.stderr.write(`\r${view.text}`);
    },
  };
  try {
    const { done } = await createConversation(core).command(surface, { channel: 'cli', chatId: 'cli', userId: 'cli', trusted: true }, text);
    await done;
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    if (final?.kind !== 'report') {
      err.write(final?.kind === 'message' ? renderMessage(final.message) : `${t(lang, 'err.internal')}\n`);
      return 1;
    }
    out.write(parsed.values.json ? JSON.stringify(final.page.stored.report, null, 2) + '\n' : renderTable(final.page));
    return 0;
  } finally {
    await store.close();
  }
}
