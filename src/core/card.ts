import { randomBytes } from 'node:crypto';
import type { Store } from '../store/types.js';
import type { ParseError } from './command.js';
import { MeetcheckError, type ErrorCode } from './errors.js';
import type { Lang } from './i18n.js';
import type { ReportNote } from './model.js';
import type { Filter } from './paging.js';
import type { ChatRef } from './report.js';
import type { Progress, QualityCommandText } from './vendor.js';

/**
 * The one card-state record, the same on every platform: what a card in a chat shows and how to
 * run it again. The conversation (core/conversation.ts) moves it through
 * querying → report / error → page, filter, refresh → expired → re-run; each platform's Surface
 * only renders the view derived from it. A click, a stream refresh or a resumed job on any replica
 * reads this record, so none of them depends on the memory of the replica that took the command.
 */
export interface CardRecord {
  /** `mc_` + 96 random bits: unguessable, and valid as a WeCom task_id ([0-9A-Za-z_-@], ≤128 bytes). */
  id: string;
  chat: ChatRef;
  /** Who asked (the platform's user id); operator-configured runs name the operator. */
  userId: string;
  lang: Lang;
  createdAt: number;
  /** The platform's id of the message that asked: Feishu replies to it, WeCom dedupes on it. */
  origin?: string;
  /** The platform's handle of this card once sent: a Feishu message_id, a WeCom stream id. */
  handle?: string;
  /** The command behind the card; absent for help and parse-error cards. */
  command?: QualityCommandText;
  /** The meeting as the person typed it ("123456789", "tencent:806-146-667"), for "querying…". */
  label?: string;
  state: CardState;
  /** What the person is looking at: a background update keeps them there. */
  page: number;
  filter: Filter;
  /** The report the card shows (or showed before a refresh started). */
  reportId?: string;
  /** Shown with the report, e.g. "the earlier report had expired, so it was run again". */
  note?: ReportNote;
}

export type CardState =
  | { kind: 'querying'; progress?: Progress; since: number }
  | { kind: 'report' }
  | { kind: 'error'; error: ErrorInfo }
  | { kind: 'help' }
  | { kind: 'parse_error'; error: ParseError };

/** A MeetcheckError as data, so the card record can carry it across replicas. */
export interface ErrorInfo {
  code: ErrorCode;
  detail?: string;
  retryAfterMs?: number;
  vendor?: string;
}

/**
 * How long a card answers clicks. Feishu card JSON 2.0 cards can be interacted with and updated for
 * 14 days ("2.0 结构：卡片可交互和可更新时间统一为 14 天",
 * https://open.feishu.cn/document/feishu-cards/card-json-v2-breaking-changes-release-notes), and a
 * WeCom template card's task_id is only ever used for update_template_card within 5 s of a click
 * (developer.work.weixin.qq.com/document/path/101027): 14 days covers both.
 */
export const CARD_TTL_MS = 14 * 24 * 3600_000;

const CARD_ID = /^mc_[A-Za-z0-9_-]{16}$/;
const key = (id: string) => `card:${id}`;

export function newCardId(): string {
  return `mc_${randomBytes(12).toString('base64url')}`;
}

export function isCardId(id: string): boolean {
  return CARD_ID.test(id);
}

export async function saveCard(store: Store, card: CardRecord): Promise<void> {
  await store.set(key(card.id), JSON.stringify(card), CARD_TTL_MS);
}

export async function loadCard(store: Store, id: string): Promise<CardRecord | undefined> {
  if (!isCardId(id)) return undefined;
  const raw = await store.get(key(id));
  return raw === undefined ? undefined : (JSON.parse(raw) as CardRecord);
}

/**
 * Read-modify-write of one card: the run changes its state, a click its page and filter, and each
 * writes only its own fields over the latest record, so neither undoes the other.
 */
export async function updateCard(store: Store, id: string, change: (card: CardRecord) => CardRecord): Promise<CardRecord | undefined> {
  const card = await loadCard(store, id);
  if (!card) return undefined;
  const next = change(card);
  await saveCard(store, next);
  return next;
}

export function errorInfo(e: MeetcheckError): ErrorInfo {
  const info: ErrorInfo = { code: e.code };
  if (e.detail) info.detail = e.detail;
  if (e.options.retryAfterMs) info.retryAfterMs = e.options.retryAfterMs;
  if (e.options.vendor) info.vendor = e.options.vendor;
  return info;
}

export function errorOf(info: ErrorInfo): MeetcheckError {
  const options: { retryAfterMs?: number; vendor?: string } = {};
  if (info.retryAfterMs) options.retryAfterMs = info.retryAfterMs;
  if (info.vendor) options.vendor = info.vendor;
  return new MeetcheckError(info.code, info.detail, options);
}
