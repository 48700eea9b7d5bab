import { randomBytes } from 'node:crypto';
import type { Store } from '../store/types.js';
import type { QualityCommandText } from './vendor.js';
import type { Lang } from './i18n.js';
import type { Attendee, ChannelName, Health, MeetingReport } from './model.js';
import { worstLevel } from './model.js';

/** The chat a report was made for; a card click from any other chat is refused. */
export interface ChatRef {
  channel: ChannelName;
  chatId: string;
}

/** What the report store keeps: the report plus who asked, where, and how to run it again. */
export interface StoredReport {
  id: string;
  createdAt: number;
  chat: ChatRef;
  lang: Lang;
  /** The command as the person typed it, normalised; re-run on refresh or after expiry. */
  command: QualityCommandText;
  report: MeetingReport;
}

/**
 * Reports stay a day: long enough for the afternoon's follow-up clicks, short enough that the store
 * stays small. A click after that re-runs the query (issue 3) or says how to (issue 4).
 */
export const REPORT_TTL_MS = 24 * 3600 * 1000;

export function newReportId(): string {
  // 96 random bits: unguessable, so a button value cannot be forged to reach another chat's report.
  return randomBytes(12).toString('base64url');
}

const key = (id: string) => `report:${id}`;

/** Saved worst first, so a page flip (viewPage) finds the order made and does not sort again. */
export async function saveReport(store: Store, stored: StoredReport): Promise<void> {
  if (!isSorted(stored.report.attendees)) stored.report.attendees = sortAttendees(stored.report.attendees);
  await store.set(key(stored.id), JSON.stringify(stored), REPORT_TTL_MS);
}

export async function loadReport(store: Store, id: string): Promise<StoredReport | undefined> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return undefined;
  const raw = await store.get(key(id));
  return raw === undefined ? undefined : (JSON.parse(raw) as StoredReport);
}

/** Sort rank: alert first, then healthy, then no data, then not loaded yet. */
function rank(a: Attendee): number {
  if (!a.loaded) return 3;
  return a.health === 2 ? 0 : a.health === 1 ? 1 : 2;
}

const collator = new Intl.Collator(['zh-Hans-CN', 'en'], { sensitivity: 'base', numeric: true });

/** Worst first: alert before healthy, then by worst rating, then by name (then key, for stability). */
export function compareAttendees(a: Attendee, b: Attendee): number {
  return (
    rank(a) - rank(b) ||
    worstLevel(b.ratings) - worstLevel(a.ratings) ||
    b.problems.length - a.problems.length ||
    collator.compare(a.name, b.name) ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

export function sortAttendees(attendees: readonly Attendee[]): Attendee[] {
  return isSorted(attendees) ? [...attendees] : [...attendees].sort(compareAttendees);
}

/** One pass (n − 1 comparisons) instead of a sort's n·log n, for lists that are nearly always sorted already. */
export function isSorted(attendees: readonly Attendee[]): boolean {
  for (let i = 1; i < attendees.length; i++) if (compareAttendees(attendees[i - 1]!, attendees[i]!) > 0) return false;
  return true;
}

/** Overall health from the attendees, for vendors that give none: any alert → alert. */
export function overallHealth(attendees: readonly Attendee[]): Health {
  let any = false;
  for (const a of attendees) {
    if (a.health === 2) return 2;
    if (a.health === 1) any = true;
  }
  return any ? 1 : 0;
}

export function hasProblems(a: Attendee): boolean {
  return a.loaded && (a.health === 2 || a.problems.length > 0 || worstLevel(a.ratings) >= 3);
}
