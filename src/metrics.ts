import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics for /metrics (prom-client: the standard exposition format, histograms included). */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'status'>;
  commands: Counter<'vendor' | 'outcome'>;
  vendorCalls: Histogram<'vendor' | 'op' | 'outcome'>;
}

export function createMetrics(opts: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'meetcheck_' });
  return {
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
  };
}
