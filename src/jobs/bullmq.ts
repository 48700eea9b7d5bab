import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobsConfig } from '../config.js';
import { errorInfo, loadCard, updateCard } from '../core/card.js';
import type { Conversation } from '../core/conversation.js';
import { MeetcheckError } from '../core/errors.js';
import type { Surface } from '../core/surface.js';
import { HandBack, handedBack, type JobRequest } from '../core/tasks.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';
import type { JobCounts, JobEngine, SurfaceRegistry } from './types.js';

export interface BullJobsDeps {
  url: string;
  config: JobsConfig;
  store: Store;
  log: Logger;
  metrics: Metrics;
  /** Jobs one replica works at once (default JOB_CONCURRENCY). */
  concurrency?: number;
}

const QUEUE = 'commands';
/**
 * Jobs one replica works at once. They mostly wait (on vendor pacing, or on another job's query of
 * the same meeting: core/quality.ts's in-flight lock), and a job taken over from a dead replica
 * needs a free slot to go on, or the commands waiting on its lock wait out the lock's 120 s. So
 * many slots: a waiting job costs a timer and a lock renewal batched with the others.
 */
const JOB_CONCURRENCY = 256;
/**
 * A job whose work throws (the store down mid-run, say) is tried again, backing off from 1 s:
 * eight attempts ride out about two minutes of a lost Redis (1 + 2 + … + 64 s).
 */
const ATTEMPTS = 8;
/**
 * A job taken over this often is failed rather than taken over again: something in it kills its
 * replicas. Handing back (SIGTERM) does not count; only lost locks do.
 */
const MAX_STALLED = 10;

/**
 * Command jobs on BullMQ (docs.bullmq.io): each replica's Worker holds a lock on the job it runs,
 * renewed every lockMs / 2; a job whose lock lapses (its replica died) is moved back to waiting by
 * any replica's stalled check and taken by the next free worker. So a takeover happens within
 * lockMs + stalledCheckMs of the kill. The job's payload is small (core/tasks.ts JobRequest); its
 * progress is the card record and the report's checkpoint in the store.
 */
/** Waits for `p` until `end` (epoch ms) at the latest; its failure is not ours to report on shutdown. */
async function bounded(p: Promise<unknown>, end: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    p.then(() => true, () => true),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), Math.max(0, end - Date.now()));
    }),
  ]);
  clearTimeout(timer);
  return inTime;
}

/** Closing a worker or queue whose jobs are already handed back takes milliseconds; never wait longer than this. */
const CLOSE_MS = 1000;

export function createBullJobs(deps: BullJobsDeps): JobEngine {
  const { config, log, metrics } = deps;
  // BullMQ's blocking commands need a connection that retries forever (maxRetriesPerRequest null).
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis(deps.url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 100, 2000) });
    c.on('error', (err) => log.debug({ err: err.message }, 'job queue connection error'));
    connections.push(c);
    return c;
  };
  const prefix = `${config.redisPrefix}jobs`;
  const queueConnection = connect();
  const queue = new Queue(QUEUE, { connection: queueConnection, prefix });
  queue.on('error', (err) => log.warn({ err: err.message }, 'job queue error'));
  let worker: Worker | undefined;
  let surfaces: SurfaceRegistry = new Map();
  const inFlight = new Map<string, AbortController>();
  /** Set while stopping: called once the last job in flight has returned. */
  let emptied: (() => void) | undefined;

  async function failCard(job: Job<JobRequest> | undefined, conversation: Conversation): Promise<void> {
    if (!job) return;
    const card = await updateCard(deps.store, job.data.cardId, (c) => (c.state.kind === 'querying'
      ? { ...c, state: { kind: 'error', error: errorInfo(new MeetcheckError('internal')) } } : c));
    const surface = card && surfaces.get(card.chat.channel);
    if (card && surface) await surface.show(await conversation.view(surface, card), true);
  }

  return {
    kind: 'bullmq',
    takes: (surface: Surface) => worker !== undefined && surfaces.get(surface.platform) === surface,
    async submit(job) {
      await queue.add('quality', job, {
        jobId: job.runId, attempts: ATTEMPTS, backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 24 * 3600 },
      });
    },
    async start(s, conversation) {
      surfaces = s;
      worker = new Worker<JobRequest>(QUEUE, async (job, token) => {
        const card = await loadCard(deps.store, job.data.cardId);
        if (!card) return; // expired: nothing to finish
        const surface = surfaces.get(card.chat.channel);
        if (!surface) throw new Error(`no ${card.chat.channel} surface on this replica`);
        const ac = new AbortController();
        const id = job.id ?? job.data.runId;
        inFlight.set(id, ac);
        try {
          log.info({ job: id, card: card.id, attempt: job.attemptsStarted }, job.attemptsStarted > 1 ? 'command job taken over' : 'command job started');
          await conversation.runJob(surface, job.data, ac.signal);
        } catch (err) {
          if (!handedBack(ac.signal)) throw err;
          // Back to waiting, lock released: the next free worker on any replica takes it now.
          await job.moveToWait(token);
          metrics.jobsTakenOver.inc({ how: 'handed_back' });
          log.info({ job: id, card: card.id }, 'command job handed back');
          throw new WaitingError();
        } finally {
          inFlight.delete(id);
          if (inFlight.size === 0) emptied?.();
        }
      }, {
        connection: connect(), prefix, concurrency: deps.concurrency ?? JOB_CONCURRENCY,
        lockDuration: config.lockMs, stalledInterval: config.stalledCheckMs, maxStalledCount: MAX_STALLED,
      });
      worker.on('error', (err) => log.warn({ err: err.message }, 'job worker error'));
      worker.on('stalled', (jobId) => {
        metrics.jobsTakenOver.inc({ how: 'stalled' });
        log.info({ job: jobId }, 'command job stalled (its replica stopped renewing it): back to waiting');
      });
      worker.on('failed', (job, err) => {
        if (err instanceof WaitingError || err.name === 'WaitingError') return;
        // Every attempt used, or taken over more than MAX_STALLED times (BullMQ fails it with this message).
        const final = job !== undefined && (job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled more than allowable limit/.test(err.message));
        log.warn({ job: job?.id, err: err.message, final }, 'command job failed');
        if (!final) return;
        metrics.jobsFailed.inc();
        failCard(job, conversation).catch((e: unknown) => log.warn({ err: e }, 'failed job card not shown'));
      });
      await worker.waitUntilReady();
    },
    async stop(graceMs) {
      const w = worker;
      if (!w) {
        await queue.close().catch(() => undefined);
        for (const c of connections) c.disconnect();
        return;
      }
      // No new jobs from here; the ones in flight stop at once and go back to the queue.
      void w.pause(true).catch(() => undefined);
      const end = Date.now() + graceMs;
      const handedIn = new Promise<void>((resolve) => {
        emptied = resolve;
      });
      for (const ac of inFlight.values()) ac.abort(new HandBack());
      // Their processors return once moved back (moveToWait), bounded by the grace period.
      if (inFlight.size > 0) await bounded(handedIn, end);
      log.info({ left: inFlight.size }, 'jobs in flight handed back; closing the worker');
      if (inFlight.size > 0) log.warn({ jobs: inFlight.size }, 'job hand-back did not finish in the grace period: the locks lapse and another replica takes the jobs over');
      // Forced: nothing of ours is running any more, and a graceful close would wait out the
      // worker's blocking fetch (drainDelay, 5 s). Bounded too: the process must leave in time.
      if (!(await bounded(w.close(true), Math.min(end, Date.now() + CLOSE_MS)))) log.warn('job worker did not close in time; its connections are dropped');
      if (!(await bounded(queue.close(), Math.min(end, Date.now() + CLOSE_MS)))) log.warn('job queue did not close in time; its connections are dropped');
      // BullMQ leaves connections it was given open.
      for (const c of connections) c.disconnect();
    },
    async counts(): Promise<JobCounts> {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
    },
  };
}
