import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics for /metrics (prom-client: the standard exposition format, histograms included). */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'status'>;
  commands: Counter<'vendor' | 'outcome'>;
  vendorCalls: Histogram<'vendor' | 'op' | 'outcome'>;
  /** Command jobs by state (waiting, active, delayed, failed), read from the queue at each scrape. */
  jobs: Gauge<'state'>;
  /** Jobs another replica took over: 'stalled' (counted where the stall was found), 'handed_back' (where handed back). */
  jobsTakenOver: Counter<'how'>;
  /** Jobs that failed for good (every attempt used). */
  jobsFailed: Counter;
  /** Where the jobs gauge reads its counts: set by main once the job engine exists. */
  jobCounts?: () => Promise<Record<string, number>>;
}

export function createMetrics(opts: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'meetcheck_' });
  const metrics: Metrics = {
    registry,
    httpRequests: new Counter({
      name: 'meetcheck_http_requests_total', help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'], registers: [registry],
    }),
    commands: new Counter({
      name: 'meetcheck_commands_total', help: '/quality commands by vendor and outcome',
      labelNames: ['vendor', 'outcome'], registers: [registry],
    }),
    vendorCalls: new Histogram({
      name: 'meetcheck_vendor_call_seconds', help: 'Vendor API call latency by vendor, operation and outcome',
      labelNames: ['vendor', 'op', 'outcome'], registers: [registry],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    }),
    jobs: new Gauge({
      name: 'meetcheck_jobs', help: 'Command jobs in the queue by state',
      labelNames: ['state'], registers: [registry],
      async collect() {
        const counts = await metrics.jobCounts?.().catch(() => undefined);
        for (const [state, n] of Object.entries(counts ?? {})) this.set({ state }, n);
      },
    }),
    jobsTakenOver: new Counter({
      name: 'meetcheck_jobs_taken_over_total', help: 'Command jobs handed to another replica, by how',
      labelNames: ['how'], registers: [registry],
    }),
    jobsFailed: new Counter({ name: 'meetcheck_jobs_failed_total', help: 'Command jobs failed after every attempt', registers: [registry] }),
  };
  return metrics;
}
