import type { Dispatcher } from 'undici';
import type { FeishuConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { LarkHttpError, createLarkClient, larkCode } from '../../http/lark.js';

/**
 * The bot's side of Feishu IM through the official SDK (open.feishu.cn/document/server-docs/im-v1/message/{reply,create,patch},
 * open.feishu.cn/document/server-docs/bot-v3/bot-overview): reply with a card, patch that card, and the bot's own open_id. The client comes from
 * http/lark.ts, shared with the VC vendor: HTTP with a timeout, metrics and the injected dispatcher.
 */

export interface Im {
  /** Replies to `messageId` with a card; `uuid` makes a retried reply land once (Feishu dedupes a uuid for 1 h). Returns the new message id. */
  reply(messageId: string, card: object, uuid: string): Promise<string>;
  patch(messageId: string, card: object): Promise<void>;
  /** Sends a card into a chat (the meeting-end report); `uuid` makes a resend land once. Returns the new message id. */
  send(chatId: string, card: object, uuid: string): Promise<string>;
  /** The bot's open_id, to tell its @mention from others' (the receive event's mentions[].id.open_id); undefined if it cannot be read (asked again next time). */
  botOpenId(): Promise<string | undefined>;
  /** Aborted when the channel stops: card patch retries give up instead of holding the shutdown. */
  readonly stopping?: AbortSignal;
  close?(): void;
}

export class ImError extends Error {
  override readonly name = 'ImError';
  constructor(readonly status: number, readonly code: number | undefined, detail: string) {
    super(detail);
  }
}

/** 99991663: the SDK keeps a rejected token until it expires (larksuite/node-sdk issue #143); drop it and retry once. */
const TOKEN_INVALID = 99991663;

export interface ImDeps {
  config: FeishuConfig;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  dispatcher?: Dispatcher;
  /** Per call (http/outbound.ts DEFAULT_TIMEOUT_MS when unset); tests shorten it. */
  timeoutMs?: number;
}

export function createIm(deps: ImDeps): Im {
  const { client, tokens } = createLarkClient(deps.config, {
    metrics: deps.metrics, clock: deps.clock,
    ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
  }, deps.log);
  const stopping = new AbortController();

  async function call<T>(op: string, fn: () => Promise<{ code?: number; msg?: string; data?: T }>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fn();
        if (res.code !== undefined && res.code !== 0) throw new ImError(200, res.code, `code ${res.code} ${res.msg ?? ''}`);
        return res.data;
      } catch (caught) {
        const err = caught instanceof LarkHttpError ? new ImError(caught.status, larkCode(caught), caught.message) : caught;
        if (attempt === 1 && err instanceof ImError && err.code === TOKEN_INVALID) {
          tokens.clear();
          continue;
        }
        deps.log.warn({ op, err: err instanceof Error ? err.message : String(err) }, 'feishu IM call failed');
        throw err;
      }
    }
  }

  /** Only a real open_id is kept: a failure (HTTP error or a 200 with code ≠ 0) is asked again on the next message. */
  let botId: Promise<string | undefined> | undefined;
  const forgetBotId = (why: string) => {
    deps.log.warn({ err: why }, 'could not read the bot open_id; answering any @mention until it can be read');
    botId = undefined;
    return undefined;
  };
  return {
    stopping: stopping.signal,
    close() {
      stopping.abort(new Error('feishu channel stopping'));
    },
    async reply(messageId, card, uuid) {
      const data = await call<{ message_id?: string }>('reply', () => client.im.v1.message.reply({
        path: { message_id: messageId },
        data: { msg_type: 'interactive', content: JSON.stringify(card), uuid },
      }) as Promise<{ code?: number; msg?: string; data?: { message_id?: string } }>);
      if (!data?.message_id) throw new ImError(200, undefined, 'reply gave no message_id');
      return data.message_id;
    },
    async send(chatId, card, uuid) {
      const data = await call<{ message_id?: string }>('send', () => client.im.v1.message.create({
        params: { receive_id_type: 'chat_id' },
        data: { receive_id: chatId, msg_type: 'interactive', content: JSON.stringify(card), uuid },
      }) as Promise<{ code?: number; msg?: string; data?: { message_id?: string } }>);
      if (!data?.message_id) throw new ImError(200, undefined, 'send gave no message_id');
      return data.message_id;
    },
    async patch(messageId, card) {
      await call('patch', () => client.im.v1.message.patch({ path: { message_id: messageId }, data: { content: JSON.stringify(card) } }) as Promise<{ code?: number; msg?: string }>);
    },
    botOpenId() {
      // GET /open-apis/bot/v3/info answers {code, msg, bot:{open_id, …}} (open.feishu.cn/document/ukTMukTMukTM/uAjMxEjLwITMx4CMyETM, "code: 非 0 表示失败").
      botId ??= client.request<{ code?: number; msg?: string; bot?: { open_id?: string } }>({ method: 'GET', url: '/open-apis/bot/v3/info' })
        .then((res) => {
          const id = res.bot?.open_id;
          if ((res.code !== undefined && res.code !== 0) || typeof id !== 'string' || id === '') return forgetBotId(`code ${String(res.code)} ${res.msg ?? ''}`.trim());
          return id;
        })
        .catch((err: unknown) => forgetBotId(err instanceof Error ? err.message : String(err)));
      return botId;
    },
  };
}
