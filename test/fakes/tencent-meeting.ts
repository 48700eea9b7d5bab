import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Tencent Meeting REST API (api.meeting.qq.com) written from the vendor notes
 * (tencent-meeting-api.md, tencent-meeting-participants.md), not from our client: it checks every
 * request's signature exactly as documented (§1.1–§1.3: header names case-sensitive, SecretId in
 * X-TC-Key, base64 of the lowercase hex HMAC over METHOD\nX-TC-Key=…&X-TC-Nonce=…&X-TC-Timestamp=…\n
 * <URI as received>\n<body>), the 5-minute clock rule and nonce replays (§5.2), SdkId only when
 * assigned, and answers in the documented error envelope (§5.3) with the documented rate limits (§5.1).
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

export interface FakeMeeting {
  meetingId: string;
  code: string;
  subject: string;
  status: 'MEETING_STATE_INIT' | 'MEETING_STATE_STARTED' | 'MEETING_STATE_ENDED' | 'MEETING_STATE_CANCELLED' | 'MEETING_STATE_NULL';
  meetingType?: number;
  startTime: number;
  endTime: number;
  currentSubMeetingId?: string;
  subMeetings?: { subMeetingId: string; startTime: number; endTime: number }[];
  /** Occurrence → attendees, for recurring meetings; otherwise `attendees`. */
  bySub?: Record<string, FakeAttendee[]>;
  attendees?: FakeAttendee[];
  meetingQuality?: { quality: number; audio: number; video: number; screen: number; network: number; problems?: string[] };
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
/** §5.1: 300 calls a minute per app; /qos 30 a minute per meeting. */
const APP_LIMIT = 300;
const QOS_LIMIT = 30;

export async function startFakeTencent(options: FakeTencentOptions): Promise<FakeTencent> {
  const seenNonces = new Map<string, number>();
  const appCalls: number[] = [];
  const qosCalls = new Map<string, number[]>();
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
    // Newer responses carry new_error_code = a prefix plus the old code (§5.3).
    send(res, call, status, { error_info: { error_code: code, new_error_code: Number(`200${code}`), message } });
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const rawUri = req.url ?? '/';
    const parsed = new URL(rawUri, 'http://fake');
    const raw: Record<string, string> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) raw[req.rawHeaders[i]!] = req.rawHeaders[i + 1]!;
    const call: Call = { method: req.method ?? '', path: parsed.pathname, query: parsed.searchParams, rawHeaders: raw, outcome: 0 };
    fake.calls.push(call);

    // §1.1: names are case-sensitive; read them exactly as spelled in the docs.
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
    // §5.2: (timestamp, nonce) must not repeat within 5 minutes.
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
    let m: RegExpExecArray | null;
    if (u.pathname === '/v1/meetings') {
      const code = q.get('meeting_code');
      if (!code || !q.get('userid') || !q.get('instanceid')) return fail(res, call, 400, 190004, '参数非法');
      const found = fake.meetings.filter((x) => x.code === code);
      if (found.length === 0) return fail(res, call, 400, 9003, '会议信息不存在');
      return send(res, call, 200, { meeting_number: found.length, meeting_info_list: found.map(info) });
    }
    if ((m = /^\/v1\/meetings\/(\d+)$/.exec(u.pathname))) {
      if (!q.get('userid') || !q.get('instanceid')) return fail(res, call, 400, 190004, '参数非法');
      const found = fake.meetings.find((x) => x.meetingId === m![1]);
      if (!found) return fail(res, call, 400, 9003, '会议信息不存在');
      return send(res, call, 200, { meeting_number: 1, meeting_info_list: [info(found)] });
    }
    if ((m = /^\/v1\/meetings\/(\d+)\/(quality|participants|qos)$/.exec(u.pathname))) {
      const meeting = fake.meetings.find((x) => x.meetingId === m![1]);
      if (!meeting) return fail(res, call, 400, 9003, '会议信息不存在');
      const sub = q.get('sub_meeting_id') ?? undefined;
      if (meeting.meetingType === 1 && !sub) return fail(res, call, 400, 190004, '参数非法：周期性会议 sub_meeting_id 必传');
      const attendees = meeting.meetingType === 1 ? meeting.bySub?.[sub!] ?? [] : meeting.attendees ?? [];
      if (m[2] === 'quality') return quality(res, call, q, meeting, attendees);
      if (m[2] === 'participants') return participants(res, call, q, meeting, attendees);
      return qos(res, call, q, meeting, attendees);
    }
    return fail(res, call, 400, 190004, '不受支持的REST API');
  }

  /** §3.1: ended meetings only; operator, page ≥ 1, page_size 1–50 and start_time within 7 days required. */
  function quality(res: ServerResponse, call: Call, q: URLSearchParams, meeting: FakeMeeting, attendees: FakeAttendee[]) {
    if (options.qualityAddonMissing) return fail(res, call, 403, options.qualityAddonMissing, '无权限操作');
    if (q.get('operator_id') !== options.operatorId || q.get('operator_id_type') !== '1') return fail(res, call, 403, 9042, '无权限操作');
    const page = Number(q.get('page'));
    const size = Number(q.get('page_size'));
    const start = Number(q.get('start_time'));
    const nowS = options.now() / 1000;
    if (!Number.isInteger(page) || page < 1 || page > 2000 || !Number.isInteger(size) || size < 1 || size > 50) return fail(res, call, 400, 190004, '参数非法');
    if (!Number.isInteger(start) || start < nowS - 7 * 86400 || start > nowS) return fail(res, call, 400, 190004, '参数非法：start_time');
    // §3.1: the answer is the first media room (first join → everyone gone) starting at or after start_time.
    const roomStart = Math.min(meeting.startTime, ...attendees.flatMap((a) => a.sessions.map((s) => s[0])));
    if (roomStart < start) return send(res, call, 200, { meeting_id: meeting.meetingId, participants: [], current_page: page, current_size: 0, total_count: 0, total_page: 0 });
    const rows = attendees.filter((a) => a.quality);
    const slice = rows.slice((page - 1) * size, page * size);
    const mq = meeting.meetingQuality ?? { quality: 1, audio: 1, video: 1, screen: 0, network: 1 };
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

  /** Participants: one row per join session, names base64, an opaque next_pos cursor, size ≤ 100. */
  function participants(res: ServerResponse, call: Call, q: URLSearchParams, meeting: FakeMeeting, attendees: FakeAttendee[]) {
    if (q.get('userid') !== options.operatorId) return fail(res, call, 403, 9042, '无权限操作');
    const size = Number(q.get('size') ?? 20);
    const pos = Number(q.get('pos') ?? 0);
    if (!Number.isInteger(size) || size < 1 || size > 100) return fail(res, call, 400, 190004, '参数非法');
    const offset = pos === 0 ? 0 : cursorToOffset(pos);
    if (offset === undefined) return fail(res, call, 400, 190004, '参数非法：pos');
    const rows = attendees.flatMap((a) => a.sessions.map((session) => [a, session] as const));
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

  /** §3.2: in-progress meetings only (13603 otherwise), 30 calls a minute per meeting, values as strings. */
  function qos(res: ServerResponse, call: Call, q: URLSearchParams, meeting: FakeMeeting, attendees: FakeAttendee[]) {
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
    const rows = attendees.filter((a) => a.qos);
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

  function info(m: FakeMeeting) {
    return {
      subject: m.subject, meeting_id: m.meetingId, meeting_code: m.code, type: 0, meeting_type: m.meetingType ?? 0, status: m.status,
      start_time: String(m.startTime), end_time: String(m.endTime),
      ...(m.currentSubMeetingId ? { current_sub_meeting_id: m.currentSubMeetingId } : {}),
      ...(m.subMeetings ? { sub_meetings: m.subMeetings.map((s) => ({ sub_meeting_id: s.subMeetingId, start_time: String(s.startTime), end_time: String(s.endTime), status: 0 })) } : {}),
      hosts: [{ userid: 'host1' }], join_url: 'https://meeting.tencent.com/dm/x',
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
