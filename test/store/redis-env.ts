import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * The Redis the tests use: REDIS_URL (set by .ci/run) or the usual local one. When it cannot be
 * reached the Redis tests skip with the reason printed, except under CI, where they must fail:
 * a CI run that silently skipped them would claim replicas work without having checked.
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const IN_CI = Boolean(process.env.CI);

export async function probeRedis(url = REDIS_URL): Promise<{ ok: true } | { ok: false; reason: string }> {
  const u = new URL(url);
  const port = Number(u.port || 6379);
  const host = u.hostname || '127.0.0.1';
  const reachable = await new Promise<string | undefined>((resolve) => {
    const s = connect({ host, port });
    const done = (reason?: string) => {
      s.destroy();
      resolve(reason);
    };
    s.setTimeout(1000, () => done('timed out'));
    s.once('connect', () => done());
    s.once('error', (e) => done(e.message));
  });
  if (reachable !== undefined) return { ok: false, reason: `Redis at ${host}:${port} unreachable (${reachable})` };
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `Redis at ${host}:${port} did not answer PING (${(e as Error).message})` };
  } finally {
    client.disconnect();
  }
}

/** A fresh key prefix per test run, so parallel runs never see each other's keys. */
export function testPrefix(area: string): string {
  return `meetcheck-test:${area}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix` (SCAN, never KEYS: the Redis may be shared). */
export async function cleanPrefix(prefix: string, url = REDIS_URL): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) removed += await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return removed;
}

/** Every key under `prefix` with its remaining TTL in ms (-1 = none). */
export async function keysUnder(prefix: string, url = REDIS_URL): Promise<Map<string, number>> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const out = new Map<string, number>();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const k of keys) out.set(k.slice(prefix.length), await client.pttl(k));
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return out;
}
