import type { Dispatcher } from 'undici';
import type { FeishuConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { LarkHttpError, createLarkClient, larkCode } from '../../http/lark.js';

/**
 * The bot's side of Feishu IM through the official SDK (feishu-bot-and-vc-api.md §1.3, §3.2,
 * §4.4): reply with a card, patch that card, and the bot's own open_id. The client comes from
 * http/lark.ts, shared with the VC vendor: HTTP with a timeout, metrics and the injected dispatcher.
 */

export interface Im {
  /** Replies to `messageId` with a card; `uuid` makes a retried reply land once (§2.3 b). Returns the new message id. */
  reply(messageId: string, card: object, uuid: string): Promise<string>;
  patch(messageId: string, card: object): Promise<void>;
  /** Sends a card into a chat (the meeting-end report); `uuid` makes a resend land once. */
  send(chatId: string, card: object, uuid: string): Promise<void>;
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
  const { client, tokens } = createLarkClient(deps.config, { metrics: deps.metrics, clock: deps.clock, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) }, deps.log);

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
    async send(chatId, card, uuid) {
      await call('send', () => client.im.v1.message.create({
        params: { receive_id_type: 'chat_id' },
        data: { receive_id: chatId, msg_type: 'interactive', content: JSON.stringify(card), uuid },
      }) as Promise<{ code?: number; msg?: string }>);
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
