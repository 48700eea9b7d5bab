import * as lark from '@larksuiteoapi/node-sdk';
import type { Dispatcher } from 'undici';
import type { FeishuConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import { atWindow } from '../../core/command.js';
import { MeetcheckError } from '../../core/errors.js';
import { deriveHealth, type Sample } from '../../core/health.js';
import { formatTime, t } from '../../core/i18n.js';
import { NO_RATINGS, type Attendee, type DeviceKind, type MeetingReport } from '../../core/model.js';
import type { FetchOptions, VendorClient, VendorQuery } from '../../core/vendor.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { acquire } from '../../store/rate.js';
import type { RateLimit, Store } from '../../store/types.js';
import { BusinessError, classify, DEVICE_NOT_FOUND } from './errors.js';
import { createLarkClient } from '../../http/lark.js';
import { toSample, type QualityItem } from './samples.js';
import { parseFeishuTime } from './time.js';

/**
 * Feishu VC as a meeting vendor (feishu-bot-and-vc-api.md §0, §1.3):
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

/**
 * 100 requests a minute per app for each of the three VC data APIs (§1.3 "Rules"), shared by every
 * command and replica through the store. A bucket of 100 refilled at 100/min would allow ~200 in
 * the first minute and earn 429s; a burst of 10 refilled at 90/min never passes 100 in any
 * 60 s window (10 + 90), and 10 is one card page, loaded at once.
 */
const RATE: RateLimit = { limit: 10, windowMs: 6_667 };
/** Page sizes: VC data APIs accept 20–100 (feishu-vc-participant-quality-list.md, page_size). */
const PAGE_SIZE = 100;
/** Default lookup window: meetings of the last 7 days (issue 3); meeting_list allows a year (§1.3). */
const LOOKBACK_S = 7 * 86_400;
/** participant_list / quality: end − start ≤ 1 day (126006). */
const MAX_SPAN_S = 86_400;
/** Bounds on paging so a misbehaving answer cannot loop forever. */
const MAX_MEETING_PAGES = 20;
const MAX_PARTICIPANT_PAGES = 200;
const MAX_QUALITY_PAGES = 20;
/** Parallel quality calls for one batch: the shared bucket is the real limit; this bounds latency. */
const CONCURRENCY = 4;
/** Retries: one token refresh (99991663, §1.5); 429s after their reset; 5xx with backoff (larksuite channel/outbound/retry.ts). */
const RATE_RETRIES = 3;
const TRANSIENT_RETRIES = 2;
const BACKOFF_MS = 500;

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

export function createFeishuVendor(deps: FeishuVendorDeps): VendorClient {
  const { config, store, clock, log } = deps;
  const { client, tokens: cache } = createLarkClient(config, { metrics: deps.metrics, clock, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}), ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}) }, log);
  const rateKey = (api: Api) => `rate:feishu:${api}:${config.appId}`;
  const resetKey = (api: Api) => `ratelimit-reset:feishu:${api}:${config.appId}`;

  /** One VC call: shared budget, a vendor-announced pause honoured by every command, retries. */
  async function call<T>(api: Api, fn: () => Promise<Body<T>>, opts: FetchOptions): Promise<T> {
    let tokenRetried = false;
    let rateRetries = 0;
    let transient = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const pausedUntil = Number((await store.get(resetKey(api))) ?? 0);
      if (pausedUntil > clock.now()) await clock.sleep(pausedUntil - clock.now(), opts.signal);
      await acquire(store, clock, rateKey(api), RATE, opts.signal);
      try {
        const res = await fn();
        if (res.code !== undefined && res.code !== 0) throw new BusinessError(res.code, res.msg ?? '');
        return (res.data ?? {}) as T;
      } catch (err) {
        const verdict = classify(err, api);
        if (verdict.kind === 'token' && !tokenRetried) {
          tokenRetried = true;
          cache.clear();
          log.info({ vendor: 'feishu', api }, 'tenant token rejected (99991663); dropped it and retrying once');
          continue;
        }
        if (verdict.kind === 'rate' && rateRetries < RATE_RETRIES && !pastDeadline(opts, verdict.waitMs)) {
          rateRetries++;
          await store.set(resetKey(api), String(clock.now() + verdict.waitMs), verdict.waitMs);
          log.info({ vendor: 'feishu', api, waitMs: verdict.waitMs }, 'rate limited by Feishu; waiting for the reset');
          continue;
        }
        if (verdict.kind === 'transient' && transient < TRANSIENT_RETRIES) {
          const wait = BACKOFF_MS * 3 ** transient++;
          if (!pastDeadline(opts, wait)) {
            await clock.sleep(wait, opts.signal);
            continue;
          }
        }
        throw verdict.error;
      }
    }
  }

  function pastDeadline(opts: FetchOptions, waitMs: number): boolean {
    return opts.deadline !== undefined && clock.now() + waitMs > opts.deadline;
  }

  async function findMeeting(code: string, query: VendorQuery, opts: FetchOptions): Promise<{ meeting: MeetingItem; start: number; end: number; count: number }> {
    const now = Math.floor(clock.now() / 1000);
    const window = query.at ? atWindow(query.at) : { from: now - LOOKBACK_S, to: now };
    const to = Math.min(window.to, now);
    if (window.from >= to) throw new MeetcheckError('meeting_not_found', `feishu: ${code} (the --at time is in the future)`, { vendor: 'feishu' });
    const found: MeetingItem[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_MEETING_PAGES; page++) {
      const data = await call<{ meeting_list?: MeetingItem[]; has_more?: boolean; page_token?: string }>('meeting_list', () =>
        client.vc.v1.meetingList.get({
          params: { start_time: String(window.from), end_time: String(to), meeting_no: code, page_size: PAGE_SIZE, ...(pageToken ? { page_token: pageToken } : {}) },
        }) as Promise<Body<{ meeting_list?: MeetingItem[] }>>, opts);
      found.push(...(data.meeting_list ?? []));
      if (!data.has_more || !data.page_token) break;
      pageToken = data.page_token;
    }
    if (found.length === 0) throw new MeetcheckError('meeting_not_found', `feishu: ${code}`, { vendor: 'feishu' });
    const ended = found
      .map((m) => ({ meeting: m, start: parseFeishuTime(m.meeting_start_time), end: parseFeishuTime(m.meeting_end_time) }))
      .filter((m): m is { meeting: MeetingItem; start: number; end: number } => m.start !== undefined && m.end !== undefined && m.end <= now);
    if (ended.length === 0) {
      log.info({ vendor: 'feishu', count: found.length, endTimeSample: found[0]?.meeting_end_time ?? null }, 'no ended meeting with that number');
      throw new MeetcheckError('meeting_not_ended', undefined, { vendor: 'feishu' });
    }
    ended.sort((a, b) => b.end - a.end);
    return { ...ended[0]!, count: ended.length };
  }

  async function listParticipants(code: string, start: number, end: number, opts: FetchOptions): Promise<{ items: ParticipantItem[]; complete: boolean }> {
    const items: ParticipantItem[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PARTICIPANT_PAGES; page++) {
      if (page > 0 && opts.deadline !== undefined && clock.now() >= opts.deadline) return { items, complete: false };
      const data = await call<{ participants?: ParticipantItem[]; has_more?: boolean; page_token?: string }>('participant_list', () =>
        client.vc.v1.participantList.get({
          params: {
            meeting_start_time: String(start), meeting_end_time: String(end), meeting_no: code,
            page_size: PAGE_SIZE, user_id_type: 'open_id', ...(pageToken ? { page_token: pageToken } : {}),
          },
        }) as Promise<Body<{ participants?: ParticipantItem[] }>>, opts);
      items.push(...(data.participants ?? []));
      opts.onProgress?.({ loaded: items.length });
      if (!data.has_more || !data.page_token) return { items, complete: true };
      pageToken = data.page_token;
    }
    return { items, complete: false };
  }

  function toAttendee(p: ParticipantItem, index: number): Attendee {
    const join = parseFeishuTime(p.join_time);
    const leave = parseFeishuTime(p.leave_time);
    // Rooms: `meeting_room_id` in the SDK types, `room_id` in the query; which one the list
    // carries is UNCONFIRMED (§1.3), so either is accepted.
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
    try {
      for (let page = 0; page < MAX_QUALITY_PAGES; page++) {
        const data = await call<{ participant_quality_list?: QualityItem[]; has_more?: boolean; page_token?: string }>('quality', () =>
          client.vc.v1.participantQualityList.get({
            params: {
              meeting_start_time: String(source.start), meeting_end_time: String(source.end), meeting_no: source.code,
              join_time: String(ref.join),
              ...(ref.kind === 'room' ? { room_id: String(ref.id) } : { user_id: String(ref.id) }),
              page_size: PAGE_SIZE, user_id_type: 'open_id', ...(pageToken ? { page_token: pageToken } : {}),
            },
          }) as Promise<Body<{ participant_quality_list?: QualityItem[] }>>, opts);
        for (const item of data.participant_quality_list ?? []) samples.push(toSample(item, transport));
        if (!data.has_more || !data.page_token) break;
        pageToken = data.page_token;
      }
    } catch (err) {
      // 126010: Feishu has no device for this person and join time: no data, not a failed report.
      if (!(err instanceof MeetcheckError && codeOf(err) === DEVICE_NOT_FOUND)) throw err;
    }
    const derived = deriveHealth(samples, opts.lang);
    return { ...a, loaded: true, health: derived.health, ratings: derived.ratings, problems: derived.problems };
  }

  return {
    name: 'feishu',
    async fetchReport(query, opts): Promise<MeetingReport> {
      const code = query.meeting.code ?? query.meeting.id ?? '';
      // Feishu meeting numbers are 9 digits (126004).
      if (!/^\d{9}$/.test(code)) throw new MeetcheckError('meeting_not_found', `feishu: ${code} is not a 9-digit Feishu meeting number`, { vendor: 'feishu' });
      const found = await findMeeting(code, query, opts);
      const end = Math.min(found.end, found.start + MAX_SPAN_S);
      const { items, complete } = await listParticipants(code, found.start, end, opts);
      if (items[0]) {
        log.debug({ vendor: 'feishu', fields: Object.keys(items[0]), device: items[0].device ?? null, joinTimeSample: items[0].join_time ?? null }, 'participant_list shape');
      }
      const notes: string[] = [];
      if (found.count > 1) notes.push(t(query.lang, 'note.multipleMeetings', { count: found.count, start: formatTime(found.start) }));
      if (!complete) notes.push(t(query.lang, 'summary.partial', { reason: t(query.lang, 'note.partial.deadline', { seconds: 60, loaded: items.length }) }));
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
      const out: Attendee[] = new Array<Attendee>(attendees.length);
      let next = 0;
      let failure: unknown;
      const worker = async () => {
        while (failure === undefined && next < attendees.length) {
          const i = next++;
          try {
            out[i] = await loadOne(source, attendees[i]!, opts);
          } catch (err) {
            failure ??= err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, attendees.length) }, worker));
      if (failure !== undefined) throw failure;
      return out;
    },
  };
}

/** The Feishu code behind a mapped error, if any. */
function codeOf(err: MeetcheckError): number | undefined {
  const cause = err.options.cause as { body?: { code?: unknown }; code?: unknown } | undefined;
  const code = cause?.body?.code ?? cause?.code;
  return typeof code === 'number' ? code : undefined;
}
