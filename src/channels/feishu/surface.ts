import type { CoreDeps } from '../../core/quality.js';
import type { CardView, Surface } from '../../core/surface.js';
import { authorisationCard } from './authorise.js';
import { renderFeishuView } from './card.js';
import type { Im } from './im.js';
import { createPatcher, type Patcher } from './patcher.js';

/**
 * Feishu's outbound half: a card is a message. The first card replies to the command (with a uuid
 * from the command's message id, so a retried reply, or a second replica that got past the dedupe,
 * lands once: open.feishu.cn/document/server-docs/im-v1/message/reply), or is sent into the chat
 * when no message asked; every later card patches that message through a per-message Patcher
 * (coalesced, retried until it lands). A card is interactive and patchable for 14 days.
 */
export interface FeishuSurfaceDeps {
  core: CoreDeps;
  im: Im;
  pageSize: number;
}

/** One reply per command message even if two replicas both get past the dedupe. */
export const replyUuid = (messageId: string) => `q:${messageId}`.slice(0, 50);

export function createFeishuSurface(deps: FeishuSurfaceDeps): Surface {
  const { core, im } = deps;
  const patchers = new Map<string, Patcher>();

  /** The card for a view; a failure a person's authorisation fixes offers it (authorise.ts). */
  async function render(view: CardView): Promise<object> {
    if (view.kind === 'message' && view.error) {
      const offer = await authorisationCard(core, view.error, { chatId: view.card.chat.chatId, userId: view.card.userId, cardId: view.card.id })
        .catch((err: unknown) => {
          core.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not offer authorisation');
          return undefined;
        });
      if (offer) return offer;
    }
    return renderFeishuView(view);
  }

  return {
    platform: 'feishu',
    pageSize: deps.pageSize,
    updates: 'push',
    // A patch sent before the callback's answer can be overwritten by the answer's card: re-runs
    // start after it (open.feishu.cn/document/feishu-cards/card-callback-communication).
    clickWaitMs: 0,
    async show(view, final) {
      const card = await render(view);
      const rec = view.card;
      if (!rec.handle) {
        if (rec.origin) return im.reply(rec.origin, card, replyUuid(rec.origin));
        return im.send(rec.chat.chatId, card, replyUuid(rec.id));
      }
      let patcher = patchers.get(rec.handle);
      if (!patcher) {
        patcher = createPatcher(im, rec.handle, core.clock, core.log);
        patchers.set(rec.handle, patcher);
      }
      patcher.push(card);
      if (final) {
        await patcher.flush();
        patchers.delete(rec.handle);
      }
    },
  };
}
