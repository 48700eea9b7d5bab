import * as lark from '@larksuiteoapi/node-sdk';
import type { Dispatcher } from 'undici';
import type { FeishuConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { httpJson } from '../../vendors/http.js';

/**
 * The bot's side of Feishu IM through the official SDK (feishu-bot-and-vc-api.md §1.3, §3.2,
 * §4.4): reply with a card, patch that card, and the bot's own open_id. HTTP goes through our
 * `httpJson` (a timeout, metrics, the injected dispatcher) instead of the SDK's axios, which has
 * no timeout (§1.1). This is the channel's own copy of the small adapter: channels do not import
 * vendors' modules (DESIGN.md "Channels know nothing of vendors").
 */

export interface Im {
  /** Replies to `messageId` with a card; `uuid` makes a retried reply land once (§2.3 b). Returns the new message id. */
  reply(messageId: string, card: object, uuid: string): Promise<string>;
  patch(messageId: string, card: object): Promise<void>;
  /** The bot's open_id, to tell its @mention from others' (§3.1); undefined if it cannot be read. */
  botOpenId(): Promise<string | undefined>;
}

export class ImError extends Error {
  override readonly name = 'ImError';
  constructor(readonly status: number, readonly code: number | undefined, detail: string) {
    super(detail);
  }
}

/** 99991663: the SDK keeps a rejected token until it expires (§1.5); drop it and retry once. */
const TOKEN_INVALID = 99991663;

export interface ImDeps {
  config: FeishuConfig;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  dispatcher?: Dispatcher;
}

export function createIm(deps: ImDeps): Im {
  const tokens = new Map<string, { value: string; expireAt: number }>();
  const cache: lark.Cache = {
    async get(key, options) {
      const e = tokens.get(`${options?.namespace ?? ''}/${key.toString()}`);
      // The SDK computes expiry from Date.now() (token-manager.ts), so it is compared with the same.
      return e && e.expireAt > Date.now() ? e.value : undefined;
    },
    async set(key, value, expireAt, options) {
      tokens.set(`${options?.namespace ?? ''}/${key.toString()}`, { value: String(value), expireAt: expireAt ?? Number.MAX_SAFE_INTEGER });
      return true;
    },
  };
  const http = async (opts: lark.HttpRequestOptions<unknown>): Promise<any> => {
    const method = (opts.method ?? 'GET').toUpperCase() as 'GET' | 'POST' | 'PATCH';
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.params ?? {})) if (v !== undefined && v !== null) params.append(k, String(v));
    const url = `${opts.url ?? ''}${params.size ? `?${params}` : ''}`;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined && v !== null) headers[k] = String(v);
    const hasBody = opts.data !== undefined && method !== 'GET';
    if (hasBody) headers['content-type'] = 'application/json; charset=utf-8';
    const op = (opts.url ?? '').replace(/^https?:\/\/[^/]+\/open-apis\//, '').replace(/\/om_[^/]+/, '/:id');
    const res = await httpJson({ metrics: deps.metrics, clock: deps.clock, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) }, {
      vendor: 'feishu', op, method, url, headers, ...(hasBody ? { body: JSON.stringify(opts.data) } : {}),
    });
    const body = (res.json ?? {}) as { code?: unknown; msg?: unknown };
    if (res.status >= 400) throw new ImError(res.status, typeof body.code === 'number' ? body.code : undefined, `HTTP ${res.status} ${String(body.code ?? '')} ${String(body.msg ?? '')}`.trim());
    return opts.$return_headers ? { data: body, headers: res.headers } : body;
  };
  const method = (m: string) => (url: string, opts?: lark.HttpRequestOptions<unknown>) => http({ ...opts, url, method: m });
  const withData = (m: string) => (url: string, data?: unknown, opts?: lark.HttpRequestOptions<unknown>) => http({ ...opts, url, method: m, data });
  const client = new lark.Client({
    appId: deps.config.appId,
    appSecret: deps.config.appSecret,
    domain: deps.config.baseUrl,
    cache,
    logger: { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, trace: () => undefined },
    httpInstance: { request: http, get: method('GET'), delete: method('DELETE'), head: method('HEAD'), options: method('OPTIONS'), post: withData('POST'), put: withData('PUT'), patch: withData('PATCH') } as lark.HttpInstance,
  });

  async function call<T>(op: string, fn: () => Promise<{ code?: number; msg?: string; data?: T }>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fn();
        if (res.code !== undefined && res.code !== 0) throw new ImError(200, res.code, `code ${res.code} ${res.msg ?? ''}`);
        return res.data;
      } catch (err) {
        if (attempt === 1 && err instanceof ImError && err.code === TOKEN_INVALID) {
          tokens.clear();
          continue;
        }
        deps.log.warn({ op, err: err instanceof Error ? err.message : String(err) }, 'feishu IM call failed');
        throw err;
      }
    }
  }

  let botId: Promise<string | undefined> | undefined;
  return {
    async reply(messageId, card, uuid) {
      const data = await call<{ message_id?: string }>('reply', () => client.im.v1.message.reply({
        path: { message_id: messageId },
        data: { msg_type: 'interactive', content: JSON.stringify(card), uuid },
      }) as Promise<{ code?: number; msg?: string; data?: { message_id?: string } }>);
      if (!data?.message_id) throw new ImError(200, undefined, 'reply gave no message_id');
      return data.message_id;
    },
    async patch(messageId, card) {
      await call('patch', () => client.im.v1.message.patch({ path: { message_id: messageId }, data: { content: JSON.stringify(card) } }) as Promise<{ code?: number; msg?: string }>);
    },
    botOpenId() {
      botId ??= client.request<{ code?: number; bot?: { open_id?: string } }>({ method: 'GET', url: '/open-apis/bot/v3/info' })
        .then((res) => res.bot?.open_id)
        .catch((err: unknown) => {
          deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not read the bot open_id; answering any @mention');
          botId = undefined;
          return undefined;
        });
      return botId;
    },
  };
}
