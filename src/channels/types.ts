import type Router from '@koa/router';
import type { Surface } from '../core/surface.js';

/**
 * A chat platform adapter (after bolt-js receivers): it owns its routes or connection, verifies
 * and parses what arrives, acks at once, and calls into core/. It never imports a vendor.
 */
export interface Channel {
  readonly name: string;
  /**
   * The platform's Surface, when any replica can rebuild a card's output from the card record
   * alone (Feishu, WeCom): registered for durable jobs (src/jobs/). Per-request surfaces (console, CLI) have none.
   */
  readonly surface?: Surface;
  /** Adds the channel's HTTP routes. */
  mount?(router: Router): void;
  /** Opens long connections (Feishu/WeCom ws mode). */
  start?(): Promise<void>;
  /** Closes connections; replies in flight are awaited through core Tasks, not here. */
  stop?(): Promise<void>;
}
