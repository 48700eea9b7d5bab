import { setMaxListeners } from 'node:events';
import { atWindow, type AtTime } from '../../core/command.js';
import { MeetcheckError, asMeetcheckError } from '../../core/errors.js';
import { formatTime, t, type Lang } from '../../core/i18n.js';
import { ASPECTS, type Attendee, type Level, type MeetingReport, type Ratings } from '../../core/model.js';
import { overallHealth } from '../../core/report.js';
import type { FetchOptions, VendorClient, VendorQuery } from '../../core/vendor.js';
import { QOS_RATE, createTencentApi, type CallOptions, type TencentApi, type TencentApiDeps } from './api.js';
import { MEETING_ENDED_CODE, tencentCodeOf } from './errors.js';
import { joinQos, joinQuality } from './join.js';
import {
  parseMeetingList, parseParticipantsPage, parseQosPage, parseQualityPage,
  type MeetingWire, type ParticipantRow, type QosRow, type QualityPage, type QualityRow,
} from './wire.js';

/** /quality pages hold at most 50 participants (tencent-meeting-api.md §3.1). */
const QUALITY_PAGE_SIZE = 50;
/** /participants pages hold at most 100 (tencent-meeting-participants.md, `size`). */
const PARTICIPANTS_PAGE_SIZE = 100;
/** /qos pages hold 20–100 (§3.2). */
const QOS_PAGE_SIZE = 100;
/**
 * Pages after the first are fetched this many at a time. Each still takes a token from the shared
 * 300/min budget, so parallelism changes latency, not the call count: 5,000 attendees is 100 pages
 * of /quality, two waves.
 */
export const PAGE_PARALLEL = 50;
/** /participants allows 50,000 rows in all (has_remaining doc): 500 pages of 100. */
const MAX_PARTICIPANT_PAGES = 500;
/** /quality covers meetings of the last 7 days; its start_time must lie within them (§3.1). */
const QUALITY_WINDOW_S = 7 * 86_400;
/**
 * /quality answers the first media room starting at or after start_time (§3.1), and people join a
 * little early: ask from half an hour before the scheduled start (our inference, UNCONFIRMED).
 */
const EARLY_JOIN_SLACK_S = 1800;
/** `instanceid` for the code lookup: 1 = PC, as the official CLI sends (§2.2). */
const LOOKUP_INSTANCE_ID = 1;

export type TencentVendorDeps = TencentApiDeps;

export function createTencentVendor(deps: TencentVendorDeps): VendorClient {
  const api = createTencentApi(deps);
  const { config, clock, log } = deps;
  return {
    name: 'tencent',
    async fetchReport(query: VendorQuery, opts: FetchOptions): Promise<MeetingReport> {
      const started = clock.now();
      const call: CallOptions = { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}) };
      const target = await resolveMeeting(api, config.operatorId, query, Math.floor(clock.now() / 1000), call);
      log.info({ vendor: 'tencent', live: target.live, recurring: Boolean(target.subMeetingId), candidates: target.candidates }, 'tencent meeting resolved');
      const ctx: Ctx = { api, operatorId: config.operatorId, query, opts, call, started, nowMs: () => clock.now(), lang: query.lang };
      if (target.live) {
        try {
          return await liveReport(ctx, target);
        } catch (err) {
          // It ended between the lookup and /qos: the ended-meeting path has (or will have) the data.
          if (tencentCodeOf(err) !== MEETING_ENDED_CODE) throw err;
        }
      }
      return endedReport(ctx, target);
    },
  };
}

interface Ctx {
  api: TencentApi;
  operatorId: string;
  query: VendorQuery;
  opts: FetchOptions;
  call: CallOptions;
  started: number;
  nowMs: () => number;
  lang: Lang;
}

interface Target {
  meeting: MeetingWire;
  subMeetingId?: string;
  startTime?: number;
  endTime?: number;
  live: boolean;
  /** Meetings/occurrences the reference could have meant (for the "use --at" note). */
  candidates: number;
}

async function resolveMeeting(api: TencentApi, operatorId: string, query: VendorQuery, nowS: number, call: CallOptions): Promise<Target> {
  const ref = query.meeting;
  let json: Record<string, unknown>;
  if (ref.code) {
    json = await api.get('meeting_by_code', '/v1/meetings', { meeting_code: ref.code, userid: operatorId, instanceid: LOOKUP_INSTANCE_ID }, call);
  } else if (ref.id && /^\d{1,32}$/.test(ref.id)) {
    json = await api.get('meeting_by_id', `/v1/meetings/${ref.id}`, { userid: operatorId, instanceid: LOOKUP_INSTANCE_ID }, call);
  } else {
    // Tencent meeting ids are digits only; anything else cannot be one (and never reaches a URL path).
    throw new MeetcheckError('meeting_not_found', `tencent:${ref.code ?? ref.id ?? ''}`, { vendor: 'tencent' });
  }
  const list = parseMeetingList(json);
  if (list.length === 0) throw new MeetcheckError('meeting_not_found', `tencent:${ref.code ?? ref.id}`, { vendor: 'tencent' });
  return pickOccurrence(list, query.at, nowS);
}

interface Candidate {
  meeting: MeetingWire;
  subMeetingId?: string;
  start?: number;
  end?: number;
}

/**
 * A code can name several meetings over time (PMI) and a recurring meeting many occurrences, each
 * with its own sub_meeting_id (§2.2): `--at` picks by time; otherwise the one in progress, else the
 * latest that has started.
 */
export function pickOccurrence(list: readonly MeetingWire[], at: AtTime | undefined, nowS: number): Target {
  const all: Candidate[] = [];
  for (const m of list) {
    if (m.status === 'MEETING_STATE_CANCELLED') continue;
    if (m.occurrences.length > 0) {
      for (const o of m.occurrences) all.push(cand(m, o.subMeetingId, o.startTime, o.endTime));
    } else if (m.currentSubMeetingId) {
      all.push(cand(m, m.currentSubMeetingId, m.startTime, m.endTime));
    } else {
      all.push(cand(m, undefined, m.startTime, m.endTime));
    }
  }
  if (all.length === 0) throw new MeetcheckError('meeting_not_found', 'cancelled', { vendor: 'tencent' });
  let pool: Candidate[];
  if (at) {
    const w = atWindow(at);
    pool = all.filter((c) => c.start !== undefined && c.start <= w.to && (c.end ?? c.start) >= w.from);
    if (pool.length === 0) throw new MeetcheckError('meeting_not_found', `--at ${at.date}${at.time ? ` ${at.time}` : ''}`, { vendor: 'tencent' });
  } else {
    pool = all.filter((c) => c.start === undefined || c.start <= nowS);
    if (pool.length === 0) throw new MeetcheckError('meeting_not_ended', 'not started yet', { vendor: 'tencent' });
  }
  const isLive = (c: Candidate) => c.meeting.status === 'MEETING_STATE_STARTED' && (!c.subMeetingId || c.subMeetingId === c.meeting.currentSubMeetingId);
  const chosen = pool.find(isLive) ?? [...pool].sort((a, b) => (b.start ?? 0) - (a.start ?? 0))[0]!;
  const live = isLive(chosen);
  // A one-time meeting that was never started (INIT) has no data yet.
  if (!live && !chosen.subMeetingId && (chosen.meeting.status === 'MEETING_STATE_INIT' || chosen.meeting.status === 'MEETING_STATE_INVALID')) {
    throw new MeetcheckError('meeting_not_ended', 'not started yet', { vendor: 'tencent' });
  }
  const target: Target = { meeting: chosen.meeting, live, candidates: pool.length };
  if (chosen.subMeetingId) target.subMeetingId = chosen.subMeetingId;
  if (chosen.start !== undefined) target.startTime = chosen.start;
  if (chosen.end !== undefined) target.endTime = chosen.end;
  return target;
}

function cand(meeting: MeetingWire, subMeetingId: string | undefined, start: number | undefined, end: number | undefined): Candidate {
  const c: Candidate = { meeting };
  if (subMeetingId) c.subMeetingId = subMeetingId;
  if (start !== undefined) c.start = start;
  if (end !== undefined) c.end = end;
  return c;
}

// ---- ended meetings: /quality + /participants -------------------------------------------------

async function endedReport(ctx: Ctx, target: Target): Promise<MeetingReport> {
  const nowS = Math.floor(ctx.nowMs() / 1000);
  const oldest = nowS - QUALITY_WINDOW_S;
  if (target.startTime !== undefined && target.startTime < oldest) throw new MeetcheckError('meeting_too_old', undefined, { vendor: 'tencent' });
  const partial: string[] = [];
  const [quality, participants] = await sideBySide(
    ctx.call,
    (call) => allQualityPages(ctx, target, Math.max((target.startTime ?? oldest) - EARLY_JOIN_SLACK_S, oldest + 60), call, partial)
      .catch((err: unknown): undefined => {
        const e = asMeetcheckError(err);
        // No add-on, or an operator who may not read health: list the participants anyway (§3.4).
        if (e.code === 'no_permission' || e.code === 'quality_addon_missing') return undefined;
        throw err;
      }),
    (call) => allParticipants(ctx, target, call, partial),
  );
  const rows: QualityRow[] | undefined = quality?.flatMap((p) => p.rows);
  const attendees = joinQuality(rows, participants);
  const first = quality?.[0];
  const notes: string[] = [];
  if (!quality) notes.push(t(ctx.lang, 'note.noHealthAddon'));
  if (first && (first.meeting.problems.length > 0 || attendees.some((a) => a.problems.length > 0))) notes.push(t(ctx.lang, 'note.vendorProblems'));
  return finish(ctx, target, attendees, first ? first.meeting : undefined, notes, partial);
}

async function allQualityPages(ctx: Ctx, target: Target, startTime: number, call: CallOptions, partial: string[]): Promise<QualityPage[]> {
  const page = async (n: number) =>
    parseQualityPage(await ctx.api.get('meeting_quality', `/v1/meetings/${target.meeting.meetingId}/quality`, {
      operator_id: ctx.operatorId, operator_id_type: 1, page: n, page_size: QUALITY_PAGE_SIZE, start_time: startTime,
      sub_meeting_id: target.subMeetingId,
    }, call));
  const first = await page(1);
  const total = first.totalCount;
  let loaded = first.rows.length;
  ctx.opts.onProgress?.({ loaded, ...(total !== undefined ? { total } : {}) });
  const rest = await restOfPages(ctx, first.totalPage, page, partial, (p) => {
    loaded += p.rows.length;
    ctx.opts.onProgress?.({ loaded, ...(total !== undefined ? { total } : {}) });
  }, () => loaded);
  return [first, ...rest];
}

/**
 * Pages 2…n at PAGE_PARALLEL at a time. A page that cannot be had before the deadline (or after
 * its retries) ends loading with what we have and a note, rather than losing the whole report.
 */
async function restOfPages<P>(
  ctx: Ctx, totalPage: number, fetch: (n: number) => Promise<P>, partial: string[], onPage: (p: P) => void, loaded: () => number,
): Promise<P[]> {
  const numbers = Array.from({ length: Math.max(0, totalPage - 1) }, (_, i) => i + 2);
  const results: (P | undefined)[] = new Array(numbers.length);
  let next = 0;
  let stopped: MeetcheckError | 'deadline' | undefined;
  const worker = async () => {
    while (next < numbers.length && !stopped) {
      const i = next++;
      if (ctx.opts.deadline !== undefined && ctx.nowMs() >= ctx.opts.deadline) {
        stopped = 'deadline';
        return;
      }
      try {
        const p = await fetch(numbers[i]!);
        results[i] = p;
        onPage(p);
      } catch (err) {
        const e = asMeetcheckError(err);
        if (!['rate_limited', 'vendor_timeout', 'vendor_unavailable'].includes(e.code)) throw err;
        stopped ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PAGE_PARALLEL, numbers.length) }, worker));
  if (stopped) partial.push(partialReason(ctx, stopped, loaded()));
  return results.filter((p): p is Awaited<P> => p !== undefined);
}

/** /participants pages with the next_pos cursor (not an offset, so one after another). */
async function allParticipants(ctx: Ctx, target: Target, call: CallOptions, partial: string[]): Promise<ParticipantRow[]> {
  const rows: ParticipantRow[] = [];
  let pos: number | undefined = 0;
  const seen = new Set<number>();
  for (let n = 0; n < MAX_PARTICIPANT_PAGES && pos !== undefined; n++) {
    if (n > 0 && ctx.opts.deadline !== undefined && ctx.nowMs() >= ctx.opts.deadline) {
      partial.push(partialReason(ctx, 'deadline', rows.length));
      break;
    }
    const page = parseParticipantsPage(await ctx.api.get('meeting_participants', `/v1/meetings/${target.meeting.meetingId}/participants`, {
      userid: ctx.operatorId, sub_meeting_id: target.subMeetingId, pos, size: PARTICIPANTS_PAGE_SIZE,
    }, call));
    rows.push(...page.rows);
    // A cursor that does not move would loop for ever: stop on a repeat.
    if (!page.hasRemaining || page.nextPos === undefined || seen.has(page.nextPos)) break;
    seen.add(page.nextPos);
    pos = page.nextPos;
  }
  return rows;
}

// ---- meetings in progress: /qos + /participants ----------------------------------------------

async function liveReport(ctx: Ctx, target: Target): Promise<MeetingReport> {
  const partial: string[] = [];
  const allQos = async (call: CallOptions): Promise<QosRow[]> => {
    const qosCall: CallOptions = { ...call, budget: { key: `rate:tencent:qos:${target.meeting.meetingId}`, rate: QOS_RATE } };
    const page = async (n: number) =>
      parseQosPage(await ctx.api.get('meeting_qos', `/v1/meetings/${target.meeting.meetingId}/qos`, {
        operator_id: ctx.operatorId, operator_id_type: 1, page: n, page_size: QOS_PAGE_SIZE,
      }, qosCall));
    const first = await page(1);
    let loaded = first.rows.length;
    const total = first.totalCount;
    ctx.opts.onProgress?.({ loaded, ...(total !== undefined ? { total } : {}) });
    const rest = await restOfPages(ctx, first.totalPage, page, partial, (p) => {
      loaded += p.rows.length;
      ctx.opts.onProgress?.({ loaded, ...(total !== undefined ? { total } : {}) });
    }, () => loaded);
    return [first, ...rest].flatMap((p) => p.rows);
  };
  const [qos, participants] = await sideBySide(ctx.call, allQos, (call) => allParticipants(ctx, target, call, partial));
  const attendees = joinQos(qos, participants, ctx.lang);
  return finish(ctx, target, attendees, undefined, [], partial, false);
}

// ---- shared ---------------------------------------------------------------------------------

function finish(
  ctx: Ctx, target: Target, attendees: Attendee[], meetingLevel: { health: 0 | 1 | 2; ratings: Ratings; problems: string[] } | undefined,
  notes: string[], partial: string[], ended = true,
): MeetingReport {
  const m = target.meeting;
  const report: MeetingReport = {
    meeting: { vendor: 'tencent', meetingId: m.meetingId, ended },
    health: meetingLevel && meetingLevel.health !== 0 ? meetingLevel.health : overallHealth(attendees),
    ratings: meetingLevel ? { ...meetingLevel.ratings } : worstRatings(attendees),
    problems: meetingLevel ? [...meetingLevel.problems] : [],
    attendees,
    complete: partial.length === 0,
    notes: [...notes, ...partial.map((reason) => t(ctx.lang, 'summary.partial', { reason }))],
    source: { meetingId: m.meetingId, ...(target.subMeetingId ? { subMeetingId: target.subMeetingId } : {}) },
  };
  const code = m.code ?? ctx.query.meeting.code;
  if (code) report.meeting.code = code;
  if (target.subMeetingId) report.meeting.subMeetingId = target.subMeetingId;
  if (m.subject) report.meeting.subject = m.subject;
  if (target.startTime !== undefined) report.meeting.startTime = target.startTime;
  if (target.endTime !== undefined) report.meeting.endTime = target.endTime;
  if (target.candidates > 1 && !ctx.query.at) {
    report.notes.unshift(t(ctx.lang, 'note.multipleMeetings', { count: target.candidates, start: target.startTime !== undefined ? formatTime(target.startTime) : '?' }));
  }
  return report;
}

function worstRatings(attendees: readonly Attendee[]): Ratings {
  const r: Ratings = { audio: 0, video: 0, screen: 0, network: 0 };
  for (const a of attendees) for (const k of ASPECTS) r[k] = Math.max(r[k], a.ratings[k]) as Level;
  return r;
}

function partialReason(ctx: Ctx, why: MeetcheckError | 'deadline', loaded: number): string {
  if (why === 'deadline') {
    return t(ctx.lang, 'note.partial.deadline', { seconds: Math.round(((ctx.opts.deadline ?? ctx.nowMs()) - ctx.started) / 1000), loaded });
  }
  return t(ctx.lang, `err.${why.code}`, { seconds: Math.max(1, Math.ceil((why.options.retryAfterMs ?? 60_000) / 1000)) });
}

/**
 * Health and the participant list are fetched side by side. If one fails, the other is stopped and
 * awaited before the error goes up, so no request outlives the command that made it.
 */
async function sideBySide<A, B>(base: CallOptions, a: (call: CallOptions) => Promise<A>, b: (call: CallOptions) => Promise<B>): Promise<[A, B]> {
  const stop = new AbortController();
  const call = linked(base, stop.signal);
  const tasks = [a(call), b(call)] as const;
  try {
    return await Promise.all(tasks);
  } catch (err) {
    stop.abort();
    await Promise.allSettled(tasks);
    throw err;
  }
}

function linked(call: CallOptions, stop: AbortSignal): CallOptions {
  const signal = call.signal ? AbortSignal.any([call.signal, stop]) : stop;
  // Up to PAGE_PARALLEL requests (and their back-off sleeps) listen on this one signal at once:
  // that is the design, not a leak, so lift Node's default warning threshold of 10 for it.
  setMaxListeners(PAGE_PARALLEL * 2 + 10, signal);
  return { ...call, signal };
}
