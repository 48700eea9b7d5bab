import type * as lark from '@larksuiteoapi/node-sdk';
import { larkSdk } from '../../http/lark-sdk.js';
import type { Dispatcher } from 'undici';
import type { FeishuConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import { atWindow } from '../../core/command.js';
import { MeetcheckError, asMeetcheckError } from '../../core/errors.js';
import { deriveHealth, type Sample } from '../../core/health.js';
import { NO_RATINGS, type Attendee, type DeviceKind, type MeetingReport, type ReportNote } from '../../core/model.js';
import type { FetchOptions, VendorClient, VendorQuery } from '../../core/vendor.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import type { RateLimit, Store } from '../../store/types.js';
import { classify, DEVICE_NOT_FOUND, MEETING_NOT_MATCHED, SPAN_TOO_LONG } from './errors.js';
import { LarkBusinessError, createLarkClient } from '../../http/lark.js';
import { createCaller } from '../../http/policy.js';
import { mapPool } from '../../http/pool.js';
import { createGrantStore, type GrantStore } from './grant.js';
import { toSample, type QualityItem } from './samples.js';
import { parseFeishuTime, timeShape } from './time.js';
import { defineVendor } from '../registration.js';

/**
 * Feishu VC as a meeting vendor (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/vc-v1/{meeting_list,participant_list,participant_quality_list}/get):
 *   meetingList.get        the meeting number → its ended occurrence and start/end times;
 *   participantList.get    everyone's name, device, id and join_time (all pages);
 *   participantQualityList.get  one participant's per-minute samples per call.
 * The first two give the report with attendees `loaded: false`; `loadAttendees` fetches quality
 * for the attendees asked for (the page on screen first; core/quality.ts drives the rest).
 */

export interface FeishuVendorDeps {
  config: FeishuConfig;
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  dispatcher?: Dispatcher;
  /** Per-call timeout (ms); tests shorten it. */
  timeoutMs?: number;
}

type Api = 'meeting_list' | 'participant_list' | 'quality';
/** Per-request options of the lark SDK: `lark.withUserAccessToken(token)` or nothing (tenant token). */
type CallAuth = ReturnType<typeof lark.withUserAccessToken> | undefined;

/**
 * "100 次/分钟" per app for each of the three VC data APIs (接口频率限制 on each page,
 * vc-v1/participant_quality_list/get), shared by every command and replica through the store as a
 * sliding window (store/window.ts): never more than 100 grants in any window. The first page's
 * calls go first and the rest of the first hundred right after them; the next hundred a window
 * later. 300 participants: three bursts, ~121 s, where even pacing (one call every 600 ms or
 * slower) takes over three minutes.
 * The window is a second longer than Feishu's minute: Feishu counts a call when it arrives and we
 * when we send it, so a call held up on its way (connect, TLS, a slow hop) can land less than a
 * minute before one sent a minute after it; a second covers that jitter for ~1.7 % of the pace.
 */
export const VC_RATE: RateLimit = { limit: 100, windowMs: 61_000, kind: 'sliding' };
/** Page sizes: VC data APIs accept 20–100 (vc-v1/participant_quality_list/get, page_size 取值范围). */
const PAGE_SIZE = 100;
/** Default lookup window: meetings of the last 7 days; meeting_list allows a year (vc-v1/meeting_list/get, 126006). */
const LOOKBACK_S = 7 * 86_400;
/**
 * participant_list / quality: end − start ≤ 1 day (126006), and for an ended meeting the end must be
 * "准确的会议结束时间" (participant_list/get, meeting_end_time). A meeting over a day cannot meet
 * both, so it is asked for in windows of at most a day (spanWindows).
 */
export const MAX_SPAN_S = 86_400;
/** Bounds on paging so a misbehaving answer cannot loop forever. */
const MAX_MEETING_PAGES = 20;
const MAX_PARTICIPANT_PAGES = 200;
const MAX_QUALITY_PAGES = 20;
/** Parallel quality calls for one batch: the shared budget is the real limit; this bounds latency. */
const CONCURRENCY = 4;
/** Retries: one token refresh (99991663, generic-error-code); 429s after their reset; 5xx with back-off (larksuite/node-sdk channel/outbound/retry.ts). */
const RETRIES = { rate: 3, transient: 2 };

interface Body<T> {
  code?: number;
  msg?: string;
  data?: T;
}

interface MeetingItem {
  meeting_id?: string;
  meeting_instance_id?: string;
  meeting_topic?: string;
  meeting_start_time?: string;
  meeting_end_time?: string;
}

interface ParticipantItem {
  participant_name?: string;
  user_id?: string;
  meeting_room_id?: string;
  room_id?: string;
  device?: string;
  protocol?: string;
  join_time?: string;
  leave_time?: string;
}

const DEVICES: Record<string, DeviceKind> = {
  windows: 'pc', pc: 'pc', mac: 'mac', macos: 'mac', android: 'android', ios: 'ios', iphone: 'ios', ipad: 'ipad',
  web: 'web', linux: 'linux', rooms: 'rooms', room: 'rooms', pstn: 'pstn', phone: 'pstn', telephone: 'pstn',
  sip: 'sip', h323: 'sip', harmony: 'harmony', harmonyos: 'harmony', android_pad: 'android_pad',
};

export function deviceKind(raw: unknown): DeviceKind {
  return typeof raw === 'string' ? DEVICES[raw.trim().toLowerCase()] ?? 'unknown' : 'unknown';
}

/**
 * Windows of at most a day covering [start, end], the first starting at the meeting's start and the
 * last ending at its exact end; one window (the exact span) for a meeting of a day or less.
 */
export function spanWindows(start: number, end: number): [number, number][] {
  if (end - start <= MAX_SPAN_S) return [[start, end]];
  const out: [number, number][] = [];
  for (let from = start; from < end; from += MAX_SPAN_S) out.push([from, Math.min(end, from + MAX_SPAN_S)]);
  return out;
}

/** The window a participant who joined at `join` was listed in. */
export function windowFor(start: number, end: number, join: number): [number, number] {
  const windows = spanWindows(start, end);
  const i = Math.min(windows.length - 1, Math.max(0, Math.floor((join - start) / MAX_SPAN_S)));
  return windows[i]!;
}

export function createFeishuVendor(deps: FeishuVendorDeps): VendorClient {
  const { config, store, clock, log } = deps;
  const http = { metrics: deps.metrics, clock, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) };
  // The app's one client, shared with the Feishu channel's IM (http/lark.ts).
  const { client, tokens } = createLarkClient(config, http, log);
  const rate = config.vcRate ?? VC_RATE;
  const rateKey = (api: Api) => `rate:feishu:${api}:${config.appId}`;
  const resetKey = (api: Api) => `ratelimit-reset:feishu:${api}:${config.appId}`;
  const grants: GrantStore | undefined = config.userAuth
    ? createGrantStore({ appId: config.appId, appSecret: config.appSecret, baseUrl: config.baseUrl, auth: config.userAuth, store, clock, log, http })
    : undefined;
  if (!grants) {
    log.info({ vendor: 'feishu', missing: config.userAuthOff ?? null }, `feishu user authorisation is off (${config.userAuthOff ?? 'not configured'} not set): VC calls use the app's tenant token, which apps created today cannot use for meeting data`);
  }
  const caller = createCaller({ clock, log, metrics: deps.metrics, store }, {
    kind: 'vendor', target: 'feishu', classify: (err) => classify(err, 'call'), retries: RETRIES,
    ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}),
  });

  /** Time texts through parseFeishuTime; each shape it cannot read is logged once (F6: the live format is UNCONFIRMED). */
  const unreadShapes = new Set<string>();
  function readTime(field: string, raw: unknown): number | undefined {
    const t = parseFeishuTime(raw);
    if (t === undefined && raw !== undefined && raw !== '') {
      const shape = timeShape(raw);
      if (!unreadShapes.has(shape)) {
        unreadShapes.add(shape);
        log.info({ vendor: 'feishu', field, shape }, 'a Feishu time text we cannot read');
      }
    }
    return t;
  }

  /**
   * One VC call through the outbound policy: the API's shared budget, a reset Feishu announced
   * honoured by every command, retries as the classifier says. With user authorisation on, the
   * admin's grant (lark.withUserAccessToken) is used, renewed once when Feishu refuses it; without
   * it, the tenant token the SDK attaches itself (existing apps with the legacy scope keep working).
   */
  async function call<T>(api: Api, fn: (auth: CallAuth) => Promise<Body<T>>, opts: FetchOptions): Promise<T> {
    let userToken: string | undefined;
    let rejected: string | undefined;
    let grantFailed = false;
    return caller({
      op: api,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
      budgets: [{ key: rateKey(api), rate }],
      pauseKey: resetKey(api),
      // A grant that cannot be had (lapsed, Feishu down) is the grant store's verdict, retried there if at all: a refresh token works once.
      classify: (err) => (grantFailed ? { error: asMeetcheckError(err) } : classify(err, api, { userToken: userToken !== undefined, userMode: grants !== undefined })),
      refreshToken: (v) => {
        if (v.error.code === 'user_auth_lapsed' && userToken !== undefined) rejected = userToken;
        else tokens.clear();
      },
      tokenRefusedAgain: async (v) => {
        // A freshly refreshed token refused as well: the grant itself is broken.
        if (v.error.code === 'user_auth_lapsed' && grants) await grants.drop('a renewed user token was refused too');
      },
    }, async () => {
      try {
        userToken = rejected !== undefined ? await grants!.renewAfterRejection(rejected, opts.signal) : await grants?.accessToken(opts.signal);
      } catch (err) {
        grantFailed = true;
        throw err;
      }
      rejected = undefined;
      const res = await fn(userToken ? larkSdk().withUserAccessToken(userToken) : undefined);
      if (res.code !== undefined && res.code !== 0) throw new LarkBusinessError(res.code, res.msg ?? '');
      return (res.data ?? {}) as T;
    });
  }

  async function findMeeting(code: string, query: VendorQuery, opts: FetchOptions): Promise<{ meeting: MeetingItem; start: number; end: number; count: number }> {
    const now = Math.floor(clock.now() / 1000);
    const window = query.at ? atWindow(query.at) : { from: now - LOOKBACK_S, to: now };
    const to = Math.min(window.to, now);
    if (window.from >= to) throw new MeetcheckError('meeting_not_found', `feishu: ${code} (the --at time is in the future)`, { vendor: 'feishu' });
    const found: MeetingItem[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_MEETING_PAGES; page++) {
      const data = await call<{ meeting_list?: MeetingItem[]; has_more?: boolean; page_token?: string }>('meeting_list', (auth) =>
        client.vc.v1.meetingList.get({
          params: { start_time: String(window.from), end_time: String(to), meeting_no: code, page_size: PAGE_SIZE, ...(pageToken ? { page_token: pageToken } : {}) },
        }, auth) as Promise<Body<{ meeting_list?: MeetingItem[] }>>, opts);
      found.push(...(data.meeting_list ?? []));
      if (!data.has_more || !data.page_token) break;
      pageToken = data.page_token;
    }
    if (found.length === 0) throw new MeetcheckError('meeting_not_found', `feishu: ${code}`, { vendor: 'feishu' });
    const ended = found
      .map((m) => ({ meeting: m, start: readTime('meeting_start_time', m.meeting_start_time), end: readTime('meeting_end_time', m.meeting_end_time) }))
      .filter((m): m is { meeting: MeetingItem; start: number; end: number } => m.start !== undefined && m.end !== undefined && m.end <= now);
    if (ended.length === 0) {
      log.info({ vendor: 'feishu', count: found.length, endTimeSample: found[0]?.meeting_end_time ?? null }, 'no ended meeting with that number');
      throw new MeetcheckError('meeting_not_ended', undefined, { vendor: 'feishu' });
    }
    ended.sort((a, b) => b.end - a.end);
    return { ...ended[0]!, count: ended.length };
  }

  type Listing = { items: ParticipantItem[]; complete: boolean; stop?: 'deadline' | 'long' };

  /** Everyone in the meeting, one ≤ 1-day window at a time (one window for most meetings). */
  async function listParticipants(code: string, start: number, end: number, opts: FetchOptions): Promise<Listing> {
    const windows = spanWindows(start, end);
    const items: ParticipantItem[] = [];
    const seen = new Set<string>();
    let pages = 0;
    for (const [i, [from, to]] of windows.entries()) {
      let pageToken: string | undefined;
      for (;;) {
        if (pages > 0 && opts.deadline !== undefined && clock.now() >= opts.deadline) return { items, complete: false, stop: 'deadline' };
        if (pages++ >= MAX_PARTICIPANT_PAGES) return { items, complete: false, stop: 'deadline' };
        let data: { participants?: ParticipantItem[]; has_more?: boolean; page_token?: string };
        try {
          data = await call<{ participants?: ParticipantItem[]; has_more?: boolean; page_token?: string }>('participant_list', (auth) =>
            client.vc.v1.participantList.get({
              params: {
                meeting_start_time: String(from), meeting_end_time: String(to), meeting_no: code,
                page_size: PAGE_SIZE, user_id_type: 'open_id', ...(pageToken ? { page_token: pageToken } : {}),
              },
            }, auth) as Promise<Body<{ participants?: ParticipantItem[] }>>, opts);
        } catch (err) {
          // UNCONFIRMED how Feishu serves a meeting over a day: if it refuses a window, show what
          // the earlier windows gave and say so, rather than failing the whole report.
          const c = err instanceof MeetcheckError ? err.options.vendorCode : undefined;
          if (windows.length > 1 && (c === SPAN_TOO_LONG || c === MEETING_NOT_MATCHED)) {
            log.info({ vendor: 'feishu', window: i, windows: windows.length, code: c }, 'Feishu refused a window of a meeting longer than a day');
            return { items, complete: false, stop: 'long' };
          }
          throw err;
        }
        for (const p of data.participants ?? []) {
          // A person present at a window's edge can be listed in both windows.
          const k = `${p.user_id || p.meeting_room_id || p.room_id || p.participant_name || ''}|${p.join_time ?? ''}`;
          if (windows.length > 1 && seen.has(k)) continue;
          seen.add(k);
          items.push(p);
        }
        opts.onProgress?.({ loaded: items.length });
        if (!data.has_more || !data.page_token) break;
        pageToken = data.page_token;
      }
    }
    return { items, complete: true };
  }

  function toAttendee(p: ParticipantItem, index: number): Attendee {
    const join = readTime('join_time', p.join_time);
    const leave = readTime('leave_time', p.leave_time);
    // Rooms: `meeting_room_id` in the SDK types, `room_id` in the query; which one the list
    // carries is UNCONFIRMED (node-sdk code-gen/projects/vc.ts vs the doc), so either is accepted.
    const roomId = p.meeting_room_id || p.room_id;
    const id = p.user_id || roomId || '';
    const protocol = typeof p.protocol === 'string' ? p.protocol.toLowerCase() : '';
    const a: Attendee = {
      key: `${id || `p${index}`}|${join ?? index}`,
      name: p.participant_name || id || '?',
      device: roomId && !p.user_id ? 'rooms' : deviceKind(p.device),
      role: 'attendee',
      health: 0,
      ratings: { ...NO_RATINGS },
      problems: [],
      loaded: false,
    };
    if (join !== undefined) a.joinedAt = join;
    if (leave !== undefined) a.leftAt = leave;
    if (id && join !== undefined) {
      a.ref = { id, kind: p.user_id ? 'user' : 'room', join, ...(protocol === 'tcp' || protocol === 'udp' ? { transport: protocol } : {}) };
    } else {
      // Without an id and a join time quality cannot be asked for: that is "no data", shown as such.
      a.loaded = true;
    }
    return a;
  }

  async function loadOne(source: { code: string; start: number; end: number }, a: Attendee, opts: FetchOptions & { lang: 'zh' | 'en' }): Promise<Attendee> {
    const ref = a.ref;
    if (!ref) return { ...a, loaded: true };
    const samples: Sample[] = [];
    const transport = ref.transport === 'tcp' || ref.transport === 'udp' ? ref.transport : undefined;
    let pageToken: string | undefined;
    // The same ≤ 1-day window the participant was listed in (F7).
    const [from, to] = windowFor(source.start, source.end, Number(ref.join));
    try {
      for (let page = 0; page < MAX_QUALITY_PAGES; page++) {
        const data = await call<{ participant_quality_list?: QualityItem[]; has_more?: boolean; page_token?: string }>('quality', (auth) =>
          client.vc.v1.participantQualityList.get({
            params: {
              meeting_start_time: String(from), meeting_end_time: String(to), meeting_no: source.code,
              join_time: String(ref.join),
              ...(ref.kind === 'room' ? { room_id: String(ref.id) } : { user_id: String(ref.id) }),
              page_size: PAGE_SIZE, user_id_type: 'open_id', ...(pageToken ? { page_token: pageToken } : {}),
            },
          }, auth) as Promise<Body<{ participant_quality_list?: QualityItem[] }>>, opts);
        for (const item of data.participant_quality_list ?? []) samples.push(toSample(item, transport));
        if (!data.has_more || !data.page_token) break;
        pageToken = data.page_token;
      }
    } catch (err) {
      // 126010: Feishu has no device for this person and join time: no data, not a failed report.
      if (!(err instanceof MeetcheckError && err.options.vendorCode === DEVICE_NOT_FOUND)) throw err;
    }
    const derived = deriveHealth(samples, opts.lang);
    return { ...a, loaded: true, health: derived.health, ratings: derived.ratings, problems: derived.problems };
  }

  return {
    name: 'feishu',
    ...(grants ? { userAuth: { authorizeUrl: grants.authorizeUrl, exchange: grants.exchange } } : {}),
    async fetchReport(query, opts): Promise<MeetingReport> {
      const code = query.meeting.code ?? query.meeting.id ?? '';
      // Feishu meeting numbers are 9 digits (126004).
      if (!/^\d{9}$/.test(code)) throw new MeetcheckError('meeting_not_found', `feishu: ${code} is not a 9-digit Feishu meeting number`, { vendor: 'feishu' });
      const found = await findMeeting(code, query, opts);
      // The exact end (F7): windows of a day or less are made from it, never a cut-off end.
      const end = found.end;
      const { items, complete, stop } = await listParticipants(code, found.start, end, opts);
      if (items[0]) {
        log.debug({ vendor: 'feishu', fields: Object.keys(items[0]), device: items[0].device ?? null, joinTimeSample: items[0].join_time ?? null }, 'participant_list shape');
      }
      const notes: ReportNote[] = [];
      if (found.count > 1) notes.push({ key: 'note.multipleMeetings', params: { count: found.count, start: { time: found.start } } });
      if (stop === 'deadline') notes.push({ key: 'summary.partial', params: { reason: { key: 'note.partial.deadline', params: { seconds: 60, loaded: items.length } } } });
      if (stop === 'long') notes.push({ key: 'summary.partial', params: { reason: { key: 'note.partial.longMeeting', params: { hours: Math.round((end - found.start) / 3600), loaded: items.length } } } });
      return {
        meeting: {
          vendor: 'feishu', code,
          meetingId: found.meeting.meeting_instance_id || found.meeting.meeting_id || code,
          ...(found.meeting.meeting_topic ? { subject: found.meeting.meeting_topic } : {}),
          startTime: found.start, endTime: found.end, ended: true,
        },
        health: 0,
        ratings: { ...NO_RATINGS },
        problems: [],
        attendees: items.map(toAttendee),
        complete,
        notes,
        source: { code, start: found.start, end },
      };
    },

    async loadAttendees(report, attendees, opts): Promise<Attendee[]> {
      const src = report.source ?? {};
      const source = { code: String(src.code ?? report.meeting.code ?? ''), start: Number(src.start ?? report.meeting.startTime), end: Number(src.end ?? report.meeting.endTime) };
      const { results } = await mapPool(attendees, CONCURRENCY, (a, _i, signal) => loadOne(source, a, { ...opts, signal }), opts.signal ? { signal: opts.signal } : {});
      return results as Attendee[];
    },
  };
}


/**
 * The registration (vendors/index.ts): Feishu VC, on whenever the Feishu app is (FEISHU_APP_ID +
 * FEISHU_APP_SECRET): one app serves the chat and the meeting data, so its section is the app's.
 */
export const feishu = defineVendor({
  name: 'feishu',
  aliases: ['lark', '飞书'],
  configFrom: (_env, shared) => shared.feishu,
  create: (config, deps) => createFeishuVendor({ config, ...deps }),
});
