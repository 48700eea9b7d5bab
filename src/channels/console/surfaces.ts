import type { Config } from '../../config.js';
import type { Lang } from '../../core/i18n.js';
import type { ErrorMessage } from '../../core/messages.js';
import { viewPage, type PageView } from '../../core/paging.js';
import { encodeAction } from '../../core/actions.js';
import { renderFeishuCard, renderFeishuMessage, renderFeishuProgress } from '../feishu/card.js';
import { renderWecomCard, renderWecomMessage } from '../wecom/card.js';

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
 * shows the same report at the same place.
 */
export function cardReply(config: Config, view: PageView, surface: Surface, taskId: string): ConsoleReply {
  const other: Surface = surface === 'feishu' ? 'wecom' : 'feishu';
  const otherSize = pageSizeOf(config, other);
  const otherView = viewPage(view.stored, Math.floor((view.page * view.pageSize) / otherSize), view.filter, otherSize);
  const views: Record<Surface, PageView> = surface === 'feishu' ? { feishu: view, wecom: otherView } : { feishu: otherView, wecom: view };
  return {
    type: 'card',
    reportId: view.stored.id,
    taskId,
    loading: view.counts.loading > 0,
    feishu: { card: renderFeishuCard(views.feishu), current: currentAction(views.feishu) },
    wecom: { card: renderWecomCard(views.wecom, taskId), current: currentAction(views.wecom) },
  };
}

export function messageReply(lang: Lang, msg: ErrorMessage, taskId: string): ConsoleReply {
  return { type: 'message', taskId, feishu: { card: renderFeishuMessage(lang, msg) }, wecom: { card: renderWecomMessage(lang, msg, taskId) } };
}

export function progressReply(lang: Lang, text: string): ConsoleReply {
  return { type: 'progress', text, feishu: { card: renderFeishuProgress(lang, text) } };
}

function currentAction(view: PageView): string {
  return encodeAction({ reportId: view.stored.id, page: view.page, filter: view.filter, op: 'page' });
}
