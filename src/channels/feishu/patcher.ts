import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../log.js';
import type { Im } from './im.js';

/**
 * Coalesces updates to one card: PATCH allows 5 QPS per message (feishu-bot-and-vc-api.md §4.4),
 * so at most one patch is in flight, they go at least MIN_GAP_MS apart, and only the newest
 * pending card is sent (a progress card overtaken by the report is never sent at all).
 */
export const MIN_GAP_MS = 250;

export interface Patcher {
  push(card: object): void;
  /** Resolves when every pushed card has been sent (or has failed, logged). */
  flush(): Promise<void>;
}

export function createPatcher(im: Im, messageId: string, clock: Clock, log: Logger): Patcher {
  let pending: object | undefined;
  let running: Promise<void> | undefined;
  let lastSentAt = -Infinity;
  const loop = async () => {
    while (pending) {
      const wait = lastSentAt + MIN_GAP_MS - clock.now();
      if (wait > 0) await clock.sleep(wait);
      const card = pending;
      pending = undefined;
      if (!card) break;
      lastSentAt = clock.now();
      try {
        await im.patch(messageId, card);
      } catch (err) {
        // A lost progress patch is harmless; the next push carries the whole card again.
        log.warn({ messageId, err: err instanceof Error ? err.message : String(err) }, 'card patch failed');
      }
    }
  };
  const kick = (): void => {
    running ??= loop().finally(() => {
      running = undefined;
      // A push that landed after the loop's last check would otherwise wait for the next push.
      if (pending) kick();
    });
  };
  return {
    push(card) {
      pending = card;
      kick();
    },
    async flush() {
      while (running) await running;
    },
  };
}
