import { setMaxListeners } from 'node:events';
import { MeetcheckError, asMeetcheckError } from '../../core/errors.js';
import type { Lang } from '../../core/i18n.js';
import { ASPECTS, type Attendee, type Level, type MeetingReport, type Ratings, type ReportNote } from '../../core/model.js';
import { overallHealth } from '../../core/report.js';
import type { FetchOptions, VendorClient, VendorQuery } from '../../core/vendor.js';
import type { Logger } from '../../log.js';
import { mapPool } from '../../http/pool.js';
import { QOS_RATE, createTencentApi, type CallOptions, type TencentApi, type TencentApiDeps } from './api.js';
import { MEETING_ENDED_CODE, isPublishedCode, tencentCodeOf } from './errors.js';
import { joinQos, joinQuality } from './join.js';
import { resolveTarget, type Target } from './resolve.js';
import { createRoomLists } from './rooms.js';
import { defineVendor } from '../registration.js';
import { tencentConfigFrom } from './config.js';
import {
  parseParticipantsPage, parseQosPage, parseQualityPage,
  type ParticipantRow, type QosRow, type QualityPage, type QualityRow,
} from './wire.js';

/** /quality pages hold at most 50 participants (DOC 80575 page_size 1–50). */
const QUALITY_PAGE_SIZE = 50;
/** /participants pages hold at most 100 (DOC 42701 size "目前每页支持最大100条"). */
const PARTICIPANTS_PAGE_SIZE = 100;
/** /qos pages hold 20–100 (DOC 104578 page_size). */
const QOS_PAGE_SIZE = 100;
/**
 * Pages after the first are fetched this many at a time. Each still takes a token from the shared
 * 300/min budget, so parallelism changes latency, not the call count: 5,000 attendees is 100 pages
 * of /quality, two waves.
 */
export const PAGE_PARALLEL = 50;
/** /participants allows 50,000 rows in all (DOC 42701 has_remaining): 500 pages of 100. */
const MAX_PARTICIPANT_PAGES = 500;
/** /quality covers meetings of the last 7 days; its start_time must lie within them (DOC 80575). */
const QUALITY_WINDOW_S = 7 * 86_400;
/** A participant's join time may round a little outside its room's bounds (ms → s). */
const ROOM_EDGE_S = 60;

export type TencentVendorDeps = TencentApiDeps;

export function createTencentVendor(deps: TencentVendorDeps): VendorClient {
  const api = createTencentApi(deps);
  const { config, clock, log } = deps;
  const rooms = createRoomLists(api, config.operatorId, config.appId, log);
  return {
    name: 'tencent',
    async fetchReport(query: VendorQuery, opts: FetchOptions): Promise<MeetingReport> {
      const started = clock.now();
      const call: CallOptions = { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}) };
      const target = await resolveTarget({ api, rooms, operatorId: config.operatorId, log }, query, Math.floor(clock.now() / 1000), call);
      log.info({ vendor: 'tencent', live: target.live, recurring: Boolean(target.subMeetingId), candidates: target.candidates, source: target.source }, 'tencent meeting resolved');
      const ctx: Ctx = { api, operatorId: config.operatorId, query, opts, call, started, nowMs: () => clock.now(), lang: query.lang, log };
      if (target.live) {
        try {
          return await liveReport(ctx, target);
        } catch (err) {
          // It ended between the lookup and /qos: the ended-meeting path has (or will have) the data.
          if (tencentCodeOf(err) !== MEETING_ENDED_CODE) throw err;
        }
      }
      return endedReport(ctx, { ...target, live: false });
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
  log: Logger;
}

// ---- ended meetings: /quality + /participants -------------------------------------------------

/** Why a part of the report is missing (each becomes a note, not a failed report). */
type Missing = { part: 'quality'; why: 'addon' | 'unknown'; code?: number } | { part: 'participants'; code?: number };

async function endedReport(ctx: Ctx, target: Target): Promise<MeetingReport> {
  const nowS = Math.floor(ctx.nowMs() / 1000);
  const oldest = nowS - QUALITY_WINDOW_S;
  if (target.startTime !== undefined && target.startTime < oldest) throw new MeetcheckError('meeting_too_old', undefined, { vendor: 'tencent' });
  const partial: ReportNote[] = [];
  const missing: Missing[] = [];
  const from = Math.min(nowS, Math.max(target.qualityFrom ?? oldest, oldest + 60));
  const [quality, participants] = await sideBySide(
    ctx.call,
    (call) => allQualityPages(ctx, target, from, call, partial).catch((err: unknown): undefined => {
      const m = qualityMissing(ctx, err);
      if (!m) throw err;
      missing.push(m);
      return undefined;
    }),
    (call) => allParticipants(ctx, target, call, partial).catch((err: unknown): undefined => {
      const m = participantsMissing(ctx, err);
      if (!m) throw err;
      missing.push(m);
      return undefined;
    }),
  );
  // Neither health nor names: nothing to show, and the reason is the permission.
  if (!quality && !participants) throw new MeetcheckError('no_permission', 'tencent /quality and /participants', { vendor: 'tencent' });
  const rows: QualityRow[] | undefined = quality?.flatMap((p) => p.rows);
  const attendees = joinQuality(rows, participants ?? []);
  const first = quality?.[0];
  const notes = missingNotes(missing);
  if (first && (first.meeting.problems.length > 0 || attendees.some((a) => a.problems.length > 0))) notes.push({ key: 'note.vendorProblems' });
  return finish(ctx, target, attendees, first ? first.meeting : undefined, notes, partial);
}

/**
 * /quality page 1 refused: the add-on is a paid service read by an enterprise admin/super-admin
 * (DOC 80575, "付费开通该服务的企业管理员/超管可以查询健康度"), and no error code for "not purchased"
 * is published. A permission code, or any code Tencent does not document, lists the participants
 * without health; the code is logged so the real one becomes known. Rate limits, outages and our
 * own mistakes still fail the report.
 */
function qualityMissing(ctx: Ctx, err: unknown): Missing | undefined {
  const e = asMeetcheckError(err);
  const code = tencentCodeOf(err);
  if (e.code === 'no_permission' || e.code === 'quality_addon_missing') {
    ctx.log.info({ vendor: 'tencent', errorCode: code }, 'tencent /quality refused: listing participants only');
    return { part: 'quality', why: 'addon', ...(code !== undefined ? { code } : {}) };
  }
  if (code !== undefined && !isPublishedCode(code)) {
    ctx.log.info({ vendor: 'tencent', errorCode: code, detail: e.detail }, 'tencent /quality answered an unpublished code: listing participants only');
    return { part: 'quality', why: 'unknown', code };
  }
  return undefined;
}

/**
 * /participants refused (9042): only the meeting's creator or an enterprise *super*-admin may list
 * them ("企业 secret 鉴权用户（企业超级管理员）可获取…", DOC 42701, GO api.go). The ratings still come,
 * without names.
 */
function participantsMissing(ctx: Ctx, err: unknown): Missing | undefined {
  const e = asMeetcheckError(err);
  if (e.code !== 'no_permission') return undefined;
  const code = tencentCodeOf(err);
  ctx.log.info({ vendor: 'tencent', errorCode: code }, 'tencent /participants refused: ratings without names');
  return { part: 'participants', ...(code !== undefined ? { code } : {}) };
}

function missingNotes(missing: readonly Missing[]): ReportNote[] {
  return missing.map((m): ReportNote => {
    if (m.part === 'participants') return { key: 'note.noParticipantNames', params: { code: m.code ?? '?' } };
    return m.why === 'addon' ? { key: 'note.noHealthAddon' } : { key: 'note.healthUnavailable', params: { code: m.code ?? '?' } };
  });
}

async function allQualityPages(ctx: Ctx, target: Target, startTime: number, call: CallOptions, partial: ReportNote[]): Promise<QualityPage[]> {
  const page = async (n: number, signal?: AbortSignal) =>
    parseQualityPage(await ctx.api.get('meeting_quality', `/v1/meetings/${target.meetingId}/quality`, {
      operator_id: ctx.operatorId, operator_id_type: 1, page: n, page_size: QUALITY_PAGE_SIZE, start_time: startTime,
      sub_meeting_id: target.subMeetingId,
    }, signal ? { ...call, signal } : call));
  const first = await page(1);
  const total = first.totalCount;
  let loaded = first.rows.length;
  ctx.opts.onProgress?.({ loaded, ...(total !== undefined ? { total } : {}) });
  const rest = await restOfPages(ctx, first.totalPage, page, partial, (p) => {
    loaded += p.rows.length;
    ctx.opts.onProgress?.({ loaded, ...(total !== undefined ? { total } : {}) });
  }, () => loaded, call.signal);
  return [first, ...rest];
}

/**
 * Pages 2…n at PAGE_PARALLEL at a time. A page that cannot be had before the deadline (or after
 * its retries) ends loading with what we have and a note, rather than losing the whole report.
 */
async function restOfPages<P>(
  ctx: Ctx, totalPage: number, fetch: (n: number, signal: AbortSignal) => Promise<P>, partial: ReportNote[], onPage: (p: P) => void, loaded: () => number,
  signal?: AbortSignal,
): Promise<P[]> {
  const numbers = Array.from({ length: Math.max(0, totalPage - 1) }, (_, i) => i + 2);
  const { results, stopped } = await mapPool(numbers, PAGE_PARALLEL, async (n, _i, poolSignal) => {
    const p = await fetch(n, poolSignal);
    onPage(p);
    return p;
  }, {
    ...(signal ? { signal } : {}),
    stopWhen: () => ctx.opts.deadline !== undefined && ctx.nowMs() >= ctx.opts.deadline,
    tolerate: (err) => ['rate_limited', 'vendor_timeout', 'vendor_unavailable'].includes(asMeetcheckError(err).code),
  });
  if (stopped) partial.push(partialReason(ctx, stopped === 'stopWhen' ? 'deadline' : asMeetcheckError(stopped.error), loaded()));
  return results.filter((p): p is Awaited<P> => p !== undefined);
}

function inRoom(r: ParticipantRow, room: { start: number; end?: number }): boolean {
  return r.joinTime === undefined || (r.joinTime >= room.start - ROOM_EDGE_S && (room.end === undefined || r.joinTime <= room.end + ROOM_EDGE_S));
}

/** /participants pages with the next_pos cursor (not an offset, so one after another). */
async function allParticipants(ctx: Ctx, target: Target, call: CallOptions, partial: ReportNote[]): Promise<ParticipantRow[]> {
  // The list covers every session of the meeting. For one media room, only the people who joined
  // while it was open: start_time/end_time filter on join time (DOC 42701), except for recurring
  // meetings ("对于周期性会议查询暂时不生效"), which are filtered here.
  const room = target.live ? undefined : target.room;
  const window = room && !target.subMeetingId && target.meetingType !== 1
    ? { start_time: room.start, end_time: room.end ?? Math.floor(ctx.nowMs() / 1000) }
    : {};
  const rows: ParticipantRow[] = [];
  let pos: number | undefined = 0;
  const seen = new Set<number>();
  for (let n = 0; n < MAX_PARTICIPANT_PAGES && pos !== undefined; n++) {
    if (n > 0 && ctx.opts.deadline !== undefined && ctx.nowMs() >= ctx.opts.deadline) {
      partial.push(partialReason(ctx, 'deadline', rows.length));
      break;
    }
    const page = parseParticipantsPage(await ctx.api.get('meeting_participants', `/v1/meetings/${target.meetingId}/participants`, {
      userid: ctx.operatorId, sub_meeting_id: target.subMeetingId, pos, size: PARTICIPANTS_PAGE_SIZE, ...window,
    }, call));
    rows.push(...(room ? page.rows.filter((r) => inRoom(r, room)) : page.rows));
    // A cursor that does not move would loop for ever: stop on a repeat.
    if (!page.hasRemaining || page.nextPos === undefined || seen.has(page.nextPos)) break;
    seen.add(page.nextPos);
    pos = page.nextPos;
  }
  return rows;
}

// ---- meetings in progress: /qos + /participants ----------------------------------------------

async function liveReport(ctx: Ctx, target: Target): Promise<MeetingReport> {
  const partial: ReportNote[] = [];
  const allQos = async (call: CallOptions): Promise<QosRow[]> => {
    const qosCall: CallOptions = { ...call, budget: { key: `rate:tencent:qos:${target.meetingId}`, rate: QOS_RATE } };
    const page = async (n: number, signal?: AbortSignal) =>
      parseQosPage(await ctx.api.get('meeting_qos', `/v1/meetings/${target.meetingId}/qos`, {
        operator_id: ctx.operatorId, operator_id_type: 1, page: n, page_size: QOS_PAGE_SIZE,
      }, signal ? { ...qosCall, signal } : qosCall));
    const first = await page(1);
    let loaded = first.rows.length;
    const total = first.totalCount;
    ctx.opts.onProgress?.({ loaded, ...(total !== undefined ? { total } : {}) });
    const rest = await restOfPages(ctx, first.totalPage, page, partial, (p) => {
      loaded += p.rows.length;
      ctx.opts.onProgress?.({ loaded, ...(total !== undefined ? { total } : {}) });
    }, () => loaded, call.signal);
    return [first, ...rest].flatMap((p) => p.rows);
  };
  const missing: Missing[] = [];
  const [qos, participants] = await sideBySide(ctx.call, allQos, (call) => allParticipants(ctx, target, call, partial).catch((err: unknown): undefined => {
    const m = participantsMissing(ctx, err);
    if (!m) throw err;
    missing.push(m);
    return undefined;
  }));
  const attendees = joinQos(qos, participants ?? [], ctx.lang);
  return finish(ctx, target, attendees, undefined, missingNotes(missing), partial, false);
}

// ---- shared ---------------------------------------------------------------------------------

function finish(
  ctx: Ctx, target: Target, attendees: Attendee[], meetingLevel: { health: 0 | 1 | 2; ratings: Ratings; problems: string[] } | undefined,
  notes: ReportNote[], partial: ReportNote[], ended = true,
): MeetingReport {
  const report: MeetingReport = {
    meeting: { vendor: 'tencent', meetingId: target.meetingId, ended },
    health: meetingLevel && meetingLevel.health !== 0 ? meetingLevel.health : overallHealth(attendees),
    ratings: meetingLevel ? { ...meetingLevel.ratings } : worstRatings(attendees),
    problems: meetingLevel ? [...meetingLevel.problems] : [],
    attendees,
    complete: partial.length === 0,
    notes: [...notes, ...partial.map((reason): ReportNote => ({ key: 'summary.partial', params: { reason } }))],
    source: { meetingId: target.meetingId, ...(target.subMeetingId ? { subMeetingId: target.subMeetingId } : {}) },
  };
  const code = target.code ?? ctx.query.meeting.code;
  if (code) report.meeting.code = code;
  if (target.subMeetingId) report.meeting.subMeetingId = target.subMeetingId;
  if (target.subject) report.meeting.subject = target.subject;
  if (target.startTime !== undefined) report.meeting.startTime = target.startTime;
  if (target.endTime !== undefined) report.meeting.endTime = target.endTime;
  if (target.candidates > 1 && !ctx.query.at) {
    report.notes.unshift({ key: 'note.multipleMeetings', params: { count: target.candidates, start: target.startTime !== undefined ? { time: target.startTime } : '?' } });
  }
  return report;
}

function worstRatings(attendees: readonly Attendee[]): Ratings {
  const r: Ratings = { audio: 0, video: 0, screen: 0, network: 0 };
  for (const a of attendees) for (const k of ASPECTS) r[k] = Math.max(r[k], a.ratings[k]) as Level;
  return r;
}

function partialReason(ctx: Ctx, why: MeetcheckError | 'deadline', loaded: number): ReportNote {
  if (why === 'deadline') {
    return { key: 'note.partial.deadline', params: { seconds: Math.round(((ctx.opts.deadline ?? ctx.nowMs()) - ctx.started) / 1000), loaded } };
  }
  return { key: `err.${why.code}`, params: { seconds: Math.max(1, Math.ceil((why.options.retryAfterMs ?? 60_000) / 1000)) } };
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

/** The registration (vendors/index.ts): Tencent Meeting, on with its four TENCENT_MEETING_* credentials; the vendor for chats without one of their own. */
export const tencent = defineVendor({
  name: 'tencent',
  aliases: ['tm', 'voovmeeting', 'voov meeting', '腾讯会议', '腾讯'],
  fallback: true,
  configFrom: tencentConfigFrom,
  create: (config, deps) => createTencentVendor({ config, ...deps }),
});
