import type { Context } from 'koa';
import type { Dispatcher } from 'undici';
import { OAUTH_CALLBACK_PATH_FEISHU, type FeishuConfig } from '../../config.js';
import { asMeetcheckError } from '../../core/errors.js';
import { t, type Lang, type MessageKey } from '../../core/i18n.js';
import type { CoreDeps } from '../../core/quality.js';
import type { UserAuthorisation } from '../../core/vendor.js';
import type { Channel } from '../types.js';
import { claimState, mayAuthorise } from './authorise.js';
import { createHandlers, type Handlers } from './handlers.js';
import { createIm, type Im } from './im.js';

/**
 * GET /feishu/oauth/callback: where Feishu sends the admin back after the consent page, with
 * `code` and `state`, or `error=access_denied` when they declined
 * (open.feishu.cn/document/common-capabilities/sso/api/obtain-oauth-code, 回调). Mounted in both
 * webhook and long-connection mode: a browser reaches it, not Feishu's event push.
 *
 * The state must be one this bot made, unused and under 10 minutes old (authorise.ts); the code is
 * handed to the vendor (which exchanges it and keeps the grant); then the command behind the card
 * runs again and its card turns into the report. Every answer is a small HTML page, escaped.
 */

export interface FeishuOAuthDeps {
  config: FeishuConfig;
  core: CoreDeps;
  pageSize: number;
  dispatcher?: Dispatcher;
  im?: Im;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function page(lang: Lang, title: string, body: string): string {
  return `<!doctype html><html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`
    + `<title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1f2329}</style></head>`
    + `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(body)}</p></body></html>`;
}

/** The callback's answer pages, each a title and a body in the catalogue. */
type PageOf<K> = K extends `oauth.${infer P}.title` ? P : never;
type OAuthPage = PageOf<MessageKey>;

export function createFeishuOAuthChannel(deps: FeishuOAuthDeps): Channel {
  const { config, core } = deps;
  const lang = core.settings.lang;
  let handlers: Handlers | undefined;
  const handlersFor = (): Handlers => {
    handlers ??= createHandlers({
      config, core, pageSize: deps.pageSize,
      im: deps.im ?? createIm({ config, clock: core.clock, log: core.log, metrics: core.metrics, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) }),
    });
    return handlers;
  };

  const answer = (ctx: Context, status: number, key: OAuthPage, params: Record<string, string> = {}) => {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    // The URL carried a one-time code: keep it out of caches and Referer headers.
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    ctx.body = page(lang, t(lang, `oauth.${key}.title`), t(lang, `oauth.${key}.body`, params));
  };

  const one = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' && v.length <= 2048 ? v : undefined);

  const callback = async (ctx: Context) => {
    const auth: UserAuthorisation | undefined = core.vendors.get('feishu')?.userAuth;
    if (!auth) return answer(ctx, 503, 'off', { variable: config.userAuthOff ?? 'MEETCHECK_ENCRYPTION_KEY' });
    const error = one(ctx.query.error);
    if (error === 'access_denied') {
      // The link stays usable until it expires, so they can still change their mind.
      core.log.info({ route: OAUTH_CALLBACK_PATH_FEISHU }, 'feishu authorisation declined');
      return answer(ctx, 200, 'declined');
    }
    if (error !== undefined) return answer(ctx, 400, 'failed', { reason: error.slice(0, 80) });
    const code = one(ctx.query.code);
    const state = one(ctx.query.state);
    if (!code || !state) return answer(ctx, 400, 'badRequest');
    const claim = await claimState(core.store, core.clock, state);
    if (!claim) {
      core.log.info({ route: OAUTH_CALLBACK_PATH_FEISHU }, 'feishu authorisation callback with an unknown, used or expired state');
      return answer(ctx, 400, 'badState');
    }
    let exchanged: Awaited<ReturnType<UserAuthorisation['exchange']>>;
    try {
      exchanged = await auth.exchange(code);
    } catch (err) {
      await claim.release();
      const e = asMeetcheckError(err);
      core.log.info({ code: e.code, detail: e.detail }, 'feishu authorisation code exchange failed');
      return answer(ctx, e.code === 'vendor_auth' ? 400 : 502, 'failed', { reason: e.detail ?? e.code });
    }
    // The card is shared in the group, so anyone may press its button: only the asker (or, with
    // MEETCHECK_ADMINS set, an admin) may give the app their grant.
    if (exchanged.userId !== undefined && !mayAuthorise(core.settings, claim.pending.userId, exchanged.userId)) {
      await claim.release();
      core.log.info({ chatId: claim.pending.chatId }, 'feishu authorisation by someone who may not authorise; not stored');
      return answer(ctx, 403, 'wrongUser');
    }
    await exchanged.keep();
    await claim.spend();
    core.log.info({ chatId: claim.pending.chatId }, 'feishu user authorisation received; re-running the command');
    answer(ctx, 200, 'ok');
    handlersFor().resume(claim.pending);
  };

  return {
    name: 'feishu-oauth',
    mount(router) {
      router.get(OAUTH_CALLBACK_PATH_FEISHU, callback);
    },
  };
}
