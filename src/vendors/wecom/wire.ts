/**
 * WeCom meeting API wire shapes → typed values, once, at the edge. Anything malformed becomes
 * "absent", never a throw deep inside the report.
 */

export type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

export function num(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** A meeting code as people type it: "123-456-789", "123 456 789" → "123456789". */
export function normaliseCode(v: unknown): string | undefined {
  const s = str(v)?.replace(/[\s\-\u2010-\u2015\u2212\uff0d]/g, '');
  return s && /^\d+$/.test(s) ? s : undefined;
}

/** One page of `meeting/get_user_meetingid` (WeCom doc 99050). */
export interface MeetingIdPage {
  ids: string[];
  /** Absent when the list is done ("next_cursor为未返回或者为空字符串表示数据已取完", 99050). */
  next?: string;
  /** Which of the accepted shapes arrived, for the one-time log line. */
  shape: string;
}

/**
 * The doc (99050) and go-wecom's generated GetUserMeetingIdResponse say `meetingid_list: string[]`
 * and `next_cursor: string`. Not confirmed on a live tenant, so the parser also takes
 * `meeting_id_list`, ids as numbers or as `{meetingid}` / `{meeting_id}` objects, and a numeric
 * cursor; `shape` names what came.
 */
export function parseMeetingIdPage(json: Obj): MeetingIdPage {
  const field = Array.isArray(json.meetingid_list) ? 'meetingid_list' : Array.isArray(json.meeting_id_list) ? 'meeting_id_list' : undefined;
  const ids: string[] = [];
  const itemKinds = new Set<string>();
  for (const item of field ? arr(json[field]) : []) {
    if (typeof item === 'string' || typeof item === 'number') {
      const id = str(item);
      if (id) {
        ids.push(id);
        itemKinds.add(typeof item);
      }
    } else {
      const o = obj(item);
      const id = str(o.meetingid) ?? str(o.meeting_id);
      if (id) {
        ids.push(id);
        itemKinds.add(o.meetingid !== undefined ? 'object.meetingid' : 'object.meeting_id');
      }
    }
  }
  const rawNext = json.next_cursor;
  const next = str(rawNext);
  const cursorKind = rawNext === undefined ? 'absent' : typeof rawNext;
  const shape = `${field ?? 'no-list'}[${[...itemKinds].sort().join('|') || 'empty'}] next_cursor:${cursorKind}`;
  return { ids, ...(next && next !== '0' ? { next } : {}), shape };
}
