import type { Attendee, Health } from './model.js';
import { worstLevel } from './model.js';

/**
 * Pure functions over a report's attendees: the worst-first order, the "only problems" filter and
 * the summary counts. The report store computes them once at save time; viewPage computes them for
 * a report held in memory. One definition, so both give the same card.
 */

/** Which attendees a page lists: everyone, or only those with problems. */
export type Filter = 'all' | 'problems';

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

/** Who the "only problems" filter keeps. */
export function hasProblems(a: Attendee): boolean {
  return a.loaded && (a.health === 2 || a.problems.length > 0 || worstLevel(a.ratings) >= 3);
}

export interface Counts {
  alert: number;
  healthy: number;
  noData: number;
  loading: number;
}

/** How many of the commonest problems a card's summary line names. */
export const TOP_PROBLEMS = 3;

export interface Tally {
  counts: Counts;
  /** The commonest problems across the meeting, most frequent first (ties by text). */
  topProblems: { text: string; count: number }[];
  /** Attendees the "only problems" filter keeps. */
  withProblems: number;
}

export function tally(attendees: readonly Attendee[]): Tally {
  const counts: Counts = { alert: 0, healthy: 0, noData: 0, loading: 0 };
  const problemCounts = new Map<string, number>();
  let withProblems = 0;
  for (const a of attendees) {
    if (!a.loaded) counts.loading++;
    else if (a.health === 2) counts.alert++;
    else if (a.health === 1) counts.healthy++;
    else counts.noData++;
    if (hasProblems(a)) withProblems++;
    for (const p of new Set(a.problems)) problemCounts.set(p, (problemCounts.get(p) ?? 0) + 1);
  }
  const topProblems = [...problemCounts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_PROBLEMS)
    .map(([text, count]) => ({ text, count }));
  return { counts, topProblems, withProblems };
}
