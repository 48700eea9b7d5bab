import type { AtTime, MeetingRef, OccurrenceHint, VendorAliases } from './command.js';
import type { Lang } from './i18n.js';
import type { Attendee, ChannelName, MeetingReport, VendorName } from './model.js';
import { MeetcheckError } from './errors.js';

/** What a vendor is asked: one meeting, maybe one occurrence of it. */
export interface VendorQuery {
  /** Has `code` or `id`; its vendor has already been resolved. */
  meeting: MeetingRef;
  at?: AtTime;
  /** Set when an event (not a person) asked: what it said about the occurrence. */
  hint?: OccurrenceHint;
  lang: Lang;
  /**
   * Who asked, and in which chat. Some vendors can only find a meeting through a person (WeCom's
   * get_user_meetingid lists one member's meetings) or act with a person's grant (Feishu's user
   * authorisation). Absent for operator-configured runs (meeting-end reports, the CLI).
   */
  asker?: Asker;
}

export interface Asker {
  channel: ChannelName;
  chatId: string;
  userId: string;
}

export interface Progress {
  loaded: number;
  /** When the vendor knows it up front. */
  total?: number;
}

export interface FetchOptions {
  signal?: AbortSignal;
  /**
   * Epoch ms (from the injected clock). A vendor that pages past it stops and returns what it has
   * with `complete: false` and a note saying so, instead of failing.
   */
  deadline?: number;
  onProgress?: (p: Progress) => void;
}

/**
 * A meeting vendor, as the core sees it. Clients are built in one place (vendors/index.ts) with
 * their HTTP injected, after probot's src/octokit/*.
 */
export interface VendorClient {
  readonly name: VendorName;
  /**
   * The report for one meeting. Vendors that return quality per participant may leave attendees
   * `loaded: false` and implement `loadAttendees`; the core then loads them page by page.
   * Throws MeetcheckError for every failure a person should hear about.
   */
  fetchReport(query: VendorQuery, opts: FetchOptions): Promise<MeetingReport>;
  loadAttendees?(report: MeetingReport, attendees: Attendee[], opts: FetchOptions & { lang: Lang }): Promise<Attendee[]>;
  /**
   * Present when the vendor can act on a person's authorisation (OAuth 2) and is set up to keep
   * one. When a fetch fails with `user_auth_required` or `user_auth_lapsed`, a channel shows the
   * consent link; the redirect comes back to the channel's own route, which hands the code here.
   */
  readonly userAuth?: UserAuthorisation;
}

export interface UserAuthorisation {
  /** The vendor's consent page for `state`: a random, single-use value the caller keeps. */
  authorizeUrl(state: string): string;
  /**
   * Exchanges the code from the redirect for a grant. Nothing is stored until `keep()`, so the
   * caller can first check whose grant it is (`userId`, when the vendor could tell).
   */
  exchange(code: string): Promise<{ userId?: string; keep(): Promise<void> }>;
}

/**
 * The switched-on vendors by name (vendors/index.ts builds it from the registrations). A plain Map
 * of clients will do in tests; the registry also carries what the registrations say.
 */
export interface VendorRegistry extends ReadonlyMap<VendorName, VendorClient> {
  /** Every registered vendor's words for the command grammar (parseCommand), switched on or not. */
  readonly aliases?: VendorAliases;
  /** The vendor for a chat whose platform has none of its own (a registration says which). */
  readonly fallback?: VendorName;
}

/** The normalised command a stored report can re-run. */
export interface QualityCommandText {
  vendor: VendorName;
  meeting: MeetingRef;
  at?: AtTime;
  hint?: OccurrenceHint;
  problemsOnly: boolean;
}

/**
 * Picks the vendor for a meeting reference: its prefix, else the configured default, else the one
 * the chat's platform prefers when that is a known vendor (Feishu chat → feishu, WeCom chat →
 * wecom: the platform passes its name or its default vendor), else the registry's fallback; the
 * only vendor when there is just one (demo, with no credentials set).
 */
export function resolveVendor(
  registry: VendorRegistry,
  meeting: MeetingRef,
  preferred: string | undefined,
  configuredDefault?: VendorName,
): VendorClient {
  const wanted = meeting.vendor ?? configuredDefault ?? defaultVendorFor(registry, preferred);
  const client = wanted === undefined ? undefined : registry.get(wanted);
  if (!client) {
    throw new MeetcheckError('vendor_not_configured', wanted ?? preferred ?? '?', { vendor: wanted ?? preferred ?? '?' });
  }
  return client;
}

function defaultVendorFor(registry: VendorRegistry, preferred: string | undefined): VendorName | undefined {
  const known = (name: string) => registry.has(name) || [...(registry.aliases?.values() ?? [])].includes(name);
  const own = preferred !== undefined && known(preferred) ? preferred : registry.fallback;
  if (own !== undefined && registry.has(own)) return own;
  // Only one vendor switched on (demo, when no credentials are set): every unprefixed meeting goes there.
  if (registry.size === 1) return [...registry.keys()][0];
  return own;
}
