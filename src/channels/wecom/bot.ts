import { randomBytes } from 'node:crypto';
import { StoreUnavailableError } from '../../store/types.js';
import { decodeAction, openPage, type CardAction } from '../../core/actions.js';
import { parseCommand, type Command } from '../../core/command.js';
import { MeetcheckError, asMeetcheckError, type ErrorCode } from '../../core/errors.js';
import { t, type Lang } from '../../core/i18n.js';
import { describeError, describeParseError, type ErrorMessage } from '../../core/messages.js';
import type { Filter, PageView } from '../../core/paging.js';
import { viewPage } from '../../core/paging.js';
import { runQuality, type CoreDeps, type QualityCommand, type RequestContext } from '../../core/quality.js';
import { REPORT_TTL_MS, loadReport, type StoredReport } from '../../core/report.js';
import { HELP_KEY, RETRY_KEY, SHOW_KEY, clipBytes, helpLabel, escapeMarkdown, renderWecomCard, renderWecomMessage, type WecomButton } from './card.js';
import type { Inbound } from './inbound.js';

/**
 * What the 智能机器人 is told, whatever the transport (URL callback or long connection): a command
 * gets a "querying…" stream at once and the card on a later stream refresh; a click gets the new
 * card from the report store. All state lives in core.store, so replicas behind a load balancer
 * answer the same stream refresh or click the same way.
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
}

/** "用户跟同一个智能机器人…" stream refreshes come for up to 6 min (§1.1); keep state a bit longer. */
const STREAM_TTL_MS = 10 * 60_000;
/** Duplicate callbacks arrive within seconds; ~10 min covers them with room (§5 "Duplicate callbacks"). */
const MSGID_TTL_MS = 10 * 60_000;
/** A /quality run stops paging and shows what it has after this long (issue 4). */
export const QUERY_DEADLINE_MS = 60_000;
/** A card click must be answered within 5 s, one attempt (101027); a refresh waits at most this long. */
export const REFRESH_WAIT_MS = 3_000;
/** Stream `content` is at most 20480 bytes (101031). */
const STREAM_CONTENT_BYTES = 20_480;

interface StreamState {
  chatId: string;
  status: 'running' | 'done';
  content: string;
  card?: Record<string, unknown>;
}

/** task_id → what the card shows and how to run it again. */
interface TaskState {
  chatId: string;
  lang: Lang;
  command?: QualityCommand;
  reportId?: string;
  filter: Filter;
  /** A refresh is running. */
  pending?: boolean;
  /** The last run failed with this. */
  error?: { code: ErrorCode; detail?: string; retryAfterMs?: number; vendor?: string };
}

const streamKey = (id: string) => `wecom:stream:${id}`;
const msgKey = (id: string) => `wecom:msg:${id}`;
const taskKey = (id: string) => `wecom:task:${id}`;

export function newStreamId(): string {
  return randomBytes(12).toString('base64url');
}

/** task_id: unique per bot, `[0-9A-Za-z_\-@]`, ≤128 bytes (§3 "Limits"); base64url fits the alphabet. */
export function newTaskId(): string {
  return `mc_${randomBytes(12).toString('base64url')}`;
}

export function createBot(deps: BotDeps): Bot {
  const { core, pageSize } = deps;
  const lang = core.settings.lang;
  const vendorNames = () => [...core.vendors.keys()];

  async function saveStream(id: string, s: StreamState): Promise<void> {
    await core.store.set(streamKey(id), JSON.stringify(s), STREAM_TTL_MS);
  }
  async function loadStream(id: string): Promise<StreamState | undefined> {
    const raw = await core.store.get(streamKey(id));
    return raw === undefined ? undefined : (JSON.parse(raw) as StreamState);
  }
  async function saveTask(id: string, s: TaskState): Promise<void> {
    await core.store.set(taskKey(id), JSON.stringify(s), REPORT_TTL_MS);
  }
  async function loadTask(id: string): Promise<TaskState | undefined> {
    if (!/^[0-9A-Za-z_\-@]{1,128}$/.test(id)) return undefined;
    const raw = await core.store.get(taskKey(id));
    return raw === undefined ? undefined : (JSON.parse(raw) as TaskState);
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

  async function publish(target: StreamTarget, s: StreamState): Promise<void> {
    await saveStream(target.streamId, s);
    if (deps.onStreamChange) await deps.onStreamChange(target, streamReply(target.streamId, s));
  }

  function helpButton(): WecomButton {
    return { text: helpLabel(lang), key: HELP_KEY, style: 2 };
  }

  function messageMarkdown(msg: ErrorMessage | { title: string; text: string }): string {
    const detail = 'detail' in msg && msg.detail ? `\n\n${escapeMarkdown(msg.detail)}` : '';
    return `**${escapeMarkdown(msg.title)}**\n\n${escapeMarkdown(msg.text)}${detail}`;
  }

  function reportMarkdown(view: PageView): string {
    const { report } = view.stored;
    const m = report.meeting;
    const title = m.subject ? t(lang, 'title', { subject: m.subject }) : t(lang, 'title.untitled', { code: m.code ?? m.meetingId });
    const lines = [`**${escapeMarkdown(title)}** · ${t(lang, `health.${report.health}`)}`];
    for (const note of report.notes) lines.push(escapeMarkdown(note));
    lines.push(t(lang, 'summary', { total: view.total, alert: view.counts.alert, nodata: view.counts.noData }));
    if (view.topProblems.length) lines.push(escapeMarkdown(t(lang, 'summary.top', { problems: view.topProblems.map((p) => `${p.text} ×${p.count}`).join(', ') })));
    return lines.join('\n\n');
  }

  function meetingLabel(cmd: QualityCommand): string {
    const m = cmd.meeting;
    return `${m.vendor ? `${m.vendor}:` : ''}${m.code ?? m.id ?? ''}`;
  }

  /** A finished stream for help or a malformed command: the whole text in markdown, a short card. */
  async function finishedMessage(chatId: string, msg: ErrorMessage | { title: string; text: string }): Promise<StreamState> {
    const taskId = newTaskId();
    await saveTask(taskId, { chatId, lang, filter: 'all' });
    return { chatId, status: 'done', content: messageMarkdown(msg), card: renderWecomMessage(lang, msg, taskId, [helpButton()]) };
  }

  function helpMessage() {
    return { title: t(lang, 'help.title'), text: t(lang, 'help.body') };
  }

  function errorCard(taskId: string, task: TaskState, err: MeetcheckError): { card: Record<string, unknown>; msg: ErrorMessage } {
    const msg = describeError(lang, err, vendorNames());
    // Retrying helps with everything but a refusal; "not_allowed" would only be refused again.
    const buttons = task.command && err.code !== 'not_allowed' ? [{ text: t(lang, 'btn.refresh'), key: RETRY_KEY, style: 1 as const }, helpButton()] : [helpButton()];
    return { card: renderWecomMessage(lang, msg, taskId, buttons), msg };
  }

  function expiredCard(taskId: string, command?: QualityCommand): Record<string, unknown> {
    const msg = describeError(lang, new MeetcheckError('report_expired'));
    if (command) msg.text += `\n/quality ${meetingLabel(command)}${command.problemsOnly ? ' --problems' : ''}`;
    return renderWecomMessage(lang, msg, taskId, [helpButton()]);
  }

  /** Runs the command to the end (a WeCom message carries its card only once), bounded by the deadline. */
  async function runToEnd(ctx: RequestContext, cmd: QualityCommand, fresh: boolean, onProgress?: (text: string) => void): Promise<StoredReport> {
    const deadline = core.clock.now() + QUERY_DEADLINE_MS;
    const { stored, background } = await runQuality(core, ctx, cmd, {
      pageSize,
      deadline,
      fresh,
      onProgress: (p) => onProgress?.(p.total ? t(lang, 'progress.total', { loaded: p.loaded, total: p.total }) : t(lang, 'progress', { loaded: p.loaded })),
      onUpdate: (s) => onProgress?.(t(lang, 'summary.loading', { loaded: s.report.attendees.filter((a) => a.loaded).length, total: s.report.attendees.length })),
    });
    // Lazy vendors (a feishu: meeting asked in WeCom) load the rest in the background; wait for it,
    // up to the same deadline, then show whatever the store holds.
    const ac = new AbortController();
    await Promise.race([background, core.clock.sleep(Math.max(0, deadline - core.clock.now()), ac.signal).catch(() => undefined)]);
    ac.abort();
    return (await loadReport(core.store, stored.id)) ?? stored;
  }

  async function runCommand(target: StreamTarget, ctx: RequestContext, cmd: QualityCommand): Promise<void> {
    const querying = t(lang, 'querying', { meeting: meetingLabel(cmd) });
    let chain = Promise.resolve();
    let finished = false;
    const progress = (text: string) => {
      chain = chain.then(async () => {
        if (!finished) await publish(target, { chatId: ctx.chatId, status: 'running', content: `${escapeMarkdown(querying)}\n\n${escapeMarkdown(text)}` });
      }).catch((err: unknown) => core.log.warn({ err }, 'wecom stream progress not saved'));
    };
    const taskId = newTaskId();
    const filter: Filter = cmd.problemsOnly ? 'problems' : 'all';
    let state: StreamState;
    try {
      const stored = await runToEnd(ctx, cmd, false, progress);
      await saveTask(taskId, { chatId: ctx.chatId, lang, command: cmd, reportId: stored.id, filter });
      const view = viewPage(stored, 0, filter, pageSize);
      state = { chatId: ctx.chatId, status: 'done', content: reportMarkdown(view), card: renderWecomCard(view, taskId) };
    } catch (err) {
      const e = asMeetcheckError(err);
      const task: TaskState = { chatId: ctx.chatId, lang, command: cmd, filter, error: errorInfo(e) };
      await saveTask(taskId, task);
      const { card, msg } = errorCard(taskId, task, e);
      state = { chatId: ctx.chatId, status: 'done', content: messageMarkdown(msg), card };
    }
    await chain;
    finished = true;
    await publish(target, state);
  }

  async function onText(msg: Extract<Inbound, { kind: 'text' }>): Promise<Record<string, unknown>> {
    const chatId = msg.chatid ?? msg.userid;
    const ctx: RequestContext = { channel: 'wecom', chatId, userId: msg.userid };
    const streamId = newStreamId();
    const parsed = parseCommand(commandText(msg.text));
    let state: StreamState;
    let cmd: QualityCommand | undefined;
    if (!parsed.ok) state = await finishedMessage(chatId, describeParseError(lang, parsed.error));
    else if (parsed.command.kind === 'help') state = await finishedMessage(chatId, helpMessage());
    else {
      cmd = parsed.command as Extract<Command, { kind: 'quality' }>;
      state = { chatId, status: 'running', content: escapeMarkdown(t(lang, 'querying', { meeting: meetingLabel(cmd) })) };
    }
    await saveStream(streamId, state);
    // msgid dedupe (100719: "开发者需据此进行事件排重"): a repeat gets the same stream back.
    if (!(await core.store.setIfAbsent(msgKey(msg.msgid), streamId, MSGID_TTL_MS))) {
      await core.store.delete(streamKey(streamId));
      const existing = (await core.store.get(msgKey(msg.msgid))) ?? streamId;
      core.log.info({ msgid: msg.msgid }, 'wecom duplicate message; same stream returned');
      const s = await loadStream(existing);
      return streamReply(existing, s ?? { chatId, status: 'running', content: state.content });
    }
    if (cmd) {
      const target = { streamId, msgid: msg.msgid };
      const command = cmd;
      void core.tasks.run('wecom quality', () => runCommand(target, ctx, command));
    }
    return streamReply(streamId, state);
  }

  async function onStream(msg: Extract<Inbound, { kind: 'stream' }>): Promise<Record<string, unknown>> {
    const s = await loadStream(msg.streamId);
    const chatId = msg.chatid ?? msg.userid;
    return streamReply(msg.streamId, s && s.chatId === chatId ? s : undefined);
  }

  async function onCard(ev: Extract<Inbound, { kind: 'card' }>): Promise<Record<string, unknown>> {
    const update = (card: Record<string, unknown>) => ({ response_type: 'update_template_card', template_card: card });
    const chatId = ev.chatid ?? ev.userid;
    const task = await loadTask(ev.taskId);
    if (!task) return update(expiredCard(ev.taskId));
    if (task.chatId !== chatId) {
      return update(renderWecomMessage(lang, describeError(lang, new MeetcheckError('foreign_chat')), ev.taskId, [helpButton()]));
    }
    if (ev.eventKey === HELP_KEY) return update(renderWecomMessage(lang, helpMessage(), ev.taskId, [helpButton()]));
    const ctx: RequestContext = { channel: 'wecom', chatId, userId: ev.userid };
    if (task.pending) return update(refreshingCard(ev.taskId, task));
    const action: Omit<CardAction, 'reportId'> | undefined =
      ev.eventKey === RETRY_KEY ? { op: 'refresh', page: 0, filter: task.filter } :
      ev.eventKey === SHOW_KEY ? { op: 'page', page: 0, filter: task.filter } :
      decodeAction(ev.eventKey);
    if (!action) core.log.info({ key: ev.eventKey.slice(0, 80) }, 'wecom card event with an unknown key; showing the first page');
    if (action?.op === 'refresh') return update(await refresh(ev.taskId, task, ctx, action.filter));
    if (ev.eventKey === SHOW_KEY && task.error) return update(errorCard(ev.taskId, task, taskError(task.error)).card);
    return update(await showPage(ev.taskId, task, action?.page ?? 0, action?.filter ?? task.filter));
  }

  /** From the store alone: the task's current report (a refresh may have replaced the one in the key). */
  async function showPage(taskId: string, task: TaskState, page: number, filter: Filter): Promise<Record<string, unknown>> {
    if (!task.reportId) {
      if (task.error) return errorCard(taskId, task, taskError(task.error)).card;
      return renderWecomMessage(lang, helpMessage(), taskId, [helpButton()]);
    }
    try {
      const view = await openPage(core.store, { channel: 'wecom', chatId: task.chatId }, { reportId: task.reportId, page, filter, op: 'page' }, pageSize);
      if (task.filter !== filter) await saveTask(taskId, { ...task, filter });
      return renderWecomCard(view, taskId);
    } catch (err) {
      const e = asMeetcheckError(err);
      if (e.code === 'report_expired') return expiredCard(taskId, task.command);
      return renderWecomMessage(lang, describeError(lang, e, vendorNames()), taskId, [helpButton()]);
    }
  }

  function refreshingCard(taskId: string, task: TaskState): Record<string, unknown> {
    const label = task.command ? meetingLabel(task.command) : '';
    return renderWecomMessage(lang, { title: t(lang, 'btn.refresh'), text: t(lang, 'querying', { meeting: label }) }, taskId, [
      { text: t(lang, 'btn.refresh'), key: SHOW_KEY, style: 1 },
    ]);
  }

  /**
   * Re-runs the query in the background and waits briefly: a quick answer replaces the card now;
   * a slow one leaves a "querying" card whose button shows the result once it is in.
   */
  async function refresh(taskId: string, task: TaskState, ctx: RequestContext, filter: Filter): Promise<Record<string, unknown>> {
    if (!task.command) return renderWecomMessage(lang, helpMessage(), taskId, [helpButton()]);
    const command = task.command;
    await saveTask(taskId, { ...task, filter, pending: true });
    const done = core.tasks.run('wecom refresh', async () => {
      const next: TaskState = { ...task, filter, pending: false };
      try {
        const stored = await runToEnd(ctx, command, true);
        next.reportId = stored.id;
        delete next.error;
      } catch (err) {
        next.error = errorInfo(asMeetcheckError(err));
      }
      await saveTask(taskId, next);
    });
    const ac = new AbortController();
    const finished = await Promise.race([done.then(() => true), core.clock.sleep(REFRESH_WAIT_MS, ac.signal).then(() => false, () => false)]);
    ac.abort();
    if (!finished) return refreshingCard(taskId, task);
    const now = await loadTask(taskId);
    if (!now) return expiredCard(taskId, command);
    if (now.error) return errorCard(taskId, now, taskError(now.error)).card;
    return showPage(taskId, now, 0, filter);
  }

  /**
   * The store is down (Redis lost): say so in the reply itself, which needs no stored state, so
   * the person hears "temporarily unavailable" instead of silence (issue 6). Nothing is queued.
   */
  function unavailable(msg: Inbound): Record<string, unknown> | undefined {
    const m = describeError(lang, new MeetcheckError('store_unavailable'));
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
            core.log.debug({ reason: msg.reason }, 'wecom callback ignored');
            return undefined;
        }
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        core.log.warn({ kind: msg.kind }, 'store unavailable: answered "temporarily unavailable"');
        return unavailable(msg);
      }
    },
  };
}

function taskError(e: NonNullable<TaskState['error']>): MeetcheckError {
  return new MeetcheckError(e.code, e.detail, { ...(e.retryAfterMs ? { retryAfterMs: e.retryAfterMs } : {}), ...(e.vendor ? { vendor: e.vendor } : {}) });
}

function errorInfo(e: MeetcheckError): NonNullable<TaskState['error']> {
  return { code: e.code, ...(e.detail ? { detail: e.detail } : {}), ...(e.options.retryAfterMs ? { retryAfterMs: e.options.retryAfterMs } : {}), ...(e.options.vendor ? { vendor: e.options.vendor } : {}) };
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
