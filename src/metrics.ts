import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics for /metrics (prom-client: the standard exposition format, histograms included).
 * Outbound calls are in two families, so "Feishu IM is slow" and "Feishu VC is slow" read apart:
 * meetcheck_vendor_call_seconds (the meeting APIs a report is made of) and
 * meetcheck_platform_call_seconds (the chat platforms' APIs cards and messages go out through).
 */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'status'>;
  commands: Counter<'vendor' | 'outcome'>;
  vendorCalls: Histogram<'vendor' | 'op' | 'outcome'>;
  platformCalls: Histogram<'platform' | 'op' | 'outcome'>;
  /** Calls the outbound policy tried again, by why: transient, rate (after the vendor's reset) or token (refreshed once). */
  callRetries: Counter<'kind' | 'target' | 'reason'>;
  /** Command jobs by state (waiting, active, delayed, failed), read from the queue at each scrape. */
  jobs: Gauge<'state'>;
  /** Jobs another replica took over: 'stalled' (counted where the stall was found), 'handed_back' (where handed back). */
  jobsTakenOver: Counter<'how'>;
  /** Jobs that failed for good (every attempt used). */
  jobsFailed: Counter;
  /** Where the jobs gauge reads its counts: set by main once the job engine exists. */
  jobCounts?: () => Promise<Record<string, number>>;
}

const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

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
      name: 'meetcheck_vendor_call_seconds', help: 'Meeting vendor API call latency by vendor, operation and outcome (HTTP status, timeout, network, aborted)',
      labelNames: ['vendor', 'op', 'outcome'], registers: [registry], buckets: BUCKETS,
    }),
    platformCalls: new Histogram({
      name: 'meetcheck_platform_call_seconds', help: 'Chat platform API call latency (messages, cards) by platform, operation and outcome',
      labelNames: ['platform', 'op', 'outcome'], registers: [registry], buckets: BUCKETS,
    }),
    callRetries: new Counter({
      name: 'meetcheck_call_retries_total', help: 'Outbound calls tried again, by kind (vendor or platform), target and reason',
      labelNames: ['kind', 'target', 'reason'], registers: [registry],
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
