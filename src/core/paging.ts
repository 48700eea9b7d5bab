import type { StoredReport } from './report.js';
import { hasProblems, sortAttendees } from './report.js';
import type { Attendee } from './model.js';

export type Filter = 'all' | 'problems';

/** Everything a card renderer needs for one page; renderers do no counting or sorting. */
export interface PageView {
  stored: StoredReport;
  /** 0-based, clamped into range. */
  page: number;
  pages: number;
  pageSize: number;
  filter: Filter;
  rows: Attendee[];
  /** Attendees in the report / matching the filter. */
  total: number;
  matching: number;
  counts: { alert: number; healthy: number; noData: number; loading: number };
  /** The commonest problems across the meeting, most frequent first. */
  topProblems: { text: string; count: number }[];
}

export const TOP_PROBLEMS = 3;

export function viewPage(stored: StoredReport, page: number, filter: Filter, pageSize: number): PageView {
  const all = stored.report.attendees;
  const counts = { alert: 0, healthy: 0, noData: 0, loading: 0 };
  const problemCounts = new Map<string, number>();
  for (const a of all) {
    if (!a.loaded) counts.loading++;
    else if (a.health === 2) counts.alert++;
    else if (a.health === 1) counts.healthy++;
    else counts.noData++;
    for (const p of new Set(a.problems)) problemCounts.set(p, (problemCounts.get(p) ?? 0) + 1);
  }
  const matchingRows = filter === 'problems' ? all.filter(hasProblems) : all;
  const sorted = sortAttendees(matchingRows);
  const size = Math.max(1, Math.floor(pageSize));
  const pages = Math.max(1, Math.ceil(sorted.length / size));
  const p = Math.min(Math.max(0, Math.floor(Number.isFinite(page) ? page : 0)), pages - 1);
  const topProblems = [...problemCounts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_PROBLEMS)
    .map(([text, count]) => ({ text, count }));
  return {
    stored,
    page: p,
    pages,
    pageSize: size,
    filter,
    rows: sorted.slice(p * size, p * size + size),
    total: all.length,
    matching: sorted.length,
    counts,
    topProblems,
  };
}
