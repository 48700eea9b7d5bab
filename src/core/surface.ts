import type { CardRecord } from './card.js';
import type { MeetcheckError } from './errors.js';
import type { ErrorMessage } from './messages.js';
import type { ChannelName } from './model.js';
import type { PageView } from './paging.js';

/**
 * What a card shows at one moment, derived from its CardRecord (and the report store) by the
 * conversation. Platform-neutral and already translated: a Surface only lays it out.
 */
export type CardView =
  | { kind: 'querying'; card: CardRecord; title: string; text: string }
  | { kind: 'report'; card: CardRecord; page: PageView }
  | { kind: 'message'; card: CardRecord; message: ErrorMessage; buttons: CardButton[]; error?: MeetcheckError };

/** A button on a message card; `value` is an encodeAction string, `url` opens a page. */
export type CardButton = { label: string; value: string; primary?: boolean } | { label: string; url: string; primary?: boolean };

/**
 * A chat platform's outbound half (the inbound half verifies, parses, dedupes and acks): it renders
 * a CardView in the platform's card format and sends or updates the card. The conversation in
 * core calls it; it never decides what a card says.
 */
export interface Surface {
  readonly platform: ChannelName;
  /** Attendees per card page. */
  readonly pageSize: number;
  /**
   * 'push': the card can be updated whenever there is news (Feishu patches its message).
   * 'final': the platform takes one finished card (a WeCom stream carries its card only once), so
   * the conversation shows progress, then the finished report, or what loaded by `deadlineMs`.
   */
  readonly updates: 'push' | 'final';
  /** For 'final' surfaces: how long a command may load before its card shows what it has. */
  readonly deadlineMs?: number;
  /**
   * How long a click may wait for a re-run before it answers with the card as it stands. 0 for
   * platforms that take the answer first and an update after it (Feishu: a patch sent before the
   * callback's answer can be overwritten by it).
   */
  readonly clickWaitMs: number;
  /**
   * Shows `view` on its card: the first call for a card sends it and returns its handle (a message
   * id), later calls update it. `final` marks the last update of a run, which a surface must deliver
   * (retrying as its platform needs); earlier ones it may coalesce or drop.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a surface without message handles (WeCom, the console, the CLI) returns nothing.
  show(view: CardView, final: boolean): Promise<string | void>;
}
