import { randomBytes } from 'node:crypto';
import { expireMany, getMany } from '../store/many.js';
import type { Store } from '../store/types.js';
import { hasProblems, isSorted, sortAttendees, tally, type Counts, type Filter } from './attendees.js';
import type { Lang } from './i18n.js';
import type { Attendee, ChannelName, MeetingReport } from './model.js';
import type { QualityCommandText } from './vendor.js';

export { compareAttendees, hasProblems, isSorted, overallHealth, sortAttendees } from './attendees.js';

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

/** A report without its attendees: everything on a card except the rows of the page. */
export type ReportSummary = Omit<MeetingReport, 'attendees'>;

/** A stored report's header: what a page flip reads besides the chunks holding its rows. */
export interface ReportHead extends Omit<StoredReport, 'report'> {
  report: ReportSummary;
}

/**
 * Reports stay a day: long enough for the afternoon's follow-up clicks, short enough that the store
 * stays small. A click after that re-runs the query or says how to. Every key of a report gets this
 * TTL on every save, so its parts expire together.
 */
export const REPORT_TTL_MS = 24 * 3600 * 1000;

export function newReportId(): string {
  // 96 random bits: unguessable, so a button value cannot be forged to reach another chat's report.
  return randomBytes(12).toString('base64url');
}

/*
 * How a report is laid out in the store, so that a page flip reads one page and not the report:
 *
 *   report:<id>                   header: who, where, the command, the meeting summary, the counts
 *                                 and top problems (computed at save time), and which save wrote
 *                                 the index. Small and of fixed size, whatever the attendee count.
 *   report:<id>:d<k>:<save>       data chunk k: the attendees in slots [k·R, (k+1)·R), as JSON.
 *   report:<id>:<save>:a<j>       index chunk j of the worst-first order: positions [j·S, (j+1)·S)
 *                                 → slots, and the save that wrote each data chunk they point into.
 *   report:<id>:<save>:p<j>       the same for the "only problems" list (precomputed at save time).
 *
 * A flip reads the header, the one or two index chunks covering its positions, and the data chunks
 * holding those slots: three round trips of a few KB, the same at 43 attendees as at 5,000.
 *
 * A slot is where an attendee's record lives; it keeps its slot while a lazily loaded report fills
 * in, so a background batch rewrites the data chunks of the attendees it loaded (one or two), the
 * index (a few bytes an attendee: the order moves as people load) and the header, and nothing else.
 * Once every attendee is loaded the report is laid out once more in worst-first order, so its
 * flips read one data chunk again.
 *
 * Never torn: chunks are never overwritten with other content. A save writes its new chunks under
 * keys naming that save, then the header that points at them, and only then deletes what the new
 * header no longer points at. A reader holding the old header therefore either finds every chunk
 * it needs, all of one save, or finds one gone and reads the header again (readReport). Saves of a
 * report are serialised within a process; one process writes a report (the one that ran its query).
 */

/**
 * Attendees per data chunk: a multiple of both default page sizes (WeCom 6, Feishu 10), so a default
 * page lies in one chunk; 20 (the largest MEETCHECK_PAGE_SIZE) spans at most two.
 */
const ROWS_PER_CHUNK = 30;
/** Positions per index chunk (~5 bytes each): a multiple of ROWS_PER_CHUNK and of the page sizes. */
const SLOTS_PER_INDEX = 300;
/** Reading the header again after a save replaced the parts under us; more than twice means parts are gone. */
const READ_ATTEMPTS = 3;

interface HeadRecord extends ReportHead {
  v: 2;
  total: number;
  withProblems: number;
  counts: Counts;
  topProblems: { text: string; count: number }[];
  /** The save whose index chunks this header points at. */
  index: string;
  /** Chunk geometry at save time, so a replica built with other constants still reads it. */
  rows: number;
  slots: number;
}

/** One index chunk: the slots at its positions, and the save that wrote each data chunk they are in. */
interface IndexChunk {
  s: number[];
  d: Record<string, string>;
}

/** A header as read: the card's summary, and where the rows are. */
export interface LoadedHead {
  head: ReportHead;
  total: number;
  withProblems: number;
  counts: Counts;
  topProblems: { text: string; count: number }[];
  rows: { kind: 'chunks'; index: string; perChunk: number; perIndex: number } | { kind: 'whole'; attendees: Attendee[] };
}

const headKey = (id: string) => `report:${id}`;
const dataKey = (id: string, k: number, save: string) => `report:${id}:d${k}:${save}`;
const indexKey = (id: string, save: string, list: Filter, j: number) => `report:${id}:${save}:${list === 'all' ? 'a' : 'p'}${j}`;
const validId = (id: string) => /^[A-Za-z0-9_-]{1,64}$/.test(id);

export async function loadHead(store: Store, id: string): Promise<LoadedHead | undefined> {
  if (!validId(id)) return undefined;
  const raw = await store.get(headKey(id));
  if (raw === undefined) return undefined;
  const rec = JSON.parse(raw) as HeadRecord | StoredReport;
  if ('v' in rec && rec.v === 2) {
    return {
      head: { id: rec.id, createdAt: rec.createdAt, chat: rec.chat, lang: rec.lang, command: rec.command, report: rec.report },
      total: rec.total, withProblems: rec.withProblems, counts: rec.counts, topProblems: rec.topProblems,
      rows: { kind: 'chunks', index: rec.index, perChunk: rec.rows, perIndex: rec.slots },
    };
  }
  // A whole snapshot, as replicas before the chunked layout saved it (a rolling upgrade).
  const old = rec as StoredReport;
  const { attendees, ...summary } = old.report;
  const sorted = sortAttendees(attendees);
  const t = tally(sorted);
  return {
    head: { id: old.id, createdAt: old.createdAt, chat: old.chat, lang: old.lang, command: old.command, report: summary },
    total: sorted.length, withProblems: t.withProblems, counts: t.counts, topProblems: t.topProblems,
    rows: { kind: 'whole', attendees: sorted },
  };
}

/**
 * Positions [from, to) of the worst-first list (or of its "only problems" part) as saved with
 * `head`; undefined when a chunk is gone (a newer save replaced it, or the store evicted it).
 */
export async function loadRows(store: Store, head: LoadedHead, list: Filter, from: number, to: number): Promise<Attendee[] | undefined> {
  const count = list === 'all' ? head.total : head.withProblems;
  const lo = Math.max(0, Math.floor(from));
  const hi = Math.min(count, Math.floor(to));
  if (lo >= hi) return [];
  if (head.rows.kind === 'whole') return (list === 'all' ? head.rows.attendees : head.rows.attendees.filter(hasProblems)).slice(lo, hi);
  const { index, perChunk, perIndex } = head.rows;
  const id = head.head.id;
  const first = Math.floor(lo / perIndex);
  const last = Math.floor((hi - 1) / perIndex);
  const rawIndex = await getMany(store, Array.from({ length: last - first + 1 }, (_, i) => indexKey(id, index, list, first + i)));
  const slots: number[] = [];
  const saves = new Map<number, string>();
  for (let j = first; j <= last; j++) {
    const raw = rawIndex[j - first];
    if (raw === undefined) return undefined;
    const chunk = JSON.parse(raw) as IndexChunk;
    for (const slot of chunk.s.slice(Math.max(lo, j * perIndex) - j * perIndex, Math.min(hi, (j + 1) * perIndex) - j * perIndex)) {
      const k = Math.floor(slot / perChunk);
      const save = chunk.d[k];
      if (save === undefined) return undefined;
      slots.push(slot);
      saves.set(k, save);
    }
  }
  const ks = [...saves.keys()];
  const rawData = await getMany(store, ks.map((k) => dataKey(id, k, saves.get(k)!)));
  const chunks = new Map<number, Attendee[]>();
  for (let i = 0; i < ks.length; i++) {
    const raw = rawData[i];
    if (raw === undefined) return undefined;
    chunks.set(ks[i]!, JSON.parse(raw) as Attendee[]);
  }
  const rows: Attendee[] = [];
  for (const slot of slots) {
    const a = chunks.get(Math.floor(slot / perChunk))?.[slot % perChunk];
    if (!a) return undefined;
    rows.push(a);
  }
  return rows;
}

/**
 * Reads the header and then, with `read`, the chunks it points at. When a chunk is missing because
 * a save replaced it between the two reads, the header is read again (the new one points at chunks
 * that exist); when it is missing under the same header twice, the store lost it and the report
 * counts as expired. Undefined = expired.
 */
export async function readReport<T>(store: Store, id: string, read: (head: LoadedHead) => Promise<T | undefined>): Promise<T | undefined> {
  let seen: string | undefined;
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const head = await loadHead(store, id);
    if (!head) return undefined;
    const value = await read(head);
    if (value !== undefined) return value;
    const version = head.rows.kind === 'chunks' ? head.rows.index : 'whole';
    if (version === seen) return undefined;
    seen = version;
  }
  return undefined;
}

/**
 * The whole report (every attendee, worst first): for re-runs, exports and whole-report renderings.
 * `check` sees the header before any attendee is read (and may throw).
 */
export async function loadReport(store: Store, id: string, check?: (head: ReportHead) => void): Promise<StoredReport | undefined> {
  return readReport(store, id, async (head) => {
    check?.(head.head);
    const attendees = await loadRows(store, head, 'all', 0, head.total);
    return attendees && { ...head.head, report: { ...head.head.report, attendees } };
  });
}

// ---- saving ----

/** What this process last wrote for a report object, so the next save of it rewrites only what changed. */
interface Written {
  store: Store;
  /** Attendee key → slot; undefined when keys are not unique (each save then lays the report out anew). */
  slotOf: Map<string, number> | undefined;
  data: { save: string; json: string }[];
  index: { save: string; keys: string[]; values: string[] };
}

const written = new WeakMap<StoredReport, Written>();
const queues = new WeakMap<Store, Map<string, Promise<void>>>();

/**
 * Saved worst first (stored.report.attendees is sorted in place), so a page flip finds the order
 * made and does not sort again. A second save of the same object rewrites only the chunks that
 * changed, plus the index and the header.
 */
export async function saveReport(store: Store, stored: StoredReport): Promise<void> {
  let byId = queues.get(store);
  if (!byId) {
    byId = new Map();
    queues.set(store, byId);
  }
  const queue = byId;
  const run = (queue.get(stored.id) ?? Promise.resolve()).then(() => writeReport(store, stored));
  const tail = run.then(() => undefined, () => undefined);
  queue.set(stored.id, tail);
  void tail.then(() => {
    if (queue.get(stored.id) === tail) queue.delete(stored.id);
  });
  return run;
}

async function writeReport(store: Store, stored: StoredReport): Promise<void> {
  // Sorted here, not when called: a queued save must see the attendees as they are when it runs.
  if (!isSorted(stored.report.attendees)) stored.report.attendees = sortAttendees(stored.report.attendees);
  const attendees = stored.report.attendees;
  const id = stored.id;
  const current = await loadHead(store, id);
  const last = written.get(stored);
  const mine = last?.store === store ? last : undefined;
  // Our last save is still the one in the store: rewrite only what changed. Otherwise (this object's
  // first save, or another object saved the report since) lay it out anew and drop what was there.
  const prev = mine && current?.rows.kind === 'chunks' && current.rows.index === mine.index.save ? mine : undefined;
  // Keys the new header no longer points at: deleted once it is in place.
  const stale: string[] = prev ? [] : [...new Set([...(current ? await partsOf(store, current) : []), ...(mine ? keysOf(id, mine) : [])])];
  const layout = planSlots(prev, attendees);
  const save = randomBytes(6).toString('base64url');

  const writes: [string, string][] = [];
  const kept: [string, string][] = [];
  const data: Written['data'] = [];
  const chunkCount = Math.ceil(layout.bySlot.length / ROWS_PER_CHUNK);
  for (let k = 0; k < chunkCount; k++) {
    const json = JSON.stringify(layout.bySlot.slice(k * ROWS_PER_CHUNK, (k + 1) * ROWS_PER_CHUNK));
    const old = prev?.data[k];
    if (old && !layout.fresh && old.json === json) {
      data.push(old);
      kept.push([dataKey(id, k, old.save), json]);
    } else {
      data.push({ save, json });
      writes.push([dataKey(id, k, save), json]);
      if (old) stale.push(dataKey(id, k, old.save));
    }
  }
  for (let k = chunkCount; k < (prev?.data.length ?? 0); k++) stale.push(dataKey(id, k, prev!.data[k]!.save));

  const slotAt = (a: Attendee, i: number) => (layout.fresh ? i : layout.slotOf!.get(a.key)!);
  const order = attendees.map(slotAt);
  const problems = attendees.flatMap((a, i) => (hasProblems(a) ? [slotAt(a, i)] : []));
  const values = [...indexChunks(order, data), ...indexChunks(problems, data)];
  const lists: [Filter, number][] = [
    ...Array.from({ length: Math.ceil(order.length / SLOTS_PER_INDEX) }, (_, j) => ['all', j] as [Filter, number]),
    ...Array.from({ length: Math.ceil(problems.length / SLOTS_PER_INDEX) }, (_, j) => ['problems', j] as [Filter, number]),
  ];
  let index: Written['index'];
  if (prev && sameStrings(prev.index.values, values)) {
    index = prev.index;
    for (const [i, key] of prev.index.keys.entries()) kept.push([key, values[i]!]);
  } else {
    index = { save, keys: lists.map(([list, j]) => indexKey(id, save, list, j)), values };
    for (const [i, key] of index.keys.entries()) writes.push([key, values[i]!]);
    if (prev) stale.push(...prev.index.keys);
  }

  const { attendees: _rows, ...summary } = stored.report;
  const t = tally(attendees);
  const head: HeadRecord = {
    v: 2, id, createdAt: stored.createdAt, chat: stored.chat, lang: stored.lang, command: stored.command, report: summary,
    total: attendees.length, withProblems: t.withProblems, counts: t.counts, topProblems: t.topProblems,
    index: index.save, rows: ROWS_PER_CHUNK, slots: SLOTS_PER_INDEX,
  };

  // Chunks first (the unchanged ones get a fresh TTL; one the store lost meanwhile is written again), then the header.
  const [alive] = await Promise.all([
    expireMany(store, kept.map(([key]) => key), REPORT_TTL_MS),
    ...writes.map(([key, value]) => store.set(key, value, REPORT_TTL_MS)),
  ]);
  await Promise.all(kept.filter((_, i) => !alive[i]).map(([key, value]) => store.set(key, value, REPORT_TTL_MS)));
  await store.set(headKey(id), JSON.stringify(head), REPORT_TTL_MS);
  written.set(stored, { store, slotOf: layout.slotOf, data, index });
  // The report is whole without these deletes; if one fails the key just expires with the TTL.
  await Promise.allSettled(stale.map((key) => store.delete(key)));
}

/**
 * Where each attendee's record goes. A report saved before from this object keeps its slots
 * while attendees are still loading (their data chunks then stay as they were); otherwise, and
 * once everyone is loaded and the order has moved, the slots are the worst-first positions.
 */
interface Slots {
  /** True when the slots are the worst-first positions (every data chunk is written anew). */
  fresh: boolean;
  slotOf: Map<string, number> | undefined;
  bySlot: readonly Attendee[];
}

function planSlots(prev: Written | undefined, attendees: readonly Attendee[]): Slots {
  const slotOf = prev?.slotOf;
  if (slotOf && slotOf.size === attendees.length) {
    const bySlot: Attendee[] = new Array<Attendee>(attendees.length);
    let fits = true;
    let inOrder = true;
    let loading = false;
    attendees.forEach((a, i) => {
      const slot = slotOf.get(a.key);
      if (slot === undefined || bySlot[slot] !== undefined) fits = false;
      else bySlot[slot] = a;
      if (slot !== i) inOrder = false;
      if (!a.loaded) loading = true;
    });
    if (fits && (inOrder || loading)) return { fresh: false, slotOf, bySlot };
  }
  const fresh = new Map(attendees.map((a, i) => [a.key, i]));
  return { fresh: true, slotOf: fresh.size === attendees.length ? fresh : undefined, bySlot: attendees };
}

/** The index chunks of one list of slots, as JSON, each naming the save of every data chunk it points into. */
function indexChunks(slots: readonly number[], data: Written['data']): string[] {
  const out: string[] = [];
  for (let j = 0; j * SLOTS_PER_INDEX < slots.length; j++) {
    const s = slots.slice(j * SLOTS_PER_INDEX, (j + 1) * SLOTS_PER_INDEX);
    const d: Record<string, string> = {};
    for (const slot of s) {
      const k = Math.floor(slot / ROWS_PER_CHUNK);
      d[k] ??= data[k]!.save;
    }
    out.push(JSON.stringify({ s, d } satisfies IndexChunk));
  }
  return out;
}

/** The chunk keys this process last wrote for a report. */
function keysOf(id: string, w: Written): string[] {
  return [...w.data.map((d, k) => dataKey(id, k, d.save)), ...w.index.keys];
}

/** Every chunk key of the report as stored (saved by another object or process), to delete once replaced. */
async function partsOf(store: Store, head: LoadedHead): Promise<string[]> {
  if (head.rows.kind !== 'chunks') return [];
  const id = head.head.id;
  const { index, perIndex, perChunk } = head.rows;
  const indexKeys = [
    ...Array.from({ length: Math.ceil(head.total / perIndex) }, (_, j) => indexKey(id, index, 'all', j)),
    ...Array.from({ length: Math.ceil(head.withProblems / perIndex) }, (_, j) => indexKey(id, index, 'problems', j)),
  ];
  const dataKeys = new Set<string>();
  const raws = await getMany(store, indexKeys.slice(0, Math.ceil(head.total / perIndex)));
  for (const raw of raws) {
    if (raw === undefined) continue;
    const chunk = JSON.parse(raw) as IndexChunk;
    for (const slot of chunk.s) {
      const k = Math.floor(slot / perChunk);
      const save = chunk.d[k];
      if (save !== undefined) dataKeys.add(dataKey(id, k, save));
    }
  }
  return [...indexKeys, ...dataKeys];
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
