import { existsSync } from 'node:fs';
import type { Lang } from './core/i18n.js';
import type { VendorName } from './core/model.js';
import { ENCODING_AES_KEY } from './edge/msgcrypt.js';
import type { RateLimit } from './store/types.js';
import { VENDOR_NAMES, VENDOR_REGISTRATIONS, type VendorSections } from './vendors/index.js';
import type { WecomMeetingConfig } from './vendors/wecom/config.js';

export type { WecomMeetingConfig } from './vendors/wecom/config.js';
export type { TencentConfig } from './vendors/tencent/config.js';

/**
 * Environment → typed, validated Config, once at start. A bad value stops the start with one line
 * naming the variable and what is expected; values of secrets never appear in any message.
 */

export interface FeishuConfig {
  appId: string;
  appSecret: string;
  verificationToken?: string;
  encryptKey?: string;
  baseUrl: string;
  mode: 'webhook' | 'ws';
  /** User authorisation for the VC data APIs (an admin's user_access_token); absent when off. */
  userAuth?: FeishuUserAuthConfig;
  /** Why user authorisation is off, when it is: the variable that is missing. */
  userAuthOff?: 'MEETCHECK_ENCRYPTION_KEY' | 'MEETCHECK_PUBLIC_URL';
  /**
   * The VC data APIs' shared budget; not from the environment: Feishu's "100 次/分钟" (vendors/feishu
   * VC_RATE) unless a test or the bench runs on a scaled clock.
   */
  vcRate?: RateLimit;
}

export interface FeishuUserAuthConfig {
  /** MEETCHECK_PUBLIC_URL + /feishu/oauth/callback: registered under 安全设置 → 重定向URL. */
  redirectUri: string;
  /** Where the consent page lives: accounts.feishu.cn / accounts.larksuite.com (FEISHU_ACCOUNTS_URL). */
  accountsUrl: string;
  /** Scopes asked for, offline_access (a refresh token) always among them (FEISHU_USER_SCOPES). */
  scopes: string[];
  /** MEETCHECK_ENCRYPTION_KEY: 32 bytes for AES-256-GCM over stored grants. */
  key: Buffer;
}
export interface WecomBotConfig {
  mode: 'webhook' | 'ws';
  /** URL-callback Token and EncodingAESKey: required for webhook mode, optional in ws mode (then `/wecom/bot` is not mounted). */
  token?: string;
  aesKey?: string;
  /** Long-connection BotID and Secret: required for ws mode. */
  botId?: string;
  botSecret?: string;
  /** Long-connection endpoint (ws mode). */
  wsUrl: string;
}
export type ReportChat = { kind: 'feishu'; chatId: string } | { kind: 'wecom-webhook'; key: string };
export interface TencentWebhookConfig {
  token: string;
  aesKey: string;
  reportChat?: ReportChat;
}

export interface Config {
  port: number;
  host: string;
  logLevel: string;
  lang: Lang;
  /** Attendees per card page (Feishu 10, WeCom at most 6: its horizontal_content_list limit). */
  pageSize: { feishu: number; wecom: number };
  allowedChats?: ReadonlySet<string>;
  admins?: ReadonlySet<string>;
  defaultVendor?: VendorName;
  console: boolean;
  redisUrl?: string;
  /** Durable command jobs and shutdown (see README "Durability"). */
  jobs: JobsConfig;
  /** MEETCHECK_PUBLIC_URL: the bot's own public base URL (no trailing slash), for OAuth redirects. */
  publicUrl?: string;
  /** The Feishu app: the chat channel and the Feishu VC vendor share it. */
  feishu?: FeishuConfig;
  wecomBot?: WecomBotConfig;
  /** Each switched-on vendor's section, read by its registration (vendors/index.ts). */
  vendors: VendorSections;
  /** The same object as vendors.wecom; the meeting-end poster reads WECOM_BASE_URL from it. */
  wecomMeeting?: WecomMeetingConfig;
  tencentWebhook?: TencentWebhookConfig;
  /** True when no channel or vendor credentials are set: demo vendor, console on. */
  demo: boolean;
}

export interface JobsConfig {
  /** MEETCHECK_REDIS_PREFIX: prepended to every Redis key (store and job queue), so one Redis serves several bots. */
  redisPrefix: string;
  /** MEETCHECK_SHUTDOWN_GRACE_MS: how long SIGTERM lets work in flight run before handing it back. */
  shutdownGraceMs: number;
  /** MEETCHECK_JOB_LOCK_MS: a job's lock, renewed every half of it; unrenewed, the job is stalled. */
  lockMs: number;
  /** MEETCHECK_JOB_STALLED_CHECK_MS: how often each replica looks for stalled jobs to take over. */
  stalledCheckMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly variable: string, expected: string) {
    super(`${variable}: ${expected}`);
  }
}

/** WeCom's own limit: a template_card's horizontal_content_list holds at most 6 rows (developer.work.weixin.qq.com/document/path/101032). */
export const MAX_PAGE_SIZE_WECOM = 6;
/** Feishu cards must stay under 200 elements and 30 KB (open.feishu.cn/document/feishu-cards/card-json-v2-structure); 20 rows fit both. */
export const MAX_PAGE_SIZE_FEISHU = 20;
/**
 * The VC scope an app created today can request for the data APIs. The meeting_list/get and
 * participant_list/get pages (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/vc-v1/…)
 * say the legacy scopes "已无法继续申请。新权限只支持使用user_access_token" but the copies we read
 * do not name the new one: UNCONFIRMED. This default is the user-identity VC read scope Feishu's
 * own CLI asks for (larksuite/cli shortcuts/vc/vc_detail.go); set FEISHU_USER_SCOPES to the name
 * the console shows next to 查询会议明细 if it differs.
 */
export const DEFAULT_FEISHU_USER_SCOPES = ['vc:meeting.meetingevent:read'];
/** A refresh token comes back only with offline_access (open.feishu.cn …/refresh-user-access-token, 前置工作). */
export const OFFLINE_ACCESS = 'offline_access';
/** The OAuth redirect route on the bot (DESIGN public contract). */
export const OAUTH_CALLBACK_PATH_FEISHU = '/feishu/oauth/callback';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

/**
 * How a part reads its own variables (a vendor registration's configFrom): the same validation and
 * one-line errors as everything here, without importing this module's helpers.
 */
export interface EnvReader {
  /** The trimmed value; undefined when unset or empty. */
  get(name: string): string | undefined;
  /** All of `names` or none: undefined when none is set, else each value (a ConfigError names the first one missing). */
  group(names: readonly string[]): Record<string, string> | undefined;
  /** An http(s) URL without a trailing slash; `fallback` when unset. */
  url(name: string, fallback: string): string;
  /** Comma- or space-separated items; undefined when unset or empty. */
  list(name: string): string[] | undefined;
  /** Stops the start with the one line for `name` (never echo a secret's value in `expected`). */
  fail(name: string, expected: string): never;
}

/** What was read before the vendor sections, for a vendor that shares it (the Feishu app). */
export type SharedConfig = Pick<Config, 'feishu' | 'lang' | 'publicUrl'>;

function envReader(get: (name: string) => string | undefined): EnvReader {
  return {
    get,
    group: (names) => group(get, [...names]),
    url: (name, fallback) => url(get(name) ?? fallback, name),
    list: (name) => {
      const items = list(get(name));
      return items ? [...items] : undefined;
    },
    fail: (name, expected) => {
      throw new ConfigError(name, expected);
    },
  };
}

/** Loads `.env` from the working directory when present (Node's own loader; real env wins). */
export function loadDotEnv(path = '.env'): void {
  if (!existsSync(path)) return;
  const before = { ...process.env };
  process.loadEnvFile(path);
  Object.assign(process.env, before);
}

export function loadConfig(env: Env = process.env): Config {
  const get = (name: string) => {
    const v = env[name]?.trim();
    return v === '' ? undefined : v;
  };

  const port = int(get('PORT') ?? '3000', 'PORT', 0, 65535);
  const host = get('HOST') ?? '0.0.0.0';
  const logLevel = oneOf(get('LOG_LEVEL') ?? 'info', 'LOG_LEVEL', LOG_LEVELS);
  const lang = oneOf(get('MEETCHECK_LANG') ?? 'zh', 'MEETCHECK_LANG', ['zh', 'en']) as Lang;
  const sizeRaw = get('MEETCHECK_PAGE_SIZE');
  const size = sizeRaw === undefined ? undefined : int(sizeRaw, 'MEETCHECK_PAGE_SIZE', 1, MAX_PAGE_SIZE_FEISHU);
  const pageSize = { feishu: size ?? 10, wecom: Math.min(size ?? MAX_PAGE_SIZE_WECOM, MAX_PAGE_SIZE_WECOM) };
  const allowedChats = list(get('MEETCHECK_ALLOWED_CHATS'));
  const admins = list(get('MEETCHECK_ADMINS'));
  const dv = get('MEETCHECK_DEFAULT_VENDOR');
  const defaultVendor = dv === undefined ? undefined : (oneOf(dv, 'MEETCHECK_DEFAULT_VENDOR', [...VENDOR_NAMES]) as VendorName);
  const consoleFlag = get('MEETCHECK_CONSOLE');
  if (consoleFlag !== undefined) oneOf(consoleFlag, 'MEETCHECK_CONSOLE', ['0', '1', 'true', 'false']);
  const redisUrl = get('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) throw new ConfigError('REDIS_URL', 'a redis:// or rediss:// URL');

  const jobs: JobsConfig = {
    redisPrefix: get('MEETCHECK_REDIS_PREFIX') ?? 'meetcheck:',
    shutdownGraceMs: int(get('MEETCHECK_SHUTDOWN_GRACE_MS') ?? '10000', 'MEETCHECK_SHUTDOWN_GRACE_MS', 0, 600_000),
    lockMs: int(get('MEETCHECK_JOB_LOCK_MS') ?? '10000', 'MEETCHECK_JOB_LOCK_MS', 200, 600_000),
    stalledCheckMs: int(get('MEETCHECK_JOB_STALLED_CHECK_MS') ?? '10000', 'MEETCHECK_JOB_STALLED_CHECK_MS', 100, 600_000),
  };
  if (!/^[\w:.-]{1,64}$/.test(jobs.redisPrefix)) throw new ConfigError('MEETCHECK_REDIS_PREFIX', 'up to 64 letters, digits, _ : . -');

  const publicRaw = get('MEETCHECK_PUBLIC_URL');
  const publicUrl = publicRaw === undefined ? undefined : url(publicRaw, 'MEETCHECK_PUBLIC_URL');
  const keyRaw = get('MEETCHECK_ENCRYPTION_KEY');
  const encryptionKey = keyRaw === undefined ? undefined : key32(keyRaw, 'MEETCHECK_ENCRYPTION_KEY');
  const userScopes = scopeList(get('FEISHU_USER_SCOPES'), 'FEISHU_USER_SCOPES');
  const accountsRaw = get('FEISHU_ACCOUNTS_URL');

  const feishuParts = group(get, ['FEISHU_APP_ID', 'FEISHU_APP_SECRET']);
  const feishuBase = url(get('FEISHU_BASE_URL') ?? 'https://open.feishu.cn', 'FEISHU_BASE_URL');
  const feishu: FeishuConfig | undefined = feishuParts && {
    appId: feishuParts.FEISHU_APP_ID!,
    appSecret: feishuParts.FEISHU_APP_SECRET!,
    baseUrl: feishuBase,
    mode: oneOf(get('FEISHU_MODE') ?? 'webhook', 'FEISHU_MODE', ['webhook', 'ws']) as 'webhook' | 'ws',
    ...opt('verificationToken', get('FEISHU_VERIFICATION_TOKEN')),
    ...opt('encryptKey', get('FEISHU_ENCRYPT_KEY')),
    ...(encryptionKey && publicUrl
      ? {
        userAuth: {
          redirectUri: `${publicUrl}${OAUTH_CALLBACK_PATH_FEISHU}`,
          accountsUrl: accountsRaw === undefined ? accountsUrlFor(feishuBase) : url(accountsRaw, 'FEISHU_ACCOUNTS_URL'),
          scopes: [OFFLINE_ACCESS, ...(userScopes ?? DEFAULT_FEISHU_USER_SCOPES).filter((x) => x !== OFFLINE_ACCESS)],
          key: encryptionKey,
        },
      }
      : { userAuthOff: encryptionKey ? 'MEETCHECK_PUBLIC_URL' as const : 'MEETCHECK_ENCRYPTION_KEY' as const }),
  };
  if (feishu && feishu.mode === 'webhook' && !feishu.verificationToken && !feishu.encryptKey) {
    // Without either, a forged event could not be told from a real one.
    throw new ConfigError('FEISHU_VERIFICATION_TOKEN', 'set it (or FEISHU_ENCRYPT_KEY) so Feishu callbacks can be verified');
  }

  const wecomBot = wecomBotConfig(get);

  // Each vendor reads its own section (vendors/*/config.ts), in the registrations' order.
  const read = envReader(get);
  const shared: SharedConfig = { lang, ...opt('feishu', feishu), ...opt('publicUrl', publicUrl) };
  const vendors: Record<string, unknown> = {};
  for (const r of VENDOR_REGISTRATIONS) {
    const section = r.configFrom(read, shared);
    if (section !== undefined) vendors[r.name] = section;
  }
  const configured = VENDOR_REGISTRATIONS.some((r) => !('builtin' in r && r.builtin) && vendors[r.name] !== undefined);
  const wecomMeeting = (vendors as VendorSections).wecom;

  const hookParts = group(get, ['TENCENT_MEETING_WEBHOOK_TOKEN', 'TENCENT_MEETING_WEBHOOK_AES_KEY']);
  const reportChatRaw = get('TENCENT_MEETING_REPORT_CHAT');
  const tencentWebhook: TencentWebhookConfig | undefined = hookParts && {
    token: hookParts.TENCENT_MEETING_WEBHOOK_TOKEN!,
    aesKey: aesKey(hookParts.TENCENT_MEETING_WEBHOOK_AES_KEY!, 'TENCENT_MEETING_WEBHOOK_AES_KEY', 'Tencent Meeting'),
    ...(reportChatRaw ? { reportChat: reportChat(reportChatRaw) } : {}),
  };
  if (reportChatRaw && !tencentWebhook) {
    throw new ConfigError('TENCENT_MEETING_REPORT_CHAT', 'needs TENCENT_MEETING_WEBHOOK_TOKEN and TENCENT_MEETING_WEBHOOK_AES_KEY to receive meeting.end');
  }

  if (tencentWebhook?.reportChat?.kind === 'feishu' && !feishu) {
    throw new ConfigError('FEISHU_APP_ID', 'required (with FEISHU_APP_SECRET) to post reports to TENCENT_MEETING_REPORT_CHAT=feishu:…');
  }

  const demo = !feishu && !wecomBot && !configured && !tencentWebhook;
  const config: Config = {
    port, host, logLevel, lang, pageSize, demo, jobs, vendors: vendors as VendorSections,
    console: demo ? consoleFlag !== '0' && consoleFlag !== 'false' : consoleFlag === '1' || consoleFlag === 'true',
    ...opt('allowedChats', allowedChats),
    ...opt('admins', admins),
    ...opt('defaultVendor', defaultVendor),
    ...opt('redisUrl', redisUrl),
    ...opt('publicUrl', publicUrl),
    ...opt('feishu', feishu),
    ...opt('wecomBot', wecomBot),
    ...opt('wecomMeeting', wecomMeeting),
    ...opt('tencentWebhook', tencentWebhook),
  };
  return config;
}

/** What is switched on, for the start-up log line: names only, never a value of a secret. */
export function describeConfig(c: Config): Record<string, unknown> {
  return {
    mode: c.demo ? 'demo' : 'live',
    channels: [c.feishu && `feishu(${c.feishu.mode})`, c.wecomBot && `wecom(${c.wecomBot.mode})`, c.console && 'console', c.tencentWebhook && 'tencent-webhook'].filter(Boolean),
    vendors: enabledVendors(c),
    store: c.redisUrl ? 'redis' : 'memory',
    lang: c.lang,
    restricted: Boolean(c.allowedChats || c.admins),
    ...(c.feishu ? { feishuUserAuth: c.feishu.userAuth ? 'on' : `off (${c.feishu.userAuthOff} not set)` } : {}),
  };
}

/**
 * The consent page's host for an open platform host, as the SDK maps them (node-sdk 1.74.0
 * OAUTH_DOMAIN_MAP): open.feishu.cn → accounts.feishu.cn, open.larksuite.com →
 * accounts.larksuite.com. Any other host (a proxy, a test fake) serves both itself.
 */
export function accountsUrlFor(baseUrl: string): string {
  const u = new URL(baseUrl);
  if (u.hostname === 'open.feishu.cn') return 'https://accounts.feishu.cn';
  if (u.hostname === 'open.larksuite.com') return 'https://accounts.larksuite.com';
  return baseUrl;
}

/** The switched-on vendors, in the registrations' order. */
export function enabledVendors(c: Config): VendorName[] {
  return VENDOR_NAMES.filter((name) => (c.vendors as Record<string, unknown>)[name] !== undefined);
}

/**
 * The 智能机器人 channel. URL callback (webhook, the default) needs the callback Token and
 * EncodingAESKey; the long connection (ws) is issued only a BotID and Secret
 * (developer.work.weixin.qq.com/document/path/101463 "获取凭证"), so the Token/key pair is optional
 * there and only mounts `/wecom/bot` when given.
 */
function wecomBotConfig(get: (n: string) => string | undefined): WecomBotConfig | undefined {
  const mode = oneOf(get('WECOM_MODE') ?? 'webhook', 'WECOM_MODE', ['webhook', 'ws']) as 'webhook' | 'ws';
  const callback = group(get, ['WECOM_BOT_TOKEN', 'WECOM_BOT_AES_KEY']);
  const wsParts = group(get, ['WECOM_BOT_ID', 'WECOM_BOT_SECRET']);
  const wsUrlRaw = get('WECOM_WS_URL');
  const wsUrl = wsUrlRaw === undefined ? DEFAULT_WS_URL_WECOM : wsUrlOf(wsUrlRaw, 'WECOM_WS_URL');
  if (mode === 'ws' && !wsParts) throw new ConfigError('WECOM_BOT_ID', 'required (with WECOM_BOT_SECRET) when WECOM_MODE=ws: the bot\'s long-connection BotID and Secret');
  if (mode === 'webhook' && !callback) {
    if (wsParts) throw new ConfigError('WECOM_MODE', 'set it to ws to use WECOM_BOT_ID / WECOM_BOT_SECRET (the long connection), or set WECOM_BOT_TOKEN and WECOM_BOT_AES_KEY for URL callbacks');
    return undefined;
  }
  return {
    mode,
    wsUrl,
    ...(callback ? { token: callback.WECOM_BOT_TOKEN!, aesKey: aesKey(callback.WECOM_BOT_AES_KEY!, 'WECOM_BOT_AES_KEY') } : {}),
    ...(wsParts ? { botId: wsParts.WECOM_BOT_ID!, botSecret: wsParts.WECOM_BOT_SECRET! } : {}),
  };
}

/** The long-connection endpoint of WeCom's public cloud (101463); private deployments have their own. */
export const DEFAULT_WS_URL_WECOM = 'wss://openws.work.weixin.qq.com';

function wsUrlOf(raw: string, name: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error();
    return raw;
  } catch {
    throw new ConfigError(name, `a ws:// or wss:// URL, got "${raw.slice(0, 40)}"`);
  }
}

function group(get: (n: string) => string | undefined, names: string[]): Record<string, string> | undefined {
  const values = Object.fromEntries(names.map((n) => [n, get(n)]));
  const missing = names.filter((n) => values[n] === undefined);
  if (missing.length === names.length) return undefined;
  if (missing.length > 0) {
    const set = names.filter((n) => values[n] !== undefined);
    throw new ConfigError(missing[0]!, `required because ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set`);
  }
  return values as Record<string, string>;
}

function int(raw: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new ConfigError(name, `a whole number from ${min} to ${max}, got "${raw.slice(0, 20)}"`);
  return Number(raw);
}

function oneOf(raw: string, name: string, allowed: string[]): string {
  if (!allowed.includes(raw)) throw new ConfigError(name, `one of ${allowed.join(', ')}, got "${raw.slice(0, 20)}"`);
  return raw;
}

function url(raw: string, name: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return raw.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(name, `an http(s) URL, got "${raw.slice(0, 40)}"`);
  }
}

/**
 * An EncodingAESKey: 43 characters of base64 without the trailing "=" (WeCom doc 101033; Tencent
 * Meeting cloud.tencent.com/document/product/1095/54658), checked by the crypto's own rule.
 */
function aesKey(raw: string, name: string, console = 'WeCom'): string {
  if (!ENCODING_AES_KEY.test(raw)) throw new ConfigError(name, `the 43-character EncodingAESKey from the ${console} console (value not shown)`);
  return raw;
}

/** 32 random bytes in base64 (or base64url), e.g. `openssl rand -base64 32`. */
function key32(raw: string, name: string): Buffer {
  const expected = `32 random bytes in base64, e.g. from "openssl rand -base64 32" (value not shown)`;
  if (!/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(raw)) throw new ConfigError(name, expected);
  const key = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) throw new ConfigError(name, `${expected}; it decodes to ${key.length} bytes`);
  return key;
}

/** Feishu scope names, space- or comma-separated, e.g. "vc:meeting.meetingevent:read offline_access". */
function scopeList(raw: string | undefined, name: string): string[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw.split(/[,\s]+/).filter(Boolean);
  const bad = items.find((x) => !/^[A-Za-z0-9_.:-]{1,100}$/.test(x));
  if (bad !== undefined || items.length === 0) throw new ConfigError(name, `Feishu scope names separated by spaces or commas, got "${(bad ?? raw).slice(0, 40)}"`);
  return items;
}

function list(raw: string | undefined): ReadonlySet<string> | undefined {
  if (raw === undefined) return undefined;
  const items = raw.split(/[,\s]+/).filter(Boolean);
  return items.length ? new Set(items) : undefined;
}

function reportChat(raw: string): ReportChat {
  const m = /^(feishu|wecom-webhook):(.+)$/.exec(raw);
  if (!m) throw new ConfigError('TENCENT_MEETING_REPORT_CHAT', 'feishu:<chat_id> or wecom-webhook:<key>');
  return m[1] === 'feishu' ? { kind: 'feishu', chatId: m[2]! } : { kind: 'wecom-webhook', key: m[2]! };
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
