import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { FeishuUserAuthConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import { MeetcheckError } from '../../core/errors.js';
import type { UserAuthorisation } from '../../core/vendor.js';
import { httpJson, type HttpDeps } from '../../http/outbound.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/types.js';

/**
 * The one user grant per app (the authorising admin's user_access_token + refresh_token), for
 * the VC data APIs that apps created today may call only with a user_access_token (open.feishu.cn
 * vc-v1/meeting_list/get: "新权限只支持使用user_access_token").
 *
 *   consent page  {accounts}/open-apis/authen/v1/authorize?client_id&redirect_uri&scope&state
 *                 (open.feishu.cn/document/common-capabilities/sso/api/obtain-oauth-code)
 *   token         POST {open}/open-apis/authen/v2/oauth/token, grant_type authorization_code or
 *                 refresh_token (…/authentication-management/access-token/get-user-access-token,
 *                 …/refresh-user-access-token; RFC 6749 shapes)
 *   who           GET {open}/open-apis/authen/v1/user_info (…/reference/authen-v1/user_info/get)
 *
 * The grant is kept in the Store (memory or Redis) sealed with AES-256-GCM under
 * MEETCHECK_ENCRYPTION_KEY. "refresh_token 仅能使用一次 … 原 refresh_token 立即失效", so only one
 * replica refreshes at a time: a lock in the store (SET NX PX); the others poll the store for the
 * new token instead of spending the refresh token a second time.
 */

export interface Grant {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
  refreshToken?: string;
  /** Epoch ms; undefined when Feishu did not say. */
  refreshExpiresAt?: number;
  scope: string;
  /** The authorising person's open_id, when user_info told us. */
  userId?: string;
  grantedAt: number;
}

export interface GrantStoreDeps {
  appId: string;
  appSecret: string;
  baseUrl: string;
  auth: FeishuUserAuthConfig;
  store: Store;
  clock: Clock;
  log: Logger;
  http: HttpDeps;
}

export interface GrantStore extends UserAuthorisation {
  /** The access token to call with, refreshed first when it is near its end; undefined without a grant. */
  accessToken(signal?: AbortSignal): Promise<string | undefined>;
  /** Feishu refused `token` (expired or invalid): get a new one once, or drop the grant and throw user_auth_lapsed. */
  renewAfterRejection(token: string, signal?: AbortSignal): Promise<string>;
  /** Forgets the grant (it no longer works). */
  drop(reason: string): Promise<void>;
}

/** Refresh this long before the access token's end, so a call in flight never carries a dead token. */
export const REFRESH_EARLY_MS = 5 * 60_000;
/** Longer than one refresh call with its retry (two 10 s timeouts), so a live holder keeps the lock. */
export const REFRESH_LOCK_TTL_MS = 30_000;
/** How often a replica waiting on another's refresh looks at the store, and for how long. */
const WAIT_POLL_MS = 200;
const WAIT_MAX_MS = 25_000;
/** A refresh token with no stated life: Feishu's own plugin treats 365 days as the ceiling (20037). */
const DEFAULT_REFRESH_LIFE_MS = 365 * 86_400_000;
/** access_token life when the answer leaves it out: "有效期为 2 小时左右". */
const DEFAULT_ACCESS_LIFE_S = 7200;
/**
 * 20050: the token endpoint's own server error, worth one more try (larksuite/openclaw-lark
 * src/core/auth-errors.ts REFRESH_TOKEN_RETRYABLE); every other refusal of a refresh (20026
 * invalid, 20037 expired, 20064 revoked, 20073 already used, …) means the grant is gone.
 */
const TOKEN_SERVER_ERROR = 20050;
const RETRY_AFTER_MS = 500;
/** After Feishu could not answer a refresh, the current token is used this long before trying again. */
const REFRESH_BACKOFF_MS = 30_000;
const SEAL_VERSION = 'v1';

// ---- sealing -------------------------------------------------------------------------------

/** AES-256-GCM with a random 96-bit IV; `aad` binds the sealed value to its key name (and so its app). */
export function seal(key: Buffer, aad: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [SEAL_VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

/** The plain text, or undefined if `sealed` was not made with this key and aad (or was altered). */
export function unseal(key: Buffer, aad: string, sealed: string): string | undefined {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== SEAL_VERSION || !iv || !tag || body === undefined) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

// ---- the token endpoint ------------------------------------------------------------------------

interface TokenSet {
  accessToken: string;
  expiresInS: number;
  refreshToken?: string;
  refreshExpiresInS?: number;
  scope: string;
}

/** A refusal from the token endpoint: the code or token it was given will not work. */
class TokenRefused extends Error {
  constructor(readonly detail: string, readonly code: number | undefined) {
    super(detail);
  }
}

const numberOf = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
};
const stringOf = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function createGrantStore(deps: GrantStoreDeps): GrantStore {
  const { store, clock, log, auth } = deps;
  const grantKey = `feishu:grant:${deps.appId}`;
  const lockKey = `feishu:grant-lock:${deps.appId}`;
  const tokenUrl = `${deps.baseUrl}/open-apis/authen/v2/oauth/token`;
  const shapesSeen = new Set<string>();
  let inflight: Promise<string> | undefined;
  let refreshBackoffUntil = 0;

  const lapsed = (detail: string) => new MeetcheckError('user_auth_lapsed', `feishu: ${detail}`.slice(0, 200), { vendor: 'feishu' });

  /**
   * UNCONFIRMED which success shape the v2 endpoint sends: the doc's `{code:0, access_token, …}`,
   * plain RFC 6749 (no code), or code as the string "0". All are accepted; the first of each is
   * logged (field names only, never values).
   */
  function noteShape(body: Record<string, unknown>): void {
    const shape = `code:${typeof body.code}${body.code === undefined ? '' : `=${String(body.code)}`};${Object.keys(body).sort().join(',')}`;
    if (shapesSeen.has(shape)) return;
    shapesSeen.add(shape);
    log.info({ vendor: 'feishu', codeType: typeof body.code, fields: Object.keys(body).sort() }, 'feishu token endpoint answer shape');
  }

  async function tokenCall(grant: Record<string, string>): Promise<TokenSet> {
    for (let attempt = 1; ; attempt++) {
      // client_id and client_secret in the body (get-user-access-token, 请求体).
      const res = await httpJson(deps.http, {
        kind: 'vendor', target: 'feishu', op: `authen/v2/oauth/token:${grant.grant_type}`, method: 'POST', url: tokenUrl,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ ...grant, client_id: deps.appId, client_secret: deps.appSecret }),
      });
      const body = (res.json && typeof res.json === 'object' ? res.json : {}) as Record<string, unknown>;
      const code = body.code === undefined || body.code === '' ? 0 : Number(body.code);
      const accessToken = stringOf(body.access_token);
      if (res.status === 200 && code === 0 && body.error === undefined && accessToken) {
        noteShape(body);
        const refreshToken = stringOf(body.refresh_token);
        const refreshExpiresInS = numberOf(body.refresh_token_expires_in);
        return {
          accessToken,
          expiresInS: numberOf(body.expires_in) ?? DEFAULT_ACCESS_LIFE_S,
          ...(refreshToken ? { refreshToken } : {}),
          ...(refreshExpiresInS ? { refreshExpiresInS } : {}),
          scope: stringOf(body.scope) ?? '',
        };
      }
      const detail = `feishu oauth token (${grant.grant_type}): ${Number.isFinite(code) && code !== 0 ? code : `HTTP ${res.status}`} ${stringOf(body.error) ?? ''} ${stringOf(body.error_description) ?? stringOf(body.msg) ?? ''}`.replace(/\s+/g, ' ').trim().slice(0, 200);
      const transient = res.status >= 500 || code === TOKEN_SERVER_ERROR;
      if (transient && attempt === 1) {
        await clock.sleep(RETRY_AFTER_MS);
        continue;
      }
      if (transient) throw new MeetcheckError('vendor_unavailable', detail, { vendor: 'feishu' });
      throw new TokenRefused(detail, Number.isFinite(code) && code !== 0 ? code : undefined);
    }
  }

  async function whoAmI(accessToken: string): Promise<string | undefined> {
    try {
      const res = await httpJson(deps.http, {
        kind: 'vendor', target: 'feishu', op: 'authen/v1/user_info', method: 'GET', url: `${deps.baseUrl}/open-apis/authen/v1/user_info`,
        headers: { authorization: `Bearer ${accessToken}` },
      });
      const body = res.json as { code?: unknown; data?: { open_id?: unknown } } | undefined;
      const openId = stringOf(body?.data?.open_id);
      if (res.status === 200 && (body?.code === 0 || body?.code === undefined) && openId) return openId;
      log.info({ vendor: 'feishu', status: res.status, code: body?.code ?? null }, 'feishu user_info gave no open_id; the authoriser could not be checked');
    } catch (err) {
      log.info({ vendor: 'feishu', err: err instanceof Error ? err.message : String(err) }, 'feishu user_info failed; the authoriser could not be checked');
    }
    return undefined;
  }

  function toGrant(t: TokenSet, userId: string | undefined, grantedAt: number): Grant {
    const now = clock.now();
    return {
      accessToken: t.accessToken,
      expiresAt: now + t.expiresInS * 1000,
      ...(t.refreshToken ? { refreshToken: t.refreshToken } : {}),
      ...(t.refreshToken ? { refreshExpiresAt: now + (t.refreshExpiresInS ? t.refreshExpiresInS * 1000 : DEFAULT_REFRESH_LIFE_MS) } : {}),
      scope: t.scope,
      ...(userId ? { userId } : {}),
      grantedAt,
    };
  }

  async function save(g: Grant): Promise<void> {
    const until = g.refreshToken ? g.refreshExpiresAt ?? clock.now() + DEFAULT_REFRESH_LIFE_MS : g.expiresAt;
    await store.set(grantKey, seal(auth.key, grantKey, JSON.stringify(g)), Math.max(1000, until - clock.now()));
  }

  async function load(): Promise<Grant | undefined> {
    const sealed = await store.get(grantKey);
    if (sealed === undefined) return undefined;
    const plain = unseal(auth.key, grantKey, sealed);
    if (plain === undefined) {
      // Another key (MEETCHECK_ENCRYPTION_KEY changed) or an altered value: unusable, so gone.
      log.warn({ vendor: 'feishu' }, 'the stored Feishu user grant does not open with MEETCHECK_ENCRYPTION_KEY; dropped it (an admin must authorise again)');
      await store.delete(grantKey);
      return undefined;
    }
    return JSON.parse(plain) as Grant;
  }

  async function drop(reason: string): Promise<void> {
    await store.delete(grantKey);
    log.info({ vendor: 'feishu', reason }, 'dropped the Feishu user grant; an admin must authorise again');
  }

  const fresh = (g: Grant) => g.expiresAt - REFRESH_EARLY_MS > clock.now();

  /** Spends the refresh token. Called only while holding the lock; `rejected`: Feishu refused g's token. */
  async function refresh(g: Grant, rejected: boolean): Promise<string> {
    if (!g.refreshToken) {
      if (!rejected && g.expiresAt > clock.now()) return g.accessToken;
      await drop('no refresh token (offline_access not granted) and the access token ran out');
      throw lapsed('the user token ran out and there is no refresh token (offline_access)');
    }
    if (g.refreshExpiresAt !== undefined && g.refreshExpiresAt <= clock.now()) {
      await drop('refresh token past its end');
      throw lapsed('the refresh token has lapsed');
    }
    let t: TokenSet;
    try {
      t = await tokenCall({ grant_type: 'refresh_token', refresh_token: g.refreshToken });
    } catch (err) {
      if (err instanceof TokenRefused) {
        await drop(`refresh refused (${err.code ?? 'no code'})`);
        throw lapsed(err.detail.replace(/^feishu /, ''));
      }
      // Feishu could not answer: a token that still works beats failing the command.
      if (!rejected && g.expiresAt > clock.now()) {
        refreshBackoffUntil = clock.now() + REFRESH_BACKOFF_MS;
        log.warn({ vendor: 'feishu', err: err instanceof Error ? err.message : String(err) }, 'feishu user token refresh failed; using the current token until it ends');
        return g.accessToken;
      }
      throw err;
    }
    // "在获取新的 user_access_token 时会返回新的 refresh_token" — keep the old one only if none came.
    const next = toGrant({ ...t, ...(t.refreshToken ? {} : { refreshToken: g.refreshToken }) }, g.userId, g.grantedAt);
    if (!t.refreshToken && g.refreshExpiresAt !== undefined) next.refreshExpiresAt = g.refreshExpiresAt;
    await save(next);
    log.info({ vendor: 'feishu', expiresInS: t.expiresInS }, 'refreshed the Feishu user token');
    return next.accessToken;
  }

  /** A new token instead of `seen`: refreshed here under the lock, or by whoever holds it. */
  async function renew(seen: string, rejected: boolean, signal?: AbortSignal): Promise<string> {
    const giveUpAt = clock.now() + WAIT_MAX_MS;
    for (;;) {
      const g = await load();
      if (!g) throw lapsed('the user grant is gone');
      if (g.accessToken !== seen && fresh(g)) return g.accessToken;
      const owner = randomBytes(9).toString('base64url');
      if (await store.setIfAbsent(lockKey, owner, REFRESH_LOCK_TTL_MS)) {
        try {
          // Look again under the lock: the holder before us may have just finished.
          const current = await load();
          if (!current) throw lapsed('the user grant is gone');
          if (current.accessToken !== seen && fresh(current)) return current.accessToken;
          return await refresh(current, rejected && current.accessToken === seen);
        } finally {
          // Only our own lock: one that outlived its TTL may already be someone else's.
          if ((await store.get(lockKey).catch(() => undefined)) === owner) await store.delete(lockKey);
        }
      }
      if (clock.now() >= giveUpAt) {
        if ((g.accessToken !== seen || !rejected) && g.expiresAt > clock.now()) return g.accessToken;
        throw new MeetcheckError('vendor_unavailable', 'feishu: another replica is still refreshing the user token', { vendor: 'feishu' });
      }
      await clock.sleep(WAIT_POLL_MS, signal);
    }
  }

  /** One renewal at a time in this process; other processes are kept out by the store lock. */
  function renewOnce(seen: string, rejected: boolean, signal?: AbortSignal): Promise<string> {
    inflight ??= renew(seen, rejected, signal).finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  return {
    authorizeUrl(state) {
      // Parameters percent-encoded one by one (the doc asks for a URL library; spaces as %20).
      const q = [
        ['client_id', deps.appId],
        ['redirect_uri', auth.redirectUri],
        ['scope', auth.scopes.join(' ')],
        ['state', state],
      ].map(([k, v]) => `${k}=${encodeURIComponent(v!)}`).join('&');
      return `${auth.accountsUrl}/open-apis/authen/v1/authorize?${q}`;
    },

    async exchange(code) {
      let t: TokenSet;
      try {
        t = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: auth.redirectUri });
      } catch (err) {
        if (err instanceof TokenRefused) throw new MeetcheckError('vendor_auth', err.detail, { vendor: 'feishu' });
        throw err;
      }
      const userId = await whoAmI(t.accessToken);
      const granted = new Set(t.scope.split(/\s+/).filter(Boolean));
      const missing = auth.scopes.filter((s) => !granted.has(s));
      return {
        ...(userId ? { userId } : {}),
        keep: async () => {
          await save(toGrant(t, userId, clock.now()));
          // Scope names only: which of FEISHU_USER_SCOPES Feishu actually granted.
          log.info({ vendor: 'feishu', scopes: [...granted], missing, refresh: Boolean(t.refreshToken), expiresInS: t.expiresInS }, 'stored the Feishu user grant');
          if (!t.refreshToken) log.warn({ vendor: 'feishu' }, 'Feishu sent no refresh token: enable offline_access for the app, or the grant ends with its access token');
        },
      };
    },

    async accessToken(signal) {
      const g = await load();
      if (!g) return undefined;
      if (fresh(g)) return g.accessToken;
      // Feishu just failed to answer a refresh: a token that still works, rather than asking again at once.
      if (clock.now() < refreshBackoffUntil && g.expiresAt > clock.now()) return g.accessToken;
      return renewOnce(g.accessToken, false, signal);
    },

    async renewAfterRejection(token, signal) {
      return renewOnce(token, true, signal);
    },

    drop,
  };
}
