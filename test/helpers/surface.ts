import type { ChannelName } from '../../src/core/model.js';
import type { CardView, Surface } from '../../src/core/surface.js';

/**
 * The conversation's test seam (after bolt-js's FakeReceiver): a Surface that records every card
 * it is asked to show, in order, with no platform and no HTTP.
 */
export interface FakeSurface extends Surface {
  readonly shown: { view: CardView; final: boolean; handle: string }[];
  /** The last view shown for a card. */
  last(cardId: string): CardView | undefined;
  /** One line per show: `kind[:final]`, for asserting the order of a card's life. */
  trail(cardId: string): string[];
}

export function fakeSurface(over: Partial<Pick<Surface, 'platform' | 'pageSize' | 'updates' | 'deadlineMs' | 'clickWaitMs'>> = {}): FakeSurface {
  const shown: FakeSurface['shown'] = [];
  let n = 0;
  const platform: ChannelName = over.platform ?? 'feishu';
  return {
    platform,
    pageSize: over.pageSize ?? 5,
    updates: over.updates ?? 'push',
    ...(over.deadlineMs !== undefined ? { deadlineMs: over.deadlineMs } : {}),
    clickWaitMs: over.clickWaitMs ?? 0,
    shown,
    async show(view, final) {
      const handle = view.card.handle ?? `msg_${++n}`;
      shown.push({ view, final, handle });
      return handle;
    },
    last(cardId) {
      return shown.filter((s) => s.view.card.id === cardId).at(-1)?.view;
    },
    trail(cardId) {
      return shown.filter((s) => s.view.card.id === cardId).map((s) => `${s.view.kind}${s.final ? ':final' : ''}`);
    },
  };
}
