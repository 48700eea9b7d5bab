import { maybe, parsed, v } from '../../edge/schema.js';
import type { Logger } from '../../log.js';
import type { EndedMeeting } from './reports.js';

/** One payload item; an item without a well-formed meeting_id is skipped. Ids stay strings. */
const Item = v.object({
  operate_time: v.optional(v.unknown()),
  meeting_info: v.object({
    meeting_id: v.pipe(v.string(), v.regex(/^\d{1,32}$/)),
    meeting_code: maybe(v.pipe(v.string(), v.regex(/^\d{6,12}$/))),
    sub_meeting_id: v.optional(v.unknown()),
    current_sub_meeting_id: v.optional(v.unknown()),
    start_time: v.optional(v.unknown()),
    end_time: v.optional(v.unknown()),
  }),
});
/** A sub-meeting id as Tencent writes it (a string or a number); read as text. */
const SubMeetingId = v.pipe(v.union([v.string(), v.number()]), v.transform(String), v.regex(/^[\w-]{1,64}$/));

/**
 * `payload[]` of a meeting.end event (cloud.tencent.com/document/product/1095/51619): each item has
 * `operate_time` (ms in the docs' examples) and `meeting_info` with meeting_id and meeting_code
 * (strings), meeting_type, start_time/end_time (integers in seconds per the field table); a
 * sub_meeting_id for recurring occurrences is not in the published table (UNCONFIRMED) but taken
 * when present. The docs' own sample for another event carries start_time as "2020-12-29 17:41:04"
 * (DOC 51612's example data), so every plausible time shape is read, and the shape that arrived is
 * logged once. Parsed by schema; malformed entries are skipped.
 */
export function endedMeetings(payload: unknown, traceId: string | undefined, log: Logger): EndedMeeting[] {
  const out: EndedMeeting[] = [];
  for (const item of Array.isArray(payload) ? payload : []) {
    const entry = parsed(Item, item);
    if (!entry) continue;
    const info = entry.meeting_info;
    const m: EndedMeeting = { meetingId: info.meeting_id };
    if (info.meeting_code) m.code = info.meeting_code;
    const sub = parsed(SubMeetingId, info.sub_meeting_id ?? info.current_sub_meeting_id);
    if (sub) m.subMeetingId = sub;
    const start = eventTime(info.start_time);
    const end = eventTime(info.end_time);
    const at = eventTime(entry.operate_time);
    if (start) m.startTime = start.s;
    if (end) m.endTime = end.s;
    if (at) m.endedAt = at.s;
    if (traceId) m.traceId = traceId;
    noteShape(log, { start: start?.shape ?? 'absent', end: end?.shape ?? 'absent', operate: at?.shape ?? 'absent', subMeetingId: m.subMeetingId ? 'present' : 'absent' });
    out.push(m);
  }
  return out;
}

type Shape = 'seconds' | 'milliseconds' | 'datetime';

/** Unix seconds or milliseconds (numbers or numeric strings), or "YYYY-MM-DD HH:mm:ss" in China time. */
export function eventTime(v: unknown): { s: number; shape: Shape } | undefined {
  if (typeof v === 'number' || (typeof v === 'string' && /^\d{1,16}$/.test(v))) {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) return undefined;
    return n >= 1e11 ? { s: Math.floor(n / 1000), shape: 'milliseconds' } : { s: Math.floor(n), shape: 'seconds' };
  }
  if (typeof v === 'string') {
    const d = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(v.trim());
    if (!d) return undefined;
    // Tencent Meeting's event times are Beijing time (UTC+8) when written out.
    const ms = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(d[4]) - 8, Number(d[5]), Number(d[6] ?? 0));
    return Number.isFinite(ms) ? { s: Math.floor(ms / 1000), shape: 'datetime' } : undefined;
  }
  return undefined;
}

// Once per process and shape: which time format Tencent really sends in meeting.end.
const seen = new Set<string>();
function noteShape(log: Logger, shape: Record<string, string>): void {
  const key = JSON.stringify(shape);
  if (seen.has(key)) return;
  seen.add(key);
  log.info({ shape }, 'tencent meeting.end: meeting_info shape seen');
}
