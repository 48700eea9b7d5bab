import type { Clock } from './clock.js';

/**
 * Work that outlives the HTTP request that started it (ack first, reply later). Tracked so a
 * shutdown can let replies in flight finish, and so tests can await them instead of sleeping.
 */
export interface Tasks {
  run(name: string, work: () => Promise<void>): Promise<void>;
  /** Resolves once every task started so far (and any they start) has settled. */
  idle(): Promise<void>;
  readonly size: number;
  /**
   * Aborted when a shutdown's grace period runs out: long work (a paced Feishu load of several
   * minutes) passes it down to its vendor calls and sleeps, and stops instead of being waited out.
   */
  readonly signal: AbortSignal;
  /**
   * Lets running work finish for up to `graceMs`, then aborts `signal` and waits for the work to
   * wind down (it ends its cards with what it has). Resolves true when everything finished in time.
   */
  drain(clock: Clock, graceMs: number): Promise<boolean>;
}

export function createTasks(onError: (name: string, err: unknown) => void): Tasks {
  const running = new Set<Promise<void>>();
  const stop = new AbortController();
  const idle = async () => {
    while (running.size > 0) await Promise.allSettled([...running]);
  };
  return {
    run(name, work) {
      const p: Promise<void> = Promise.resolve()
        .then(work)
        .catch((err: unknown) => onError(name, err))
        .finally(() => running.delete(p));
      running.add(p);
      return p;
    },
    idle,
    get size() {
      return running.size;
    },
    signal: stop.signal,
    async drain(clock, graceMs) {
      const timer = new AbortController();
      const inTime = await Promise.race([idle().then(() => true), clock.sleep(graceMs, timer.signal).then(() => false, () => false)]);
      timer.abort();
      if (inTime) return true;
      stop.abort(new Error('shutting down'));
      await idle();
      return false;
    },
  };
}

/**
 * The abort reason of a job handed back to the queue (a SIGTERM): the work stops where it is,
 * keeps its last checkpoint, and leaves the card as it is for the replica that takes the job over.
 */
export class HandBack extends Error {
  override readonly name = 'HandBack';
  constructor() {
    super('handed back to the queue');
  }
}

export const handedBack = (signal?: AbortSignal): boolean => signal?.aborted === true && signal.reason instanceof HandBack;

/** A command's work as a durable job: small, so any replica can run it from the store. */
export interface JobRequest {
  cardId: string;
  /** Unique per start of work on the card (a command, a refresh): the job id and checkpoint key. */
  runId: string;
  ctx: { channel: import('./model.js').ChannelName; chatId: string; userId: string; trusted?: boolean };
  fresh: boolean;
  note?: import('./model.js').ReportNote;
}

/** The port core starts durable work through (src/jobs/): a queue every replica works from. */
export interface DurableJobs {
  /** True when this surface can be rebuilt by any replica from the card alone (its platform's registered one). */
  takes(surface: import('./surface.js').Surface): boolean;
  /** Queues the work; resolves once it is stored (not when it is done). */
  submit(job: JobRequest): Promise<void>;
}
