import type { Config } from '../../config.js';
import type { Lang } from '../../core/i18n.js';
import type { ErrorMessage } from '../../core/messages.js';
import type { PageView } from '../../core/paging.js';
import type { CardView } from '../../core/surface.js';
import type { Store } from '../../store/types.js';
import { encodeAction, readPage } from '../../core/actions.js';
import { renderFeishuCard, renderFeishuMessage, renderFeishuProgress, renderFeishuView } from '../feishu/card.js';
import { renderWecomCard, renderWecomMessage, renderWecomView } from '../wecom/card.js';

/**
 * The console shows what the chat channels send: these are the channels' own renderers, called
 * with the same PageView, so the JSON in the browser is the JSON Feishu and WeCom receive.
 */
export type Surface = 'feishu' | 'wecom';
export const SURFACES: readonly Surface[] = ['feishu', 'wecom'];

export interface SurfaceCard {
  /** The exact card JSON the channel sends (Feishu card JSON 2.0 / WeCom template_card). */
  card: object;
  /** The page this card shows, as the button value a click on "this page" would carry: used to poll while attendees load. */
  current?: string;
}

export type ConsoleReply =
  | { type: 'card'; reportId: string; taskId: string; loading: boolean; feishu: SurfaceCard; wecom: SurfaceCard }
  | { type: 'message'; taskId: string; feishu: SurfaceCard; wecom: SurfaceCard }
  /** WeCom answers a command with a stream reply (text), Feishu with a "querying…" card it later patches. */
  | { type: 'progress'; text: string; feishu: SurfaceCard };

export function pageSizeOf(config: Config, surface: Surface): number {
  return config.pageSize[surface];
}

/**
 * The card for `view` on its own surface, plus the other surface's card at the page holding the
 * same first attendee (the two platforms page by different sizes: WeCom at most 6), so the switch
 * shows the same report at the same place. The other page is read from the store like a flip.
 */
export async function cardReply(config: Config, store: Store, view: PageView, surface: Surface, cardId: string): Promise<ConsoleReply> {
  const other: Surface = surface === 'feishu' ? 'wecom' : 'feishu';
  const otherSize = pageSizeOf(config, other);
  const otherView = await readPage(store, view.stored.chat, { reportId: view.stored.id, page: Math.floor((view.page * view.pageSize) / otherSize), filter: view.filter }, otherSize);
  const views: Record<Surface, PageView> = surface === 'feishu' ? { feishu: view, wecom: otherView } : { feishu: otherView, wecom: view };
  return {
    type: 'card',
    reportId: view.stored.id,
    taskId: cardId,
    loading: view.counts.loading > 0,
    feishu: { card: renderFeishuCard(views.feishu, cardId), current: currentAction(views.feishu, cardId) },
    wecom: { card: renderWecomCard(views.wecom, cardId), current: currentAction(views.wecom, cardId) },
  };
}

/** A message card (help, an error, "expired") on both surfaces, with the conversation's buttons. */
export function messageReply(view: Extract<CardView, { kind: 'message' }>): ConsoleReply {
  return { type: 'message', taskId: view.card.id, feishu: { card: renderFeishuView(view) }, wecom: { card: renderWecomView(view) } };
}

/** A message the store-less paths make (the store is down, or a click carried nothing usable). */
export function plainMessageReply(lang: Lang, msg: ErrorMessage, taskId: string): ConsoleReply {
  return { type: 'message', taskId, feishu: { card: renderFeishuMessage(lang, msg) }, wecom: { card: renderWecomMessage(lang, msg, taskId) } };
}

export function progressReply(lang: Lang, text: string): ConsoleReply {
  return { type: 'progress', text, feishu: { card: renderFeishuProgress(lang, text) } };
}

function currentAction(view: PageView, cardId: string): string {
  return encodeAction({ cardId, page: view.page, filter: view.filter, op: 'page' });
}
