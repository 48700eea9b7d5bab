import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import type { MeetcheckError } from '../../core/errors.js';
import { t, type Lang, type MessageKey } from '../../core/i18n.js';
import { describeError } from '../../core/messages.js';
import type { VendorName } from '../../core/model.js';
import type { CoreDeps, CoreSettings } from '../../core/quality.js';
import type { UserAuthorisation } from '../../core/vendor.js';
import type { Store } from '../../store/types.js';
import { escapeMarkdown, mentionOf, renderFeishuAuthorise } from './card.js';

/**
 * When a vendor needs a person's authorisation (Feishu VC for apps created today), the card that
 * failed offers an Authorise button to whoever may give it, and the OAuth `state` remembers what
 * to do afterwards: run the card's command again and show the report on that same card.
 *
 * Who may authorise: the MEETCHECK_ADMINS who are Feishu users; when it is unset, the person who
 * asked. Everyone else in the chat is told who can fix it, and gets no button.
 *
 * The state is 256 random bits, kept in the store for 10 minutes, bound to the asker, the chat,
 * and the card; it works once: a successful callback claims it with
 * SET NX and deletes it, so a reused, unknown or expired state finds nothing.
 */

/** How long an Authorise link works. */
export const STATE_TTL_MS = 10 * 60_000;
const STATE = /^[A-Za-z0-9_-]{43}$/;

export interface PendingAuthorisation {
  chatId: string;
  /** The person who asked: with MEETCHECK_ADMINS unset, only they may authorise. */
  userId: string;
  /** The card (core/card.ts) whose command runs again, and which then shows the report. */
  cardId: string;
  createdAt: number;
}

const stateKey = (state: string) => `feishu:oauth-state:${state}`;
const claimKey = (state: string) => `feishu:oauth-claim:${state}`;

export async function createState(store: Store, clock: Clock, pending: Omit<PendingAuthorisation, 'createdAt'>): Promise<string> {
  const state = randomBytes(32).toString('base64url');
  const record: PendingAuthorisation = { ...pending, createdAt: clock.now() };
  if (!(await store.setIfAbsent(stateKey(state), JSON.stringify(record), STATE_TTL_MS))) throw new Error('oauth state collision');
  return state;
}

export interface Claim {
  pending: PendingAuthorisation;
  /** The callback worked: the state is spent for good. */
  spend(): Promise<void>;
  /** The callback failed before anything was stored: the link may be tried again. */
  release(): Promise<void>;
}

/**
 * Takes a state for one callback: undefined when it is malformed, unknown, expired, or already
 * taken. Only one callback can hold a state at a time (SET NX), across replicas.
 */
export async function claimState(store: Store, clock: Clock, state: string): Promise<Claim | undefined> {
  if (!STATE.test(state)) return undefined;
  if (!(await store.setIfAbsent(claimKey(state), '1', STATE_TTL_MS))) return undefined;
  const raw = await store.get(stateKey(state));
  const pending = raw ? (JSON.parse(raw) as PendingAuthorisation) : undefined;
  // The store's TTL is the first line; the record's own time covers a store that keeps it longer.
  if (!pending || clock.now() - pending.createdAt > STATE_TTL_MS) {
    await store.delete(stateKey(state));
    return undefined;
  }
  return {
    pending,
    spend: () => store.delete(stateKey(state)),
    release: () => store.delete(claimKey(state)),
  };
}

/** The Feishu users in MEETCHECK_ADMINS (entries `ou_…` or `feishu:ou_…`); undefined when it is unset. */
export function feishuAdmins(settings: CoreSettings): string[] | undefined {
  if (!settings.admins) return undefined;
  const out: string[] = [];
  for (const entry of settings.admins) {
    const m = /^(?:([a-z-]+):)?(.+)$/.exec(entry);
    if (m && (!m[1] || m[1] === 'feishu')) out.push(m[2]!);
  }
  return out;
}

/** Whether `userId` may authorise for a command `askerId` sent. */
export function mayAuthorise(settings: CoreSettings, askerId: string, userId: string): boolean {
  const admins = feishuAdmins(settings);
  return admins ? admins.includes(userId) : userId === askerId;
}

const AUTH_CODES = new Set(['user_auth_required', 'user_auth_lapsed']);

/**
 * The card for a failure that a person's authorisation fixes, or undefined for any other failure
 * (the caller shows its usual error card). `asker` is the person whose command failed.
 */
export async function authorisationCard(
  core: CoreDeps,
  err: MeetcheckError,
  pending: Omit<PendingAuthorisation, 'createdAt'>,
): Promise<object | undefined> {
  if (!AUTH_CODES.has(err.code)) return undefined;
  const auth: UserAuthorisation | undefined = err.options.vendor ? core.vendors.get(err.options.vendor as VendorName)?.userAuth : undefined;
  if (!auth) return undefined;
  const lang = core.settings.lang;
  const msg = describeError(lang, err, [...core.vendors.keys()]);
  if (mayAuthorise(core.settings, pending.userId, pending.userId)) {
    const state = await createState(core.store, core.clock, pending);
    return renderFeishuAuthorise(lang, msg, whoText(lang, 'auth.self', { who: mentionOf(pending.userId), whoShort: t(lang, feishuAdmins(core.settings) ? 'auth.youOrAdmin' : 'auth.you') }), auth.authorizeUrl(state));
  }
  const admins = feishuAdmins(core.settings) ?? [];
  const who = admins.length > 0
    ? whoText(lang, 'auth.others', { admins: admins.map(mentionOf).join(lang === 'zh' ? '、' : ', ') })
    : escapeMarkdown(t(lang, 'auth.nobody'));
  return renderFeishuAuthorise(lang, msg, who);
}

/**
 * A catalogue line with mentions in it: the text is escaped, the mentions (already safe markdown,
 * from mentionOf) are put in afterwards so they stay live.
 */
function whoText(lang: Lang, key: MessageKey, parts: Record<string, string>): string {
  const marks = Object.fromEntries(Object.keys(parts).map((k, i) => [k, `@@${i}@@`]));
  let text = escapeMarkdown(t(lang, key, marks));
  for (const [k, i] of Object.keys(parts).map((k, i) => [k, i] as const)) text = text.split(`@@${i}@@`).join(parts[k]!);
  return text;
}
