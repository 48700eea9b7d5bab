import * as lark from '@larksuiteoapi/node-sdk';
import type { Cache, HttpInstance, HttpRequestOptions } from '@larksuiteoapi/node-sdk';
import { httpJson, type HttpDeps } from './outbound.js';

/**
 * The lark SDK's HTTP, routed through our own `httpJson` so every Feishu call has a timeout, shows
 * in /metrics and honours the injected dispatcher. The SDK's default is axios with no timeout
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

export function larkHttp(deps: HttpDeps, vendor: 'feishu' = 'feishu'): HttpInstance {
  const send = async (opts: HttpRequestOptions<unknown>): Promise<any> => {
    const url = opts.url ?? '';
    const query = serialize(opts);
    const method = (opts.method ?? 'GET').toUpperCase() as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined && v !== null) headers[k] = String(v);
    const hasBody = opts.data !== undefined && method !== 'GET';
    if (hasBody) headers['content-type'] = 'application/json; charset=utf-8';
    const res = await httpJson(deps, {
      vendor, op: opName(url), method, url: query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url, headers,
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
 * The one way we build a lark SDK Client (the Feishu channel's IM, the Feishu VC vendor, the
 * meeting-end poster): HTTP through httpJson, a token cache of its own that 99991663 can clear, and
 * the SDK's logging quietened to debug.
 */
export function createLarkClient(
  app: { appId: string; appSecret: string; baseUrl: string },
  http: HttpDeps,
  log: { debug(obj: object, msg: string): void },
): { client: lark.Client; tokens: TokenCache } {
  const tokens = tokenCache();
  const client = new lark.Client({
    appId: app.appId,
    appSecret: app.appSecret,
    domain: app.baseUrl,
    cache: tokens,
    logger: larkLogger(log),
    httpInstance: larkHttp(http),
  });
  return { client, tokens };
}

/** Feishu's business code on a failed call, whether it came as an HTTP error or in a 200 body. */
export function larkCode(err: unknown): number | undefined {
  const body = err instanceof LarkHttpError ? (err.body as { code?: unknown } | undefined) : undefined;
  return typeof body?.code === 'number' ? body.code : undefined;
}
