import { AsyncLocalStorage } from 'node:async_hooks';
import { request, type Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import { MeetcheckError } from '../core/errors.js';
import type { Metrics } from '../metrics.js';

/**
 * The one place outbound HTTP goes through, for vendors and chat platforms alike: a timeout on
 * every call, the latency histogram (vendor calls and platform calls in two families), and
 * transport failures turned into coded errors. The dispatcher is injected (undici's advice: "pass
 * `dispatcher` into each API client"), so tests can point a client at a fake server.
 */
export interface HttpDeps {
  dispatcher?: Dispatcher;
  metrics: Metrics;
  clock: Clock;
  /** Per call; a slow vendor must not hold a reply past the platform's patience. */
  timeoutMs?: number;
}

/** A meeting vendor's API (the report's data) or a chat platform's (the cards and messages). */
export type CallKind = 'vendor' | 'platform';

/**
 * What the call in progress is, for code that cannot pass it down: the lark SDK calls our HTTP
 * with its own arguments, so the policy (policy.ts) sets this around each attempt and httpJson
 * reads the labels, the abort signal and the timeout from it.
 */
export interface CallContext {
  kind: CallKind;
  /** The vendor ('feishu') or the platform ('feishu', 'wecom') being called. */
  target: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const ambient = new AsyncLocalStorage<CallContext>();

export function withCallContext<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
  return ambient.run(ctx, fn);
}

export function currentCall(): CallContext | undefined {
  return ambient.getStore();
}

export interface HttpRequest {
  /** Who is called; defaults to the ambient call's target. */
  target?: string;
  /** Vendor or platform; defaults to the ambient call's kind, else 'vendor' (`vendor:` callers). */
  kind?: CallKind;
  /** @deprecated the older spelling of `target` for a vendor call. */
  vendor?: string;
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

/**
 * undici's own headersTimeout/bodyTimeout default is 300 s (undici docs, Client options); a person
 * waits for the card, and the platforms give a callback 3-5 s, so no single call may take more than this.
 */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Vendor answers we read are small (a page of 100 rows is tens of KB); a runaway body is cut off rather than buffered. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export async function httpJson(deps: HttpDeps, req: HttpRequest): Promise<HttpResponse> {
  const ctx = currentCall();
  const kind = req.kind ?? ctx?.kind ?? 'vendor';
  const target = req.target ?? req.vendor ?? ctx?.target ?? 'unknown';
  const signal = req.signal ?? ctx?.signal;
  const started = deps.clock.now();
  const timeoutMs = ctx?.timeoutMs ?? deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const errorOptions = kind === 'vendor' ? { vendor: target } : {};
  let outcome = 'error';
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: req.headers ?? {},
      ...(req.body !== undefined ? { body: req.body } : {}),
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
      ...(signal ? { signal } : {}),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_RESPONSE_BYTES) {
        res.body.destroy();
        throw new MeetcheckError('vendor_unavailable', `${target} ${req.op}: response over ${MAX_RESPONSE_BYTES} bytes`, errorOptions);
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
    if (signal?.aborted) {
      outcome = 'aborted';
      throw err;
    }
    outcome = code.includes('TIMEOUT') ? 'timeout' : 'network';
    throw new MeetcheckError(outcome === 'timeout' ? 'vendor_timeout' : 'vendor_unavailable', `${target} ${req.op}: ${code || 'network error'}`, { ...errorOptions, cause: err });
  } finally {
    const seconds = (deps.clock.now() - started) / 1000;
    if (kind === 'vendor') deps.metrics.vendorCalls.observe({ vendor: target, op: req.op, outcome }, seconds);
    else deps.metrics.platformCalls.observe({ platform: target, op: req.op, outcome }, seconds);
  }
}
