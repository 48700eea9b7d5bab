import { hasProblems, sortAttendees, tally, type Counts, type Filter } from './attendees.js';
import { MeetcheckError } from './errors.js';
import type { Attendee, MeetingReport } from './model.js';
import { loadRows, readReport, type ReportHead } from './report.js';
import type { Store } from '../store/types.js';

export { TOP_PROBLEMS, type Filter } from './attendees.js';

/** Everything a card renderer needs for one page; renderers do no counting or sorting. */
export interface PageView {
  /**
   * The report's header (id, chat, language, meeting summary, notes). From viewPage it is the whole
   * StoredReport it was given; from readPage (a flip read from the store) it holds no attendees.
   */
  stored: ReportHead;
  /** 0-based, clamped into range. */
  page: number;
  pages: number;
  pageSize: number;
  filter: Filter;
  rows: Attendee[];
  /** Attendees in the report / matching the filter. */
  total: number;
  matching: number;
  counts: Counts;
  /** The commonest problems across the meeting, most frequent first. */
  topProblems: { text: string; count: number }[];
}

/** The page size as a whole number ≥ 1, and the page clamped into [0, pages). */
function clamp(page: number, matching: number, pageSize: number): { page: number; pages: number; size: number } {
  const size = Math.max(1, Math.floor(pageSize));
  const pages = Math.max(1, Math.ceil(matching / size));
  const p = Math.min(Math.max(0, Math.floor(Number.isFinite(page) ? page : 0)), pages - 1);
  return { page: p, pages, size };
}

/**
 * One page of a report held in memory (a command's own answer). `stored` must carry its attendees:
 * a view read with readPage holds one page only, so another page of it is read with readPage too.
 */
export function viewPage(stored: ReportHead, page: number, filter: Filter, pageSize: number): PageView {
  const all = (stored.report as Partial<MeetingReport>).attendees;
  if (!all) throw new MeetcheckError('internal', 'viewPage needs the whole report; page a view read from the store with readPage');
  const t = tally(all);
  const sorted = sortAttendees(filter === 'problems' ? all.filter(hasProblems) : all);
  const { page: p, pages, size } = clamp(page, sorted.length, pageSize);
  return {
    stored, page: p, pages, pageSize: size, filter,
    rows: sorted.slice(p * size, p * size + size),
    total: all.length, matching: sorted.length, counts: t.counts, topProblems: t.topProblems,
  };
}

/**
 * One page of a stored report, reading only the header and the chunks holding that page's rows
 * (see report.ts). `check` sees the header before any row is read (the chat check). Undefined when
 * the report has expired.
 */
export async function readStoredPage(
  store: Store, reportId: string, page: number, filter: Filter, pageSize: number, check?: (head: ReportHead) => void,
): Promise<PageView | undefined> {
  return readReport(store, reportId, async (head) => {
    check?.(head.head);
    const matching = filter === 'problems' ? head.withProblems : head.total;
    const { page: p, pages, size } = clamp(page, matching, pageSize);
    const rows = await loadRows(store, head, filter, p * size, p * size + size);
    return rows && {
      stored: head.head, page: p, pages, pageSize: size, filter, rows,
      total: head.total, matching, counts: head.counts, topProblems: head.topProblems,
    };
  });
}
