import { MeetcheckError, asMeetcheckError, type ErrorCode } from '../../core/errors.js';
import { t } from '../../core/i18n.js';
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
 * Tencent builds /quality some minutes after the end (how long is UNCONFIRMED,
 * tencent-meeting-api.md §3.5), so the first try waits, and later tries back off.
 */
export const REPORT_DELAYS_MS = [2, 3, 5, 10, 20, 30].map((m) => m * 60_000);
/** Several meeting.end events can fire for one meeting (§3.5): one report per meeting within this. */
export const DEDUPE_TTL_MS = 12 * 3600_000;
/** Sends of the finished report: a few quick tries for transient platform errors. */
const POST_ATTEMPTS = 3;
const POST_RETRY_MS = 5_000;
/** The whole report in one markdown message: the renderer keeps the rows that fit. */
const ALL_ROWS = 10_000;

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'vendor_unavailable', 'vendor_timeout', 'busy', 'store_unavailable', 'meeting_not_ended', 'meeting_not_found']);

export interface EndedMeeting {
  meetingId: string;
  code?: string;
  subMeetingId?: string;
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

export function dedupeKey(m: EndedMeeting): string {
  return `tencent:meeting-end:${m.meetingId}:${m.subMeetingId ?? ''}`;
}

/**
 * True once some attendee carries health (or the report says it never will: no add-on). The
 * meeting-level rating alone does not count: it can come before the per-person rows.
 */
export function hasData(report: MeetingReport, lang: CoreDeps['settings']['lang']): boolean {
  if (report.attendees.length === 0) return false;
  return report.attendees.some((a) => a.health !== 0) || report.notes.includes(t(lang, 'note.noHealthAddon'));
}

export async function reportWhenReady(deps: ReportDeps, ctx: RequestContext, meeting: EndedMeeting): Promise<void> {
  const { core } = deps;
  const cmd: QualityCommand = { kind: 'quality', meeting: { vendor: 'tencent', id: meeting.meetingId }, problemsOnly: false };
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
      await send(deps, errorContent(deps, e), meeting);
      return;
    }
    if (hasData(stored.report, stored.lang) || last) {
      await send(deps, reportContent(deps, stored), meeting);
      log.info({ attempt: i + 1, attendees: stored.report.attendees.length }, 'meeting report posted');
      return;
    }
    log.info({ attempt: i + 1 }, 'meeting report has no quality data yet; will retry');
  }
}

function reportContent(deps: ReportDeps, stored: StoredReport): object | string {
  return deps.poster.kind === 'feishu'
    ? renderFeishuCard(viewPage(stored, 0, 'all', deps.pageSize))
    : renderWecomMarkdown(viewPage(stored, 0, 'all', ALL_ROWS));
}

function errorContent(deps: ReportDeps, e: MeetcheckError): object | string {
  const lang = deps.core.settings.lang;
  const msg = describeError(lang, e, [...deps.core.vendors.keys()]);
  return deps.poster.kind === 'feishu' ? renderFeishuMessage(lang, msg) : renderWecomMarkdownMessage(msg);
}

async function send(deps: ReportDeps, content: object | string, meeting: EndedMeeting): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.poster.post(content, dedupeKey(meeting));
      return;
    } catch (err) {
      const retry = attempt < POST_ATTEMPTS && (err instanceof PostError ? err.retryable : err instanceof MeetcheckError && err.code !== 'vendor_auth');
      if (!retry) throw err;
      await deps.core.clock.sleep(POST_RETRY_MS * attempt, deps.signal);
    }
  }
}
