import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake WeCom server API (qyapi.weixin.qq.com/cgi-bin), written from the WeCom docs (91039 gettoken,
 * 98149 get_info, 98821 get_quality, 99050 get_user_meetingid) and go-wecom's generated schemas and
 * testdata (wenerme/go-wecom wecom/client_gen_meeting.go, wecom/testdata/cgi-bin/meeting/*):
 * - gettoken with expiring tokens;
 * - meeting/get_user_meetingid: one member's meeting ids, `limit` "默认值和最大值都为100", a span
 *   "不超过180天", `next_cursor` empty or absent when done, 60111 for an unknown userid, and
 *   "自建应用和第三方应用只能拉取该应用创建的会议ID" (only meetings this app created are listed);
 * - meeting/get_info by meetingid (or meeting_code); the answer has NO meetingid field (the 98149
 *   example and go-wecom's GetMeetingInfoResponse list none);
 * - meeting/get_quality with cursor paging that enforces "limit 最大50" and "limit参数必须与首次
 *   调用获得cursor时传入的limit一致", start_time "过去7天到现在", and the media-room rule (the room that
 *   starts ≥ start_time, nearest to it).
 */

export interface FakeQualityRow {
  userid?: string;
  tmp_openid: string;
  instance_id: number;
  quality: number;
  audio_quality: number;
  video_quality: number;
  screen_share_quality: number;
  network_quality: number;
  problems: string[];
}

export interface FakeMeeting {
  meetingid: string;
  meeting_code: string;
  title: string;
  /** 1 待开始, 2 会议中, 3 已结束, 4 已取消, 5 已过期 */
  status: number;
  meeting_start: number;
  meeting_duration: number;
  admin_userid: string;
  /** When the media room began (first join); defaults to meeting_start. */
  room_start?: number;
  rows: FakeQualityRow[];
  sub_meetings?: { sub_meetingid: string; start_time: number; end_time: number; status?: number }[];
  /** Rows per sub-meeting id, for recurring meetings. */
  subRows?: Record<string, FakeQualityRow[]>;
  /** Force an error envelope on an operation. */
  fail?: Partial<Record<'get_info' | 'get_quality', { errcode: number; errmsg: string }>>;
  /**
   * Userids whose get_user_meetingid list holds this meeting ("获取指定成员指定时间内的所有会议ID",
   * 99050). Default: the organiser (admin_userid) and every member who attended.
   */
  members?: string[];
  /**
   * False for a meeting booked in the WeCom client or by another app: "自建应用和第三方应用只能拉取
   * 该应用创建的会议ID" (99050), so it is in nobody's list. Default true.
   */
  createdByThisApp?: boolean;
}

/**
 * The UNCONFIRMED parts of get_user_meetingid's answer. The doc and go-wecom say `meetingid_list`
 * of strings and a string `next_cursor` that is empty when done; these variants let a test check
 * every other plausible shape.
 */
export interface FakeListShape {
  listField?: 'meetingid_list' | 'meeting_id_list';
  /** Each id as a bare string (doc) or as `{ meetingid }`. */
  items?: 'string' | 'object';
  cursorAs?: 'string' | 'number';
  /** On the last page: leave next_cursor out instead of sending "". */
  omitLastCursor?: boolean;
}

export interface FakeCall {
  op: string;
  body: Record<string, unknown>;
  token?: string;
}

export interface FakeWecomApi {
  url: string;
  calls: FakeCall[];
  count(op: string): number;
  meetings: Map<string, FakeMeeting>;
  add(m: FakeMeeting): void;
  /** Every issued token now answers 42001 (access_token已过期). */
  expireTokens(): void;
  /** Every issued token now answers 40014 (不合法的access_token), as WeCom may do early. */
  revokeTokens(): void;
  /** gettoken answers with this errcode until cleared. */
  tokenError?: { errcode: number; errmsg: string };
  /** The next N requests of an op answer HTTP 500. */
  fail5xx(op: string, times: number): void;
  /** Holds requests of an op until the returned release is called (lets a test look mid-flight). */
  hold(op: string, predicate?: (body: Record<string, unknown>) => boolean): { release(): void; reached: Promise<void> };
  /** Corp members besides those named in meetings; any other userid answers 60111 in get_user_meetingid. */
  users: Set<string>;
  /** get_user_meetingid answers at most this many ids a page even when asked for more (the server may send fewer). */
  listPageSize?: number;
  listShape?: FakeListShape;
  /** get_user_meetingid answers this envelope until cleared. */
  listError?: { errcode: number; errmsg: string };
  /** Called for each request before it is answered. */
  onRequest?: (call: FakeCall) => void | Promise<void>;
  close(): Promise<void>;
}

export const FAKE_CORP_ID = 'ww-fake-corp';
export const FAKE_SECRET = 'fake-meeting-secret';

export async function startFakeWecomApi(opts: { now?: () => number; expiresIn?: number } = {}): Promise<FakeWecomApi> {
  const nowS = () => Math.floor((opts.now ?? Date.now)() / 1000);
  const tokens = new Map<string, 'ok' | 'expired' | 'revoked'>();
  let tokenSeq = 0;
  const calls: FakeCall[] = [];
  const meetings = new Map<string, FakeMeeting>();
  const fail5xx = new Map<string, number>();
  const holds: { op: string; predicate?: (b: Record<string, unknown>) => boolean; gate: Promise<void>; reached: () => void }[] = [];

  const api: FakeWecomApi = {
    url: '',
    users: new Set(),
    calls,
    count: (op) => calls.filter((c) => c.op === op).length,
    meetings,
    add: (m) => void meetings.set(m.meetingid, m),
    expireTokens: () => tokens.forEach((_, k) => tokens.set(k, 'expired')),
    revokeTokens: () => tokens.forEach((_, k) => tokens.set(k, 'revoked')),
    fail5xx: (op, times) => void fail5xx.set(op, times),
    hold(op, predicate) {
      let release!: () => void;
      let reached!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const reachedP = new Promise<void>((r) => (reached = r));
      holds.push({ op, ...(predicate ? { predicate } : {}), gate, reached });
      return { release, reached: reachedP };
    },
    close: () => new Promise((r) => server.close(() => r())),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (obj: unknown, status = 200) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    const op = u.pathname.replace(/^\/cgi-bin\//, '').replace(/^meeting\//, '');

    if (u.pathname === '/cgi-bin/gettoken' && req.method === 'GET') {
      calls.push({ op: 'gettoken', body: {} });
      if (api.tokenError) return send(api.tokenError);
      if (u.searchParams.get('corpid') !== FAKE_CORP_ID) return send({ errcode: 40013, errmsg: 'invalid corpid' });
      if (u.searchParams.get('corpsecret') !== FAKE_SECRET) return send({ errcode: 40001, errmsg: 'invalid credential' });
      const token = `tok-${++tokenSeq}-${'x'.repeat(40)}`;
      tokens.set(token, 'ok');
      return send({ errcode: 0, errmsg: 'ok', access_token: token, expires_in: opts.expiresIn ?? 7200 });
    }
    if (req.method !== 'POST' || !u.pathname.startsWith('/cgi-bin/meeting/')) return send({ errcode: 404, errmsg: 'not found' }, 404);

    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return send({ errcode: 47001, errmsg: 'data format error' });
    }
    const token = u.searchParams.get('access_token') ?? undefined;
    const call: FakeCall = { op, body, ...(token ? { token } : {}) };
    calls.push(call);
    await api.onRequest?.(call);
    for (const h of holds) {
      if (h.op === op && (!h.predicate || h.predicate(body))) {
        h.reached();
        await h.gate;
      }
    }
    const left = fail5xx.get(op) ?? 0;
    if (left > 0) {
      fail5xx.set(op, left - 1);
      res.writeHead(502);
      return void res.end('bad gateway');
    }
    if (!token) return send({ errcode: 41001, errmsg: 'access_token missing' });
    const state = tokens.get(token);
    if (state === undefined || state === 'revoked') return send({ errcode: 40014, errmsg: 'invalid access_token' });
    if (state === 'expired') return send({ errcode: 42001, errmsg: 'access_token expired' });

    if (op === 'get_info') {
      const m = typeof body.meetingid === 'string'
        ? meetings.get(body.meetingid)
        : [...meetings.values()].find((x) => x.meeting_code === body.meeting_code);
      if (body.meetingid === undefined && body.meeting_code === undefined) return send({ errcode: 40058, errmsg: 'meetingid和meeting_code必须填一个' });
      if (!m) return send({ errcode: 400001, errmsg: 'meeting not exist' });
      if (m.fail?.get_info) return send(m.fail.get_info);
      return send({
        errcode: 0, errmsg: 'ok',
        meeting_code: m.meeting_code, title: m.title, admin_userid: m.admin_userid,
        meeting_start: m.meeting_start, meeting_duration: m.meeting_duration, status: m.status,
        meeting_type: m.sub_meetings ? 1 : 0,
        attendees: {
          member: [...new Set(m.rows.filter((r) => r.userid).map((r) => r.userid!))].slice(0, 300).map((userid) => ({
            userid, status: 1, first_join_time: m.room_start ?? m.meeting_start, last_quit_time: m.meeting_start + m.meeting_duration, total_join_count: 1, cumulative_time: m.meeting_duration,
          })),
        },
        ...(m.sub_meetings ? { current_sub_meetingid: m.sub_meetings.at(-1)!.sub_meetingid, sub_meetings: m.sub_meetings } : {}),
      });
    }

    if (op === 'get_user_meetingid') return send(userMeetingIds(body));

    if (op === 'get_quality') {
      const m = typeof body.meetingid === 'string' ? meetings.get(body.meetingid) : undefined;
      if (!m) return send({ errcode: 400001, errmsg: 'meeting not exist' });
      if (m.fail?.get_quality) return send(m.fail.get_quality);
      const start = body.start_time;
      if (typeof start !== 'number' || !Number.isInteger(start)) return send({ errcode: 40058, errmsg: 'start_time required' });
      if (start < nowS() - 7 * 86400 || start > nowS()) return send({ errcode: 40058, errmsg: 'start_time out of range' });
      const limit = body.limit === undefined ? 50 : body.limit;
      if (typeof limit !== 'number' || limit < 1 || limit > 50) return send({ errcode: 40058, errmsg: 'invalid limit' });
      let rows = m.rows;
      let roomStart = m.room_start ?? m.meeting_start;
      if (m.sub_meetings) {
        const sub = m.sub_meetings.find((s) => s.sub_meetingid === body.sub_meetingid);
        if (!sub) return send({ errcode: 40058, errmsg: 'sub_meetingid required for a recurring meeting' });
        rows = m.subRows?.[sub.sub_meetingid] ?? [];
        roomStart = sub.start_time;
      }
      // "开始时间大于等于 start_time 且离 start_time 最近的一个媒体房间": a start_time after the room began misses it.
      if (roomStart < start) rows = [];
      let offset = 0;
      if (typeof body.cursor === 'string' && body.cursor !== '') {
        let c: { o: number; l: number };
        try {
          c = JSON.parse(Buffer.from(body.cursor, 'base64url').toString('utf8')) as { o: number; l: number };
        } catch {
          return send({ errcode: 40058, errmsg: 'invalid cursor' });
        }
        if (c.l !== limit) return send({ errcode: 40058, errmsg: 'limit must equal the limit used for the first page' });
        offset = c.o;
      }
      const page = rows.slice(offset, offset + limit);
      const more = offset + limit < rows.length;
      const quality = rows.some((r) => r.quality === 2) ? 2 : rows.length ? 1 : 0;
      const worst = (k: keyof FakeQualityRow) => Math.max(0, ...rows.map((r) => r[k] as number));
      return send({
        errcode: 0, errmsg: 'ok', quality,
        audio_quality: worst('audio_quality'), video_quality: worst('video_quality'), screen_share_quality: worst('screen_share_quality'), network_quality: worst('network_quality'),
        problems: [...new Set(rows.flatMap((r) => r.problems))].slice(0, 5),
        attendees: page,
        next_cursor: more ? Buffer.from(JSON.stringify({ o: offset + limit, l: limit })).toString('base64url') : '',
        has_more: more,
      });
    }
    return send({ errcode: 40058, errmsg: `unknown api ${op}` });
  }

  function membersOf(m: FakeMeeting): string[] {
    return m.members ?? [m.admin_userid, ...m.rows.filter((r) => r.userid).map((r) => r.userid!)];
  }

  /** get_user_meetingid (99050; request and answer as go-wecom GetUserMeetingIdRequest/Response). */
  function userMeetingIds(body: Record<string, unknown>): Record<string, unknown> {
    const userid = body.userid;
    if (api.listError) return api.listError;
    if (typeof userid !== 'string' || userid === '') return { errcode: 40058, errmsg: 'userid required' };
    const known = api.users.has(userid) || [...meetings.values()].some((m) => m.admin_userid === userid || membersOf(m).includes(userid));
    // 60111: "UserID不存在" (WeCom global error codes, 96213).
    if (!known) return { errcode: 60111, errmsg: `userid not found, userid: ${userid}` };
    const limit = body.limit === undefined ? 100 : body.limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100) return { errcode: 40058, errmsg: 'invalid limit, limit should be in [1, 100]' };
    const now = nowS();
    // "如果begin_time和end_time都没填的话，默认end_time为当前时间": end defaults to now.
    const end = body.end_time === undefined ? now : body.end_time;
    if (typeof end !== 'number' || !Number.isInteger(end)) return { errcode: 40058, errmsg: 'invalid end_time' };
    const begin = body.begin_time === undefined ? end - 180 * 86400 : body.begin_time;
    if (typeof begin !== 'number' || !Number.isInteger(begin)) return { errcode: 40058, errmsg: 'invalid begin_time' };
    if (begin > end) return { errcode: 40058, errmsg: 'begin_time must not be after end_time' };
    if (end - begin > 180 * 86400) return { errcode: 40058, errmsg: 'time span exceeds 180 days' };
    let offset = 0;
    const cursor = body.cursor;
    if (cursor !== undefined && cursor !== '' && cursor !== '0') {
      // The doc types cursor as a string ("初次调用可以填\"0\""); a number is accepted here too.
      if (typeof cursor !== 'string' && typeof cursor !== 'number') return { errcode: 40058, errmsg: 'invalid cursor' };
      const n = Number(cursor);
      if (!Number.isInteger(n) || n < 0) return { errcode: 40058, errmsg: 'invalid cursor' };
      offset = n;
    }
    // The time filter is on the meeting's own start (UNCONFIRMED; for a recurring meeting that is
    // the series start, which makes a series begun long ago the hard case).
    const ids = [...meetings.values()]
      .filter((m) => m.createdByThisApp !== false && membersOf(m).includes(userid) && m.meeting_start >= begin && m.meeting_start <= end)
      .map((m) => m.meetingid);
    const size = Math.min(limit, api.listPageSize ?? limit);
    const page = ids.slice(offset, offset + size);
    const more = offset + size < ids.length;
    const shape = api.listShape ?? {};
    const next = more ? (shape.cursorAs === 'number' ? offset + size : String(offset + size)) : '';
    return {
      errcode: 0, errmsg: 'ok',
      ...(more || !shape.omitLastCursor ? { next_cursor: next } : {}),
      [shape.listField ?? 'meetingid_list']: shape.items === 'object' ? page.map((meetingid) => ({ meetingid })) : page,
    };
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

/** A deterministic attendee row: `worst` sets audio/network; 3+ means alert with a problem. */
export function qualityRow(i: number, worst = 1, over: Partial<FakeQualityRow> = {}): FakeQualityRow {
  return {
    userid: `user${String(i).padStart(4, '0')}`,
    tmp_openid: `tmp${i}`,
    instance_id: i % 5,
    quality: worst >= 3 ? 2 : 1,
    audio_quality: worst,
    video_quality: 1,
    screen_share_quality: 0,
    network_quality: worst,
    problems: worst >= 3 ? ['网络丢包率高'] : [],
    ...over,
  };
}

export function fakeMeeting(over: Partial<FakeMeeting> & { rows: FakeQualityRow[] }, nowMs = Date.now()): FakeMeeting {
  const start = Math.floor(nowMs / 1000) - 3 * 3600;
  return {
    meetingid: 'hyMEETING1', meeting_code: '123456789', title: '周例会', status: 3,
    // The organiser is the member the bot tests and benches send their commands as, so their
    // get_user_meetingid list holds the meeting.
    meeting_start: start, meeting_duration: 3600, admin_userid: 'zhangsan',
    ...over,
  };
}
