import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from '../config.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Logger } from '../log.js';
import { redactRedisUrl } from './url.js';
import { StoreUnavailableError, type RateDecision, type RateLimit, type Store } from './types.js';

export interface RedisStoreOptions {
  /** redis:// or rediss:// URL (REDIS_URL); may carry a password, which is never logged. */
  url: string;
  /** Prepended to every key, so one Redis can serve several bots (or test runs) apart. */
  prefix?: string;
  log: Logger;
  /**
   * Rate buckets use Redis's own clock (TIME) when this is unset or the system clock. Replicas'
   * clocks drift; a bucket shared by all replicas must refill on one timeline, or a replica whose
   * clock runs ahead refills the budget early for everyone. Any other clock (a test's manual one)
   * drives the buckets itself, so fake-clock tests stay deterministic.
   */
  clock?: Clock;
  /** How long to wait for the first connection before giving up with a clear error. */
  connectTimeoutMs?: number;
  /** A command that takes longer fails with StoreUnavailableError (and the connection is reset). */
  commandTimeoutMs?: number;
}

export const DEFAULT_PREFIX = 'meetcheck:';
/** A page flip must be answered within Feishu's 3 s callback limit (open.feishu.cn/document/feishu-cards/card-callback-communication): fail well before. */
const COMMAND_TIMEOUT_MS = 1500;
const CONNECT_TIMEOUT_MS = 5000;
/** Reconnect forever, backing off to one attempt every 2 s: a restarted Redis is picked up quickly. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * What both budget scripts start with: ARGV limit, windowMs, now (ms, or '' = Redis's own TIME, so
 * every replica counts on one clock).
 */
const BUDGET_ARGS = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * The token bucket of bucket.ts, as one atomic script so every replica draws on the same budget.
 * KEYS[1] bucket hash {tokens, at}; ARGV limit, windowMs, now (ms, or '' = Redis TIME).
 * Returns {1} or {0, retryAfterMs}. Lua numbers are doubles like JS's, so the arithmetic matches;
 * only integers survive the reply, hence the ceil before returning.
 */
const TAKE_SCRIPT = `${BUDGET_ARGS}local perMs = limit / window
local prev = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(prev[1])
local at = tonumber(prev[2])
if tokens == nil or at == nil then
  tokens = limit
  at = now
end
tokens = math.min(limit, tokens + math.max(0, now - at) * perMs)
local ok = tokens >= 1
if ok then tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
-- A bucket untouched for a whole window is full again, which is what a missing key means.
redis.call('PEXPIRE', KEYS[1], math.ceil(window))
if ok then return {1} end
return {0, math.ceil((1 - tokens) / perMs)}
`;

/**
 * The sliding-window log of window.ts over a sorted set of grant times (score = ms; member = ms
 * plus a per-call suffix so equal times stay distinct). KEYS[1] the set; ARGV limit, windowMs,
 * now ('' = Redis TIME), member suffix. Returns {1} or {0, retryAfterMs}.
 */
const SLIDING_SCRIPT = `${BUDGET_ARGS}redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window))
  return {1}
end
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return {0, math.max(1, tonumber(oldest[2]) + window - now + 1)}
`;

type TakeCommand = (key: string, limit: number, windowMs: number, now: string) => Promise<[number, number?]>;
type SlideCommand = (key: string, limit: number, windowMs: number, now: string, member: string) => Promise<[number, number?]>;

/** Replies that mean "Redis cannot serve now", not "we sent a bad command". */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|OOM|NOAUTH)\b/;

/**
 * Shared state for several replicas. Connects at start (a clear error naming REDIS_URL if it
 * cannot); afterwards a lost connection makes every call fail at once with StoreUnavailableError
 * (no offline queue: nothing piles up while Redis is away) and ioredis reconnects by itself.
 */
export async function createRedisStore(opts: RedisStoreOptions): Promise<Store> {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const shown = redactRedisUrl(opts.url);
  const log = opts.log.child({ store: 'redis', redis: shown });
  const options: RedisOptions = {
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing: a command would rather say "try again"
    // than hang, and a queue that grows for as long as Redis is away is a memory leak.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    commandTimeout: opts.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(100 * times, MAX_RECONNECT_DELAY_MS),
    keepAlive: 10_000,
  };
  const client = new Redis(opts.url, options);
  client.defineCommand('meetcheckTake', { numberOfKeys: 1, lua: TAKE_SCRIPT });
  client.defineCommand('meetcheckSlide', { numberOfKeys: 1, lua: SLIDING_SCRIPT });
  const take = (client as unknown as { meetcheckTake: TakeCommand }).meetcheckTake.bind(client);
  const slide = (client as unknown as { meetcheckSlide: SlideCommand }).meetcheckSlide.bind(client);

  // ioredis emits an error on every failed reconnect; log each outage once, and its end.
  let started = false;
  let down = false;
  let lastError: Error | undefined;
  client.on('error', (err: Error) => {
    lastError = err;
    if (started && !down) log.warn({ reason: err.message }, 'lost the connection to Redis; commands answer "temporarily unavailable" until it is back');
    down = true;
  });
  client.on('ready', () => {
    if (started && down) log.info('reconnected to Redis');
    down = false;
  });

  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    // connect() rejects with a generic "Connection is closed."; the error event said why.
    const reason = (lastError ?? (err as Error)).message;
    throw new ConfigError('REDIS_URL', `cannot connect to ${shown} (${reason}). Start Redis there, correct REDIS_URL, or unset it to use the in-process store (one replica only)`);
  }
  started = true;
  log.info('connected to Redis');

  let resetting = false;
  /** Every call goes through here: connection trouble becomes StoreUnavailableError. */
  async function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const isReply = (err as Error).name === 'ReplyError';
      if (isReply && !UNAVAILABLE_REPLY.test(message)) throw err;
      if (/timed out/i.test(message) && client.status === 'ready' && !resetting) {
        // A command that outlives its timeout means a hung connection: drop it (failing what is
        // queued on it) and reconnect, rather than letting more commands queue behind it.
        resetting = true;
        log.warn({ op }, 'Redis command timed out; reconnecting');
        client.disconnect(true);
        client.once('ready', () => { resetting = false; });
      }
      throw new StoreUnavailableError(`Redis ${op} failed: ${message}`, { cause: err });
    }
  }

  const bucketClock = opts.clock && opts.clock !== systemClock ? opts.clock : undefined;
  const k = (key: string) => prefix + key;
  return {
    get: (key) => call('GET', async () => (await client.get(k(key))) ?? undefined),
    set: (key, value, ttlMs) => call('SET', async () => {
      await client.set(k(key), value, 'PX', ttl(ttlMs));
    }),
    setIfAbsent: (key, value, ttlMs) => call('SET NX', async () => (await client.set(k(key), value, 'PX', ttl(ttlMs), 'NX')) === 'OK'),
    delete: (key) => call('DEL', async () => {
      await client.del(k(key));
    }),
    getMany: (keys) => call('MGET', async () => (keys.length === 0 ? [] : (await client.mget(keys.map(k))).map((v) => v ?? undefined))),
    expire: (keys, ttlMs) => call('PEXPIRE', async () => {
      if (keys.length === 0) return [];
      const pipeline = client.pipeline();
      for (const key of keys) pipeline.pexpire(k(key), ttl(ttlMs));
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([err, n]) => {
        if (err) throw err;
        return n === 1;
      });
    }),
    take: (key: string, rate: RateLimit) => call('take', async (): Promise<RateDecision> => {
      const now = bucketClock ? String(bucketClock.now()) : '';
      const [ok, retryAfterMs] = rate.kind === 'sliding'
        ? await slide(k(`window:${key}`), rate.limit, rate.windowMs, now, randomBytes(6).toString('base64url'))
        : await take(k(`bucket:${key}`), rate.limit, rate.windowMs, now);
      return ok === 1 ? { ok: true } : { ok: false, retryAfterMs: Math.max(1, retryAfterMs ?? 1) };
    }),
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

/** PX needs a positive whole number of milliseconds. */
function ttl(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}
