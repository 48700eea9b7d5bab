import type { FeishuConfig } from '../../config.js';
import { createConversation, type Conversation } from '../../core/conversation.js';
import { DEDUPE_TTL_MS, firstDelivery, isStale } from '../../core/inbound.js';
import { t } from '../../core/i18n.js';
import type { CoreDeps, RequestContext } from '../../core/quality.js';
import type { Surface } from '../../core/surface.js';
import { StoreUnavailableError } from '../../store/types.js';
import type { PendingAuthorisation } from './authorise.js';
import { renderFeishuMessage, renderFeishuView } from './card.js';
import { parseClick, parseMessage } from './events.js';
import type { Im } from './im.js';
import { createFeishuSurface, replyUuid } from './surface.js';
import type { Envelope } from './verify.js';

/**
 * Feishu's inbound half, the same for webhook and long connection (after bolt-js receivers): a
 * verified message is deduped, filtered and handed to the conversation; a click is answered with
 * what the conversation decides, within Feishu's 3 s. Everything else, from "querying…" to the
 * final card, is core/conversation.ts and the Feishu Surface (surface.ts).
 */

export interface ClickAnswer {
  /** The JSON 200 body: `{}`, `{toast}`, or `{toast?, card:{type:'raw', data}}`. */
  body: Record<string, unknown>;
  /** Work to start only after the answer has gone out (a patch before it may be reverted). */
  after?: () => void;
}

export interface Handlers {
  /** Registered for durable jobs (channels/index.ts): any replica shows a Feishu card through it. */
  readonly surface: Surface;
  onMessage(env: Envelope): Promise<void>;
  onClick(env: Envelope): Promise<ClickAnswer>;
  /** After a person authorised (OAuth callback): run the card's command again, on that card. */
  resume(pending: PendingAuthorisation): void;
}

export interface HandlerDeps {
  config: FeishuConfig;
  core: CoreDeps;
  im: Im;
  pageSize: number;
}

export function createHandlers(deps: HandlerDeps): Handlers {
  const { core, im } = deps;
  const { store, clock, log } = core;
  const lang = core.settings.lang;
  const conversation: Conversation = createConversation(core);
  const surface: Surface = createFeishuSurface({ core, im, pageSize: deps.pageSize });

  type Message = NonNullable<ReturnType<typeof parseMessage>>;

  /** In a group only an @mention of this bot is a command; without the bot's id, any mention is. */
  async function addressedToBot(msg: Message): Promise<boolean> {
    if (msg.chatType !== 'group') return true;
    const bot = await im.botOpenId();
    return msg.mentionedOpenIds.length > 0 && (!bot || msg.mentionedOpenIds.includes(bot));
  }

  async function answer(msg: Message): Promise<void> {
    if (!(await addressedToBot(msg))) return;
    const ctx: RequestContext = { channel: 'feishu', chatId: msg.chatId, userId: msg.userId };
    const { done } = await conversation.command(surface, ctx, msg.text, { id: msg.messageId });
    await done;
  }

  return {
    surface,
    resume(pending) {
      const ctx: RequestContext = { channel: 'feishu', chatId: pending.chatId, userId: pending.userId };
      void core.tasks.run('feishu authorised', () => conversation.resume(surface, pending.cardId, ctx));
    },

    async onMessage(env) {
      const msg = parseMessage(env);
      if (!msg) return;
      if (isStale(clock, msg.createdAt)) {
        log.info({ messageId: msg.messageId, ageMs: clock.now() - (msg.createdAt ?? 0) }, 'dropped a stale Feishu message');
        return;
      }
      // Feishu delivers at least once and re-sends unanswered events; the store makes every replica agree.
      let first: boolean;
      try {
        first = await firstDelivery(store, 'feishu', msg.messageId);
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        // Redis lost: say so at once. The reply's uuid (the same as a real answer's) lets Feishu
        // post it once even if a re-send reaches another replica.
        log.warn({ messageId: msg.messageId }, 'store unavailable: answered "temporarily unavailable"');
        void core.tasks.run('feishu unavailable', async () => {
          if (await addressedToBot(msg)) await im.reply(msg.messageId, renderFeishuMessage(lang, conversation.unavailable()), replyUuid(msg.messageId));
        });
        return;
      }
      const durable = core.jobs?.takes(surface) === true;
      const queuedKey = `queued:feishu:${msg.messageId}`;
      // Durable jobs: a re-send whose first delivery never got queued (its replica died between
      // the dedupe and the queue) is taken on, by one replica; the reply uuid keeps it one card.
      if (!first && !(durable && !(await store.get(queuedKey)) && (await store.setIfAbsent(`reclaim:feishu:${msg.messageId}`, '1', DEDUPE_TTL_MS)))) {
        log.debug({ messageId: msg.messageId }, 'dropped a duplicate Feishu message');
        return;
      }
      if (!first) log.info({ messageId: msg.messageId }, 'a re-sent command its first replica never queued: taken on here');
      if (durable) {
        // Durable jobs: the command is queued before Feishu gets its 200, so a replica dying after
        // the ack leaves it to another.
        if (!(await addressedToBot(msg))) return;
        const ctx: RequestContext = { channel: 'feishu', chatId: msg.chatId, userId: msg.userId };
        const { done } = await conversation.command(surface, ctx, msg.text, { id: msg.messageId });
        await store.set(queuedKey, '1', DEDUPE_TTL_MS);
        void core.tasks.run('feishu command', () => done);
        return;
      }
      void core.tasks.run('feishu command', () => answer(msg));
    },

    async onClick(env) {
      const click = parseClick(env);
      if (!click) return { body: { toast: { type: 'error', content: t(lang, 'err.internal') } } };
      const ctx: RequestContext = { channel: 'feishu', chatId: click.chatId, userId: click.userId };
      const a = await conversation.click(surface, ctx, click.value, click.messageId);
      const body: Record<string, unknown> = {};
      if (a.toast) body.toast = { type: a.toast.type, content: a.toast.text };
      if (a.view) body.card = { type: 'raw', data: renderFeishuView(a.view) };
      return a.after ? { body, after: a.after } : { body };
    },
  };
}
