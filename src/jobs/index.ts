import type { Config } from '../config.js';
import type { Tasks } from '../core/tasks.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';
import { createEmbeddedJobs } from './embedded.js';
import type { JobEngine } from './types.js';

export type { JobCounts, JobEngine, SurfaceRegistry } from './types.js';

/** REDIS_URL set: durable jobs on BullMQ, shared by every replica. Unset: the embedded engine. */
export async function createJobs(config: Config, deps: { store: Store; log: Logger; metrics: Metrics; tasks: Tasks }): Promise<JobEngine> {
  if (!config.redisUrl) return createEmbeddedJobs(deps.tasks);
  const { createBullJobs } = await import('./bullmq.js');
  return createBullJobs({ url: config.redisUrl, config: config.jobs, store: deps.store, log: deps.log, metrics: deps.metrics });
}
