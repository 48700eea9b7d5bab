import type { FeishuConfig } from '../../config.js';
import { loadStoredFor, openPage } from '../../core/actions.js';
import type { MeetingRef } from '../../core/command.js';
import { parseCommand } from '../../core/command.js';
import { MeetcheckError, asMeetcheckError } from '../../core/errors.js';
import { StoreUnavailableError } from '../../store/types.js';
import { t } from '../../core/i18n.js';
import { describeError, describeParseError } from '../../core/messages.js';
import { viewPage, type Filter } from '../../core/paging.js';
import { commandText, rerunReport, runQuality, type CoreDeps, type RequestContext, type RunOptions, type RunResult } from '../../core/quality.js';
import { REPORT_TTL_MS, saveReport, type ChatRef, type StoredReport } from '../../core/report.js';
import type { QualityCommandText } from '../../core/vendor.js';
import { authorisationCard, type PendingAuthorisation } from './authorise.js';
import { renderFeishuCard, renderFeishuMessage, renderFeishuProgress } from './card.js';
import { parseClick, parseMessage } from './events.js';
import type { Im } from './im.js';
import { createPatcher, type Patcher } from './patcher.js';
import type { Envelope } from './verify.js';

/**
 * What the Feishu channel does with a verified callback, the same for webhook and long
 * connection. Messages: dedupe, ack at once, then reply "querying…" and patch in the report.
 * Clicks: answered from the report store within Feishu's 3 s (feishu-bot-and-vc-api.md §4.3).
 */

/** Dedupe keys outlive Feishu's ~7.1 h of re-sends (§2.3); the SDK's own channel keeps 12 h. */
export const DEDUPE_TTL_MS = 12 * 3600_000;
/** Messages older than this are replays (the SDK's channel/safety stale-detector: 30 min, anchors §3.3). */
export const STALE_MS = 30 * 60_000;
/**
 * A JSON 2.0 card can be clicked and updated for 14 days ("2.0 结构：卡片可交互和可更新时间统一为 14 天",
 * open.feishu.cn/document/feishu-cards/card-json-v2-breaking-changes-release-notes; the patch API
 * refuses older messages with 230031); its command is kept that long so an expired report can be re-run.
 */
export const COMMAND_TTL_MS = 14 * 24 * 3600_000;

export interface ClickAnswer {
  /** The JSON 200 body: `{}`, `{toast}`, or `{toast?, card:{type:'raw', data}}`. */
  body: Record<string, unknown>;
  /** Work to start only after the answer has gone out (a patch before it may be reverted, §4.3). */
  after?: () => void;
}

export interface Handlers {
  onMessage(env: Envelope): Promise<void>;
  onClick(env: Envelope): Promise<ClickAnswer>;
  /** After a person authorised (OAuth callback): run the command again and patch its card. */
  resume(pending: PendingAuthorisation): void;
}

/** What a failed run needs to offer authorisation: who asked, where, and the command to run again. */
interface Resumable {
  ctx: RequestContext;
  command: QualityCommandText;
}

export interface HandlerDeps {
  config: FeishuConfig;
  core: CoreDeps;
  im: Im;
  pageSize: number;
}

interface SavedCommand {
  command: QualityCommandText;
  chat: ChatRef;
}

interface SavedView {
  reportId: string;
  page: number;
  filter: Filter;
}

const meetingLabel = (m: MeetingRef) => `${m.vendor ? `${m.vendor}:` : ''}${m.code ?? m.id ?? ''}`;

export function createHandlers(deps: HandlerDeps): Handlers {
  const { core, im, pageSize } = deps;
  const { store, clock, log } = core;
  const lang = core.settings.lang;
  const commandKey = (reportId: string) => `feishu:cmd:${reportId}`;
  const viewKey = (messageId: string) => `feishu:view:${messageId}`;

  async function saveView(messageId: string, view: SavedView): Promise<void> {
    await store.set(viewKey(messageId), JSON.stringify(view), REPORT_TTL_MS);
  }

  /** The page and filter the person is looking at, so a background update does not yank them to page 1. */
  async function currentView(messageId: string, stored: StoredReport, fallback: Filter): Promise<{ page: number; filter: Filter }> {
    const raw = await store.get(viewKey(messageId));
    const v = raw ? (JSON.parse(raw) as SavedView) : undefined;
    return v && v.reportId === stored.id ? { page: v.page, filter: v.filter } : { page: 0, filter: fallback };
  }

  /** Runs a query and shows it in `messageId`: progress, then the report, then background updates. */
  async function runAndShow(run: (opts: RunOptions) => Promise<RunResult>, messageId: string, patcher: Patcher, filter: Filter, note?: string, resumable?: Resumable): Promise<void> {
    const opts: RunOptions = {
      pageSize,
      onProgress: (p) => patcher.push(renderFeishuProgress(lang, p.total ? t(lang, 'progress.total', { loaded: p.loaded, total: p.total }) : t(lang, 'progress', { loaded: p.loaded }))),
      onUpdate: async (stored) => {
        const v = await currentView(messageId, stored, filter);
        patcher.push(renderFeishuCard(viewPage(stored, v.page, v.filter, pageSize)));
      },
    };
    try {
      const { stored, background } = await run(opts);
      if (note) {
        stored.report.notes.push(note);
        await saveReport(store, stored);
      }
      await store.set(commandKey(stored.id), JSON.stringify({ command: stored.command, chat: stored.chat } satisfies SavedCommand), COMMAND_TTL_MS);
      await saveView(messageId, { reportId: stored.id, page: 0, filter });
      patcher.push(renderFeishuCard(viewPage(stored, 0, filter, pageSize)));
      await background;
    } catch (err) {
      const e = asMeetcheckError(err);
      // A vendor that needs a person's authorisation: the card offers it (authorise.ts).
      const offer = resumable
        ? await authorisationCard(core, e, { chatId: resumable.ctx.chatId, userId: resumable.ctx.userId, messageId, command: resumable.command, filter })
          .catch((cardErr: unknown) => {
            log.warn({ err: cardErr instanceof Error ? cardErr.message : String(cardErr) }, 'could not offer authorisation');
            return undefined;
          })
        : undefined;
      patcher.push(offer ?? renderFeishuMessage(lang, describeError(lang, e, [...core.vendors.keys()])));
    }
    await patcher.flush();
  }

  type Message = NonNullable<ReturnType<typeof parseMessage>>;

  /** In a group only an @mention of this bot is a command (§3.1); without the bot's id, any mention is. */
  async function addressedToBot(msg: Message): Promise<boolean> {
    if (msg.chatType !== 'group') return true;
    const bot = await im.botOpenId();
    return msg.mentionedOpenIds.length > 0 && (!bot || msg.mentionedOpenIds.includes(bot));
  }

  /** One reply per command message even if two replicas both get past the dedupe (§2.3 b). */
  const replyUuid = (messageId: string) => `q:${messageId}`.slice(0, 50);

  async function answer(msg: Message): Promise<void> {
    if (!(await addressedToBot(msg))) return;
    const uuid = replyUuid(msg.messageId);
    const parsed = parseCommand(msg.text);
    if (!parsed.ok) {
      await im.reply(msg.messageId, renderFeishuMessage(lang, describeParseError(lang, parsed.error)), uuid);
      return;
    }
    if (parsed.command.kind === 'help') {
      await im.reply(msg.messageId, renderFeishuMessage(lang, { title: t(lang, 'help.title'), text: t(lang, 'help.body') }), uuid);
      return;
    }
    const cmd = parsed.command;
    const ctx: RequestContext = { channel: 'feishu', chatId: msg.chatId, userId: msg.userId };
    const botMessage = await im.reply(msg.messageId, renderFeishuProgress(lang, t(lang, 'querying', { meeting: meetingLabel(cmd.meeting) })), uuid);
    const patcher = createPatcher(im, botMessage, clock, log);
    let resumable: Resumable | undefined;
    try {
      resumable = { ctx, command: commandText(core, cmd, ctx).text };
    } catch {
      // No such vendor: runQuality says so on the card; there is nothing to authorise.
    }
    await runAndShow((opts) => runQuality(core, ctx, cmd, opts), botMessage, patcher, cmd.problemsOnly ? 'problems' : 'all', undefined, resumable);
  }

  function rerun(click: { chatId: string; userId: string; messageId: string }, command: QualityCommandText, filter: Filter, note?: string): ClickAnswer {
    const ctx: RequestContext = { channel: 'feishu', chatId: click.chatId, userId: click.userId };
    const text = note ?? t(lang, 'querying', { meeting: meetingLabel(command.meeting) });
    return {
      body: { toast: { type: 'info', content: text }, card: { type: 'raw', data: renderFeishuProgress(lang, text) } },
      after: () => {
        const patcher = createPatcher(im, click.messageId, clock, log);
        void core.tasks.run('feishu rerun', () => runAndShow((opts) => rerunReport(core, ctx, command, opts), click.messageId, patcher, filter, note, { ctx, command }));
      },
    };
  }

  const toast = (type: 'info' | 'error', content: string): ClickAnswer => ({ body: { toast: { type, content } } });

  return {
    resume(pending) {
      const ctx: RequestContext = { channel: 'feishu', chatId: pending.chatId, userId: pending.userId };
      const patcher = createPatcher(im, pending.messageId, clock, log);
      patcher.push(renderFeishuProgress(lang, t(lang, 'auth.progress', { meeting: meetingLabel(pending.command.meeting) })));
      void core.tasks.run('feishu authorised', () => runAndShow((opts) => rerunReport(core, ctx, pending.command, opts), pending.messageId, patcher, pending.filter, undefined, { ctx, command: pending.command }));
    },

    async onMessage(env) {
      const msg = parseMessage(env);
      if (!msg) return;
      if (msg.createdAt !== undefined && clock.now() - msg.createdAt > STALE_MS) {
        log.info({ messageId: msg.messageId, ageMs: clock.now() - msg.createdAt }, 'dropped a stale Feishu message');
        return;
      }
      // Feishu delivers at least once and re-sends after 3 s (§2.3); the store makes every replica agree.
      let first: boolean;
      try {
        first = await store.setIfAbsent(`dedupe:feishu:${msg.messageId}`, '1', DEDUPE_TTL_MS);
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        // Redis lost: tell the person at once (issue 6). The reply's uuid (the same as a real
        // answer's) lets Feishu post it once even if a re-send reaches another replica.
        log.warn({ messageId: msg.messageId }, 'store unavailable: answered "temporarily unavailable"');
        void core.tasks.run('feishu unavailable', async () => {
          if (await addressedToBot(msg)) await im.reply(msg.messageId, renderFeishuMessage(lang, describeError(lang, new MeetcheckError('store_unavailable'))), replyUuid(msg.messageId));
        });
        return;
      }
      if (!first) {
        log.debug({ messageId: msg.messageId }, 'dropped a duplicate Feishu message');
        return;
      }
      void core.tasks.run('feishu command', () => answer(msg));
    },

    async onClick(env) {
      try {
        const click = parseClick(env);
        if (!click) return toast('error', t(lang, 'err.internal'));
        const action = click.action;
        if (!action) return toast('error', t(lang, 'err.report_expired'));
        const chat: ChatRef = { channel: 'feishu', chatId: click.chatId };
        try {
          if (action.op === 'page') {
            const view = await openPage(store, chat, action, pageSize);
            if (click.messageId) await saveView(click.messageId, { reportId: view.stored.id, page: view.page, filter: view.filter });
            return { body: { card: { type: 'raw', data: renderFeishuCard(view) } } };
          }
          const stored = await loadStoredFor(store, chat, action.reportId);
          if (!click.messageId) return toast('error', t(lang, 'err.internal'));
          return rerun({ ...click, messageId: click.messageId }, stored.command, action.filter);
        } catch (err) {
          const e = asMeetcheckError(err);
          if (e.code === 'report_expired' && click.messageId) {
            const raw = await store.get(commandKey(action.reportId));
            const saved = raw ? (JSON.parse(raw) as SavedCommand) : undefined;
            if (saved && saved.chat.channel === 'feishu' && saved.chat.chatId === click.chatId) {
              return rerun({ ...click, messageId: click.messageId }, saved.command, action.filter, t(lang, 'note.expiredRerun'));
            }
            if (saved) return toast('error', t(lang, 'err.foreign_chat'));
          }
          return toast('error', describeError(lang, e).text);
        }
      } catch (err) {
        log.error({ err }, 'card click failed');
        return toast('error', t(lang, 'err.internal'));
      }
    },
  };
}
