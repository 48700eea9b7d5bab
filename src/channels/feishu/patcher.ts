import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../log.js';
import { ImError, type Im } from './im.js';

/**
 * Coalesces updates to one card: PATCH allows 5 QPS per message
 * (open.feishu.cn/document/server-docs/im-v1/message/patch), so at most one patch is in flight,
 * they go at least MIN_GAP_MS apart, and only the newest pending card is sent (a progress card
 * overtaken by the report is never sent at all).
 *
 * A failed patch that may succeed later (230020 frequency limit, HTTP 429/5xx, a timeout or a
 * broken connection) is retried with back-off, and the retry sends the NEWEST card: a report
 * pushed while a progress card was failing replaces it. Without this the last card (the report)
 * could be lost to one rate-limit answer and the message would stay on "querying…" for good.
 * Feishu would accept patches for 14 days (230031 after that), but retries stop after
 * RETRY_WINDOW_MS: the frequency limits are per second and per minute (5 QPS per message,
 * 50/s and 1000/min per app, same page), so a card that still fails after ten minutes meets an
 * outage or a refusal, and by then the person has long re-run the command; holding the work (and a
 * graceful shutdown) longer buys nothing. Refusals that resending cannot fix (230001 bad
 * params, 230011 recalled, 230031 older than 14 days, 230025 too long, …) are not retried.
 */
export const MIN_GAP_MS = 250;
/** First back-off; doubled per failure up to RETRY_MAX_MS. One second clears the per-message 5 QPS window. */
export const RETRY_BASE_MS = 1000;
export const RETRY_MAX_MS = 30_000;
/** How long one card keeps being retried before the failure is logged as an error and dropped. */
export const RETRY_WINDOW_MS = 10 * 60_000;

/** 230020: "This operation triggers the frequency limit" (patch doc); 99991400: the gateway's rate limit. */
const RATE_LIMIT_CODES = new Set([230020, 99991400]);

export interface Patcher {
  push(card: object): void;
  /** Resolves when every pushed card has been sent (or has been given up on, logged). */
  flush(): Promise<void>;
}

/** Whether sending (a newer version of) the card again may succeed. */
export function retryablePatchError(err: unknown): boolean {
  if (err instanceof ImError) {
    if (err.code !== undefined && RATE_LIMIT_CODES.has(err.code)) return true;
    return err.status === 429 || err.status >= 500;
  }
  // Not an answer from Feishu at all: a timeout or a broken connection (http/outbound.ts).
  return true;
}

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function createPatcher(im: Im, messageId: string, clock: Clock, log: Logger): Patcher {
  let pending: object | undefined;
  let running: Promise<void> | undefined;
  let lastSentAt = -Infinity;
  let retryAt = -Infinity;
  let failingSince: number | undefined;
  let failures = 0;

  /** Waits until `until`; a stopping channel cuts the wait short (one last try, no more retries). */
  const waitUntil = async (until: number) => {
    const wait = until - clock.now();
    const stopping = im.stopping;
    if (wait <= 0 || stopping?.aborted) return;
    if (!stopping) return clock.sleep(wait);
    // A signal of our own per wait, so no listener piles up on the long-lived one.
    const cut = new AbortController();
    const onStop = () => cut.abort();
    stopping.addEventListener('abort', onStop, { once: true });
    try {
      await clock.sleep(wait, cut.signal);
    } catch {
      // Cut short by the stop: go on to the last try.
    } finally {
      stopping.removeEventListener('abort', onStop);
    }
  };

  const loop = async () => {
    while (pending) {
      await waitUntil(Math.max(lastSentAt + MIN_GAP_MS, retryAt));
      const card = pending;
      pending = undefined;
      if (!card) break;
      lastSentAt = clock.now();
      try {
        await im.patch(messageId, card);
        if (failures > 0) log.info({ messageId, failures }, 'card patch went through after retries');
        failures = 0;
        failingSince = undefined;
        retryAt = -Infinity;
      } catch (err) {
        failingSince ??= lastSentAt;
        failures++;
        const newer = pending !== undefined;
        const stopping = im.stopping?.aborted === true;
        if (!retryablePatchError(err) || stopping || clock.now() - failingSince >= RETRY_WINDOW_MS) {
          // A newer card still goes out (it may fit where this one did not); otherwise this was the last word.
          const why = stopping ? 'shutting down' : retryablePatchError(err) ? 'retry window over' : 'not retryable';
          if (newer) log.warn({ messageId, err: describe(err), why }, 'card patch failed; sending the newer card');
          else log.error({ messageId, err: describe(err), why, failures }, 'card patch failed for good; the message keeps its previous card');
          failures = 0;
          failingSince = undefined;
          retryAt = -Infinity;
          continue;
        }
        // The newest card wins: one pushed meanwhile replaces the one that failed.
        pending ??= card;
        retryAt = clock.now() + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failures - 1));
        log.warn({ messageId, err: describe(err), failures, retryInMs: retryAt - clock.now() }, 'card patch failed; retrying with the newest card');
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
