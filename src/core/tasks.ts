/**
 * Work that outlives the HTTP request that started it (ack first, reply later). Tracked so a
 * graceful shutdown can wait for replies in flight, and so tests can await them instead of sleeping.
 */
export interface Tasks {
  run(name: string, work: () => Promise<void>): Promise<void>;
  /** Resolves once every task started so far (and any they start) has settled. */
  idle(): Promise<void>;
  readonly size: number;
}

export function createTasks(onError: (name: string, err: unknown) => void): Tasks {
  const running = new Set<Promise<void>>();
  return {
    run(name, work) {
      const p: Promise<void> = Promise.resolve()
        .then(work)
        .catch((err: unknown) => onError(name, err))
        .finally(() => running.delete(p));
      running.add(p);
      return p;
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    get size() {
      return running.size;
    },
  };
}
