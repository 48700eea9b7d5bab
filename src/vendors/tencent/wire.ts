import type { Sample } from '../../core/health.js';
import type { DeviceKind, Health, Level, Ratings, Role } from '../../core/model.js';

/**
 * Tencent Meeting wire shapes → typed values, once, at the edge. Field names and types follow
 * the official Go SDK's models and DOC 42421 (meetings), 80575 (quality), 104578 (qos), 42701 (participants). Anything malformed
 * becomes "unknown"/"no data", never a throw deep inside the report.
 */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
/** Numbers come as numbers or as strings (instanceid, times, every /qos value). */
const num = (v: unknown): number | undefined => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
};

export interface Occurrence {
  subMeetingId: string;
  startTime?: number;
  endTime?: number;
  status?: number;
}

export interface MeetingWire {
  meetingId: string;
  code?: string;
  subject?: string;
  /** MEETING_STATE_INIT | _STARTED | _ENDED | _CANCELLED | _NULL | _RECYCLED | _INVALID (GO model.go). */
  status: string;
  /** 0 one-time, 1 recurring, … (DOC 53805 meeting_type). */
  meetingType?: number;
  startTime?: number;
  endTime?: number;
  currentSubMeetingId?: string;
  occurrences: Occurrence[];
}

/** `GET /v1/meetings?meeting_code=` and `GET /v1/meetings/{id}`: `meeting_info_list[]` (DOC 42418, 42421). */
export function parseMeetingList(json: Obj): MeetingWire[] {
  const out: MeetingWire[] = [];
  for (const raw of arr(json.meeting_info_list)) {
    const m = obj(raw);
    const meetingId = str(m.meeting_id);
    if (!meetingId || !/^\d{1,32}$/.test(meetingId)) continue;
    const w: MeetingWire = { meetingId, status: str(m.status) ?? 'MEETING_STATE_UNKNOWN', occurrences: [] };
    const code = str(m.meeting_code);
    if (code) w.code = code;
    const subject = str(m.subject);
    if (subject) w.subject = subject;
    const type = num(m.meeting_type);
    if (type !== undefined) w.meetingType = type;
    const start = num(m.start_time);
    if (start !== undefined) w.startTime = start;
    const end = num(m.end_time);
    if (end !== undefined) w.endTime = end;
    const current = str(m.current_sub_meeting_id);
    if (current) w.currentSubMeetingId = current;
    for (const s of arr(m.sub_meetings)) {
      const o = obj(s);
      const id = str(o.sub_meeting_id);
      if (!id) continue;
      const occ: Occurrence = { subMeetingId: id };
      const os = num(o.start_time);
      if (os !== undefined) occ.startTime = os;
      const oe = num(o.end_time);
      if (oe !== undefined) occ.endTime = oe;
      const st = num(o.status);
      if (st !== undefined) occ.status = st;
      w.occurrences.push(occ);
    }
    out.push(w);
  }
  return out;
}

/**
 * One media room from an ended-meetings list (a media room runs from the first join until
 * everyone has left, DOC 80575). Times are unix seconds here, whatever arrived.
 */
export interface RoomWire {
  meetingId: string;
  code?: string;
  subject?: string;
  meetingType?: number;
  subMeetingId?: string;
  start: number;
  end?: number;
}

export type TimeUnit = 'ms' | 's';

export interface RoomPage {
  rooms: RoomWire[];
  totalPage: number;
  /** The units the times came in (for the one log line that says which shape arrived). */
  units: Set<TimeUnit>;
}

/**
 * `GET /v1/corp/meetings` (DOC 52492: start_time/end_time "媒体房间维度，单位毫秒") and
 * `GET /v1/history/meetings/{userid}` (DOC 53805 and the SDKs' V1HistoryMeetingsUseridGet200Response:
 * "单位秒"): both `meeting_info_list[]` with meeting_id, meeting_code, subject, meeting_type,
 * sub_meeting_id (recurring occurrences only), start_time, end_time. Either unit is accepted in
 * either list, as numbers or numeric strings: no epoch in seconds reaches 1e11 before the year 5000,
 * and none in milliseconds stays below it after 1973.
 */
export function parseRoomList(json: Obj): RoomPage {
  const rooms: RoomWire[] = [];
  const units = new Set<TimeUnit>();
  for (const raw of arr(json.meeting_info_list)) {
    const m = obj(raw);
    const meetingId = str(m.meeting_id);
    if (!meetingId || !/^\d{1,32}$/.test(meetingId)) continue;
    const start = epochSeconds(m.start_time, Math.floor);
    if (!start) continue;
    units.add(start.unit);
    const room: RoomWire = { meetingId, start: start.s };
    const end = epochSeconds(m.end_time, Math.ceil);
    if (end && end.s >= start.s) {
      room.end = end.s;
      units.add(end.unit);
    }
    const code = str(m.meeting_code);
    if (code) room.code = code;
    const subject = str(m.subject);
    if (subject) room.subject = subject;
    const type = num(m.meeting_type);
    if (type !== undefined) room.meetingType = type;
    const sub = str(m.sub_meeting_id);
    // Only ever a query value (encoded), like current_sub_meeting_id from /v1/meetings.
    if (sub && sub.length <= 64) room.subMeetingId = sub;
    rooms.push(room);
  }
  return { rooms, totalPage: Math.max(1, Math.min(10_000, num(json.total_page) ?? 1)), units };
}

/** An epoch in seconds or milliseconds → seconds (floor for starts, ceil for ends: the room stays inside). */
export function epochSeconds(v: unknown, round: (n: number) => number): { s: number; unit: TimeUnit } | undefined {
  const n = num(v);
  if (n === undefined || n <= 0) return undefined;
  return n >= 1e11 ? { s: round(n / 1000), unit: 'ms' } : { s: round(n), unit: 's' };
}

export interface QualityRatings {
  health: Health;
  ratings: Ratings;
  problems: string[];
}

export interface QualityRow extends QualityRatings {
  userid?: string;
  msOpenId?: string;
  instanceId?: number;
}

export interface QualityPage {
  totalPage: number;
  totalCount?: number;
  meeting: QualityRatings;
  rows: QualityRow[];
}

/** `GET /v1/meetings/{id}/quality` (DOC 80575): levels 0 no data … 4 bad, health 0/1/2. */
export function parseQualityPage(json: Obj): QualityPage {
  const rows: QualityRow[] = [];
  for (const raw of arr(json.participants)) {
    const p = obj(raw);
    const row: QualityRow = readRatings(p);
    const userid = str(p.userid);
    if (userid) row.userid = userid;
    const ms = str(p.ms_open_id);
    if (ms) row.msOpenId = ms;
    // A string here (GO model.go), an integer in /participants: normalised before joining.
    const inst = num(p.instanceid ?? p.instance_id);
    if (inst !== undefined) row.instanceId = inst;
    rows.push(row);
  }
  const page: QualityPage = { totalPage: Math.max(1, Math.min(2000, num(json.total_page) ?? 1)), meeting: readRatings(json), rows };
  const total = num(json.total_count);
  if (total !== undefined) page.totalCount = total;
  return page;
}

function readRatings(o: Obj): QualityRatings {
  return {
    health: health(o.quality),
    ratings: { audio: level(o.audio_quality), video: level(o.video_quality), screen: level(o.screen_share_quality), network: level(o.network_quality) },
    // The problems vocabulary is undocumented (DOC 80575): shown verbatim (renderers escape it).
    problems: arr(o.problems).filter((p): p is string => typeof p === 'string' && p.trim() !== '').map((p) => p.trim().slice(0, 200)),
  };
}

function level(v: unknown): Level {
  const n = num(v);
  return n === 1 || n === 2 || n === 3 || n === 4 ? n : 0;
}

function health(v: unknown): Health {
  const n = num(v);
  return n === 1 || n === 2 ? n : 0;
}

export interface ParticipantRow {
  userid?: string;
  msOpenId?: string;
  name?: string;
  instanceId?: number;
  userRole?: number;
  joinTime?: number;
  leftTime?: number;
}

export interface ParticipantsPage {
  rows: ParticipantRow[];
  hasRemaining: boolean;
  nextPos?: number;
  subject?: string;
  totalCount?: number;
}

/** `GET /v1/meetings/{id}/participants` (DOC 42701): names and subject in base64. */
export function parseParticipantsPage(json: Obj): ParticipantsPage {
  const rows: ParticipantRow[] = [];
  for (const raw of arr(json.participants)) {
    const p = obj(raw);
    const row: ParticipantRow = {};
    const userid = str(p.userid);
    if (userid) row.userid = userid;
    const ms = str(p.ms_open_id);
    if (ms) row.msOpenId = ms;
    const name = str(p.user_name);
    if (name) row.name = decodeBase64Text(name);
    const inst = num(p.instanceid ?? p.instance_id);
    if (inst !== undefined) row.instanceId = inst;
    const role = num(p.user_role);
    if (role !== undefined) row.userRole = role;
    const join = num(p.join_time);
    if (join !== undefined && join > 0) row.joinTime = join;
    // `left_time` is empty while the person is still in the meeting.
    const left = num(p.left_time);
    if (left !== undefined && left > 0) row.leftTime = left;
    rows.push(row);
  }
  const page: ParticipantsPage = { rows, hasRemaining: json.has_remaining === true || json.has_remaining === 'true' };
  const next = num(json.next_pos);
  if (next !== undefined) page.nextPos = next;
  const subject = str(json.subject);
  if (subject) page.subject = decodeBase64Text(subject);
  const total = num(json.total_count);
  if (total !== undefined) page.totalCount = total;
  return page;
}

export interface QosDevice {
  instanceId?: number;
  sample: Sample;
}

export interface QosRow {
  msOpenId?: string;
  nickName?: string;
  devices: QosDevice[];
}

export interface QosPage {
  totalPage: number;
  totalCount?: number;
  rows: QosRow[];
}

/** `GET /v1/meetings/{id}/qos` (DOC 104578): every value a string, sampled every 2 s. */
export function parseQosPage(json: Obj): QosPage {
  const rows: QosRow[] = [];
  for (const raw of arr(json.participants)) {
    const p = obj(raw);
    const row: QosRow = { devices: [] };
    const ms = str(p.ms_open_id);
    if (ms) row.msOpenId = ms;
    const nick = str(p.nick_name);
    // UNCONFIRMED whether nick_name is base64 like user_name; decoded only when it clearly is.
    if (nick) row.nickName = looksBase64Text(nick) ?? nick;
    for (const d of arr(p.qos_details)) {
      const q = obj(d);
      const dev: QosDevice = { sample: qosSample(q) };
      const inst = num(q.instanceid ?? q.instance_id);
      if (inst !== undefined) dev.instanceId = inst;
      row.devices.push(dev);
    }
    rows.push(row);
  }
  const page: QosPage = { totalPage: Math.max(1, Math.min(2000, num(json.total_page) ?? 1)), rows };
  const total = num(json.total_count);
  if (total !== undefined) page.totalCount = total;
  return page;
}

function qosSample(q: Obj): Sample {
  const audio = obj(q.audio);
  const video = obj(q.video);
  const share = obj(q.share_screen ?? q.screen_share);
  const net = obj(q.network);
  const s: Sample = {};
  const delay = num(net.network_delay);
  if (delay !== undefined) s.delayMs = delay;
  const up = num(net.upstream_packet_loss);
  const down = num(net.downstream_packet_loss);
  if (up !== undefined || down !== undefined) s.lossPct = Math.max(up ?? 0, down ?? 0);
  // What others hear and see of this person: their upstream (a muted mic sends 0, read as not measured).
  const ab = num(audio.upstream_bitrate);
  if (ab !== undefined) s.audioBitrateKbps = ab;
  const vf = num(video.upstream_framerate);
  if (vf !== undefined) s.videoFps = vf;
  const vb = num(video.upstream_bitrate);
  if (vb !== undefined) s.videoBitrateKbps = vb;
  const sf = num(share.upstream_framerate);
  if (sf !== undefined) s.screenFps = sf;
  const sb = num(share.upstream_bitrate);
  if (sb !== undefined) s.screenBitrateKbps = sb;
  return s;
}

/** `user_name` and `subject` are base64 of UTF-8 ("入会用户名（base 64）", DOC 42701); a value that is not stays as sent. */
export function decodeBase64Text(value: string): string {
  return looksBase64Text(value) ?? value;
}

function looksBase64Text(value: string): string | undefined {
  const v = value.trim();
  if (v.length === 0 || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return undefined;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(v, 'base64'));
    // Control characters mean it was not text after all.
    return text === '' || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

/** `instanceid` → device kind (DOC 42701 "instanceid"; newer docs such as DOC 64637 add 81–86 HarmonyOS). */
export function deviceOf(instanceId: number | undefined): DeviceKind {
  switch (instanceId) {
    case 0: return 'pstn';
    case 1: return 'pc';
    case 2: return 'mac';
    case 3: return 'android';
    case 4: return 'ios';
    case 5: return 'web';
    case 6: return 'ipad';
    case 7: return 'android_pad';
    case 8: return 'mini_program';
    case 9: return 'sip';
    case 10: return 'linux';
    case 20: case 21: case 22: return 'rooms';
    case 30: case 32: case 33: return 'controller';
    default:
      return instanceId !== undefined && instanceId >= 81 && instanceId <= 86 ? 'harmony' : 'unknown';
  }
}

/** `user_role` (DOC 42701): 0 member, 1 creator, 2 host, 3 creator+host, 4 guest, 5 guest+host, 6 co-host, 7 creator+co-host. */
export function roleOf(userRole: number | undefined): Role {
  switch (userRole) {
    case 0: return 'attendee';
    case 1: return 'creator';
    case 2: case 3: case 5: return 'host';
    case 4: return 'guest';
    case 6: case 7: return 'cohost';
    default: return 'unknown';
  }
}

const ROLE_RANK: Record<Role, number> = { host: 5, cohost: 4, creator: 3, guest: 2, attendee: 1, unknown: 0 };
/** Someone made host half-way through shows as host. */
export function higherRole(a: Role, b: Role): Role {
  return ROLE_RANK[b] > ROLE_RANK[a] ? b : a;
}
