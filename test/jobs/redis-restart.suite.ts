import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeFeishu, type FakeFeishu } from '../fakes/feishu.js';
import { APP_ID, APP_SECRET, ENCRYPT_KEY, TOKEN, encrypt, meeting, messageEvent, signHeaders } from '../feishu/helpers.js';
import { IN_CI } from '../store/redis-env.js';
import { startReplica, until, type Replica } from './procs.js';

/**
 * A Redis of our own (redis-server on a port from the OS, append-only file on), restarted in the
 * middle of a paced job: the shared Redis of the other tests is never touched.
 */
const haveServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = !haveServer && !IN_CI;
if (skip) console.warn('[test/jobs] skipping the Redis-restart test: redis-server is not installed (set CI=1 to make this a failure)');

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

describe.skipIf(skip)('Redis restarted in the middle of a job', () => {
  let dir: string;
  let port: number;
  let redis: ChildProcess | undefined;
  let fake: FakeFeishu;
  let bot: Replica | undefined;

  async function startRedis(): Promise<void> {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    redis = proc;
    await until('redis-server to answer', async () => {
      const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return (await c.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        c.disconnect();
      }
    }, 10_000);
  }
  beforeAll(async () => {
    if (!haveServer) throw new Error('CI is set, so the Redis-restart test may not skip: redis-server is not installed');
    dir = mkdtempSync(join(tmpdir(), 'meetcheck-redis-'));
    port = await freePort();
    await startRedis();
  });
  afterAll(async () => {
    if (bot && bot.proc.exitCode === null) bot.proc.kill('SIGKILL');
    await bot?.exited;
    redis?.kill('SIGKILL');
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('no crash; the job completes after Redis returns; one card', async () => {
    fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => Date.now() });
    fake.meetings.push(meeting('123456789', 30, { start: Math.floor(Date.now() / 1000) - 3 * 3600 }));
    const url = `redis://127.0.0.1:${port}`;
    bot = await startReplica('A', {
      REDIS_URL: url, MEETCHECK_REDIS_PREFIX: 'mc:',
      FEISHU_APP_ID: APP_ID, FEISHU_APP_SECRET: APP_SECRET, FEISHU_VERIFICATION_TOKEN: TOKEN, FEISHU_ENCRYPT_KEY: ENCRYPT_KEY, FEISHU_BASE_URL: fake.url,
      MEETCHECK_JOB_LOCK_MS: '1000', MEETCHECK_JOB_STALLED_CHECK_MS: '500',
    });
    const ev = messageEvent('/quality 123456789', { messageId: 'om_restart', createTime: Date.now() });
    const body = JSON.stringify({ encrypt: encrypt(ENCRYPT_KEY, JSON.stringify(ev)) });
    const res = await request(`${bot.url}/feishu/events`, { method: 'POST', body, headers: signHeaders(ENCRYPT_KEY, body, Math.floor(Date.now() / 1000)) });
    await res.body.text();
    expect(res.statusCode).toBe(200);

    await until('the second batch to be in flight', () => fake.vcCalls('participant_quality_list').length >= 13);
    const down = redis!;
    down.kill('SIGKILL');
    await new Promise((r) => down.once('exit', r));
    // Down until the replica has noticed (a failed store or queue call), then back on the same port.
    await until('the replica to notice', () => bot!.lines.some((l) => l.level !== undefined && Number(l.level) >= 40), 15_000);
    await startRedis();

    const completed = async () => {
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      const queue = new Queue('commands', { connection, prefix: 'mc:jobs' });
      try {
        return (await queue.getJobCounts('completed')).completed ?? 0;
      } finally {
        await queue.close();
        connection.disconnect();
      }
    };
    await until('the job to complete after Redis returned', async () => (await completed()) === 1, 60_000);
    expect(bot.proc.exitCode).toBe(null);
    expect((await request(`${bot.url}/healthz`)).statusCode).toBe(200);
    expect(fake.replies.map((r) => r.to)).toEqual(['om_restart']);
    const last = JSON.stringify(fake.patches.at(-1)?.card ?? {});
    expect(last).toContain('30 attendees');
    expect(last).not.toContain('Loaded quality for');
    expect(last).not.toContain('Partial result');
  }, 120_000);
});
