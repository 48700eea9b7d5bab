import { MeetcheckError } from './errors.js';
import type { Filter, PageView } from './paging.js';
import { readStoredPage, viewPage } from './paging.js';
import { loadHead, loadReport, type ChatRef, type ReportHead, type StoredReport } from './report.js';
import type { Store } from '../store/types.js';

/**
 * A card button carries only an opaque card id, a page, a filter and an operation: never data a
 * click could use to reach another chat's report (the id is 96 random bits, and the chat is checked
 * against the card's own). The card record (core/card.ts) knows which report it shows.
 */
export interface CardAction {
  cardId: string;
  page: number;
  filter: Filter;
  /** page: flip or filter; refresh: run again; show: the card as it stands now; help. */
  op: CardOp;
}
export type CardOp = 'page' | 'refresh' | 'show' | 'help';

/** Where a page is: the report, the page and the filter. */
export interface PageRef {
  reportId: string;
  page: number;
  filter: Filter;
}

const OPS: Record<CardOp, string> = { page: 'p', refresh: 'r', show: 's', help: 'h' };
const OP_OF: Record<string, CardOp> = { p: 'page', r: 'refresh', s: 'show', h: 'help' };

/**
 * `mc2|<card id>|<page>|<a|p>|<op>`: within WeCom's 1024-byte button key (doc 101032) and Feishu's
 * callback value. Buttons of the earlier `mc1|<report id>|…` cards decode to nothing, and their
 * clicks get the "expired, send the command again" answer.
 */
export function encodeAction(a: CardAction): string {
  return ['mc2', a.cardId, String(a.page), a.filter === 'problems' ? 'p' : 'a', OPS[a.op]].join('|');
}

export function decodeAction(value: unknown): CardAction | undefined {
  if (typeof value !== 'string' || value.length > 200) return undefined;
  const m = /^mc2\|(mc_[A-Za-z0-9_-]{16})\|(\d{1,6})\|([ap])\|([prsh])$/.exec(value);
  if (!m) return undefined;
  return { cardId: m[1]!, page: Number(m[2]), filter: m[3] === 'p' ? 'problems' : 'all', op: OP_OF[m[4]!]! };
}

function checkChat(head: ReportHead, chat: ChatRef): void {
  if (head.chat.channel !== chat.channel || head.chat.chatId !== chat.chatId) throw new MeetcheckError('foreign_chat');
}

/**
 * Answers a page flip or filter toggle from the store alone (no vendor call), reading the report's
 * header and the chunks holding that page: the same few KB for 43 attendees as for 5,000. Throws
 * `report_expired` for an unknown id and `foreign_chat` for a click from another chat (checked on
 * the header, before any attendee is read). The view's `stored` holds no attendees.
 */
export async function readPage(store: Store, chat: ChatRef, action: PageRef, pageSize: number): Promise<PageView> {
  const view = await readStoredPage(store, action.reportId, action.page, action.filter, pageSize, (head) => checkChat(head, chat));
  if (!view) throw new MeetcheckError('report_expired');
  return view;
}

/**
 * The same page as readPage, but with the whole report behind it (`view.stored` is the full
 * StoredReport, so a caller may page it again with viewPage, as the console does for its second
 * platform). Reads every attendee: a flip that only shows its page should call readPage.
 */
export async function openPage(store: Store, chat: ChatRef, action: PageRef, pageSize: number): Promise<PageView> {
  const stored = await loadStoredFor(store, chat, action.reportId);
  return viewPage(stored, action.page, action.filter, pageSize);
}

/** The whole stored report, checked against the chat. */
export async function loadStoredFor(store: Store, chat: ChatRef, reportId: string): Promise<StoredReport> {
  const stored = await loadReport(store, reportId, (head) => checkChat(head, chat));
  if (!stored) throw new MeetcheckError('report_expired');
  return stored;
}

/** The stored report's header only (its command and chat: all a refresh needs), checked against the chat. */
export async function loadHeadFor(store: Store, chat: ChatRef, reportId: string): Promise<ReportHead> {
  const head = await loadHead(store, reportId);
  if (!head) throw new MeetcheckError('report_expired');
  checkChat(head.head, chat);
  return head.head;
}
