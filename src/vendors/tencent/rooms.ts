import { asMeetcheckError, type MeetcheckError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import type { RateLimit } from '../../store/types.js';
import type { CallOptions, TencentApi } from './api.js';
import { tencentCodeOf } from './errors.js';
import { encodeQueryValue } from './sign.js';
import { parseRoomList, type RoomWire, type TimeUnit } from './wire.js';

/**
 * Ended media rooms, from the two lists that still show a meeting once /v1/meetings no longer does
 * (a one-time meeting that was ended or is 1 h past its scheduled end, DOC 42418):
 *
 * 1. `GET /v1/corp/meetings?meeting_state=1` (DOC 52492, 获取账户级已结束会议列表): account-wide, one
 *    item per media room with its real start and end in ms, which is exactly the start_time /quality
 *    needs to pick that room (DOC 80575). Admin only (会议列表查看权限), 100 calls a minute (190313).
 * 2. `GET /v1/history/meetings/{userid}` (DOC 53805): only the meetings the operator created or
 *    attended, times in seconds whose meaning (room or schedule) is UNCONFIRMED. Used when the
 *    corp list is refused or over its budget.
 */
export type RoomSource = 'corp' | 'history';

export interface RoomList {
  source: RoomSource;
  rooms: RoomWire[];
}

/** DOC 52492 / 105276: account-level endpoints are limited to 100 calls a minute per app (190313 past it). */
export const CORP_RATE: RateLimit = { limit: 100, windowMs: 60_000 };
/**
 * Page size for both lists: history allows at most 20 (DOC 53805 "最大20条"); the corp page's maximum
 * is not published, and 20 is what every other Tencent list accepts.
 */
const LIST_PAGE_SIZE = 20;
/**
 * A code names few rooms (one a session), so one page is the usual answer. The cap bounds a scan
 * by meeting_id (neither list filters by id): 5 pages is 100 rooms; with the window retry below,
 * one command takes at most a tenth of a minute's corp budget.
 */
const MAX_LIST_PAGES = 5;
/** /quality reaches 7 days back (DOC 80575); the lists are asked a little wider. */
const CORP_WINDOW_S = 8 * 86_400;
/** History filters on the scheduled start (SDK V1HistoryMeetingsUseridGet); ≤ 90 days, and 31 covers a series begun weeks ago. */
const HISTORY_WINDOW_S = 31 * 86_400;

export interface RoomFilter {
  code?: string;
  meetingId?: string;
}

export interface RoomLists {
  /** The rooms matching the filter, or the error of the corp list when neither list could answer. */
  find(filter: RoomFilter, nowS: number, call: CallOptions): Promise<RoomList | { error: MeetcheckError }>;
}

export function createRoomLists(api: TencentApi, operatorId: string, appId: string, log: Logger): RoomLists {
  // Logged once per process and shape: which unit (and, for the corp list, which window) really arrived.
  const seen = new Set<string>();
  const note = (source: RoomSource, units: Set<TimeUnit>, extra: Record<string, unknown> = {}) => {
    for (const unit of units) {
      const key = `${source}:${unit}:${JSON.stringify(extra)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      log.info({ vendor: 'tencent', source, timeUnit: unit, ...extra }, 'tencent ended-meeting list: shape seen');
    }
  };
  const corpCall = (call: CallOptions): CallOptions => ({ ...call, budget: { key: `rate:tencent:corp:${appId}`, rate: CORP_RATE } });

  async function pages(op: string, path: string, query: Record<string, string | number | undefined>, call: CallOptions, source: RoomSource, extra: Record<string, unknown> = {}): Promise<RoomWire[]> {
    const rooms: RoomWire[] = [];
    for (let page = 1; page <= MAX_LIST_PAGES; page++) {
      const p = parseRoomList(await api.get(op, path, { ...query, page, page_size: LIST_PAGE_SIZE }, call));
      note(source, p.units, extra);
      rooms.push(...p.rooms);
      if (page >= p.totalPage) break;
    }
    return rooms;
  }

  async function corp(filter: RoomFilter, nowS: number, call: CallOptions): Promise<RoomWire[]> {
    const base = {
      meeting_state: 1, meeting_code: filter.code, operator_id: operatorId, operator_id_type: 1,
    };
    // DOC 52492 gives no unit for these two ("针对媒体房间的开始时间"); DOC 52490, the same endpoint
    // for meetings in progress, says seconds. Should a window in seconds list nothing, the list is
    // asked once more without one (the server's default window), and the log says which answered.
    const windowed = matching(await pages('corp_meetings', '/v1/corp/meetings', { ...base, start_time: nowS - CORP_WINDOW_S, end_time: nowS }, corpCall(call), 'corp', { window: 'seconds' }), filter);
    if (windowed.length > 0) return windowed;
    return matching(await pages('corp_meetings', '/v1/corp/meetings', base, corpCall(call), 'corp', { window: 'none' }), filter);
  }

  async function history(filter: RoomFilter, nowS: number, call: CallOptions): Promise<RoomWire[]> {
    // "请优先使用operator_id和operator_id_type查询，当使用operator_id和operator_id_type时，userid设置为operator_id的值即可" (SDK).
    return matching(await pages('history_meetings', `/v1/history/meetings/${encodeQueryValue(operatorId)}`, {
      meeting_code: filter.code, start_time: nowS - HISTORY_WINDOW_S, end_time: nowS,
    }, call, 'history'), filter);
  }

  return {
    async find(filter, nowS, call) {
      let corpError: MeetcheckError;
      try {
        return { source: 'corp', rooms: await corp(filter, nowS, call) };
      } catch (err) {
        call.signal?.throwIfAborted();
        corpError = asMeetcheckError(err);
        log.info({ vendor: 'tencent', code: corpError.code, errorCode: tencentCodeOf(err) }, 'tencent corp meeting list refused; trying the operator\'s history');
      }
      try {
        return { source: 'history', rooms: await history(filter, nowS, call) };
      } catch (err) {
        call.signal?.throwIfAborted();
        const e = asMeetcheckError(err);
        log.info({ vendor: 'tencent', code: e.code, errorCode: tencentCodeOf(err) }, 'tencent meeting history refused too');
        return { error: corpError };
      }
    },
  };
}

function matching(rooms: RoomWire[], filter: RoomFilter): RoomWire[] {
  return rooms.filter((r) => (!filter.meetingId || r.meetingId === filter.meetingId) && (!filter.code || !r.code || r.code === filter.code));
}
