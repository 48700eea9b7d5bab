import type { Conversation } from '../core/conversation.js';
import type { Surface } from '../core/surface.js';
import type { JobRequest, Tasks } from '../core/tasks.js';
import type { JobEngine, SurfaceRegistry } from './types.js';

/**
 * No REDIS_URL: the same interface, in this process. A job runs at once as a tracked task; a
 * shutdown lets it finish within the grace period, then aborts it (the card says "interrupted").
 * Nothing survives this process: see README "Durability".
 */
export function createEmbeddedJobs(tasks: Tasks): JobEngine {
  return {
    kind: 'embedded',
    // Every card runs in this process through the conversation's in-process path, exactly as
    // before jobs existed: there is no other replica to hand it to.
    takes: (_surface: Surface) => false,
    async submit(_job: JobRequest) {
      throw new Error('the embedded engine runs work in process; nothing is queued');
    },
    async start(_surfaces: SurfaceRegistry, _conversation: Conversation) {},
    async stop() {
      // main's tasks.drain waits the work out within the grace period, then aborts it.
    },
    async counts() {
      return { waiting: 0, active: tasks.size, delayed: 0, failed: 0 };
    },
  };
}
