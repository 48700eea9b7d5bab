import type { Dispatcher } from 'undici';
import type { Clock } from '../../core/clock.js';
import { atWindow } from '../../core/command.js';
import { MeetcheckError } from '../../core/errors.js';
import type { Lang } from '../../core/i18n.js';
import type { Attendee, DeviceKind, Health, Level, MeetingInfo, MeetingReport, Ratings, ReportNote, Role } from '../../core/model.js';
import type { FetchOptions, VendorClient, VendorQuery } from '../../core/vendor.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import type { Store } from '../../store/types.js';
import { createWecomApi, type WecomApi } from './api.js';
import { createCodeLookup, wecomAsker } from './lookup.js';
import { normaliseCode, num, str, type Obj } from './wire.js';
import { defineVendor } from '../registration.js';
import { wecomConfigFrom } from './config.js';

/**
 * WeCom meetings: a meeting code is found through the members' meeting lists (lookup.ts, WeCom
 * docs 99050 + 98149), a typed meetingid goes straight to `meeting/get_info` (98149) for the start
 * time and occurrences, then `meeting/get_quality` (98821) pages through every attendee with a
 * cursor. WeCom gives ratings directly, so nothing is derived here.
 */

export interface WecomVendorOptions {
  corpId: string;
  secret: string;
  baseUrl: string;
  /** Holds the code → meetingid cache (shared by replicas on Redis). */
  store: Store;
  /** WECOM_MEETING_ADMINS: members whose meeting lists are searched after the asker's. */
  admins?: readonly string[];
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  dispatcher?: Dispatcher;
  /** Per HTTP call. */
  timeoutMs?: number;
  retryDelayMs?: number;
}

export type WecomVendor = VendorClient & { readonly api: WecomApi };

/** get_quality: "分页大小，默认50，最大50", and every page must use the limit the cursor was issued with. */
export const QUALITY_PAGE_LIMIT = 50;
/** get_quality start_time: "可查询的时间区间为过去7天到现在" (WeCom doc 98821). */
const MAX_AGE_S = 7 * 86_400;
/** A start_time this close to the 7-day edge could fall off it on the way; such a room counts as too old. */
const EDGE_MARGIN_S = 60;
/** A runaway cursor chain (has_more forever) stops here: 100,000 device rows. */
const MAX_PAGES = 2000;
/** People join early; a recurring occurrence's media room may start this long before its slot. */
const EARLY_JOIN_S = 30 * 60;

/** instance_id (WeCom doc 98821, Attendee 说明). */
const DEVICES: Record<number, DeviceKind> = {
  0: 'pstn', 1: 'pc', 2: 'mac', 3: 'android', 4: 'ios', 5: 'web', 6: 'ipad', 7: 'android_pad', 8: 'mini_program', 9: 'sip', 10: 'linux',
  20: 'rooms', 21: 'rooms', 22: 'rooms', 30: 'controller', 31: 'controller', 32: 'controller', 33: 'controller',
};

/** get_info status (WeCom doc 98149): 1 待开始, 2 会议中, 3 已结束, 4 已取消, 5 已过期. */
const STATUS = { upcoming: 1, live: 2, ended: 3, cancelled: 4, expired: 5 } as const;
/** sub_meetings[].status of an occurrence deleted from its series (the official wecom-cli skill's schema). */
const STATUS_DELETED_SUB = 1;

export function createWecomVendor(opts: WecomVendorOptions): WecomVendor {
  const api = createWecomApi({
    corpId: opts.corpId, secret: opts.secret, baseUrl: opts.baseUrl, clock: opts.clock, log: opts.log,
    http: { metrics: opts.metrics, clock: opts.clock, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) },
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
  });
  const lookup = createCodeLookup({ api, store: opts.store, clock: opts.clock, log: opts.log, corpId: opts.corpId, admins: opts.admins ?? [] });

  return {
    name: 'wecom',
    api,
    async fetchReport(query: VendorQuery, fetch: FetchOptions): Promise<MeetingReport> {
      const started = opts.clock.now();
      const { meetingId, info } = await findMeeting(api, lookup, query, fetch);
      const target = resolveMeeting(opts, query, meetingId, info);
      const attendees: Attendee[] = [];
      const keys = new Map<string, number>();
      let overall: { health: Health; ratings: Ratings; problems: string[] } | undefined;
      let cursor: string | undefined;
      let complete = true;
      for (let page = 0; ; page++) {
        const body: Record<string, unknown> = { meetingid: target.meeting.meetingId, start_time: target.startTime, limit: QUALITY_PAGE_LIMIT };
        if (target.meeting.subMeetingId) body.sub_meetingid = target.meeting.subMeetingId;
        if (cursor) body.cursor = cursor;
        const json = await api.post('get_quality', '/cgi-bin/meeting/get_quality', body, fetch.signal);
        overall ??= { health: health(json.quality), ratings: ratingsOf(json), problems: strings(json.problems) };
        for (const raw of Array.isArray(json.attendees) ? json.attendees : []) {
          if (raw && typeof raw === 'object') attendees.push(toAttendee(raw as Record<string, unknown>, target, keys, query.lang));
        }
        fetch.onProgress?.({ loaded: attendees.length });
        const next = typeof json.next_cursor === 'string' ? json.next_cursor : '';
        if (json.has_more !== true) break;
        if (!next || next === cursor || page + 1 >= MAX_PAGES) {
          opts.log.warn({ op: 'get_quality', page, hasCursor: Boolean(next) }, 'wecom get_quality: has_more without a new cursor; stopping');
          complete = false;
          break;
        }
        if (fetch.deadline !== undefined && opts.clock.now() >= fetch.deadline) {
          complete = false;
          break;
        }
        cursor = next;
      }
      const notes: ReportNote[] = [...target.notes];
      if (!complete) {
        const seconds = fetch.deadline !== undefined ? Math.max(1, Math.round((fetch.deadline - started) / 1000)) : 60;
        notes.unshift({ key: 'summary.partial', params: { reason: { key: 'note.partial.deadline', params: { seconds, loaded: attendees.length } } } });
      }
      if (attendees.length === 0) {
        // get_quality "仅允许查询该应用创建的会议的数据", "仅返回在应用可见范围内的成员": an empty
        // answer for an ended meeting most likely means one of those, so say so.
        notes.push({ key: 'err.meeting_not_created_by_app' });
      }
      return {
        meeting: target.meeting,
        health: overall?.health ?? 0,
        ratings: overall?.ratings ?? { audio: 0, video: 0, screen: 0, network: 0 },
        problems: overall?.problems ?? [],
        attendees,
        complete,
        notes,
      };
    },
  };
}

interface Target {
  meeting: MeetingInfo;
  startTime: number;
  adminUserId?: string;
  joined: Map<string, { first?: number; last?: number }>;
  notes: ReportNote[];
}

/** A typed meetingid goes to get_info as it is; a code is looked up (lookup.ts). */
async function findMeeting(api: WecomApi, lookup: ReturnType<typeof createCodeLookup>, query: VendorQuery, fetch: FetchOptions): Promise<{ meetingId: string; info: Obj }> {
  const { code, id } = query.meeting;
  if (id) return { meetingId: id, info: await api.post('get_info', '/cgi-bin/meeting/get_info', { meetingid: id }, fetch.signal) };
  if (!code) throw new MeetcheckError('meeting_not_found', 'wecom: no meeting code or id', { vendor: 'wecom' });
  const asker = wecomAsker(query.asker);
  const found = await lookup.find({
    code,
    ...(asker ? { askerUserId: asker } : {}),
    ...(query.at ? { at: query.at } : {}),
    ...(fetch.signal ? { signal: fetch.signal } : {}),
    ...(fetch.deadline !== undefined ? { deadline: fetch.deadline } : {}),
  });
  return found;
}

function resolveMeeting(opts: WecomVendorOptions, query: VendorQuery, meetingId: string, info: Obj): Target {
  const { code } = query.meeting;
  const nowS = Math.floor(opts.clock.now() / 1000);
  const status = Number(info.status);
  const start = num(info.meeting_start);
  const duration = num(info.meeting_duration) ?? 0;
  const joined = joinTimes(info.attendees);
  const notes: ReportNote[] = [];
  const meeting: MeetingInfo = {
    vendor: 'wecom', meetingId, ended: true,
    ...(code ?? normaliseCode(info.meeting_code) ? { code: (code ?? normaliseCode(info.meeting_code))! } : {}),
    ...(str(info.title) ? { subject: str(info.title)! } : {}),
  };
  const admin = str(info.admin_userid);
  const subs = subMeetings(info.sub_meetings);

  // get_quality answers "开始时间大于等于 start_time 且离 start_time 最近的一个媒体房间" (98821), and
  // start_time may reach back 7 days at most. So start_time is the earliest the room can have begun,
  // raised to the 7-day edge only when that still lies at or before the room's start: raising it
  // past the start would silently report a later room (or none). A room that began before the edge
  // is too old to report.
  const edge = nowS - MAX_AGE_S + EDGE_MARGIN_S;
  let earliest: number;
  let roomStart: number;
  if (subs.length > 0 || str(info.current_sub_meetingid)) {
    const sub = pickSubMeeting(subs, str(info.current_sub_meetingid), query, nowS);
    if (!sub) throw new MeetcheckError(query.at ? 'meeting_not_found' : 'meeting_not_ended', `wecom: no ended occurrence${query.at ? ` on ${query.at.date}` : ''}`, { vendor: 'wecom' });
    meeting.subMeetingId = sub.id;
    if (sub.start !== undefined) meeting.startTime = sub.start;
    if (sub.end !== undefined) meeting.endTime = sub.end;
    if (sub.end !== undefined && sub.end > nowS) throw new MeetcheckError('meeting_not_ended', undefined, { vendor: 'wecom' });
    const ended = subs.filter((s) => s.end !== undefined && s.end <= nowS && nowS - (s.start ?? 0) <= MAX_AGE_S);
    if (!query.at && ended.length > 1 && sub.start !== undefined) {
      notes.push({ key: 'note.multipleMeetings', params: { count: ended.length, start: { time: sub.start } } });
    }
    // An occurrence's join times are not in get_info; its slot is the best guess of its room's
    // start, and the early-join allowance before it is a guess that may be clipped at the edge.
    roomStart = sub.start ?? start ?? nowS;
    earliest = roomStart - EARLY_JOIN_S;
  } else {
    if (status === STATUS.upcoming || status === STATUS.live) throw new MeetcheckError('meeting_not_ended', undefined, { vendor: 'wecom' });
    if (status === STATUS.cancelled || status === STATUS.expired) {
      throw new MeetcheckError('meeting_not_found', `wecom: meeting ${status === STATUS.cancelled ? 'cancelled' : 'expired'} (status ${status})`, { vendor: 'wecom' });
    }
    if (start !== undefined) meeting.startTime = start;
    if (start !== undefined && duration) meeting.endTime = start + duration;
    // "从第一个人入会到会中成员全部离开会议形成一个媒体房间" (98821): the room begins with the first
    // join, which may be before meeting_start (people join early) or after it (a late start).
    const firstJoin = Math.min(...[...joined.values()].map((j) => j.first ?? Infinity));
    earliest = Math.min(start ?? Infinity, firstJoin);
    roomStart = Number.isFinite(firstJoin) ? firstJoin : earliest;
    if (!Number.isFinite(earliest)) throw new MeetcheckError('meeting_not_found', 'wecom get_info: no start time', { vendor: 'wecom' });
  }
  if (roomStart < edge) {
    opts.log.info({ meetingId, roomStart, edge }, 'wecom media room began before get_quality\'s 7-day window');
    throw new MeetcheckError('meeting_too_old', undefined, { vendor: 'wecom' });
  }
  const startTime = Math.max(earliest, edge);
  return { meeting, startTime, joined, notes, ...(admin ? { adminUserId: admin } : {}) };
}

interface Sub {
  id: string;
  start?: number;
  end?: number;
}

/**
 * sub_meetings[]: `{sub_meetingid, status, start_time, end_time, title, repeat_id}` in go-wecom's
 * SubMeeting; sub_meeting_id is accepted too. status 1 marks an occurrence deleted from the series
 * (the official wecom-cli skill's schema): it had no room, so it is never picked.
 */
function subMeetings(raw: unknown): Sub[] {
  if (!Array.isArray(raw)) return [];
  const out: Sub[] = [];
  for (const s of raw) {
    if (!s || typeof s !== 'object') continue;
    const o = s as Record<string, unknown>;
    const id = str(o.sub_meetingid) ?? str(o.sub_meeting_id);
    if (!id || num(o.status) === STATUS_DELETED_SUB) continue;
    const start = num(o.start_time);
    const end = num(o.end_time);
    out.push({ id, ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) });
  }
  return out;
}

/** With --at: the occurrence in that window. Without: the latest one that has ended. */
function pickSubMeeting(subs: Sub[], current: string | undefined, query: VendorQuery, nowS: number): Sub | undefined {
  if (query.at) {
    const w = atWindow(query.at);
    return subs.filter((s) => s.start !== undefined && s.start >= w.from && s.start < w.to).sort((a, b) => b.start! - a.start!)[0];
  }
  const ended = subs.filter((s) => s.start !== undefined && s.start <= nowS && (s.end === undefined || s.end <= nowS)).sort((a, b) => b.start! - a.start!);
  if (ended[0]) return ended[0];
  return subs.length === 0 && current ? { id: current } : undefined;
}

function joinTimes(raw: unknown): Map<string, { first?: number; last?: number }> {
  const map = new Map<string, { first?: number; last?: number }>();
  if (!raw || typeof raw !== 'object') return map;
  const a = raw as Record<string, unknown>;
  for (const list of [a.member, a.tmp_external_user]) {
    if (!Array.isArray(list)) continue;
    for (const m of list) {
      if (!m || typeof m !== 'object') continue;
      const o = m as Record<string, unknown>;
      const who = str(o.userid) ?? str(o.tmp_external_userid);
      if (!who) continue;
      const first = num(o.first_join_time);
      const last = num(o.last_quit_time);
      map.set(who, { ...(first ? { first } : {}), ...(last ? { last } : {}) });
    }
  }
  return map;
}

function toAttendee(o: Record<string, unknown>, target: Target, keys: Map<string, number>, _lang: Lang): Attendee {
  const userid = str(o.userid);
  const openid = str(o.tmp_openid);
  const instance = num(o.instance_id);
  const device: DeviceKind = instance !== undefined ? DEVICES[instance] ?? 'unknown' : 'unknown';
  // One row per person per device (instance_id differs); keys stay unique even if WeCom repeats one.
  const base = `${userid ?? openid ?? 'anon'}#${instance ?? '?'}`;
  const seen = keys.get(base) ?? 0;
  keys.set(base, seen + 1);
  const role: Role = !userid ? 'guest' : userid === target.adminUserId ? 'creator' : 'attendee';
  // get_quality gives userid/tmp_openid only; resolving names would cost one user/get per person
  // and the contacts permission, so the card shows the userid.
  // A guest has no userid: the card's role label says "guest"; the name is the tail of its tmp_openid.
  const name = userid ?? ((openid ?? '').slice(-6) || '?');
  const times = userid ? target.joined.get(userid) : undefined;
  return {
    key: seen ? `${base}#${seen}` : base,
    name, device, role,
    ...(times?.first ? { joinedAt: times.first } : {}),
    ...(times?.last ? { leftAt: times.last } : {}),
    health: health(o.quality),
    ratings: ratingsOf(o),
    problems: strings(o.problems),
    loaded: true,
  };
}

function ratingsOf(o: Record<string, unknown>): Ratings {
  return { audio: level(o.audio_quality), video: level(o.video_quality), screen: level(o.screen_share_quality), network: level(o.network_quality) };
}

/** Anything outside the documented enum is "no data", never "good". */
function level(v: unknown): Level {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 4 ? (n as Level) : 0;
}

function health(v: unknown): Health {
  const n = Number(v);
  return n === 1 || n === 2 ? n : 0;
}

/** `problems` enum is UNCONFIRMED: shown verbatim (escaped by the renderers), bounded. */
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '').map((s) => s.slice(0, 200)).slice(0, 20) : [];
}

/** The registration (vendors/index.ts): 企业微信 meetings, on with WECOM_CORP_ID + WECOM_MEETING_SECRET. */
export const wecom = defineVendor({
  name: 'wecom',
  aliases: ['wework', '企业微信', '企微'],
  configFrom: wecomConfigFrom,
  create: (config, deps) => createWecomVendor({ ...config, ...deps }),
});
