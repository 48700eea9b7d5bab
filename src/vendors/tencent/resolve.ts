import { atWindow, type AtTime, type OccurrenceHint } from '../../core/command.js';
import { MeetcheckError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import type { VendorQuery } from '../../core/vendor.js';
import type { CallOptions, TencentApi } from './api.js';
import type { RoomLists, RoomSource } from './rooms.js';
import { parseMeetingList, type MeetingWire, type RoomWire } from './wire.js';

/**
 * Which meeting, which occurrence, which media room a /quality command means.
 *
 * Order, and why:
 * 1. `GET /v1/meetings` (by code, or by id) first. It is the only list with meetings in progress
 *    (→ live /qos) and upcoming ones (→ "not ended yet"), and with a recurring meeting's
 *    occurrences; it costs one call of the app's 300/min. It no longer returns a one-time meeting
 *    that was ended or is 1 h past its scheduled end (DOC 42418), so an empty answer is normal.
 * 2. Unless a live meeting was found, the ended-meeting lists (rooms.ts): they name every media
 *    room with its real start. /quality answers "the first room starting at or after start_time"
 *    (DOC 80575), so that start is what picks the right room: a meeting ended and re-opened the same
 *    day has two rooms, and "scheduled start − slack" would always give the first.
 * A meeting-end event (query.hint) skips step 1: the meeting has ended, and the event says which.
 */

/** `instanceid` for the meeting lookups: 1 = PC, as the official CLI sends (DOC 42418, 42421). */
const LOOKUP_INSTANCE_ID = 1;
/**
 * Where only a scheduled start is known (no list gave the room), /quality is asked from half an
 * hour before it, as people join early; never from before the previous known room of the same
 * meeting ended, which would give that room instead (DOC 80575). The half hour is our inference.
 */
export const EARLY_JOIN_SLACK_S = 1800;
/**
 * A meeting-end event fires as its room closes (DOC 51619 meeting_end_type): the room it means
 * ended at most this long before the event's operate_time (the lag is UNCONFIRMED) and started
 * before it.
 */
const EVENT_ROOM_SLACK_S = 900;

export interface Target {
  meetingId: string;
  code?: string;
  subject?: string;
  meetingType?: number;
  subMeetingId?: string;
  /** Shown on the card: the room's real times when a list gave them, else the schedule. */
  startTime?: number;
  endTime?: number;
  /** start_time for /quality (DOC 80575). */
  qualityFrom?: number;
  /**
   * When people in this media room can have joined, where known: its real bounds from the corp
   * list, or "after the previous room closed". /participants is narrowed to it.
   */
  room?: { start: number; end?: number };
  live: boolean;
  /** Meetings/rooms the reference could have meant (for the "use --at" note). */
  candidates: number;
  /** Where the room came from, for the log. */
  source: RoomSource | 'scheduled' | 'event';
}

interface Candidate {
  meetingId: string;
  code?: string;
  subject?: string;
  meetingType?: number;
  subMeetingId?: string;
  start?: number;
  end?: number;
  status?: string;
  live: boolean;
  source: Target['source'];
}

export interface ResolveDeps {
  api: TencentApi;
  rooms: RoomLists;
  operatorId: string;
  log: Logger;
}

export async function resolveTarget(deps: ResolveDeps, query: VendorQuery, nowS: number, call: CallOptions): Promise<Target> {
  const ref = query.meeting;
  // Tencent meeting ids are digits only; anything else cannot be one (and never reaches a URL path).
  const id = ref.id && /^\d{1,32}$/.test(ref.id) ? ref.id : undefined;
  if (!ref.code && !id) throw new MeetcheckError('meeting_not_found', `tencent:${ref.code ?? ref.id ?? ''}`, { vendor: 'tencent' });
  const hint = query.hint;

  const listed = hint ? [] : await scheduledList(deps, ref.code, id, call);
  const scheduled = scheduledCandidates(listed.filter((m) => !id || m.meetingId === id));
  const liveNow = scheduled.find((c) => c.live);
  if (liveNow && !query.at) return toTarget(liveNow, [], scheduled.filter((c) => c.start === undefined || c.start <= nowS).length);

  const code = ref.code ?? listed.find((m) => m.code)?.code;
  const found = await deps.rooms.find({ ...(code ? { code } : {}), ...(id ? { meetingId: id } : {}) }, nowS, call);
  const rooms: Candidate[] = 'error' in found ? [] : found.rooms.map((r) => roomCandidate(r, found.source, listed));
  deps.log.info({ vendor: 'tencent', listed: listed.length, rooms: rooms.length, roomSource: 'error' in found ? `none (${found.error.code})` : found.source }, 'tencent meeting lookup');

  if (hint) return fromEvent(rooms, hint, id, ref.code);
  const all = [...scheduled.filter((c) => c.live || !coveredBy(c, rooms)), ...rooms];
  if (all.length === 0) {
    if ('error' in found) throw found.error;
    throw new MeetcheckError('meeting_not_found', `tencent:${ref.code ?? id}`, { vendor: 'tencent' });
  }
  return choose(all, rooms, query.at, nowS);
}

/** `GET /v1/meetings?meeting_code=` or `GET /v1/meetings/{id}`; a meeting it no longer returns is `[]`. */
async function scheduledList(deps: ResolveDeps, code: string | undefined, id: string | undefined, call: CallOptions): Promise<MeetingWire[]> {
  try {
    const json = code
      // By code: userid + instanceid (GO api.go V1MeetingsGet: operator_id_type there is rooms_id
      // only); every occurrence of a recurring meeting, not just the first (DOC 42421
      // is_show_all_sub_meetings "0：只显示周期性会议的第一个子会议 1：显示所有").
      ? await deps.api.get('meeting_by_code', '/v1/meetings', { meeting_code: code, userid: deps.operatorId, instanceid: LOOKUP_INSTANCE_ID, is_show_all_sub_meetings: 1 }, call)
      // By id: operator_id + operator_id_type (1 = userid) + instanceid, all required (DOC 42418;
      // GO api.go V1MeetingsMeetingIdGet has no userid at all).
      : await deps.api.get('meeting_by_id', `/v1/meetings/${id}`, { operator_id: deps.operatorId, operator_id_type: 1, instanceid: LOOKUP_INSTANCE_ID }, call);
    return parseMeetingList(json);
  } catch (err) {
    // Which answer an unlisted meeting gets (an empty list or 9003) is UNCONFIRMED: both mean "ask the ended lists".
    if (err instanceof MeetcheckError && err.code === 'meeting_not_found') return [];
    throw err;
  }
}

/**
 * A code can name several meetings over time (PMI), and a recurring meeting many occurrences, each
 * with its own sub_meeting_id (DOC 42421). Deleted occurrences (sub_meetings[].status 1, GO
 * model.go) are skipped; current_sub_meeting_id ("进行中 / 即将开始") is always one.
 */
export function scheduledCandidates(list: readonly MeetingWire[]): Candidate[] {
  const out: Candidate[] = [];
  for (const m of list) {
    if (m.status === 'MEETING_STATE_CANCELLED') continue;
    const base = (sub: string | undefined, start: number | undefined, end: number | undefined): Candidate => {
      const c: Candidate = { meetingId: m.meetingId, live: false, source: 'scheduled', status: m.status };
      if (m.code) c.code = m.code;
      if (m.subject) c.subject = m.subject;
      if (m.meetingType !== undefined) c.meetingType = m.meetingType;
      if (sub) c.subMeetingId = sub;
      if (start !== undefined) c.start = start;
      if (end !== undefined) c.end = end;
      c.live = m.status === 'MEETING_STATE_STARTED' && (!sub || sub === m.currentSubMeetingId);
      return c;
    };
    const occurrences = m.occurrences.filter((o) => o.status !== 1);
    if (m.occurrences.length > 0 || m.currentSubMeetingId) {
      for (const o of occurrences) out.push(base(o.subMeetingId, o.startTime, o.endTime));
      const current = m.currentSubMeetingId;
      if (current && !m.occurrences.some((o) => o.subMeetingId === current)) out.push(base(current, m.startTime, m.endTime));
    } else {
      out.push(base(undefined, m.startTime, m.endTime));
    }
  }
  return out;
}

function roomCandidate(r: RoomWire, source: RoomSource, listed: readonly MeetingWire[]): Candidate {
  const m = listed.find((x) => x.meetingId === r.meetingId);
  const c: Candidate = { meetingId: r.meetingId, start: r.start, live: false, source };
  const code = r.code ?? m?.code;
  if (code) c.code = code;
  const subject = r.subject ?? m?.subject;
  if (subject) c.subject = subject;
  const type = r.meetingType ?? m?.meetingType;
  if (type !== undefined) c.meetingType = type;
  const sub = r.subMeetingId ?? (m ? occurrenceAt(m, r.start) : undefined);
  if (sub) c.subMeetingId = sub;
  if (r.end !== undefined) c.end = r.end;
  return c;
}

/**
 * A recurring meeting's room listed without its sub_meeting_id (DOC 52492 says it is there for
 * occurrences; should it be missing, /quality would refuse the call): the occurrence whose
 * scheduled time the room started in, early joiners included.
 */
function occurrenceAt(m: MeetingWire, start: number): string | undefined {
  const fits = m.occurrences.filter((o) => o.startTime !== undefined && start >= o.startTime - EARLY_JOIN_SLACK_S && start <= (o.endTime ?? o.startTime));
  return fits.sort((a, b) => Math.abs(a.startTime! - start) - Math.abs(b.startTime! - start))[0]?.subMeetingId;
}

/** A scheduled occurrence some listed room belongs to: the room, with its real times, stands for it. */
function coveredBy(c: Candidate, rooms: readonly Candidate[]): boolean {
  return rooms.some((r) => r.meetingId === c.meetingId && (!c.subMeetingId || !r.subMeetingId || r.subMeetingId === c.subMeetingId));
}

/** `--at` picks by time; otherwise the one in progress, else the latest that has started. */
function choose(all: Candidate[], rooms: readonly Candidate[], at: AtTime | undefined, nowS: number): Target {
  let pool: Candidate[];
  if (at) {
    const w = atWindow(at);
    pool = all.filter((c) => c.start !== undefined && c.start <= w.to && (c.end ?? c.start) >= w.from);
    if (pool.length === 0) throw new MeetcheckError('meeting_not_found', `--at ${at.date}${at.time ? ` ${at.time}` : ''}`, { vendor: 'tencent' });
  } else {
    pool = all.filter((c) => c.start === undefined || c.start <= nowS);
    if (pool.length === 0) throw new MeetcheckError('meeting_not_ended', 'not started yet', { vendor: 'tencent' });
  }
  const chosen = pool.find((c) => c.live) ?? [...pool].sort((a, b) => (b.start ?? 0) - (a.start ?? 0))[0]!;
  // A one-time meeting no list has a room for, still waiting (INIT): nothing was held yet. (INIT is
  // also what a meeting emptied before its scheduled end reads as, GO model.go: its room is in the lists.)
  if (!chosen.live && chosen.source === 'scheduled' && !chosen.subMeetingId && (chosen.status === 'MEETING_STATE_INIT' || chosen.status === 'MEETING_STATE_INVALID')) {
    throw new MeetcheckError('meeting_not_ended', 'not started yet', { vendor: 'tencent' });
  }
  return toTarget(chosen, rooms, pool.length);
}

/**
 * The room a meeting-end event means: of this meeting (and occurrence), the latest that started
 * before the event and closed near it. No such room listed (the lists may lag the event, or be
 * refused): the event's own times stand in, and the webhook's retries ask again later.
 */
function fromEvent(rooms: readonly Candidate[], hint: OccurrenceHint, id: string | undefined, code: string | undefined): Target {
  const mine = rooms.filter((r) => (!id || r.meetingId === id) && (!hint.subMeetingId || !r.subMeetingId || r.subMeetingId === hint.subMeetingId));
  const endedAt = hint.endedAt;
  const fits = mine.filter((r) => endedAt === undefined || (r.start! <= endedAt + 60 && (r.end === undefined || r.end >= endedAt - EVENT_ROOM_SLACK_S)));
  const chosen = [...fits].sort((a, b) => b.start! - a.start!)[0];
  if (chosen) return toTarget(hint.subMeetingId && !chosen.subMeetingId ? { ...chosen, subMeetingId: hint.subMeetingId } : chosen, rooms, 1);
  if (!id) throw new MeetcheckError('meeting_not_found', `tencent:${code ?? ''}`, { vendor: 'tencent' });
  const c: Candidate = { meetingId: id, live: false, source: 'event' };
  if (code) c.code = code;
  const sub = hint.subMeetingId ?? (mine.length > 0 ? mine.find((r) => r.subMeetingId)?.subMeetingId : undefined);
  if (sub) c.subMeetingId = sub;
  if (hint.startTime !== undefined) c.start = hint.startTime;
  if (hint.endTime !== undefined) c.end = hint.endTime;
  const type = mine.find((r) => r.meetingType !== undefined)?.meetingType;
  if (type !== undefined) c.meetingType = type;
  // Rooms of this meeting listed already but closed well before the event are earlier sessions:
  // /quality must be asked from after them, or it answers with the first (DOC 80575).
  const earlier = mine.filter((r) => r.end !== undefined && endedAt !== undefined && r.end < endedAt - EVENT_ROOM_SLACK_S).map((r) => r.end!);
  return toTarget(c, rooms, 1, earlier.length > 0 ? Math.max(...earlier) + 1 : undefined);
}

function toTarget(c: Candidate, rooms: readonly Candidate[], candidates: number, notBefore = -Infinity): Target {
  const t: Target = { meetingId: c.meetingId, live: c.live, candidates, source: c.source };
  if (c.code) t.code = c.code;
  if (c.subject) t.subject = c.subject;
  if (c.meetingType !== undefined) t.meetingType = c.meetingType;
  if (c.subMeetingId) t.subMeetingId = c.subMeetingId;
  if (c.start !== undefined) t.startTime = c.start;
  if (c.end !== undefined) t.endTime = c.end;
  if (c.live) return t;
  if (c.start === undefined) {
    if (notBefore > -Infinity) t.qualityFrom = notBefore;
    return t;
  }
  if (c.source === 'corp') {
    // DOC 52492: the media room's own start ("媒体房间维度"): exactly what /quality's start_time picks.
    t.qualityFrom = c.start;
    t.room = { start: c.start, ...(c.end !== undefined ? { end: c.end } : {}) };
    return t;
  }
  // History (UNCONFIRMED whether these are the room's times), the schedule or the event: ask from a
  // little earlier, but after the previous room of the same meeting and occurrence had closed.
  const before = rooms.filter((r) => r !== c && r.meetingId === c.meetingId && (r.subMeetingId ?? '') === (c.subMeetingId ?? '') && r.end !== undefined && r.end < c.start!);
  const after = Math.max(prevEnd(before) + 1, notBefore);
  t.qualityFrom = Math.max(c.start - EARLY_JOIN_SLACK_S, after);
  // Rooms of one meeting do not overlap: whoever joined this one joined after the earlier one closed.
  if (after > -Infinity) t.room = { start: after };
  return t;
}

function prevEnd(rooms: readonly Candidate[]): number {
  return Math.max(-Infinity, ...rooms.map((r) => r.end!));
}
