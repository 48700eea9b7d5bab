import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachFakeFeishuWs, type FakeFeishuWs } from './feishu-ws.js';

/**
 * A fake Feishu open platform, written from Feishu's own pages (open.feishu.cn: auth-v3
 * tenant_access_token_internal, im-v1/message/{reply,patch}, vc-v1/{meeting_list,participant_list,
 * participant_quality_list}/get, api-call-guide/{generic-error-code,frequency-control}), not from our code:
 *   POST /open-apis/auth/v3/tenant_access_token/internal   {code:0, tenant_access_token, expire}
 *   GET  /open-apis/vc/v1/meeting_list                      unix-second window, text times back
 *   GET  /open-apis/vc/v1/participant_list                  start must match to the minute, span ≤ 1 day
 *   GET  /open-apis/vc/v1/participant_quality_list          one participant (user_id xor room_id) per call
 *   POST /open-apis/im/v1/messages/:id/reply                uuid makes a retry return the same message
 *   PATCH /open-apis/im/v1/messages/:id                     shared (update_multi) cards only, ≤ 30 KB,
 *                                                           5 QPS per message (then 400 230020)
 *   GET  /open-apis/bot/v3/info
 *   POST /callback/ws/endpoint, then the long connection (feishu-ws.ts, from the SDK's WSClient)
 *   POST /open-apis/authen/v2/oauth/token                  user authorisation (OAuth 2, RFC 6749 shapes)
 *   GET  /open-apis/authen/v1/user_info                     who a user_access_token belongs to
 * Errors use the documented HTTP statuses and codes; 100 calls a minute per VC API, then HTTP 429
 * 99991400 with x-ogw-ratelimit-reset.
 *
 * `vcScope: 'user'` runs the fake as an app created today: the VC data pages say of the legacy
 * scopes "上方为历史权限，已无法继续申请。新权限只支持使用user_access_token" (open.feishu.cn
 * vc-v1/meeting_list/get, participant_list/get), so a tenant_access_token is refused (99991672,
 * "missing API scope", generic-error-code; or 121005, the VC table's "no permission", which also
 * covers the token type) and a user_access_token holding the new scope is served.
 *
 * OAuth (open.feishu.cn/document/authentication-management/access-token/get-user-access-token and
 * …/refresh-user-access-token): an authorisation code lives 5 minutes and works once; a
 * refresh_token works once ("原 refresh_token 立即失效"); refresh_token and
 * refresh_token_expires_in come back only when offline_access was granted. Refusal codes are the
 * ones Feishu's own plugin handles (larksuite/openclaw-lark src/core/auth-errors.ts): 20026
 * invalid, 20037 expired, 20064 revoked, 20073 already used, 20050 server error (retryable).
 */

export interface FakeParticipant {
  name: string;
  userId?: string;
  roomId?: string;
  device?: string;
  protocol?: string;
  join: number;
  leave?: number;
  /** One per minute, in the documented response shape. */
  samples: Record<string, Record<string, string>>[];
}

export interface FakeMeeting {
  no: string;
  topic: string;
  start: number;
  /** Undefined while in progress. */
  end?: number;
  instanceId?: string;
  participants: FakeParticipant[];
}

export interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  auth?: string;
}

export interface Reply {
  to: string;
  messageId: string;
  uuid?: string;
  card: Record<string, any>;
}

type Api = 'meeting_list' | 'participant_list' | 'participant_quality_list';
/** The scope the fake treats as the new, user-only VC scope (the real name is UNCONFIRMED; see README). */
export const FAKE_USER_VC_SCOPE = 'vc:meeting.meetingevent:read';
type Injected = {
  status: number;
  code: number;
  msg: string;
  headers?: Record<string, string>;
  /** Never answer (the connection stays open until the client gives up or the fake closes). */
  hang?: boolean;
};

/** Feishu text time, as the docs show it: "2022.12.23 11:16:59 (GMT+08:00)". */
export function feishuTime(unix: number): string {
  const d = new Date((unix + 8 * 3600) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}.${p(d.getUTCMonth() + 1)}.${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} (GMT+08:00)`;
}

/** A minute of quality with the given values (units as the docs write them). */
export function qualitySample(v: { delay?: number; loss?: number; jitter?: number; cpu?: number; fps?: number } = {}): Record<string, Record<string, string>> {
  return {
    network: { time: '', network_delay: `${v.delay ?? 40}ms`, bitrate_received: '800kbps', packet_loss_avg_received: `${v.loss ?? 0}%`, packet_loss_max_received: `${v.loss ?? 0}%`, bitrate_sent: '600kbps', packet_loss_avg_sent: '0%', packet_loss_max_sent: '0%' },
    audio: { time: '', mic_input_volume: '6dB', speaker_volume: '8dB', bitrate_received: '48kbps', latency_received: '40ms', jitter_received: `${v.jitter ?? 5}ms`, bitrate_sent: '48kbps', latency_sent: '40ms', jitter_sent: '5ms' },
    video: { time: '', bitrate_received: '900kbps', latency_received: '40ms', jitter_received: '5ms', maximum_resolution_received: '720P', framerate_received: '30fps', bitrate_sent: '900kbps', latency_sent: '40ms', jitter_sent: '5ms', maximum_resolution_sent: '720P', framerate_sent: `${v.fps ?? 30}fps` },
    screen_sharing: { time: '', bitrate_received: '0kbps', latency_received: '0ms', jitter_received: '0ms', maximum_resolution_received: '', framerate_received: '0fps', bitrate_sent: '0kbps', latency_sent: '0ms', jitter_sent: '0ms', maximum_resolution_sent: '', framerate_sent: '0fps' },
    cpu_usage: { time: '', client_avg_cpu_usage: '5%', client_max_cpu_usage: '9%', system_avg_cpu_usage: `${v.cpu ?? 30}%`, system_max_cpu_usage: '50%' },
  };
}

export interface FakeFeishuOptions {
  appId: string;
  appSecret: string;
  now: () => number;
  /** Requests a minute per VC API before 429 (the documented 100). */
  ratePerMinute?: number;
  /** The rate window in ms (60,000: "per minute"); the bench shrinks it to run Feishu's minute on a scaled clock. */
  rateWindowMs?: number;
  /**
   * 'legacy' (default): the app holds vc:room:readonly, tenant tokens are served (existing apps).
   * 'user': the app holds only the new user scope; tenant tokens are refused with `tenantRefusal`.
   */
  vcScope?: 'legacy' | 'user';
  /** How a tenant token is refused in 'user' mode (default HTTP 400, 99991672). */
  tenantRefusal?: Injected;
  /** Token endpoint success shape: 'doc' = {code:0, …} (default), 'rfc' = no code field, 'string-code' = code "0". */
  tokenShape?: 'doc' | 'rfc' | 'string-code';
  /** user_access_token lifetime in seconds (Feishu: about 2 h). */
  userTokenTtlS?: number;
  /**
   * Meetings over 24 h: 'windows' (default) serves any window of at most a day inside the
   * meeting; 'refuse' answers 126009 to anything but the exact start and end (which 126006 refuses).
   */
  longMeetings?: 'windows' | 'refuse';
}

export interface FakeUser {
  openId: string;
  name: string;
}

interface CodeGrant {
  user: FakeUser;
  redirectUri: string;
  scopes: string[];
  expiresAt: number;
  used: boolean;
}

interface UserToken {
  user: FakeUser;
  scopes: string[];
  expiresAt: number;
}

interface RefreshGrant {
  user: FakeUser;
  scopes: string[];
  expiresAt: number;
  state: 'live' | 'used' | 'revoked';
}

export interface FakeFeishu {
  url: string;
  calls: Call[];
  replies: Reply[];
  patches: { messageId: string; card: Record<string, any> }[];
  meetings: FakeMeeting[];
  tokensIssued: number;
  botOpenId: string;
  /** The long-connection side: endpoint answers, frames sent and answered. */
  ws: FakeFeishuWs;
  /** How times are written in answers; the documented shape unless a test swaps it (F6). */
  timeText: (unix: number) => string;
  /** The next `count` calls to `api` fail with this error. */
  failNext(api: Api | 'reply' | 'patch' | 'bot_info' | 'token', count: number, err: Injected): void;
  /** Tokens issued so far are rejected with 99991663 from now on. */
  revokeTokens(): void;
  /**
   * The authorize page (out of scope to render): checks the link the way Feishu would (client_id,
   * redirect_uri, scope, state) and returns the redirect back to the bot with a fresh code.
   */
  authorize(link: string, user: FakeUser): { redirect: string; code: string; state: string };
  /** The refresh tokens issued so far are revoked (the user removed the app's access). */
  revokeUserGrants(): void;
  /** Every user_access_token issued so far stops working (as if it expired). */
  expireUserTokens(): void;
  /** POSTs to the token endpoint, by grant_type. */
  tokenCalls(grant?: 'authorization_code' | 'refresh_token'): Call[];
  vcCalls(api?: Api): Call[];
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export async function startFakeFeishu(opts: FakeFeishuOptions): Promise<FakeFeishu> {
  const calls: Call[] = [];
  const replies: Reply[] = [];
  const patches: { messageId: string; card: Record<string, any> }[] = [];
  const meetings: FakeMeeting[] = [];
  const valid = new Set<string>();
  const codes = new Map<string, CodeGrant>();
  const userTokens = new Map<string, UserToken>();
  const refreshTokens = new Map<string, RefreshGrant>();
  let userSeq = 0;
  const injected = new Map<string, Injected[]>();
  const windows = new Map<Api, number[]>();
  const byUuid = new Map<string, string>();
  const botMessages = new Set<string>();
  const patchTimes = new Map<string, number[]>();
  let tokenSeq = 0;
  let msgSeq = 0;
  const limit = opts.ratePerMinute ?? 100;
  const rateWindow = opts.rateWindowMs ?? 60_000;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { ...JSON_HEADERS, ...headers });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, code: number, msg: string, headers: Record<string, string> = {}) => send(res, status, { code, msg }, headers);
  const failWith = (res: ServerResponse, inj: Injected) => {
    if (inj.hang) return;
    fail(res, inj.status, inj.code, inj.msg, inj.headers);
  };
  const takeInjected = (key: string): Injected | undefined => {
    const list = injected.get(key);
    return list?.shift();
  };

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (!raw) return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      return { unparsable: raw };
    }
  };

  const page = <T>(items: T[], q: Record<string, string>, res: ServerResponse, key: string) => {
    const size = q.page_size === undefined ? 20 : Number(q.page_size);
    if (!Number.isInteger(size) || size < 20 || size > 100) return fail(res, 400, 121003, 'param error');
    const from = q.page_token ? Number(q.page_token) : 0;
    const slice = items.slice(from, from + size);
    const more = from + size < items.length;
    send(res, 200, { code: 0, msg: 'success', data: { [key]: slice, has_more: more, ...(more ? { page_token: String(from + size) } : {}) } });
  };

  const rateLimited = (api: Api, res: ServerResponse): boolean => {
    const now = opts.now();
    const list = (windows.get(api) ?? []).filter((t) => t > now - rateWindow);
    if (list.length >= limit) {
      const reset = Math.ceil((list[0]! + rateWindow - now) / 1000);
      windows.set(api, list);
      fail(res, 429, 99991400, 'request trigger frequency limit', { 'x-ogw-ratelimit-limit': String(limit), 'x-ogw-ratelimit-reset': String(reset) });
      return true;
    }
    list.push(now);
    windows.set(api, list);
    return false;
  };

  const vc = (api: Api, q: Record<string, string>, res: ServerResponse) => {
    const inj = takeInjected(api);
    if (inj) return failWith(res, inj);
    if (rateLimited(api, res)) return;
    const now = Math.floor(opts.now() / 1000);
    if (api === 'meeting_list') {
      const start = Number(q.start_time);
      const end = Number(q.end_time);
      if (!q.start_time || !q.end_time || !Number.isFinite(start) || !Number.isFinite(end)) return fail(res, 400, 121003, 'param error');
      if (start > now || start < 0) return fail(res, 400, 126005, 'start time error');
      if (end < start || end - start > 366 * 86_400) return fail(res, 400, 126006, 'end time error');
      if (q.meeting_no !== undefined && q.meeting_no.length !== 9) return fail(res, 400, 126004, 'meeting number length not correct');
      const list = meetings
        .filter((m) => (!q.meeting_no || m.no === q.meeting_no) && m.start >= start && m.start <= end)
        .map((m) => ({
          meeting_id: m.no, meeting_instance_id: m.instanceId ?? `inst-${m.no}-${m.start}`, meeting_topic: m.topic,
          meeting_start_time: fake.timeText(m.start), meeting_end_time: m.end !== undefined && m.end <= now ? fake.timeText(m.end) : '',
          number_of_participants: String(m.participants.length),
        }));
      return page(list, q, res, 'meeting_list');
    }
    for (const k of ['meeting_start_time', 'meeting_end_time', 'meeting_no']) if (!q[k]) return fail(res, 400, 121003, `param error: ${k}`);
    const start = Number(q.meeting_start_time);
    const end = Number(q.meeting_end_time);
    if (q.meeting_no!.length !== 9) return fail(res, 400, 126004, 'meeting number length not correct');
    if (start > now || start < 0) return fail(res, 400, 126005, 'start time error');
    if (end < start || end - start > 86_400) return fail(res, 400, 126006, 'end time cannot exceed start time for one day');
    const minute = (t: number) => Math.floor(t / 60);
    const ended = meetings.filter((x) => x.no === q.meeting_no && x.end !== undefined && x.end <= now);
    // "meeting_start_time 需要精确到一分钟" and, for an ended meeting, meeting_end_time "填准确的会议
    // 结束时间" (participant_list/get): start and end both in the meeting's own minutes.
    let m = ended.find((x) => minute(x.start) === minute(start) && minute(x.end!) === minute(end));
    let window: [number, number] | undefined;
    if (!m && (opts.longMeetings ?? 'windows') === 'windows') {
      // UNCONFIRMED how Feishu serves a meeting longer than the 1-day span: this mode serves any
      // window of at most a day inside it, with the people who joined in that window.
      m = ended.find((x) => x.end! - x.start > 86_400 && minute(start) >= minute(x.start) && start < x.end! && minute(end) <= minute(x.end!));
      if (m) window = [start, end];
    }
    if (!m) return fail(res, 400, 126009, 'cannot find meeting according to the params you provide');
    const inWindow = (p: FakeParticipant) => !window || (p.join >= window[0] && p.join <= window[1]);
    if (api === 'participant_list') {
      const list = m.participants.filter(inWindow).map((p) => ({
        participant_name: p.name, user_id: p.userId ?? '', ...(p.roomId ? { meeting_room_id: p.roomId } : {}),
        device: p.device ?? 'windows', protocol: p.protocol ?? 'udp', network_type: 'wifi',
        join_time: fake.timeText(p.join), leave_time: fake.timeText(p.leave ?? m.end!), time_in_meeting: '00:30:00',
      }));
      return page(list, q, res, 'participants');
    }
    if (!q.join_time) return fail(res, 400, 121003, 'param error: join_time');
    if (q.user_id && q.room_id) return fail(res, 400, 126007, 'userID and roomID cannot be set concurrently');
    if (!q.user_id && !q.room_id) return fail(res, 400, 121003, 'param error: user_id or room_id');
    const p = m.participants.find((x) => inWindow(x) && x.join === Number(q.join_time) && (q.user_id ? x.userId === q.user_id : x.roomId === q.room_id));
    if (!p) return fail(res, 400, 126010, 'cannot find device according to the params you provide');
    return page(p.samples, q, res, 'participant_quality_list');
  };

  /** RFC 6749 §5.2 error body with Feishu's numeric code beside it. */
  const oauthFail = (res: ServerResponse, status: number, code: number, error: string, description: string) =>
    send(res, status, { code, error, error_description: description });

  const issueTokens = (res: ServerResponse, user: FakeUser, scopes: string[]) => {
    const access = `u-fake-${++userSeq}`;
    const ttl = opts.userTokenTtlS ?? 7200;
    userTokens.set(access, { user, scopes, expiresAt: opts.now() + ttl * 1000 });
    const out: Record<string, unknown> = { access_token: access, expires_in: ttl, scope: scopes.join(' '), token_type: 'Bearer' };
    if (scopes.includes('offline_access')) {
      const refresh = `ur-fake-${userSeq}`;
      refreshTokens.set(refresh, { user, scopes, expiresAt: opts.now() + 7 * 86_400_000, state: 'live' });
      out.refresh_token = refresh;
      out.refresh_token_expires_in = 7 * 86_400;
    }
    const shape = opts.tokenShape ?? 'doc';
    if (shape === 'doc') out.code = 0;
    if (shape === 'string-code') out.code = '0';
    send(res, 200, out);
  };

  const oauthToken = (body: unknown, res: ServerResponse) => {
    const inj = takeInjected('token');
    if (inj) return oauthFail(res, inj.status, inj.code, inj.status >= 500 ? 'server_error' : 'invalid_request', inj.msg);
    const b = (body ?? {}) as Record<string, unknown>;
    if (b.client_id !== opts.appId || b.client_secret !== opts.appSecret) return oauthFail(res, 401, 20002, 'invalid_client', 'client_id or client_secret is invalid');
    if (b.grant_type === 'authorization_code') {
      const grant = typeof b.code === 'string' ? codes.get(b.code) : undefined;
      if (!grant) return oauthFail(res, 400, 20003, 'invalid_grant', 'the authorization code is invalid');
      if (grant.used) return oauthFail(res, 400, 20065, 'invalid_grant', 'the authorization code has been used');
      if (grant.expiresAt <= opts.now()) return oauthFail(res, 400, 20004, 'invalid_grant', 'the authorization code has expired');
      if (b.redirect_uri !== grant.redirectUri) return oauthFail(res, 400, 20071, 'invalid_grant', 'redirect_uri does not match the authorization request');
      grant.used = true;
      return issueTokens(res, grant.user, grant.scopes);
    }
    if (b.grant_type === 'refresh_token') {
      const grant = typeof b.refresh_token === 'string' ? refreshTokens.get(b.refresh_token) : undefined;
      if (!grant) return oauthFail(res, 400, 20026, 'invalid_grant', 'the refresh token is invalid');
      if (grant.state === 'used') return oauthFail(res, 400, 20073, 'invalid_grant', 'the refresh token has been used');
      if (grant.state === 'revoked') return oauthFail(res, 400, 20064, 'invalid_grant', 'the refresh token has been revoked');
      if (grant.expiresAt <= opts.now()) return oauthFail(res, 400, 20037, 'invalid_grant', 'the refresh token has expired');
      grant.state = 'used';
      return issueTokens(res, grant.user, grant.scopes);
    }
    return oauthFail(res, 400, 20001, 'unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      const body = await readBody(req);
      const auth = req.headers.authorization;
      calls.push({ method: req.method ?? '', path: url.pathname, query, body, ...(auth ? { auth } : {}) });
      const path = url.pathname;

      if (path === '/open-apis/auth/v3/tenant_access_token/internal' && req.method === 'POST') {
        const b = body as { app_id?: string; app_secret?: string } | undefined;
        if (b?.app_id !== opts.appId) return fail(res, 400, 10003, 'invalid param');
        if (b.app_secret !== opts.appSecret) return fail(res, 400, 10014, 'app secret invalid');
        const token = `t-fake-${++tokenSeq}`;
        valid.add(token);
        return send(res, 200, { code: 0, msg: 'ok', tenant_access_token: token, expire: 7200 });
      }
      // The long connection's endpoint authenticates with the app credentials in the body, no token.
      if (path === '/callback/ws/endpoint' && req.method === 'POST') return send(res, 200, longConnection.endpoint(body));
      if (path === '/open-apis/authen/v2/oauth/token' && req.method === 'POST') return oauthToken(body, res);

      if (!auth) return fail(res, 400, 99991661, 'Missing access token for authorization');
      const bearer = auth.replace(/^Bearer /, '');
      const vcMatch = /^\/open-apis\/vc\/v1\/(meeting_list|participant_list|participant_quality_list)$/.exec(path);
      if (bearer.startsWith('u-')) {
        // generic-error-code: 99991668 user token invalid, 99991677 user token expired, 99991679
        // the user has not granted the scope this API needs.
        const t = userTokens.get(bearer);
        if (!t) return fail(res, 401, 99991668, 'Invalid access token for authorization. Please make a request with token attached.');
        if (t.expiresAt <= opts.now()) return fail(res, 401, 99991677, 'Authentication token expired.');
        if (path === '/open-apis/authen/v1/user_info' && req.method === 'GET') {
          return send(res, 200, { code: 0, msg: 'success', data: { name: t.user.name, open_id: t.user.openId, union_id: `on_${t.user.openId}`, tenant_key: 't' } });
        }
        if (vcMatch && req.method === 'GET') {
          if (!t.scopes.includes(FAKE_USER_VC_SCOPE)) return fail(res, 400, 99991679, `Unauthorized. You do not have permission to perform the requested operation on the resource. Please request user re-authorization and try again. required one of these privileges under the user identity: [${FAKE_USER_VC_SCOPE}]`);
          return vc(vcMatch[1] as Api, query, res);
        }
        return fail(res, 400, 99991668, 'user access token not support');
      }
      if (!valid.has(bearer)) return fail(res, 401, 99991663, 'Invalid access token for authorization');

      if (vcMatch && req.method === 'GET') {
        if (opts.vcScope === 'user') {
          const r = opts.tenantRefusal ?? { status: 400, code: 99991672, msg: `Access denied. One of the following scopes is required: [${FAKE_USER_VC_SCOPE}].` };
          return fail(res, r.status, r.code, r.msg, r.headers);
        }
        return vc(vcMatch[1] as Api, query, res);
      }

      if (path === '/open-apis/bot/v3/info' && req.method === 'GET') {
        const inj = takeInjected('bot_info');
        if (inj) return failWith(res, inj);
        return send(res, 200, { code: 0, msg: 'ok', bot: { open_id: fake.botOpenId, app_name: 'meetcheck' } });
      }

      const replyMatch = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/.exec(path);
      if (replyMatch && req.method === 'POST') {
        const inj = takeInjected('reply');
        if (inj) return failWith(res, inj);
        const b = body as { msg_type?: string; content?: string; uuid?: string } | undefined;
        if (b?.msg_type !== 'interactive' || typeof b.content !== 'string') return fail(res, 400, 230001, 'invalid msg_type or content');
        if (Buffer.byteLength(b.content) > 30 * 1024) return fail(res, 400, 230025, 'message content too long');
        if (b.uuid && b.uuid.length > 50) return fail(res, 400, 230001, 'uuid too long');
        const existing = b.uuid ? byUuid.get(b.uuid) : undefined;
        if (existing) return send(res, 200, { code: 0, msg: 'success', data: { message_id: existing } });
        const messageId = `om_bot_${++msgSeq}`;
        if (b.uuid) byUuid.set(b.uuid, messageId);
        botMessages.add(messageId);
        replies.push({ to: replyMatch[1]!, messageId, ...(b.uuid ? { uuid: b.uuid } : {}), card: JSON.parse(b.content) });
        return send(res, 200, { code: 0, msg: 'success', data: { message_id: messageId, msg_type: 'interactive' } });
      }
      const patchMatch = /^\/open-apis\/im\/v1\/messages\/([^/]+)$/.exec(path);
      if (patchMatch && req.method === 'PATCH') {
        const inj = takeInjected('patch');
        if (inj) return failWith(res, inj);
        const b = body as { content?: string } | undefined;
        if (!botMessages.has(patchMatch[1]!)) return fail(res, 400, 230001, 'message not found or not sent by the bot');
        if (typeof b?.content !== 'string') return fail(res, 400, 230001, 'invalid content');
        if (Buffer.byteLength(b.content) > 30 * 1024) return fail(res, 400, 230025, 'message content too long');
        // The patch doc limits one message to 5 QPS; over that it answers 230020 (frequency limit).
        const now = opts.now();
        const recent = (patchTimes.get(patchMatch[1]!) ?? []).filter((t) => t > now - 1000);
        if (recent.length >= 5) return fail(res, 400, 230020, 'This operation triggers the frequency limit');
        recent.push(now);
        patchTimes.set(patchMatch[1]!, recent);
        const card = JSON.parse(b.content) as Record<string, any>;
        if (card.schema !== '2.0') return fail(res, 400, 200830, 'card schema mismatch');
        if (card.config?.update_multi !== true) return fail(res, 400, 230099, 'card is not shared (update_multi)');
        patches.push({ messageId: patchMatch[1]!, card });
        return send(res, 200, { code: 0, msg: 'success', data: {} });
      }
      return fail(res, 404, 121004, 'data not exist');
    } catch (err) {
      fail(res, 500, 121001, `internal error: ${String(err)}`);
    }
  });
  const longConnection = attachFakeFeishuWs(server, () => fake.url, { appId: opts.appId, appSecret: opts.appSecret });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const fake: FakeFeishu = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls, replies, patches, meetings, ws: longConnection.ws,
    get tokensIssued() {
      return tokenSeq;
    },
    botOpenId: 'ou_bot',
    timeText: feishuTime,
    failNext(api, count, err) {
      const list = injected.get(api) ?? [];
      for (let i = 0; i < count; i++) list.push(err);
      injected.set(api, list);
    },
    revokeTokens() {
      valid.clear();
    },
    authorize(link, user) {
      // open.feishu.cn/document/common-capabilities/sso/api/obtain-oauth-code: GET
      // accounts.feishu.cn/open-apis/authen/v1/authorize?client_id&redirect_uri&scope&state.
      const u = new URL(link);
      if (u.pathname !== '/open-apis/authen/v1/authorize') throw new Error(`authorize: wrong path ${u.pathname}`);
      if (u.searchParams.get('client_id') !== opts.appId) throw new Error('authorize: wrong client_id');
      const redirectUri = u.searchParams.get('redirect_uri');
      if (!redirectUri) throw new Error('authorize: no redirect_uri');
      const scopes = (u.searchParams.get('scope') ?? '').split(' ').filter(Boolean);
      const state = u.searchParams.get('state') ?? '';
      const code = `code-${++userSeq}-${Math.random().toString(36).slice(2)}`;
      codes.set(code, { user, redirectUri, scopes, expiresAt: opts.now() + 5 * 60_000, used: false });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', state);
      return { redirect: back.toString(), code, state };
    },
    revokeUserGrants() {
      for (const g of refreshTokens.values()) if (g.state === 'live') g.state = 'revoked';
    },
    expireUserTokens() {
      for (const t of userTokens.values()) t.expiresAt = Math.min(t.expiresAt, opts.now());
    },
    tokenCalls(grant) {
      return calls.filter((c) => c.path === '/open-apis/authen/v2/oauth/token' && (!grant || (c.body as { grant_type?: string } | undefined)?.grant_type === grant));
    },
    vcCalls(api) {
      return calls.filter((c) => (api ? c.path === `/open-apis/vc/v1/${api}` : c.path.startsWith('/open-apis/vc/v1/')));
    },
    close: () => new Promise<void>((r) => {
      longConnection.close();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
  return fake;
}
