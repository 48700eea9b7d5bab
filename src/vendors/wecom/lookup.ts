import type { Clock } from '../../core/clock.js';
import { atWindow, type AtTime } from '../../core/command.js';
import { MeetcheckError, type ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/types.js';
import { wecomErrcode, type WecomApi } from './api.js';
import { normaliseCode, parseMeetingIdPage, str, type Obj } from './wire.js';

/**
 * Meeting code → meetingid. `meeting/get_info` takes a meeting_code but its answer carries no
 * meetingid (WeCom doc 98149's example; go-wecom's GetMeetingInfoResponse), and get_quality needs
 * the id. So, as the official wecom-cli skill does ("先通过 list_user_meetings 获取会议 ID 列表, 再通过
 * get_meeting_info 逐个获取详情"): list a member's meeting ids with `meeting/get_user_meetingid`
 * (doc 99050), get_info each, and keep the one whose meeting_code matches.
 *
 * Whose list: the person who asked (a WeCom chat member's userid), then each userid in
 * WECOM_MEETING_ADMINS. A self-built app only sees meetings it created: "自建应用和第三方应用只能
 * 拉取该应用创建的会议ID" (99050). The lists are a way to find a meeting, not an access check:
 * get_quality is scoped to the app, not to a member, and who may run /quality at all is decided by
 * MEETCHECK_ALLOWED_CHATS / MEETCHECK_ADMINS.
 */

export interface CodeLookupOptions {
  api: WecomApi;
  store: Store;
  clock: Clock;
  log: Logger;
  corpId: string;
  /** WECOM_MEETING_ADMINS, in order. */
  admins: readonly string[];
}

export interface CodeLookupInput {
  /** Digits only. */
  code: string;
  /** The asking member's WeCom userid, when the command came from a WeCom chat. */
  askerUserId?: string;
  at?: AtTime;
  signal?: AbortSignal;
  /** Epoch ms; the lookup gives up with vendor_timeout past it. */
  deadline?: number;
}

export interface FoundMeeting {
  meetingId: string;
  /** The get_info answer for that meeting (the caller needs nothing more). */
  info: Obj;
  /** 'cache', or the userid whose list held the meeting. */
  via: string;
}

export interface CodeLookup {
  find(input: CodeLookupInput): Promise<FoundMeeting>;
}

const DAY_S = 86_400;
/** get_user_meetingid: "每次拉取的数据量，默认值和最大值都为100" (99050). */
export const LIST_PAGE_LIMIT = 100;
/** get_user_meetingid end_time: "时间跨度不超过180天" (99050); a minute's margin keeps us inside it. */
const MAX_SPAN_S = 180 * DAY_S - 60;
/** get_quality start_time: "可查询的时间区间为过去7天到现在" (98821): only these meetings can be reported. */
const RECENT_S = 7 * DAY_S;
/** People join before the slot given with --at. */
const EARLY_JOIN_S = 30 * 60;
/** get_info calls at once: enough to be quick, few enough not to trip 45033 (concurrent calls, doc 96213). */
const INFO_CONCURRENCY = 4;
/** Bounds one lookup: at most this many get_info calls (a busy organiser books many meetings). */
export const MAX_INFO_CALLS = 300;
/** A runaway cursor chain stops here (20 × 100 ids per member). */
const MAX_LIST_PAGES = 20;
/**
 * code → meetingid, kept briefly. A cached id is always checked: the get_info that the report
 * needs anyway must still show this code, so a meeting that lost the code is dropped at no extra
 * cost. What that check cannot see is a newer meeting given the same code (WeCom hands a code out
 * again once a meeting is over), so the entry lives one hour: long enough for the refresh button
 * and the follow-up questions about one meeting, short enough that a reused code is found soon.
 */
export const CODE_CACHE_TTL_MS = 60 * 60_000;

/** Failures of get_info for one listed id that say "not this one", not "stop". */
const SKIP_ON_INFO: ReadonlySet<ErrorCode> = new Set(['meeting_not_found', 'meeting_not_created_by_app', 'meeting_not_ended', 'meeting_too_old']);
/**
 * Failures of get_user_meetingid for one member that skip that member: 60111 "UserID不存在", 60011
 * "指定的成员/部门/标签参数无权限" (outside the app's visibility) (doc 96213).
 */
const SKIP_MEMBER_ERRCODES: ReadonlySet<number> = new Set([60111, 60011]);

export function createCodeLookup(opts: CodeLookupOptions): CodeLookup {
  const loggedShapes = new Set<string>();

  const cacheKey = (code: string) => `wecom:code:${opts.corpId}:${code}`;

  function logShape(shape: string): void {
    if (loggedShapes.has(shape) || loggedShapes.size >= 8) return;
    loggedShapes.add(shape);
    // The answer's field names and types are UNCONFIRMED on a live tenant: say once what came.
    opts.log.info({ op: 'get_user_meetingid', shape }, 'wecom get_user_meetingid answer shape');
  }

  async function cached(code: string): Promise<string | undefined> {
    try {
      return await opts.store.get(cacheKey(code));
    } catch (err) {
      opts.log.warn({ err }, 'wecom meeting-code cache unreadable; searching the lists');
      return undefined;
    }
  }

  async function remember(code: string, meetingId: string): Promise<void> {
    try {
      await opts.store.set(cacheKey(code), meetingId, CODE_CACHE_TTL_MS);
    } catch (err) {
      opts.log.warn({ err }, 'wecom meeting-code cache not written');
    }
  }

  async function forget(code: string): Promise<void> {
    await opts.store.delete(cacheKey(code)).catch(() => undefined);
  }

  return {
    async find(input) {
      const { code, signal } = input;
      let infoCalls = 0;
      const checked = new Set<string>();

      const overDeadline = () => input.deadline !== undefined && opts.clock.now() >= input.deadline;
      const checkDeadline = () => {
        if (overDeadline()) throw new MeetcheckError('vendor_timeout', `wecom: meeting code lookup ran past the deadline after ${infoCalls} get_info calls`, { vendor: 'wecom' });
      };

      /** get_info for one id; the answer when its meeting_code is ours, else undefined. */
      async function matches(meetingId: string): Promise<Obj | undefined> {
        infoCalls++;
        let info: Obj;
        try {
          info = await opts.api.post('get_info', '/cgi-bin/meeting/get_info', { meetingid: meetingId }, signal);
        } catch (err) {
          if (err instanceof MeetcheckError && SKIP_ON_INFO.has(err.code)) {
            opts.log.debug({ op: 'get_info', code: err.code, detail: err.detail }, 'wecom listed meeting skipped');
            return undefined;
          }
          throw err;
        }
        return normaliseCode(info.meeting_code) === code ? info : undefined;
      }

      // 1. The cache, checked by the get_info the caller needs anyway.
      const hit = await cached(code);
      if (hit) {
        checked.add(hit);
        const info = await matches(hit);
        if (info) return { meetingId: hit, info, via: 'cache' };
        await forget(code);
      }

      // 2. The lists: the asker's, then each admin's; the last 7 days first (all get_quality can
      // report), then the rest of the 180 days one call may span. The second pass is for meetings
      // whose own start is older than the window, as a recurring series begun weeks ago is if the
      // list filters on the series start (UNCONFIRMED which start it filters on).
      const members = [...new Set([input.askerUserId, ...opts.admins].filter((u): u is string => Boolean(u)))];
      const nowS = Math.floor(opts.clock.now() / 1000);
      const oldest = nowS - MAX_SPAN_S;
      let recentBegin = nowS - RECENT_S;
      if (input.at) recentBegin = Math.max(oldest, Math.min(recentBegin, atWindow(input.at).from - EARLY_JOIN_S));
      const windows: [number, number][] = [[recentBegin, nowS]];
      if (recentBegin > oldest) windows.push([oldest, recentBegin]);
      const skipped = new Set<string>();
      let capped = false;

      search: for (const [begin, end] of windows) {
        for (const userid of members) {
          if (skipped.has(userid)) continue;
          let cursor: string | undefined;
          for (let page = 0; page < MAX_LIST_PAGES; page++) {
            checkDeadline();
            const body: Record<string, unknown> = { userid, begin_time: begin, end_time: end, limit: LIST_PAGE_LIMIT };
            if (cursor) body.cursor = cursor;
            let json: Obj;
            try {
              json = await opts.api.post('get_user_meetingid', '/cgi-bin/meeting/get_user_meetingid', body, signal);
            } catch (err) {
              const errcode = wecomErrcode(err);
              if (errcode !== undefined && SKIP_MEMBER_ERRCODES.has(errcode)) {
                skipped.add(userid);
                const role = userid === input.askerUserId ? 'asker' : 'WECOM_MEETING_ADMINS';
                opts.log.warn({ op: 'get_user_meetingid', userid, role, errcode }, 'wecom cannot list this member\'s meetings; skipping them');
                break;
              }
              throw err;
            }
            const parsed = parseMeetingIdPage(json);
            logShape(parsed.shape);
            const fresh = parsed.ids.filter((id) => !checked.has(id));
            const room = MAX_INFO_CALLS - infoCalls;
            if (fresh.length > room) capped = true;
            const batch = fresh.slice(0, Math.max(0, room));
            for (const id of batch) checked.add(id);
            const info = await firstMatch(batch, matches, INFO_CONCURRENCY, checkDeadline);
            if (info) {
              const meetingId = batch[info.index]!;
              opts.log.info({ op: 'get_user_meetingid', via: userid === input.askerUserId ? 'asker' : 'admin', infoCalls }, 'wecom meeting code found');
              await remember(code, meetingId);
              return { meetingId, info: info.value, via: userid };
            }
            if (capped) break search;
            if (!parsed.next || parsed.next === cursor) break;
            cursor = parsed.next;
          }
        }
      }

      const detail = `code ${code}: not in the meeting lists of ${members.length ? members.join(', ') : '(nobody: no asker, WECOM_MEETING_ADMINS unset)'}; ${infoCalls} meetings checked${capped ? `, stopped at ${MAX_INFO_CALLS}` : ''}`;
      opts.log.info({ op: 'get_user_meetingid', members: members.length, skipped: skipped.size, infoCalls, capped }, 'wecom meeting code not found in any list');
      throw new MeetcheckError('wecom_meeting_not_visible', detail, { vendor: 'wecom' });
    },
  };
}

/**
 * Runs `check` over `items`, `limit` at a time, and stops starting new ones once one matched.
 * A match wins over a failure seen alongside it; otherwise the first failure is thrown.
 */
async function firstMatch<T>(items: readonly string[], check: (item: string) => Promise<T | undefined>, limit: number, beforeEach: () => void): Promise<{ index: number; value: T } | undefined> {
  let next = 0;
  let found: { index: number; value: T } | undefined;
  let failure: { err: unknown } | undefined;
  async function worker(): Promise<void> {
    while (!found && !failure && next < items.length) {
      const index = next++;
      try {
        beforeEach();
        const value = await check(items[index]!);
        if (value !== undefined && !found) found = { index, value };
      } catch (err) {
        failure ??= { err };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (found) return found;
  if (failure) throw failure.err;
  return undefined;
}

/** The asker's userid when it is a WeCom member's (a Feishu open_id or a console user is not). */
export function wecomAsker(asker: { channel: string; userId: string } | undefined): string | undefined {
  return asker?.channel === 'wecom' ? str(asker.userId) : undefined;
}
