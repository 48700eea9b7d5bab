import { newCardId, saveCard, type CardRecord } from '../../core/card.js';
import { MeetcheckError, asMeetcheckError, type ErrorCode } from '../../core/errors.js';
import { describeError } from '../../core/messages.js';
import type { MeetingReport } from '../../core/model.js';
import { viewPage } from '../../core/paging.js';
import { runQuality, type CoreDeps, type QualityCommand, type RequestContext } from '../../core/quality.js';
import { loadReport, type StoredReport } from '../../core/report.js';
import { renderFeishuCard, renderFeishuMessage } from '../feishu/card.js';
import { renderWecomMarkdown, renderWecomMarkdownMessage } from './markdown.js';
import { PostError, type ReportPoster } from './post.js';

/**
 * On meeting.end, post the meeting's report into the configured chat once its data exists.
 * Tencent builds /quality some minutes after the end (how long is UNCONFIRMED; DOC 80575 only says
 * "已结束会议"), so the first try waits, and later tries back off.
 */
export const REPORT_DELAYS_MS = [2, 3, 5, 10, 20, 30].map((m) => m * 60_000);
/**
 * "若满足多种情况会发送多条事件" (DOC 51619): one room can bring several meeting.end events, and one
 * meeting several rooms (ended, re-opened, ended again). Events are deduplicated on what each one
 * says (meeting, occurrence, operate_time), reports on the media room they turn out to show.
 */
export const DEDUPE_TTL_MS = 12 * 3600_000;
/** Sends of the finished report: a few quick tries for transient platform errors. */
const POST_ATTEMPTS = 3;
const POST_RETRY_MS = 5_000;
/** The whole report in one markdown message: the renderer keeps the rows that fit. */
const ALL_ROWS = 10_000;

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'vendor_unavailable', 'vendor_timeout', 'busy', 'store_unavailable', 'meeting_not_ended', 'meeting_not_found']);

/** One meeting.end payload item, as the event gave it (times in unix seconds). */
export interface EndedMeeting {
  meetingId: string;
  code?: string;
  subMeetingId?: string;
  startTime?: number;
  endTime?: number;
  /** The event's operate_time: when the room closed. */
  endedAt?: number;
  traceId?: string;
}

export interface ReportDeps {
  core: CoreDeps;
  poster: ReportPoster;
  /** Feishu card page size. */
  pageSize: number;
  /** Aborted when the channel stops, so a shutdown does not wait out the back-off. */
  signal: AbortSignal;
}

/** Where the report is stored: the Feishu chat itself (so the card's buttons work there), else a named webhook. */
export function reportContext(poster: ReportPoster, feishuChatId?: string): RequestContext {
  return poster.kind === 'feishu' && feishuChatId
    ? { channel: 'feishu', chatId: feishuChatId, userId: 'tencent-webhook', trusted: true }
    // Never the robot key: it is a credential, and chat ids are stored and logged.
    : { channel: 'webhook', chatId: 'wecom-webhook', userId: 'tencent-webhook', trusted: true };
}

/** The event: a second delivery of it, or a sibling event fired at the same moment, is one job. */
export function dedupeKey(m: EndedMeeting): string {
  const when = m.endedAt !== undefined ? `at${m.endedAt}` : m.traceId ? `trace:${m.traceId}` : `${m.startTime ?? ''}-${m.endTime ?? ''}`;
  return `tencent:meeting-end:${m.meetingId}:${m.subMeetingId ?? ''}:${when}`;
}

/** The media room a report shows: posted once, however many events led to it. */
export function roomKey(m: EndedMeeting, report: MeetingReport): string {
  return `tencent:meeting-end:room:${m.meetingId}:${report.meeting.subMeetingId ?? m.subMeetingId ?? ''}:${report.meeting.startTime ?? ''}`;
}

/**
 * True once some attendee carries health (or the report says it never will: no add-on). The
 * meeting-level rating alone does not count: it can come before the per-person rows.
 */
export function hasData(report: MeetingReport, _lang: CoreDeps['settings']['lang']): boolean {
  if (report.attendees.length === 0) return false;
  return report.attendees.some((a) => a.health !== 0) || report.notes.some((n) => typeof n === 'object' && n.key === 'note.noHealthAddon');
}

export async function reportWhenReady(deps: ReportDeps, ctx: RequestContext, meeting: EndedMeeting): Promise<void> {
  const { core } = deps;
  // The event's own meeting_info goes with the command, so the report does not depend on looking
  // the meeting up by id (which no longer returns a one-time meeting that was ended, DOC 42418).
  const cmd: QualityCommand = {
    kind: 'quality', meeting: { vendor: 'tencent', id: meeting.meetingId, ...(meeting.code ? { code: meeting.code } : {}) }, problemsOnly: false,
    hint: {
      ...(meeting.subMeetingId ? { subMeetingId: meeting.subMeetingId } : {}),
      ...(meeting.startTime !== undefined ? { startTime: meeting.startTime } : {}),
      ...(meeting.endTime !== undefined ? { endTime: meeting.endTime } : {}),
      ...(meeting.endedAt !== undefined ? { endedAt: meeting.endedAt } : {}),
    },
  };
  const log = core.log.child({ channel: 'tencent-webhook', meetingId: meeting.meetingId });
  for (let i = 0; i < REPORT_DELAYS_MS.length; i++) {
    const last = i === REPORT_DELAYS_MS.length - 1;
    await core.clock.sleep(REPORT_DELAYS_MS[i]!, deps.signal);
    let stored: StoredReport;
    try {
      const run = await runQuality(core, ctx, cmd, { pageSize: deps.pageSize, fresh: true, signal: deps.signal });
      await run.background;
      stored = (await loadReport(core.store, run.stored.id)) ?? run.stored;
    } catch (err) {
      if (deps.signal.aborted) throw err;
      const e = asMeetcheckError(err);
      if (RETRYABLE.has(e.code) && !last) {
        log.info({ code: e.code, attempt: i + 1 }, 'meeting report not ready; will retry');
        continue;
      }
      log.warn({ code: e.code, detail: e.detail }, 'meeting report failed; posting the error');
      await send(deps, errorContent(deps, e), dedupeKey(meeting));
      return;
    }
    if (hasData(stored.report, stored.lang) || last) {
      const room = roomKey(meeting, stored.report);
      if (!(await core.store.setIfAbsent(room, '1', DEDUPE_TTL_MS))) {
        log.info({ startTime: stored.report.meeting.startTime }, 'meeting report for this room already posted');
        return;
      }
      try {
        await send(deps, await reportContent(deps, stored), room);
      } catch (err) {
        await core.store.delete(room).catch(() => undefined);
        throw err;
      }
      log.info({ attempt: i + 1, attendees: stored.report.attendees.length, startTime: stored.report.meeting.startTime }, 'meeting report posted');
      return;
    }
    log.info({ attempt: i + 1 }, 'meeting report has no quality data yet; will retry');
  }
}

/**
 * The report as the chat shows it. A Feishu card gets a card record of its own (core/card.ts), so
 * its buttons page, filter and refresh in that chat like any command's card.
 */
async function reportContent(deps: ReportDeps, stored: StoredReport): Promise<object | string> {
  if (deps.poster.kind !== 'feishu') return renderWecomMarkdown(viewPage(stored, 0, 'all', ALL_ROWS));
  const { core } = deps;
  const card: CardRecord = {
    id: newCardId(), chat: stored.chat, userId: 'tencent-webhook', lang: stored.lang, createdAt: core.clock.now(),
    command: stored.command, state: { kind: 'report' }, page: 0, filter: 'all', reportId: stored.id,
  };
  await saveCard(core.store, card);
  return renderFeishuCard(viewPage(stored, 0, 'all', deps.pageSize), card.id);
}

function errorContent(deps: ReportDeps, e: MeetcheckError): object | string {
  const lang = deps.core.settings.lang;
  const msg = describeError(lang, e, [...deps.core.vendors.keys()]);
  return deps.poster.kind === 'feishu' ? renderFeishuMessage(lang, msg) : renderWecomMarkdownMessage(msg);
}

async function send(deps: ReportDeps, content: object | string, key: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.poster.post(content, key);
      return;
    } catch (err) {
      const retry = attempt < POST_ATTEMPTS && (err instanceof PostError ? err.retryable : err instanceof MeetcheckError && err.code !== 'vendor_auth');
      if (!retry) throw err;
      await deps.core.clock.sleep(POST_RETRY_MS * attempt, deps.signal);
    }
  }
}
