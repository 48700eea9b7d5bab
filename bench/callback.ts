import { createHash, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { startServer } from '../src/main.js';
import { startFakeFeishu } from '../test/fakes/feishu.js';
import { APP_ID, APP_SECRET, ENCRYPT_KEY, TOKEN, encrypt, messageEvent, signHeaders } from '../test/feishu/helpers.js';
import { ackRow, load, type BenchResult } from './lib.js';

const CONCURRENCY = 50;
const REQUESTS = 3000;

/**
 * Callback ack: signed + encrypted Feishu events (im.message.receive_v1, "/help", each with its own
 * message_id) from 50 concurrent senders against our server, and against the floor: a bare
 * node:http server doing only the same verify + decrypt + JSON.parse and answering {}. Feishu
 * re-sends after 3 s (feishu-bot-and-vc-api.md §2.3), so p99 must stay far below that.
 */
export async function benchCallbackAck(): Promise<BenchResult[]> {
  const floor = await startFloor();
  const fake = await startFakeFeishu({ appId: APP_ID, appSecret: APP_SECRET, now: () => Date.now() });
  const bot = await startServer(loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MEETCHECK_LANG: 'en',
    FEISHU_APP_ID: APP_ID, FEISHU_APP_SECRET: APP_SECRET, FEISHU_VERIFICATION_TOKEN: TOKEN, FEISHU_ENCRYPT_KEY: ENCRYPT_KEY, FEISHU_BASE_URL: fake.url,
  }), { log: silentLogger });
  const agent = new Agent({ connections: CONCURRENCY });
  // Bodies are prepared up front so both sides are measured on the same bytes, not on our sender.
  const run = Date.now().toString(36);
  const bodies = (tag: string) => Array.from({ length: REQUESTS }, (_, i) => {
    const body = JSON.stringify({ encrypt: encrypt(ENCRYPT_KEY, JSON.stringify(messageEvent('/help', { messageId: `om_${tag}_${run}_${i}`, createTime: Date.now() }))) });
    return { body, headers: signHeaders(ENCRYPT_KEY, body, Math.floor(Date.now() / 1000)) };
  });
  const send = (url: string, list: ReturnType<typeof bodies>) => load(CONCURRENCY, REQUESTS, async (i) => {
    const res = await request(`${url}/feishu/events`, { method: 'POST', body: list[i]!.body, headers: list[i]!.headers, dispatcher: agent });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  });
  try {
    // Warm both up (JIT, connections, token, bot info) before measuring.
    await send(floor.url, bodies('warmf').slice(0, 200));
    await send(bot.url, bodies('warmo').slice(0, 200));
    await bot.core.tasks.idle();
    const f: Awaited<ReturnType<typeof send>> = await send(floor.url, bodies('floor'));
    const o = await send(bot.url, bodies('ours'));
    await bot.core.tasks.idle();
    // Ack path alone: Feishu's re-sends of one message (new signature and nonce each), dropped
    // after the dedupe, so no background reply competes for the CPU.
    const dupEvent = JSON.stringify(messageEvent('/help', { messageId: `om_dup_${run}`, createTime: Date.now() }));
    const dups = Array.from({ length: REQUESTS }, () => {
      const body = JSON.stringify({ encrypt: encrypt(ENCRYPT_KEY, dupEvent) });
      return { body, headers: signHeaders(ENCRYPT_KEY, body, Math.floor(Date.now() / 1000)) };
    });
    const d = await send(bot.url, dups);
    await bot.core.tasks.idle();
    // The floor again, last: the faster of its two runs is the one we compare against (conservative).
    const f2 = await send(floor.url, bodies('floor2'));
    if (f2.perSecond > f.perSecond) Object.assign(f, f2);
    return [
      ackRow('callback ack, Feishu (signed + encrypted event)',
        `${REQUESTS} im.message.receive_v1 "/help" events, ${CONCURRENCY} concurrent senders, loopback; ours = full app (verify, decrypt, dedupe, ack, reply in background to a fake Feishu)`,
        o, f.perSecond, {
          floor: f,
          extra: [{ name: 'replies sent (incl. warm-up)', value: fake.replies.length, unit: 'count' }],
          notes: ['sender, fake Feishu (receiving the replies), floor and bot share one process and its CPUs'],
        }),
      ackRow('callback ack, Feishu, ack path only (re-sent duplicates)',
        `${REQUESTS} re-deliveries of one message (fresh signature each), ${CONCURRENCY} concurrent senders: verify, decrypt, dedupe, ack; no background work`,
        d, f.perSecond),
    ];
  } finally {
    await agent.close();
    await bot.close();
    await fake.close();
    await floor.close();
  }
}

/** The floor: the same verification and decryption our channel must do, and nothing else. */
async function startFloor(): Promise<{ url: string; close(): Promise<void> }> {
  const key = createHash('sha256').update(ENCRYPT_KEY).digest();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const ts = String(req.headers['x-lark-request-timestamp'] ?? '');
      const nonce = String(req.headers['x-lark-request-nonce'] ?? '');
      const given = Buffer.from(String(req.headers['x-lark-signature'] ?? ''), 'hex');
      const want = createHash('sha256').update(ts + nonce + ENCRYPT_KEY).update(raw).digest();
      if (given.length !== want.length || !timingSafeEqual(given, want) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) {
        res.writeHead(401).end();
        return;
      }
      const enc = Buffer.from((JSON.parse(raw.toString()) as { encrypt: string }).encrypt, 'base64');
      const d = createDecipheriv('aes-256-cbc', key, enc.subarray(0, 16));
      JSON.parse(Buffer.concat([d.update(enc.subarray(16)), d.final()]).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
