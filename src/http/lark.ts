import { createHash } from 'node:crypto';
import type * as lark from '@larksuiteoapi/node-sdk';
import type { Cache, HttpInstance, HttpRequestOptions } from '@larksuiteoapi/node-sdk';
import { larkSdk } from './lark-sdk.js';
import type { Dispatcher } from 'undici';
import type { Metrics } from '../metrics.js';
import { currentCall, httpJson, type HttpDeps } from './outbound.js';

/**
 * The lark SDK's HTTP, routed through our own `httpJson` so every Feishu call has a timeout, shows
 * in /metrics and honours the injected dispatcher. A call made inside the outbound policy
 * (policy.ts) is labelled and aborted as that call says: the VC vendor's calls are vendor calls. A
 * call made outside it is the bot's own chat traffic (IM, bot info): a platform call to Feishu.
 * The SDK's default is axios with no timeout
 * (larksuite/node-sdk http/index.ts). Contract of a custom `httpInstance` (node-sdk typings/http.ts): resolve to the
 * response body (or `{data, headers}` when `$return_headers`), honour `params` and
 * `paramsSerializer`. Like axios, a 4xx/5xx rejects, with the status, body and headers on it, so
 * the SDK's own logging and our error mapping see what Feishu said.
 */
export class LarkHttpError extends Error {
  override readonly name = 'LarkHttpError';
  constructor(readonly status: number, readonly body: unknown, readonly headers: Record<string, string | string[] | undefined>) {
    const b = body as { code?: unknown; msg?: unknown } | undefined;
    super(`HTTP ${status}${b && b.code !== undefined ? ` code ${String(b.code)}: ${String(b.msg ?? '')}` : ''}`);
  }
}

/** Metrics label for a Feishu path: ids (om_…, oc_…) folded so the label set stays small. */
export function opName(url: string): string {
  const path = url.replace(/^https?:\/\/[^/]+/, '').split('?')[0]!.replace(/^\/open-apis\//, '');
  return path.split('/').map((seg) => (/^(om|oc|ou|on|omm)_/.test(seg) ? ':id' : seg)).join('/');
}

function serialize(opts: HttpRequestOptions<unknown>): string {
  const params = opts.params ?? {};
  if (typeof opts.paramsSerializer === 'function') return opts.paramsSerializer(params);
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.append(k, String(v));
  return q.toString();
}

export function larkHttp(deps: HttpDeps): HttpInstance {
  const send = async (opts: HttpRequestOptions<unknown>): Promise<any> => {
    const url = opts.url ?? '';
    const query = serialize(opts);
    const method = (opts.method ?? 'GET').toUpperCase() as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined && v !== null) headers[k] = String(v);
    const hasBody = opts.data !== undefined && method !== 'GET';
    if (hasBody) headers['content-type'] = 'application/json; charset=utf-8';
    const call = currentCall();
    const res = await httpJson(deps, {
      kind: call?.kind ?? 'platform', target: call?.target ?? 'feishu', op: opName(url), method, url: query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url, headers,
      ...(hasBody ? { body: JSON.stringify(opts.data) } : {}),
    });
    const body = res.json ?? (res.text ? { raw: res.text.slice(0, 200) } : {});
    if (res.status >= 400) throw new LarkHttpError(res.status, body, res.headers);
    return opts.$return_headers ? { data: body, headers: res.headers } : body;
  };
  const withMethod = (method: string) => (url: string, opts?: HttpRequestOptions<unknown>) => send({ ...opts, url, method });
  const withData = (method: string) => (url: string, data?: unknown, opts?: HttpRequestOptions<unknown>) => send({ ...opts, url, method, data });
  return {
    request: send,
    get: withMethod('GET'),
    delete: withMethod('DELETE'),
    head: withMethod('HEAD'),
    options: withMethod('OPTIONS'),
    post: withData('POST'),
    put: withData('PUT'),
    patch: withData('PATCH'),
  } as HttpInstance;
}

/** A per-client token cache (the SDK's default `internalCache` is process-global, node-sdk issue #26) that we can clear on 99991663. */
export interface TokenCache extends Cache {
  clear(): void;
}

export function tokenCache(): TokenCache {
  const values = new Map<string, { value: string; expireAt: number }>();
  const k = (key: string | Symbol, ns?: string) => `${ns ?? ''}/${key.toString()}`;
  return {
    async get(key, options) {
      const e = values.get(k(key, options?.namespace));
      // The SDK computes expireAt from Date.now() (token-manager.ts), so compare against the same.
      return e && e.expireAt > Date.now() ? e.value : undefined;
    },
    async set(key, value, expireAt, options) {
      values.set(k(key, options?.namespace), { value: String(value), expireAt: expireAt ?? Number.MAX_SAFE_INTEGER });
      return true;
    },
    clear() {
      values.clear();
    },
  };
}

/**
 * The SDK's LoggerProxy hands a logger ONE argument, the array of what was logged
 * (`this.logger.error(msg)` with `msg = ['[ws]', 'text', …]`, lib/index.js LoggerProxy), so the
 * parts are flattened here. Errors show as their message; other objects are not printed (a
 * response or request object may carry a token).
 */
export function sdkLogText(args: unknown[]): string {
  return args.flat(2).map((m) => (m instanceof Error ? m.message : typeof m === 'string' || typeof m === 'number' || typeof m === 'boolean' ? String(m) : 'object')).join(' ').slice(0, 300);
}

type Level = 'error' | 'warn' | 'info' | 'debug';
type Sink = Partial<Record<Level, (obj: object, msg: string) => void>>;

/**
 * A logger for the SDK: each SDK level goes to the pino level given in `route` (or nowhere).
 * The SDK's own debug/trace lines are never forwarded: they print the long-connection URL (with
 * its ticket) and whole event payloads (lib/index.js pullConnectConfig, handleEventData).
 */
export function larkLogTo(log: Sink, route: Partial<Record<'error' | 'warn' | 'info', Level>>) {
  const to = (level: Level | undefined) => {
    const fn = level ? log[level] : undefined;
    return fn ? (...msg: unknown[]) => fn.call(log, { sdk: 'lark' }, sdkLogText(msg)) : () => undefined;
  };
  return { error: to(route.error), warn: to(route.warn), info: to(route.info), debug: () => undefined, trace: () => undefined };
}

/** The HTTP client's logs would repeat what we log once, with less care for secrets: kept at debug. */
export function larkLogger(log: { debug(obj: object, msg: string): void }) {
  return larkLogTo(log, { error: 'debug', warn: 'debug' });
}

/**
 * The one lark SDK Client per Feishu app (the channel's IM, the VC vendor, the meeting-end poster
 * all ask here): HTTP through httpJson, one token cache (the SDK's default `internalCache` is
 * process-global, node-sdk issue #26) that a 99991663 seen by any of them clears for all, and the
 * SDK's logging quietened to debug. Clients are kept per running server: the cache hangs off the
 * server's Metrics, the one object every part of one server is built with (a test's second server
 * gets its own client). A part that asks for another per-call timeout gets a client of its own.
 */
export function createLarkClient(
  app: { appId: string; appSecret: string; baseUrl: string },
  http: HttpDeps,
  log: { debug(obj: object, msg: string): void },
): LarkApp {
  const key = [app.baseUrl, app.appId, createHash('sha256').update(app.appSecret).digest('base64url').slice(0, 16), dispatcherId(http.dispatcher), http.timeoutMs ?? ''].join('|');
  let clients = byServer.get(http.metrics);
  if (!clients) {
    clients = new Map();
    byServer.set(http.metrics, clients);
  }
  let entry = clients.get(key);
  if (!entry) {
    const tokens = tokenCache();
    const client = new (larkSdk().Client)({
      appId: app.appId,
      appSecret: app.appSecret,
      domain: app.baseUrl,
      cache: tokens,
      logger: larkLogger(log),
      httpInstance: larkHttp(http),
    });
    entry = { client, tokens };
    clients.set(key, entry);
  }
  return entry;
}

export interface LarkApp {
  client: lark.Client;
  tokens: TokenCache;
}

const byServer = new WeakMap<Metrics, Map<string, LarkApp>>();
const dispatchers = new WeakMap<Dispatcher, string>();
let dispatcherCount = 0;
function dispatcherId(d: Dispatcher | undefined): string {
  if (!d) return 'global';
  let id = dispatchers.get(d);
  if (id === undefined) {
    id = `d${++dispatcherCount}`;
    dispatchers.set(d, id);
  }
  return id;
}

/** An HTTP 200 answer whose `code` is not 0: some Feishu errors come with HTTP 200 (generic-error-code), so `code === 0` is checked too. */
export class LarkBusinessError extends Error {
  override readonly name = 'LarkBusinessError';
  constructor(readonly code: number, readonly msg: string) {
    super(`code ${code}: ${msg}`);
  }
}

/** What Feishu said about one failed call: the HTTP status, its business code and message, a rate limit's reset. */
export interface LarkFailure {
  status?: number;
  code?: number;
  msg: string;
  resetMs?: number;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Feishu's error envelope `{code, msg}` with the HTTP status and `x-ogw-ratelimit-reset`, from either kind of failure; undefined for anything else. */
export function larkFailure(err: unknown): LarkFailure | undefined {
  if (err instanceof LarkBusinessError) return { code: err.code, msg: err.msg };
  if (!(err instanceof LarkHttpError)) return undefined;
  const body = err.body as { code?: unknown; msg?: unknown } | undefined;
  const out: LarkFailure = { status: err.status, msg: typeof body?.msg === 'string' ? body.msg : '' };
  if (typeof body?.code === 'number') out.code = body.code;
  // Seconds to wait (open.feishu.cn/document/server-docs/api-call-guide/frequency-control).
  const reset = Number(header(err.headers, 'x-ogw-ratelimit-reset'));
  if (header(err.headers, 'x-ogw-ratelimit-reset') !== undefined && Number.isFinite(reset) && reset >= 0) out.resetMs = Math.max(1, reset) * 1000;
  return out;
}

/** 99991663: tenant token expired or invalid (generic-error-code); the SDK never drops it itself (node-sdk client/token-manager.ts). */
export const LARK_TOKEN_INVALID = 99991663;
/** 99991400: frequency limit, HTTP 429 with x-ogw-ratelimit-reset seconds (open.feishu.cn/document/server-docs/api-call-guide/frequency-control). */
export const LARK_RATE_LIMITED = 99991400;
/** When a 429 carries no reset header: a fraction of a per-minute window, then the next try says more. */
const DEFAULT_RESET_MS = 5_000;

/**
 * What every Feishu API's failure means for a retry, whatever the API: a rate limit after its reset,
 * a stale tenant token refreshed once, a 5xx again with back-off. Each client maps the rest of the
 * codes (its own API's table) to what the person is told.
 */
export function larkRetry(f: LarkFailure): { retryable?: true; retryAfterMs?: number; tokenExpired?: true } {
  if (f.code === LARK_RATE_LIMITED || f.status === 429) return { retryable: true, retryAfterMs: f.resetMs ?? DEFAULT_RESET_MS };
  if (f.code === LARK_TOKEN_INVALID) return { tokenExpired: true };
  if (f.status !== undefined && f.status >= 500) return { retryable: true };
  return {};
}

/** Feishu's business code on a failed call, whether it came as an HTTP error or in a 200 body. */
export function larkCode(err: unknown): number | undefined {
  return larkFailure(err)?.code;
}
