import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { FeishuConfig, ReportChat } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { httpJson } from '../../http/outbound.js';
import { ImError, createIm } from '../feishu/im.js';

/**
 * Where a meeting-end report goes (TENCENT_MEETING_REPORT_CHAT): a Feishu group, as a card, through
 * the IM API (open.feishu.cn/document/server-docs/im-v1/message/create: POST /open-apis/im/v1/messages?receive_id_type=chat_id,
 * msg_type interactive); or a WeCom group robot webhook, as markdown (the 智能机器人 cannot speak
 * first in URL mode: it answers callbacks, or once per response_url, developer.work.weixin.qq.com/document/path/101138).
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
        kind: 'platform', target: 'wecom', op: 'webhook_send', method: 'POST',
        url: `${deps.wecomBaseUrl}/cgi-bin/webhook/send?key=${encodeURIComponent(key)}`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ msgtype: 'markdown', markdown: { content } }),
      });
      const body = (res.json ?? {}) as { errcode?: unknown; errmsg?: unknown };
      if (res.status === 200 && body.errcode === 0) return;
      // 45009: "api freq out of limit" (developer.work.weixin.qq.com/document/path/90313 全局错误码); 5xx: try again later.
      const retryable = res.status >= 500 || body.errcode === 45009 || body.errcode === -1;
      // The key is a credential: never in a message or log line.
      throw new PostError(`wecom webhook: HTTP ${res.status} errcode ${String(body.errcode ?? '?')} ${String(body.errmsg ?? '').slice(0, 100)}`, retryable);
    },
  };
}

/** Feishu codes worth another try: 99991663 stale token (im.ts has dropped it), 230020 send rate limit, 99991400 app rate limit. */
const RETRYABLE_FEISHU = new Set([99991663, 230020, 99991400]);

function feishuPoster(deps: PosterDeps, config: FeishuConfig, chatId: string): ReportPoster {
  const im = createIm({ config, clock: deps.clock, log: deps.log, metrics: deps.metrics, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) });
  return {
    kind: 'feishu',
    async post(content, dedupeKey) {
      if (typeof content === 'string') throw new PostError('feishu takes a card', false);
      // `uuid` (≤ 50 chars) makes Feishu send a retried message once (open.feishu.cn/document/server-docs/im-v1/message/create).
      const uuid = createHash('sha256').update(dedupeKey).digest('hex').slice(0, 40);
      try {
        await im.send(chatId, content, uuid);
      } catch (err) {
        if (!(err instanceof ImError)) throw err;
        const retryable = err.status >= 500 || err.status === 429 || (err.code !== undefined && RETRYABLE_FEISHU.has(err.code));
        throw new PostError(`feishu: ${err.message.slice(0, 120)}`, retryable);
      }
    },
  };
}
