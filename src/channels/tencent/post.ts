import { createHash } from 'node:crypto';
import * as lark from '@larksuiteoapi/node-sdk';
import type { Dispatcher } from 'undici';
import type { FeishuConfig, ReportChat } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { httpJson } from '../../vendors/http.js';

/**
 * Where a meeting-end report goes (TENCENT_MEETING_REPORT_CHAT): a Feishu group, as a card, through
 * the IM API (feishu-bot-and-vc-api.md: POST /open-apis/im/v1/messages?receive_id_type=chat_id,
 * msg_type interactive); or a WeCom group robot webhook, as markdown (the 智能机器人 cannot speak
 * first in URL mode, wecom-bot-and-meeting-api.md §1).
 */
export interface ReportPoster {
  readonly kind: ReportChat['kind'];
  /** A card object for Feishu, markdown text for WeCom. `dedupeKey` makes a resend land once where the platform allows. */
  post(content: object | string, dedupeKey: string): Promise<void>;
}

export class PostError extends Error {
  override readonly name = 'PostError';
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

export interface PosterDeps {
  chat: ReportChat;
  feishu?: FeishuConfig;
  wecomBaseUrl: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  dispatcher?: Dispatcher;
}

export function createPoster(deps: PosterDeps): ReportPoster {
  if (deps.chat.kind === 'feishu') {
    if (!deps.feishu) throw new Error('feishu report chat without Feishu credentials');
    return feishuPoster(deps, deps.feishu, deps.chat.chatId);
  }
  return wecomPoster(deps, deps.chat.key);
}

function wecomPoster(deps: PosterDeps, key: string): ReportPoster {
  return {
    kind: 'wecom-webhook',
    async post(content) {
      if (typeof content !== 'string') throw new PostError('wecom robot takes markdown', false);
      const res = await httpJson({ metrics: deps.metrics, clock: deps.clock, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) }, {
        vendor: 'wecom', op: 'webhook_send', method: 'POST',
        url: `${deps.wecomBaseUrl}/cgi-bin/webhook/send?key=${encodeURIComponent(key)}`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ msgtype: 'markdown', markdown: { content } }),
      });
      const body = (res.json ?? {}) as { errcode?: unknown; errmsg?: unknown };
      if (res.status === 200 && body.errcode === 0) return;
      // 45009: "api freq out of limit" (wecom-bot-and-meeting-api.md error table); 5xx: try again later.
      const retryable = res.status >= 500 || body.errcode === 45009 || body.errcode === -1;
      // The key is a credential: never in a message or log line.
      throw new PostError(`wecom webhook: HTTP ${res.status} errcode ${String(body.errcode ?? '?')} ${String(body.errmsg ?? '').slice(0, 100)}`, retryable);
    },
  };
}

/** Feishu codes worth another try: 99991663 stale token (dropped first), 230020 send rate limit, 99991400 app rate limit. */
const FEISHU_RETRYABLE = new Set([99991663, 230020, 99991400]);

function feishuPoster(deps: PosterDeps, config: FeishuConfig, chatId: string): ReportPoster {
  const tokens = new Map<string, { value: string; expireAt: number }>();
  const cache: lark.Cache = {
    async get(k, o) {
      const e = tokens.get(`${o?.namespace ?? ''}/${k.toString()}`);
      // The SDK computes expiry from Date.now(), so it is compared with the same.
      return e && e.expireAt > Date.now() ? e.value : undefined;
    },
    async set(k, value, expireAt, o) {
      tokens.set(`${o?.namespace ?? ''}/${k.toString()}`, { value: String(value), expireAt: expireAt ?? Number.MAX_SAFE_INTEGER });
      return true;
    },
  };
  // The SDK's axios has no timeout; its HTTP goes through our httpJson (timeout, metrics, injected dispatcher).
  const http = async (opts: lark.HttpRequestOptions<unknown>): Promise<any> => {
    const method = (opts.method ?? 'GET').toUpperCase() as 'GET' | 'POST';
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.params ?? {})) if (v !== undefined && v !== null) params.append(k, String(v));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined && v !== null) headers[k] = String(v);
    const hasBody = opts.data !== undefined && method !== 'GET';
    if (hasBody) headers['content-type'] = 'application/json; charset=utf-8';
    const res = await httpJson({ metrics: deps.metrics, clock: deps.clock, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) }, {
      vendor: 'feishu', op: (opts.url ?? '').replace(/^https?:\/\/[^/]+\/open-apis\//, ''), method,
      url: `${opts.url ?? ''}${params.size ? `?${params}` : ''}`, headers, ...(hasBody ? { body: JSON.stringify(opts.data) } : {}),
    });
    const body = (res.json ?? {}) as { code?: unknown; msg?: unknown };
    if (res.status >= 400) {
      const code = typeof body.code === 'number' ? body.code : undefined;
      throw new PostError(`feishu: HTTP ${res.status} ${String(code ?? '')} ${String(body.msg ?? '').slice(0, 100)}`, res.status >= 500 || res.status === 429 || (code !== undefined && FEISHU_RETRYABLE.has(code)));
    }
    return opts.$return_headers ? { data: body, headers: res.headers } : body;
  };
  const verb = (m: string) => (url: string, opts?: lark.HttpRequestOptions<unknown>) => http({ ...opts, url, method: m });
  const withData = (m: string) => (url: string, data?: unknown, opts?: lark.HttpRequestOptions<unknown>) => http({ ...opts, url, method: m, data });
  const client = new lark.Client({
    appId: config.appId, appSecret: config.appSecret, domain: config.baseUrl, cache,
    logger: { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, trace: () => undefined },
    httpInstance: { request: http, get: verb('GET'), delete: verb('DELETE'), head: verb('HEAD'), options: verb('OPTIONS'), post: withData('POST'), put: withData('PUT'), patch: withData('PATCH') } as lark.HttpInstance,
  });
  return {
    kind: 'feishu',
    async post(content, dedupeKey) {
      if (typeof content === 'string') throw new PostError('feishu takes a card', false);
      // `uuid` (≤ 50 chars) makes Feishu send a retried message once (feishu-bot-and-vc-api.md §2.3 b).
      const uuid = createHash('sha256').update(dedupeKey).digest('hex').slice(0, 40);
      const res = (await client.im.v1.message.create({
        params: { receive_id_type: 'chat_id' },
        data: { receive_id: chatId, msg_type: 'interactive', content: JSON.stringify(content), uuid },
      })) as { code?: number; msg?: string };
      if (res.code !== undefined && res.code !== 0) {
        if (res.code === 99991663) tokens.clear();
        throw new PostError(`feishu: code ${res.code} ${String(res.msg ?? '').slice(0, 100)}`, FEISHU_RETRYABLE.has(res.code));
      }
    },
  };
}
