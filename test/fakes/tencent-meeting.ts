import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Tencent Meeting REST API (api.meeting.qq.com) written from Tencent's pages
 * (cloud.tencent.com/document/product/1095/N, cited as DOC N) and official SDKs, not from our client:
 * it checks every request's signature exactly as documented (DOC 42413/43551: header names
 * case-sensitive, SecretId in X-TC-Key, base64 of the lowercase hex HMAC over
 * METHOD\nX-TC-Key=…&X-TC-Nonce=…&X-TC-Timestamp=…\n<URI as received>\n<body>), the 5-minute clock
 * rule and nonce replays, SdkId only when assigned, and answers in the documented error envelope
 * (DOC 43704) with the documented rate limits (DOC 105276).
 *
 * Meetings hold media rooms (DOC 80575: a room runs from the first join until everyone has left; a
 * later rejoin opens a new room). What each endpoint sees of them follows its own page:
 * - `GET /v1/meetings?meeting_code=` and `GET /v1/meetings/{id}` no longer return a one-time meeting
 *   that was ended or is more than 1 h past its scheduled end, nor any other meeting 30 days past
 *   its end (DOC 42418); recurring meetings show only their first sub-meeting unless
 *   is_show_all_sub_meetings=1 (DOC 42421); by id, operator_id + operator_id_type are required.
 * - `GET /v1/corp/meetings?meeting_state=1` lists ended rooms account-wide, admin only, 100 a minute
 *   (190313), start_time/end_time in milliseconds per media room (DOC 52492).
 * - `GET /v1/history/meetings/{userid}` lists the ended meetings that user created or attended,
 *   20 a page, times in seconds (DOC 53805; SDK V1HistoryMeetingsUseridGet).
 * - `/quality` answers the first ended room starting at or after start_time (DOC 80575).
 */

export interface FakeAttendee {
  userid?: string;
  msOpenId: string;
  /** Plain text; the fake sends it base64-encoded as the API does. */
  name: string;
  instanceid: number;
  userRole?: number;
  /** Join sessions [join, left?] in unix seconds; left undefined = still in. */
  sessions: [number, number | undefined][];
  /** Per-device health as /quality reports it; absent = not in /quality. */
  quality?: { quality: number; audio: number; video: number; screen: number; network: number; problems?: string[] };
  /** Live samples for /qos (strings on the wire, as documented). */
  qos?: { delay: number; upLoss: number; downLoss: number; audioKbps: number; videoFps: number; videoKbps: number }[];
}

export type FakeQuality = { quality: number; audio: number; video: number; screen: number; network: number; problems?: string[] };

/** One media room: from the first join until everyone has left (DOC 80575). */
export interface FakeRoom {
  /** Unix seconds of the first join. */
  start: number;
  /** Unix seconds when the last person left; absent while the room is in progress. */
  end?: number;
  /** The occurrence of a recurring meeting this room belongs to. */
  subMeetingId?: string;
  attendees: FakeAttendee[];
  meetingQuality?: FakeQuality;
  /** Ended, but not in the ended-meeting lists yet (how long they lag the end is UNCONFIRMED). */
  unlisted?: boolean;
}

export interface FakeMeeting {
  meetingId: string;
  code: string;
  subject: string;
  /** What /v1/meetings says while it still returns the meeting (SDK status vocabulary, GO model.go). */
  status: 'MEETING_STATE_INIT' | 'MEETING_STATE_STARTED' | 'MEETING_STATE_ENDED' | 'MEETING_STATE_CANCELLED' | 'MEETING_STATE_NULL';
  meetingType?: number;
  /** Scheduled start and end, unix seconds. */
  startTime: number;
  endTime: number;
  /** 主动结束: the host ended it, so /v1/meetings no longer returns a one-time meeting (DOC 42418). */
  endedByHost?: boolean;
  /** The creator's userid (the history list shows meetings a user created or attended). */
  creator?: string;
  currentSubMeetingId?: string;
  /** `deleted`: sub_meetings[].status 1 (GO model.go V1MeetingsGet200ResponseMeetingInfoListInnerSubMeetingsInner). */
  subMeetings?: { subMeetingId: string; startTime: number; endTime: number; deleted?: boolean }[];
  /**
   * The meeting's media rooms. Without it: one room per occurrence (`bySub`) or for the meeting
   * (`attendees`), from the first join to the last leave (in progress while anyone is still in).
   */
  rooms?: FakeRoom[];
  /** Occurrence → attendees, for recurring meetings; otherwise `attendees`. */
  bySub?: Record<string, FakeAttendee[]>;
  attendees?: FakeAttendee[];
  meetingQuality?: FakeQuality;
}

export interface FakeFailure {
  /** Matched against the request path (without query). */
  path: RegExp;
  status: number;
  errorCode: number;
  message?: string;
  /** How many requests fail; Infinity for all. */
  times: number;
}

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  rawHeaders: Record<string, string>;
  outcome: number;
}

export interface FakeTencentOptions {
  appId: string;
  sdkId?: string;
  secretId: string;
  secretKey: string;
  now: () => number;
  /** Enterprise admin userid allowed as operator. */
  operatorId: string;
  /** Answer /quality with this code (add-on not bought), e.g. 9042 or 500014. */
  qualityAddonMissing?: number;
  /**
   * How /v1/meetings answers for a meeting it no longer returns (DOC 42418 says only "不在会议列表中返回"):
   * an empty meeting_info_list, or 9003 "会议信息不存在" (the default). UNCONFIRMED which.
   */
  unlistedAnswer?: 'empty' | 'error';
  /** Unit of corp/meetings start_time/end_time: DOC 52492 says ms (the default); 's' plays a server that disagrees. */
  corpTimeUnit?: 'ms' | 's';
  /** corp/meetings leaves out sub_meeting_id (DOC 52492 says occurrences carry it; plays a server that does not). */
  corpOmitsSubMeetingId?: boolean;
  /** How corp/meetings reads its start_time/end_time query: seconds (the default, as DOC 52490 says for that endpoint) or ms. */
  corpQueryUnit?: 's' | 'ms';
  /** Unit of history start_time/end_time: the SDK says seconds (the default); 'ms' plays the other reading. */
  historyTimeUnit?: 's' | 'ms';
  /**
   * What a history item's start_time/end_time are: the media room's own times (the default), or the
   * scheduled ones (DOC 53805 says only "会议开始时间戳": UNCONFIRMED which).
   */
  historyTimes?: 'room' | 'scheduled';
}

export interface FakeTencent {
  url: string;
  meetings: FakeMeeting[];
  calls: Call[];
  failures: FakeFailure[];
  /** Most requests handled at the same time (shows parallel paging). */
  maxInFlight: number;
  /**
   * Holds matching requests for page 2 on until `size` of them wait together (or all `expected` have come), then
   * answers them at once: a client that pages one at a time never gets past it.
   */
  barrier?: { path: RegExp; size: number; expected: number };
  /** How many times the barrier opened. */
  barrierWaves: number;
  options: FakeTencentOptions;
  close(): Promise<void>;
}

const REQUIRED = ['X-TC-Key', 'X-TC-Timestamp', 'X-TC-Nonce', 'X-TC-Signature', 'AppId'];
/** DOC 105276: 300 calls a minute per app; /qos 30 a minute per meeting (DOC 104578). */
const APP_LIMIT = 300;
const QOS_LIMIT = 30;
/** DOC 52492/105276: account-level endpoints, 100 a minute per app (190313). */
const CORP_LIMIT = 100;

export async function startFakeTencent(options: FakeTencentOptions): Promise<FakeTencent> {
  const seenNonces = new Map<string, number>();
  const appCalls: number[] = [];
  const qosCalls = new Map<string, number[]>();
  const corpCalls: number[] = [];
  let inFlight = 0;
  const fake: FakeTencent = { url: '', meetings: [], calls: [], failures: [], maxInFlight: 0, barrierWaves: 0, options, close: async () => undefined };
  const held: (() => void)[] = [];
  let heldTotal = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight++;
      fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
      const answer = () => {
        inFlight--;
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      };
      const b = fake.barrier;
      const u = new URL(req.url ?? '/', 'http://fake');
      // Page 1 comes alone (it says how many pages there are); the barrier is for the rest.
      if (b && b.path.test(u.pathname) && (u.searchParams.get('page') ?? '1') !== '1' && heldTotal < b.expected) {
        held.push(answer);
        heldTotal++;
        if (held.length >= b.size || heldTotal >= b.expected) {
          fake.barrierWaves++;
          for (const f of held.splice(0)) f();
        }
        return;
      }
      setImmediate(answer);
    });
  });

  function send(res: ServerResponse, call: Call, status: number, body: unknown) {
    call.outcome = status;
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-TC-Trace': `trace-${fake.calls.length}` });
    res.end(JSON.stringify(body));
  }
  function fail(res: ServerResponse, call: Call, status: number, code: number, message: string) {
    // Newer responses carry new_error_code = a prefix plus the old code (GO core/errors.go NewErrorCode).
    send(res, call, status, { error_info: { error_code: code, new_error_code: Number(`200${code}`), message } });
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const rawUri = req.url ?? '/';
    const parsed = new URL(rawUri, 'http://fake');
    const raw: Record<string, string> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) raw[req.rawHeaders[i]!] = req.rawHeaders[i + 1]!;
    const call: Call = { method: req.method ?? '', path: parsed.pathname, query: parsed.searchParams, rawHeaders: raw, outcome: 0 };
    fake.calls.push(call);

    // DOC 42413: names are case-sensitive; read them exactly as spelled in the docs.
    for (const h of REQUIRED) if (raw[h] === undefined) return fail(res, call, 400, 200001, `API 请求头缺失必填字段 ${h}`);
    if (raw.AppId !== options.appId || raw['X-TC-Key'] !== options.secretId) return fail(res, call, 400, 190303, '鉴权失败：请检查请求头公共参数里字段AppId和X-TC-Key内容是否正确，字段SdkId如未分配不要携带。');
    if (options.sdkId ? raw.SdkId !== options.sdkId : raw.SdkId !== undefined) return fail(res, call, 400, 190303, '鉴权失败：字段SdkId如未分配不要携带。');
    if (raw['X-TC-Registered'] !== undefined && raw['X-TC-Registered'] !== '1') return fail(res, call, 400, 190004, 'X-TC-Registered must be 1');
    const ts = raw['X-TC-Timestamp']!;
    const nonce = raw['X-TC-Nonce']!;
    if (!/^\d{1,12}$/.test(ts) || Math.abs(Number(ts) - options.now() / 1000) > 300) return fail(res, call, 400, 190300, 'X-TC-Timestamp 与服务器时间相差超过5分钟');
    if (!/^[1-9]\d*$/.test(nonce)) return fail(res, call, 400, 200003, 'Signature failed!');
    const stringToSign = `${req.method}\nX-TC-Key=${raw['X-TC-Key']}&X-TC-Nonce=${nonce}&X-TC-Timestamp=${ts}\n${rawUri}\n${body}`;
    const expected = Buffer.from(createHmac('sha256', options.secretKey).update(stringToSign, 'utf8').digest('hex'), 'utf8').toString('base64');
    const got = Buffer.from(raw['X-TC-Signature']!, 'utf8');
    const want = Buffer.from(expected, 'utf8');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return fail(res, call, 400, 200003, 'Signature failed!');
    // DOC 42413: (timestamp, nonce) must not repeat within 5 minutes (190301).
    const replayKey = `${ts}|${nonce}`;
    if (seenNonces.has(replayKey)) return fail(res, call, 400, 190301, '请求重放错误');
    seenNonces.set(replayKey, options.now());
    if (req.method === 'GET' && body !== '') return fail(res, call, 400, 200003, 'Signature failed!');

    const now = options.now();
    prune(appCalls, now);
    if (appCalls.length >= APP_LIMIT) return fail(res, call, 500, 190310, '每分钟总接口调用次数超过限制');
    appCalls.push(now);

    const injected = fake.failures.find((f) => f.times > 0 && f.path.test(parsed.pathname));
    if (injected) {
      injected.times--;
      return fail(res, call, injected.status, injected.errorCode, injected.message ?? 'injected');
    }
    route(res, call, parsed);
  }

  function route(res: ServerResponse, call: Call, u: URL) {
    const q = u.searchParams;
    const nowS = options.now() / 1000;
    let m: RegExpExecArray | null;
    if (u.pathname === '/v1/meetings') {
      // By code: userid + instanceid (GO api.go V1MeetingsGet; operator_id_type there is rooms only).
      const code = q.get('meeting_code');
      if (!code || !q.get('userid') || !q.get('instanceid')) return fail(res, call, 400, 190004, '参数非法');
      const all = fake.meetings.filter((x) => x.code === code);
      const found = all.filter((x) => listed(x, nowS));
      if (found.length === 0) {
        if (all.length > 0 && options.unlistedAnswer === 'empty') return send(res, call, 200, { meeting_number: 0, meeting_info_list: [] });
        return fail(res, call, 400, 9003, '会议信息不存在');
      }
      return send(res, call, 200, { meeting_number: found.length, meeting_info_list: found.map((x) => info(x, q)) });
    }
    if ((m = /^\/v1\/meetings\/(\d+)$/.exec(u.pathname))) {
      // By id: operator_id + operator_id_type + instanceid, all required; no userid (DOC 42418; GO api.go
      // V1MeetingsMeetingIdGet; PY api.py). The legacy `userid` alone is refused.
      if (!q.get('operator_id') || !q.get('operator_id_type') || !q.get('instanceid')) return fail(res, call, 400, 190004, '参数非法：operator_id、operator_id_type 必填');
      if (q.get('operator_id') !== options.operatorId || q.get('operator_id_type') !== '1') return fail(res, call, 403, 9042, '无权限操作');
      const found = fake.meetings.find((x) => x.meetingId === m![1]);
      if (!found || !listed(found, nowS)) {
        if (found && options.unlistedAnswer === 'empty') return send(res, call, 200, { meeting_number: 0, meeting_info_list: [] });
        return fail(res, call, 400, 9003, '会议信息不存在');
      }
      return send(res, call, 200, { meeting_number: 1, meeting_info_list: [info(found, q)] });
    }
    if (u.pathname === '/v1/corp/meetings') return corpMeetings(res, call, q);
    if ((m = /^\/v1\/history\/meetings\/([^/]+)$/.exec(u.pathname))) return history(res, call, q, decodeURIComponent(m[1]!));
    if ((m = /^\/v1\/meetings\/(\d+)\/(quality|participants|qos)$/.exec(u.pathname))) {
      const meeting = fake.meetings.find((x) => x.meetingId === m![1]);
      if (!meeting) return fail(res, call, 400, 9003, '会议信息不存在');
      // /qos takes no sub_meeting_id (DOC 104578): it is the room in progress.
      if (m[2] === 'qos') return qos(res, call, q, meeting, roomsOf(meeting));
      const sub = q.get('sub_meeting_id') ?? undefined;
      if (meeting.meetingType === 1 && !sub) return fail(res, call, 400, 190004, '参数非法：周期性会议 sub_meeting_id 必传');
      const rooms = roomsOf(meeting).filter((r) => meeting.meetingType !== 1 || r.subMeetingId === sub);
      if (m[2] === 'quality') return quality(res, call, q, meeting, rooms);
      return participants(res, call, q, meeting, rooms);
    }
    return fail(res, call, 400, 190004, '不受支持的REST API');
  }

  /** DOC 80575: ended meetings only; operator, page ≥ 1, page_size 1–50 and start_time within 7 days required. */
  function quality(res: ServerResponse, call: Call, q: URLSearchParams, meeting: FakeMeeting, rooms: FakeRoom[]) {
    if (options.qualityAddonMissing) return fail(res, call, 403, options.qualityAddonMissing, '无权限操作');
    if (q.get('operator_id') !== options.operatorId || q.get('operator_id_type') !== '1') return fail(res, call, 403, 9042, '无权限操作');
    const page = Number(q.get('page'));
    const size = Number(q.get('page_size'));
    const start = Number(q.get('start_time'));
    const nowS = options.now() / 1000;
    if (!Number.isInteger(page) || page < 1 || page > 2000 || !Number.isInteger(size) || size < 1 || size > 50) return fail(res, call, 400, 190004, '参数非法');
    if (!Number.isInteger(start) || start < nowS - 7 * 86400 || start > nowS) return fail(res, call, 400, 190004, '参数非法：start_time');
    // "开始时间大于等于 start_time 且离 start_time 最近的一个媒体房间数据" (DOC 80575).
    const room = rooms.filter((r) => r.end !== undefined && r.start >= start).sort((a, b) => a.start - b.start)[0];
    if (!room) return send(res, call, 200, { meeting_id: meeting.meetingId, participants: [], current_page: page, current_size: 0, total_count: 0, total_page: 0 });
    const rows = room.attendees.filter((a) => a.quality);
    const slice = rows.slice((page - 1) * size, page * size);
    const mq = room.meetingQuality ?? { quality: 1, audio: 1, video: 1, screen: 0, network: 1 };
    send(res, call, 200, {
      meeting_id: meeting.meetingId, quality: mq.quality, audio_quality: mq.audio, video_quality: mq.video,
      screen_share_quality: mq.screen, network_quality: mq.network, problems: mq.problems ?? [],
      participants: slice.map((a) => ({
        userid: a.userid ?? '', open_id: '', ms_open_id: a.msOpenId, instanceid: String(a.instanceid),
        quality: a.quality!.quality, audio_quality: a.quality!.audio, video_quality: a.quality!.video,
        screen_share_quality: a.quality!.screen, network_quality: a.quality!.network, problems: a.quality!.problems ?? [],
      })),
      current_page: page, current_size: slice.length, total_count: rows.length, total_page: Math.ceil(rows.length / size),
    });
  }

  /**
   * Participants (DOC 42701): one row per join session of every room, names base64, an opaque
   * next_pos cursor, size ≤ 100; start_time/end_time filter on join time, except for recurring meetings.
   */
  function participants(res: ServerResponse, call: Call, q: URLSearchParams, meeting: FakeMeeting, rooms: FakeRoom[]) {
    if (q.get('userid') !== options.operatorId) return fail(res, call, 403, 9042, '无权限操作');
    const size = Number(q.get('size') ?? 20);
    const pos = Number(q.get('pos') ?? 0);
    if (!Number.isInteger(size) || size < 1 || size > 100) return fail(res, call, 400, 190004, '参数非法');
    const offset = pos === 0 ? 0 : cursorToOffset(pos);
    if (offset === undefined) return fail(res, call, 400, 190004, '参数非法：pos');
    const from = q.has('start_time') ? Number(q.get('start_time')) : -Infinity;
    const to = q.has('end_time') ? Number(q.get('end_time')) : Infinity;
    if (!Number.isFinite(from) && q.has('start_time')) return fail(res, call, 400, 190004, '参数非法：start_time');
    if (q.has('start_time') && q.has('end_time') && to - from > 90 * 86400) return fail(res, call, 400, 190004, '参数非法：时间跨度');
    const filtering = meeting.meetingType !== 1;
    const rows = rooms.flatMap((r) => r.attendees).flatMap((a) => a.sessions.map((session) => [a, session] as const))
      .filter(([, [join]]) => !filtering || (join >= from && join <= to));
    const slice = rows.slice(offset, offset + size).map(([a, [join, left]]) => ({
      userid: a.userid ?? '', ms_open_id: a.msOpenId, uuid: `uuid-${a.msOpenId}`, open_id: '',
      user_name: Buffer.from(a.name, 'utf8').toString('base64'),
      join_time: String(join), left_time: left === undefined ? '' : String(left),
      instanceid: a.instanceid, user_role: a.userRole ?? 0, phone: createHash('sha256').update(a.msOpenId).digest('hex'),
    }));
    const more = offset + size < rows.length;
    send(res, call, 200, {
      meeting_id: meeting.meetingId, meeting_code: meeting.code, subject: Buffer.from(meeting.subject, 'utf8').toString('base64'),
      schedule_start_time: String(meeting.startTime), schedule_end_time: String(meeting.endTime),
      has_remaining: more, ...(more ? { next_pos: offsetToCursor(offset + size) } : {}), total_count: rows.length, participants: slice,
    });
  }

  /** DOC 104578: in-progress meetings only (13603 otherwise), 30 calls a minute per meeting, values as strings. */
  function qos(res: ServerResponse, call: Call, q: URLSearchParams, meeting: FakeMeeting, rooms: FakeRoom[]) {
    const now = options.now();
    const list = qosCalls.get(meeting.meetingId) ?? [];
    prune(list, now);
    if (list.length >= QOS_LIMIT) return fail(res, call, 400, 500046, '会议实时质量查询频率超过限制');
    list.push(now);
    qosCalls.set(meeting.meetingId, list);
    if (meeting.status !== 'MEETING_STATE_STARTED') return fail(res, call, 400, 13603, '会议已结束');
    if (q.get('operator_id') !== options.operatorId || q.get('operator_id_type') !== '1') return fail(res, call, 403, 9042, '无权限操作');
    const page = Number(q.get('page') ?? 1);
    const size = Number(q.get('page_size') ?? 20);
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(size) || size < 20 || size > 100) return fail(res, call, 400, 190004, '参数非法');
    const live = rooms.filter((r) => r.end === undefined);
    const rows = (live.length > 0 ? live : rooms.slice(-1)).flatMap((r) => r.attendees).filter((a) => a.qos);
    const byPerson = new Map<string, FakeAttendee[]>();
    for (const a of rows) byPerson.set(a.msOpenId, [...(byPerson.get(a.msOpenId) ?? []), a]);
    const people = [...byPerson.values()];
    const slice = people.slice((page - 1) * size, page * size);
    send(res, call, 200, {
      total_count: people.length, current_size: slice.length, total_page: Math.ceil(people.length / size), current_page: page,
      participants: slice.map((devs) => ({
        ms_open_id: devs[0]!.msOpenId, nick_name: devs[0]!.name,
        qos_details: devs.flatMap((a) => a.qos!.map((s) => ({
          instanceid: a.instanceid,
          audio: { upstream_bitrate: String(s.audioKbps), downstream_bitrate: '40', mic_volume: '-20', loudspeaker_volume: '-10' },
          video: { upstream_bitrate: String(s.videoKbps), downstream_bitrate: '800', upstream_framerate: String(s.videoFps), downstream_framerate: '25', upstream_resolution: '640x360', downstream_resolution: '1280x720' },
          share_screen: { upstream_bitrate: '0', downstream_bitrate: '0', upstream_framerate: '0', downstream_framerate: '0' },
          network: { upstream_bindwidth: '2000', downstream_bindwidth: '2000', upstream_packet_loss: String(s.upLoss), downstream_packet_loss: String(s.downLoss), network_delay: String(s.delay) },
        }))),
      })),
    });
  }

  /**
   * DOC 52492 获取账户级已结束会议列表: meeting_state, page, page_size, operator_id and
   * operator_id_type=1 required; admin only; 100 calls a minute per app for account-level
   * endpoints (190313, DOC 105276); one item per ended media room, times in ms.
   */
  function corpMeetings(res: ServerResponse, call: Call, q: URLSearchParams) {
    const now = options.now();
    prune(corpCalls, now);
    if (corpCalls.length >= CORP_LIMIT) return fail(res, call, 500, 190313, '每分钟单个接口调用次数超过限制');
    corpCalls.push(now);
    const page = Number(q.get('page'));
    const size = Number(q.get('page_size'));
    if (!q.get('operator_id') || !q.get('operator_id_type') || !q.get('meeting_state')) return fail(res, call, 400, 190004, '参数非法');
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(size) || size < 1) return fail(res, call, 400, 190004, '参数非法');
    if (q.get('operator_id') !== options.operatorId || q.get('operator_id_type') !== '1') return fail(res, call, 403, 9042, '无权限操作');
    if (q.get('meeting_state') !== '1') return fail(res, call, 400, 190004, 'this fake only lists ended meetings');
    const code = q.get('meeting_code');
    const unit = options.corpTimeUnit === 's' ? 1 : 1000;
    // "搜索开始时间/搜索结束时间,针对媒体房间的开始时间": no unit given (DOC 52492); seconds as on
    // DOC 52490 for the same endpoint, unless this fake plays a server that reads them as ms.
    const qUnit = options.corpQueryUnit === 'ms' ? 1000 : 1;
    const from = q.has('start_time') ? Number(q.get('start_time')) / qUnit : -Infinity;
    const to = q.has('end_time') ? Number(q.get('end_time')) / qUnit : Infinity;
    const items = endedRooms().filter(({ meeting, room }) => (!code || meeting.code === code) && room.start >= from && room.start <= to).map(({ meeting, room }) => ({
      meeting_id: meeting.meetingId, meeting_code: meeting.code, subject: meeting.subject,
      userid: meeting.creator ?? 'host1', userid_type: 1, nick_name: 'Host',
      // "仅支持识别0、1、6,其他会议类型不识别输出".
      ...([0, 1, 6].includes(meeting.meetingType ?? 0) ? { meeting_type: meeting.meetingType ?? 0 } : {}),
      ...(meeting.meetingType === 1 && room.subMeetingId && !options.corpOmitsSubMeetingId ? { sub_meeting_id: room.subMeetingId } : {}),
      start_time: room.start * unit, end_time: room.end! * unit,
      participants_num: room.attendees.length, meeting_duration: String((room.end! - room.start) * 1000),
    }));
    sendPage(res, call, items, page, size);
  }

  /**
   * DOC 53805 查询用户已结束会议列表: page and page_size (≤ 20) required; the meetings that user
   * created or attended; start_time/end_time (seconds, on the scheduled start per the SDK) at most
   * 90 days apart.
   */
  function history(res: ServerResponse, call: Call, q: URLSearchParams, userid: string) {
    const page = Number(q.get('page'));
    const size = Number(q.get('page_size'));
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(size) || size < 1 || size > 20) return fail(res, call, 400, 190004, '参数非法');
    const from = q.has('start_time') ? Number(q.get('start_time')) : -Infinity;
    const to = q.has('end_time') ? Number(q.get('end_time')) : Infinity;
    if (q.has('start_time') && q.has('end_time') && to - from > 90 * 86400) return fail(res, call, 400, 190004, '参数非法：时间跨度需小于等于90天');
    const code = q.get('meeting_code');
    const unit = options.historyTimeUnit === 'ms' ? 1000 : 1;
    const items = endedRooms()
      .filter(({ meeting, room }) => (meeting.creator ?? 'host1') === userid || room.attendees.some((a) => a.userid === userid))
      .filter(({ meeting }) => (!code || meeting.code === code) && meeting.startTime >= from && meeting.startTime <= to)
      .map(({ meeting, room }) => {
        const occ = meeting.subMeetings?.find((o) => o.subMeetingId === room.subMeetingId);
        const times = options.historyTimes === 'scheduled' ? [occ?.startTime ?? meeting.startTime, occ?.endTime ?? meeting.endTime] : [room.start, room.end!];
        return {
          subject: meeting.subject, meeting_id: meeting.meetingId, meeting_code: meeting.code, meeting_type: meeting.meetingType ?? 0,
          ...(room.subMeetingId ? { sub_meeting_id: room.subMeetingId } : {}),
          start_time: times[0]! * unit, end_time: times[1]! * unit,
        };
      });
    sendPage(res, call, items, page, size);
  }

  function sendPage(res: ServerResponse, call: Call, items: unknown[], page: number, size: number) {
    const slice = items.slice((page - 1) * size, page * size);
    send(res, call, 200, { current_page: page, current_size: slice.length, total_count: items.length, total_page: Math.ceil(items.length / size), meeting_info_list: slice });
  }

  /** Every ended room of every meeting, oldest first (the list order is not documented). */
  function endedRooms(): { meeting: FakeMeeting; room: FakeRoom }[] {
    return fake.meetings.flatMap((meeting) => roomsOf(meeting).filter((r) => r.end !== undefined && !r.unlisted).map((room) => ({ meeting, room })))
      .sort((a, b) => a.room.start - b.room.start);
  }

  function info(m: FakeMeeting, q: URLSearchParams) {
    // "0：只显示周期性会议的第一个子会议 1：显示所有周期性会议的子会议" (DOC 42421, GO IsShowAllSubMeetings).
    const subs = m.subMeetings ? (q.get('is_show_all_sub_meetings') === '1' ? m.subMeetings : m.subMeetings.slice(0, 1)) : undefined;
    return {
      subject: m.subject, meeting_id: m.meetingId, meeting_code: m.code, type: 0, meeting_type: m.meetingType ?? 0, status: m.status,
      start_time: String(m.startTime), end_time: String(m.endTime),
      ...(m.currentSubMeetingId ? { current_sub_meeting_id: m.currentSubMeetingId } : {}),
      ...(subs ? { sub_meetings: subs.map((s) => ({ sub_meeting_id: s.subMeetingId, start_time: String(s.startTime), end_time: String(s.endTime), status: s.deleted ? 1 : 0 })) } : {}),
      ...(m.subMeetings ? { has_more_sub_meeting: 0, remain_sub_meetings: m.subMeetings.filter((s) => !s.deleted && s.startTime > options.now() / 1000).length } : {}),
      hosts: [{ userid: m.creator ?? 'host1' }], join_url: 'https://meeting.tencent.com/dm/x',
    };
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return fake;
}

/**
 * DOC 42418 (输出参数, 注意): "“一次性会议”超过预定结束时间1h或主动结束，将不在会议列表中返回。
 * “非一次性会议”超过预定结束时间30d，将不在会议列表中返回。"
 */
export function listed(m: FakeMeeting, nowS: number): boolean {
  if ((m.meetingType ?? 0) === 0) return !m.endedByHost && nowS <= m.endTime + 3600;
  const lastEnd = Math.max(m.endTime, ...(m.subMeetings ?? []).map((s) => s.endTime));
  return nowS <= lastEnd + 30 * 86400;
}

/** The meeting's media rooms: as given, else one per occurrence / for the meeting, first join to last leave. */
export function roomsOf(m: FakeMeeting): FakeRoom[] {
  if (m.rooms) return m.rooms;
  const room = (attendees: FakeAttendee[], subMeetingId?: string): FakeRoom[] => {
    const sessions = attendees.flatMap((a) => a.sessions);
    if (sessions.length === 0) return [];
    const open = sessions.some((s) => s[1] === undefined);
    const r: FakeRoom = { start: Math.min(...sessions.map((s) => s[0])), attendees };
    if (!open) r.end = Math.max(...sessions.map((s) => s[1]!));
    if (subMeetingId) r.subMeetingId = subMeetingId;
    if (m.meetingQuality) r.meetingQuality = m.meetingQuality;
    return [r];
  };
  if (m.meetingType === 1) return Object.entries(m.bySub ?? {}).flatMap(([sub, attendees]) => room(attendees, sub));
  return room(m.attendees ?? []);
}

function prune(list: number[], now: number) {
  while (list.length > 0 && list[0]! <= now - 60_000) list.shift();
}

/** An opaque cursor like the doc's next_pos 5678: not an offset a client could compute. */
function offsetToCursor(offset: number): number {
  return 5678 + offset * 7;
}
function cursorToOffset(pos: number): number | undefined {
  const off = (pos - 5678) / 7;
  return Number.isInteger(off) && off >= 0 ? off : undefined;
}

/** Builds n attendees with a spread of health, for paging tests. */
export function manyAttendees(n: number, start: number, prefix = 'p'): FakeAttendee[] {
  return Array.from({ length: n }, (_, i) => ({
    userid: `${prefix}user${i}`, msOpenId: `${prefix}ms${i}`, name: `参会者${i}`, instanceid: (i % 5) + 1, userRole: i === 0 ? 3 : 0,
    sessions: [[start + (i % 60), start + 3000]] as [number, number | undefined][],
    quality: i % 10 === 0
      ? { quality: 2, audio: 4, video: 3, screen: 0, network: 4, problems: ['网络丢包率高'] }
      : { quality: 1, audio: 1, video: 1, screen: 0, network: 1 },
  }));
}
