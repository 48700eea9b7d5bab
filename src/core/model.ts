import type { MessageKey } from './i18n.js';

/**
 * The vendor-neutral report model. Every vendor client turns its wire format into these types at
 * its edge; the core, the store and the card renderers only ever see these.
 */

/**
 * A meeting vendor's name. The core names no vendor: the names (and the type-safe union of them)
 * come from the registrations in vendors/index.ts; here they are plain strings.
 */
export type VendorName = string;

/**
 * A chat platform's name, as its registration gives it (src/channels/index.ts PLATFORMS, or an
 * in-process surface: console, cli, the meeting-end webhook): core names no platform.
 */
export type ChannelName = string;

/**
 * Ratings as WeCom and Tencent define them (developer.work.weixin.qq.com/document/path/98821, cloud.tencent.com/document/product/1095/80575):
 * 0 no data, 1 good (好), 2 fairly good (较好), 3 fair (中), 4 poor (差).
 */
export type Level = 0 | 1 | 2 | 3 | 4;
/** Health: 0 no data, 1 healthy (健康), 2 alert (告警). */
export type Health = 0 | 1 | 2;

export const ASPECTS = ['audio', 'video', 'screen', 'network'] as const;
export type Aspect = (typeof ASPECTS)[number];
export type Ratings = Record<Aspect, Level>;

/** Device kinds, from WeCom/Tencent `instance_id` (WeCom doc 98821) plus Feishu's. */
export type DeviceKind =
  | 'pstn' | 'pc' | 'mac' | 'android' | 'ios' | 'web' | 'ipad' | 'android_pad' | 'mini_program'
  | 'sip' | 'linux' | 'rooms' | 'controller' | 'harmony' | 'unknown';

export type Role = 'host' | 'cohost' | 'creator' | 'attendee' | 'guest' | 'unknown';

/** One person on one device: vendors list one row per device, and so do we. */
export interface Attendee {
  /** Unique within the report (vendor user id + device instance). */
  key: string;
  name: string;
  device: DeviceKind;
  role: Role;
  /** Unix seconds, when the vendor gives them. */
  joinedAt?: number;
  leftAt?: number;
  health: Health;
  ratings: Ratings;
  /** Human-readable problems: vendor text verbatim, or derived by core/health.ts. */
  problems: string[];
  /**
   * False while this attendee's quality has not been fetched yet (Feishu fetches quality per
   * participant, lazily). An unloaded attendee shows as "loading", never as "good".
   */
  loaded: boolean;
  /** Opaque, serialisable data the vendor needs to load this attendee's quality later. */
  ref?: Record<string, string | number>;
}

export interface MeetingInfo {
  vendor: VendorName;
  /** The meeting code people type (digits only), when known. */
  code?: string;
  /** The vendor's own meeting id (kept as a string: Tencent ids overflow JS numbers). */
  meetingId: string;
  subMeetingId?: string;
  subject?: string;
  startTime?: number;
  endTime?: number;
  /** False while the meeting is still in progress (data may be live samples, or none yet). */
  ended: boolean;
}

/**
 * A note the card shows (the report is partial, which occurrence this is, what the vendor would not
 * give): data, not text. A catalogue key and its values, translated when a card is drawn
 * (core/i18n.ts noteText), so vendors never translate and a key that does not exist fails the build.
 * A value may be another note (a reason) or a time, formatted in the card's time zone.
 */
export interface ReportNote {
  key: MessageKey;
  params?: Record<string, NoteValue>;
}
export type NoteValue = string | number | ReportNote | { time: number };

export interface MeetingReport {
  meeting: MeetingInfo;
  /** Overall health as the vendor reports it, or derived from the attendees. */
  health: Health;
  ratings: Ratings;
  problems: string[];
  attendees: Attendee[];
  /** False when loading stopped early (deadline, rate budget): the card says it is partial. */
  complete: boolean;
  notes: ReportNote[];
  /** Opaque, serialisable data the vendor needs to load more of this report later. */
  source?: Record<string, string | number>;
}

export const NO_RATINGS: Ratings = Object.freeze({ audio: 0, video: 0, screen: 0, network: 0 }) as Ratings;

export function worstLevel(r: Ratings): Level {
  return Math.max(r.audio, r.video, r.screen, r.network) as Level;
}
