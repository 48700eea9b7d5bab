import { randomBytes } from 'node:crypto';
import { createConversation, type Conversation } from '../../core/conversation.js';
import { noteText, t } from '../../core/i18n.js';
import type { ErrorMessage } from '../../core/messages.js';
import type { PageView } from '../../core/paging.js';
import type { CoreDeps, RequestContext } from '../../core/quality.js';
import type { CardView, Surface } from '../../core/surface.js';
import { StoreUnavailableError } from '../../store/types.js';
import { clipBytes, escapeMarkdown, renderWecomMessage, renderWecomView } from './card.js';
import type { Inbound } from './inbound.js';

/**
 * What the 智能机器人 is told, whatever the transport (URL callback or long connection). Its
 * inbound half dedupes by msgid and hands commands and clicks to the conversation (core); its
 * Surface turns each card into a stream: "querying…" and progress as stream content, and the
 * finished card once, on the finishing reply. All state lives in the store, so replicas behind a
 * load balancer answer the same stream refresh or click the same way.
 */

export interface BotDeps {
  core: CoreDeps;
  pageSize: number;
  /** Long-connection mode has no stream refreshes: it pushes each new stream state itself. */
  onStreamChange?: (target: StreamTarget, reply: Record<string, unknown>) => void | Promise<void>;
}

/** Which inbound message a stream answers (the long connection replies by the message's req_id). */
export interface StreamTarget {
  streamId: string;
  msgid: string;
}

export interface Bot {
  /** The plaintext reply (JSON object) to send back, or undefined for an empty reply. */
  handle(msg: Inbound): Promise<Record<string, unknown> | undefined>;
  /** Registered for durable jobs (channels/index.ts): any replica shows a WeCom card through it. */
  readonly surface: Surface;
}

/** Stream refreshes come for up to 6 min (developer.work.weixin.qq.com/document/path/101031); keep state a bit longer. */
const STREAM_TTL_MS = 10 * 60_000;
/** Duplicate callbacks arrive within seconds (doc 100719); ~10 min covers them with room. */
const MSGID_TTL_MS = 10 * 60_000;
/** A /quality run shows what it has after this long, well inside the stream's 6 minutes. */
export const QUERY_DEADLINE_MS = 60_000;
/** A card click must be answered within 5 s, one attempt (doc 101027); a refresh waits at most this long. */
export const REFRESH_WAIT_MS = 3_000;
/** Stream `content` is at most 20480 bytes (doc 101031). */
const STREAM_CONTENT_BYTES = 20_480;

interface StreamState {
  chatId: string;
  status: 'running' | 'done';
  content: string;
  card?: Record<string, unknown>;
}

const streamKey = (id: string) => `wecom:stream:${id}`;
const msgKey = (id: string) => `wecom:msg:${id}`;

export function newStreamId(): string {
  return randomBytes(12).toString('base64url');
}

function messageMarkdown(msg: ErrorMessage | { title: string; text: string }): string {
  const detail = 'detail' in msg && msg.detail ? `\n\n${escapeMarkdown(msg.detail)}` : '';
  return `**${escapeMarkdown(msg.title)}**\n\n${escapeMarkdown(msg.text)}${detail}`;
}

function reportMarkdown(view: PageView): string {
  const { report, lang } = view.stored;
  const m = report.meeting;
  const title = m.subject ? t(lang, 'title', { subject: m.subject }) : t(lang, 'title.untitled', { code: m.code ?? m.meetingId });
  const lines = [`**${escapeMarkdown(title)}** · ${t(lang, `health.${report.health}`)}`];
  for (const note of report.notes) lines.push(escapeMarkdown(noteText(lang, note)));
  lines.push(t(lang, 'summary', { total: view.total, alert: view.counts.alert, nodata: view.counts.noData }));
  if (view.topProblems.length) lines.push(escapeMarkdown(t(lang, 'summary.top', { problems: view.topProblems.map((p) => `${p.text} ×${p.count}`).join(', ') })));
  return lines.join('\n\n');
}

/** The stream content (markdown) for a view. */
function markdownOf(view: CardView): string {
  switch (view.kind) {
    case 'querying':
      return view.text ? `${escapeMarkdown(view.title)}\n\n${escapeMarkdown(view.text)}` : escapeMarkdown(view.title);
    case 'report':
      return reportMarkdown(view.page);
    case 'message':
      return messageMarkdown(view.message);
  }
}

export function createBot(deps: BotDeps): Bot {
  const { core, pageSize } = deps;
  const { store, log } = core;
  const lang = core.settings.lang;
  const conversation: Conversation = createConversation(core);

  async function saveStream(id: string, s: StreamState): Promise<void> {
    await store.set(streamKey(id), JSON.stringify(s), STREAM_TTL_MS);
  }
  async function loadStream(id: string): Promise<StreamState | undefined> {
    const raw = await store.get(streamKey(id));
    return raw === undefined ? undefined : (JSON.parse(raw) as StreamState);
  }

  function streamReply(id: string, s: StreamState | undefined): Record<string, unknown> {
    if (!s) {
      // Unknown or expired stream: finish it, or WeCom keeps asking for 6 minutes.
      return { msgtype: 'stream', stream: { id, finish: true, content: escapeMarkdown(t(lang, 'err.report_expired')) } };
    }
    const stream = { id, finish: s.status === 'done', content: clipBytes(s.content, STREAM_CONTENT_BYTES) };
    // The card goes with the finishing reply. WeCom stops refreshing once it has it, so a repeated
    // refresh for a finished stream means our earlier answer was lost: send the card again.
    return s.status === 'done' && s.card ? { msgtype: 'stream_with_template_card', stream, template_card: s.card } : { msgtype: 'stream', stream };
  }

  /**
   * A command's card is its stream: progress as content, the finished card once, with the
   * finishing reply ("同一个消息只能回复一次", doc 101031). A card re-run from a click (its stream long
   * finished) changes only the card record; the click's answer and later clicks show it.
   */
  const surface: Surface = {
    platform: 'wecom',
    pageSize,
    updates: 'final',
    deadlineMs: QUERY_DEADLINE_MS,
    clickWaitMs: REFRESH_WAIT_MS,
    async show(view, final) {
      const streamId = view.card.handle;
      if (!streamId) return;
      const before = await loadStream(streamId);
      if (before?.status === 'done') return;
      const next: StreamState = { chatId: view.card.chat.chatId, status: final ? 'done' : 'running', content: markdownOf(view) };
      if (final) next.card = renderWecomView(view);
      await saveStream(streamId, next);
      // The first state is the callback's own reply (handle() returns it); later ones are pushed on
      // the long connection, or wait for the next stream refresh in URL mode.
      if (before && deps.onStreamChange && view.card.origin) {
        await deps.onStreamChange({ streamId, msgid: view.card.origin }, streamReply(streamId, next));
      }
    },
  };

  async function onText(msg: Extract<Inbound, { kind: 'text' }>): Promise<Record<string, unknown>> {
    const chatId = msg.chatid ?? msg.userid;
    const ctx: RequestContext = { channel: 'wecom', chatId, userId: msg.userid };
    const streamId = newStreamId();
    // msgid dedupe (100719: "开发者需据此进行事件排重"): a repeat gets the same stream back.
    if (!(await store.setIfAbsent(msgKey(msg.msgid), streamId, MSGID_TTL_MS))) {
      const existing = (await store.get(msgKey(msg.msgid))) ?? streamId;
      log.info({ msgid: msg.msgid }, 'wecom duplicate message; same stream returned');
      const s = await loadStream(existing);
      return streamReply(existing, s ?? { chatId, status: 'running', content: escapeMarkdown(t(lang, 'loading')) });
    }
    await conversation.command(surface, ctx, commandText(msg.text), { id: msg.msgid, handle: streamId });
    return streamReply(streamId, await loadStream(streamId));
  }

  async function onStream(msg: Extract<Inbound, { kind: 'stream' }>): Promise<Record<string, unknown>> {
    const s = await loadStream(msg.streamId);
    const chatId = msg.chatid ?? msg.userid;
    return streamReply(msg.streamId, s && s.chatId === chatId ? s : undefined);
  }

  async function onCard(ev: Extract<Inbound, { kind: 'card' }>): Promise<Record<string, unknown>> {
    const update = (card: Record<string, unknown>) => ({ response_type: 'update_template_card', template_card: card });
    const chatId = ev.chatid ?? ev.userid;
    const ctx: RequestContext = { channel: 'wecom', chatId, userId: ev.userid };
    const a = await conversation.click(surface, ctx, ev.eventKey);
    a.after?.();
    if (a.view) return update(renderWecomView(a.view));
    // A refusal (another chat, an expired or unknown card): say it on the card, whose task_id
    // must be echoed as it came (doc 101027).
    const text = a.toast?.text ?? t(lang, 'err.internal');
    return update(renderWecomMessage(lang, { title: t(lang, 'err.title'), text }, ev.taskId));
  }

  /**
   * The store is down (Redis lost): say so in the reply itself, which needs no stored state, so
   * the person hears "temporarily unavailable" instead of silence. Nothing is queued.
   */
  function unavailable(msg: Inbound): Record<string, unknown> | undefined {
    const m = conversation.unavailable();
    switch (msg.kind) {
      case 'text':
        return { msgtype: 'stream', stream: { id: newStreamId(), finish: true, content: messageMarkdown(m) } };
      case 'stream':
        return { msgtype: 'stream', stream: { id: msg.streamId, finish: true, content: messageMarkdown(m) } };
      case 'card':
        return { response_type: 'update_template_card', template_card: renderWecomMessage(lang, m, msg.taskId) };
      default:
        return undefined;
    }
  }

  return {
    surface,
    async handle(msg) {
      try {
        switch (msg.kind) {
          case 'text':
            return await onText(msg);
          case 'stream':
            return await onStream(msg);
          case 'card':
            return await onCard(msg);
          default:
            log.debug({ reason: msg.reason }, 'wecom callback ignored');
            return undefined;
        }
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        log.warn({ kind: msg.kind }, 'store unavailable: answered "temporarily unavailable"');
        return unavailable(msg);
      }
    },
  };
}

/**
 * Group text starts with "@BotName" (100719), and a bot's name may contain spaces, which the
 * grammar's mention stripping cannot know: start at the first command word when there is one.
 */
export function commandText(text: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith('@')) return trimmed;
  const i = trimmed.search(/(?:^|\s)[\/／]\S/);
  return i > 0 ? trimmed.slice(i).trim() : trimmed;
}
