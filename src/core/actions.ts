import { MeetcheckError } from './errors.js';
import type { Filter, PageView } from './paging.js';
import { viewPage } from './paging.js';
import { loadReport, type ChatRef, type StoredReport } from './report.js';
import type { Store } from '../store/types.js';

/**
 * A card button carries only an opaque report id, a page, a filter and an operation: never data
 * a click could use to reach another chat's report (the id is 96 random bits, and the chat is
 * checked against the report's own).
 */
export interface CardAction {
  reportId: string;
  page: number;
  filter: Filter;
  op: 'page' | 'refresh';
}

/** `mc1|<id>|<page>|<a|p>|<p|r>`: short enough for WeCom's button key and Feishu's value. */
export function encodeAction(a: CardAction): string {
  return ['mc1', a.reportId, String(a.page), a.filter === 'problems' ? 'p' : 'a', a.op === 'refresh' ? 'r' : 'p'].join('|');
}

export function decodeAction(value: unknown): CardAction | undefined {
  if (typeof value !== 'string' || value.length > 200) return undefined;
  const m = /^mc1\|([A-Za-z0-9_-]{1,64})\|(\d{1,6})\|([ap])\|([pr])$/.exec(value);
  if (!m) return undefined;
  return { reportId: m[1]!, page: Number(m[2]), filter: m[3] === 'p' ? 'problems' : 'all', op: m[4] === 'r' ? 'refresh' : 'page' };
}

/**
 * Answers a page flip or filter toggle from the store alone: no vendor call. Throws
 * `report_expired` for an unknown id and `foreign_chat` for a click from another chat.
 */
export async function openPage(store: Store, chat: ChatRef, action: CardAction, pageSize: number): Promise<PageView> {
  const stored = await loadStoredFor(store, chat, action.reportId);
  return viewPage(stored, action.page, action.filter, pageSize);
}

export async function loadStoredFor(store: Store, chat: ChatRef, reportId: string): Promise<StoredReport> {
  const stored = await loadReport(store, reportId);
  if (!stored) throw new MeetcheckError('report_expired');
  if (stored.chat.channel !== chat.channel || stored.chat.chatId !== chat.chatId) throw new MeetcheckError('foreign_chat');
  return stored;
}
