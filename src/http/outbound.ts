import { request, type Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import { MeetcheckError } from '../core/errors.js';
import type { Metrics } from '../metrics.js';
import type { VendorName } from '../core/model.js';

/**
 * The one place vendor HTTP goes through: a timeout on every call, the latency histogram, and
 * transport failures turned into coded errors. The dispatcher is injected (anchors §5: "pass
 * `dispatcher` into each API client"), so tests can point a client at a fake server or MockAgent.
 */
export interface HttpDeps {
  dispatcher?: Dispatcher;
  metrics: Metrics;
  clock: Clock;
  /** Per call; a slow vendor must not hold a reply past the platform's patience. */
  timeoutMs?: number;
}

export interface HttpRequest {
  vendor: VendorName;
  /** Short operation name for metrics and logs, e.g. "get_quality". */
  op: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  json: unknown;
  text: string;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
/** Vendor answers we read are small; a runaway body is cut off rather than buffered. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export async function httpJson(deps: HttpDeps, req: HttpRequest): Promise<HttpResponse> {
  const started = deps.clock.now();
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let outcome = 'error';
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: req.headers ?? {},
      ...(req.body !== undefined ? { body: req.body } : {}),
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_RESPONSE_BYTES) {
        res.body.destroy();
        throw new MeetcheckError('vendor_unavailable', `${req.vendor} ${req.op}: response over ${MAX_RESPONSE_BYTES} bytes`, { vendor: req.vendor });
      }
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    outcome = String(res.statusCode);
    return { status: res.statusCode, headers: res.headers, json, text };
  } catch (err) {
    if (err instanceof MeetcheckError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (req.signal?.aborted) throw err;
    outcome = code.includes('TIMEOUT') ? 'timeout' : 'network';
    throw new MeetcheckError(outcome === 'timeout' ? 'vendor_timeout' : 'vendor_unavailable', `${req.vendor} ${req.op}: ${code || 'network error'}`, {
      vendor: req.vendor,
      cause: err,
    });
  } finally {
    deps.metrics.vendorCalls.observe({ vendor: req.vendor, op: req.op, outcome }, (deps.clock.now() - started) / 1000);
  }
}

/**
 * Retries only what is retryable: `retryable` decides, per failure, after how long (or not at all).
 * Business errors fail fast (larksuite node-sdk channel/outbound/retry.ts).
 */
export async function withRetry<T>(
  clock: Clock,
  attempts: number,
  fn: (attempt: number) => Promise<T>,
  retryable: (err: unknown, attempt: number) => number | undefined,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const waitMs = attempt < attempts ? retryable(err, attempt) : undefined;
      if (waitMs === undefined) throw err;
      await clock.sleep(waitMs, signal);
    }
  }
}
