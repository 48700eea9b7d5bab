import type { Conversation } from '../core/conversation.js';
import type { ChannelName } from '../core/model.js';
import type { Surface } from '../core/surface.js';
import type { DurableJobs } from '../core/tasks.js';

/**
 * Platform name → the Surface any replica rebuilds a card's output from (card.chat.channel).
 * Filled once at start-up by the platform registrations in channels/index.ts.
 */
export type SurfaceRegistry = ReadonlyMap<ChannelName, Surface>;

/** Counts for /metrics and readiness. */
export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** The command-job engine one replica runs: core submits through DurableJobs; main starts and stops it. */
export interface JobEngine extends DurableJobs {
  readonly kind: 'bullmq' | 'embedded';
  /** Starts working jobs off the queue with these surfaces. */
  start(surfaces: SurfaceRegistry, conversation: Conversation): Promise<void>;
  /**
   * Stops taking jobs and hands every job in flight back to the queue (its checkpoint kept), for
   * another replica to finish; gives up waiting after `graceMs`.
   */
  stop(graceMs: number): Promise<void>;
  counts(): Promise<JobCounts>;
}
