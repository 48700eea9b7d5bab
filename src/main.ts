import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { buildApp } from './app.js';
import { createChannels, surfaceRegistry } from './channels/index.js';
import type { Channel } from './channels/types.js';
import { describeConfig, type Config } from './config.js';
import { systemClock, type Clock } from './core/clock.js';
import type { CoreDeps } from './core/quality.js';
import { createConversation } from './core/conversation.js';
import { HandBack, createTasks } from './core/tasks.js';
import { createJobs, type JobEngine } from './jobs/index.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { createStore } from './store/index.js';
import type { Store } from './store/types.js';
import { createVendors } from './vendors/index.js';

export interface Running {
  server: Server;
  /** e.g. http://127.0.0.1:53211 */
  url: string;
  core: CoreDeps;
  channels: Channel[];
  /** The command-job engine (BullMQ with REDIS_URL, embedded without). */
  jobs: JobEngine;
  /** Stops taking requests, lets replies in flight finish, closes connections. */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  log?: Logger;
  store?: Store;
  dispatcher?: Dispatcher;
  /** How long a shutdown lets work in flight finish before it aborts it (default MEETCHECK_SHUTDOWN_GRACE_MS, 10 s). */
  shutdownGraceMs?: number;
}

/** A Kubernetes pod gets 30 s between SIGTERM and SIGKILL by default; finish well inside that. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** Wires config → store → vendors → core → channels → app, and listens. Tests call this too. */
export async function startServer(config: Config, opts: StartOptions = {}): Promise<Running> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const store = opts.store ?? (await createStore(config, { clock, log }));
  const tasks = createTasks((name, err) => {
    // A job handed back (SIGTERM) stops its background load on purpose; the next owner continues it.
    if (err instanceof HandBack) log.debug({ task: name }, 'background task handed back');
    else log.error({ err, task: name }, 'background task failed');
  });
  const vendors = createVendors({ config, store, clock, log, metrics, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}) });
  const jobs = await createJobs(config, { store, log, metrics, tasks });
  const core: CoreDeps = {
    vendors, store, clock, log, metrics, tasks, jobs,
    settings: {
      lang: config.lang,
      ...(config.allowedChats ? { allowedChats: config.allowedChats } : {}),
      ...(config.admins ? { admins: config.admins } : {}),
      ...(config.defaultVendor ? { defaultVendor: config.defaultVendor } : {}),
    },
  };
  const channels = createChannels({ config, core, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}) });
  await jobs.start(surfaceRegistry(channels), createConversation(core));
  metrics.jobCounts = async () => ({ ...(await jobs.counts()) });
  let ready = true;
  const app = buildApp({ log, metrics, channels, ready: () => ready });
  const server = createServer(app.callback());
  // Platforms hold connections open; keep them shorter than a load balancer's idle timeout.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  for (const c of channels) await c.start?.();
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      ready = false;
      const graceMs = opts.shutdownGraceMs ?? config.jobs.shutdownGraceMs;
      const started = clock.now();
      // With durable jobs the listener stays up while draining: /readyz answers 503 so the load
      // balancer stops sending, and a command that still arrives is queued for another replica.
      // Alone (no REDIS_URL) there is no one to hand work to: stop taking requests at once.
      const stopListening = () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        return done;
      };
      let closed = jobs.kind === 'bullmq' ? undefined : stopListening();
      for (const c of channels) await c.stop?.().catch((err: unknown) => log.warn({ err, channel: c.name }, 'channel stop failed'));
      // Durable jobs go back to the queue at once, for another replica; in-process work gets what
      // is left of the grace period, then is aborted.
      log.info({ ms: clock.now() - started }, 'channels stopped; handing jobs back');
      await jobs.stop(graceMs);
      log.info({ ms: clock.now() - started }, 'jobs handed back');
      const inTime = await tasks.drain(clock, Math.max(0, graceMs - (clock.now() - started)));
      if (!inTime) log.warn('shutdown grace period over: work in flight was stopped and its cards say so');
      closed ??= stopListening();
      server.closeAllConnections();
      await closed;
      await store.close();
    })());

  log.info({ ...describeConfig(config), url, port: addr.port }, config.demo
    ? `meetcheck is running in demo mode (no credentials set): open ${url}/console or try "npx meetcheck quality demo:123456789"`
    : 'meetcheck is running');
  return { server, url, core, channels, jobs, close };
}
