import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { readRawBody, parseJsonObject } from '../../src/http/body.js';
import type { Channel } from '../../src/channels/types.js';
import { buildApp } from '../../src/app.js';
import { createMetrics } from '../../src/metrics.js';
import { silentLogger } from '../../src/log.js';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import type { AddressInfo } from 'node:net';

let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('the app', () => {
  it('serves /healthz and Prometheus /metrics, counting requests by route and status', async () => {
    running = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }));
    const health = await request(`${running.url}/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toEqual({ ok: true });
    expect((await request(`${running.url}/nope`)).statusCode).toBe(404);
    const metrics = await request(`${running.url}/metrics`);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    const text = await metrics.body.text();
    expect(text).toContain('meetcheck_http_requests_total{route="/healthz",status="200"} 1');
    expect(text).toContain('meetcheck_http_requests_total{route="unmatched",status="404"} 1');
    expect(text).toContain('# TYPE meetcheck_vendor_call_seconds histogram');
  });

  it('says demo mode in one log line, with no secrets', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    running = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1' }), { log: createLogger('info', sink) });
    const demo = lines.filter((l) => l.includes('demo mode'));
    expect(demo).toHaveLength(1);
    expect(JSON.parse(demo[0]!)).toMatchObject({ mode: 'demo', vendors: ['demo'] });
  });

  it('bounded bodies: 413 past the limit, 400 for broken JSON, and the server lives on', async () => {
    const echo: Channel = {
      name: 'echo',
      mount(router) {
        router.post('/echo', async (ctx) => {
          ctx.body = parseJsonObject(await readRawBody(ctx, 1024));
        });
      },
    };
    const app = buildApp({ log: silentLogger, metrics: createMetrics({ defaults: false }), channels: [echo] });
    const server = createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;
    try {
      const ok = await request(url, { method: 'POST', body: '{"a":1}' });
      expect(await ok.body.json()).toEqual({ a: 1 });
      const big = await request(url, { method: 'POST', body: JSON.stringify({ a: 'x'.repeat(5000) }) });
      expect(big.statusCode).toBe(413);
      await big.body.dump();
      const broken = await request(url, { method: 'POST', body: '{"a":' });
      expect(broken.statusCode).toBe(400);
      expect(await broken.body.json()).toEqual({ error: 'body is not valid JSON' });
      const notObject = await request(url, { method: 'POST', body: '[1]' });
      expect(notObject.statusCode).toBe(400);
      await notObject.body.dump();
      expect((await request(url, { method: 'POST', body: '{}' })).statusCode).toBe(200);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('graceful shutdown waits for replies in flight, and closes the store only after them', async () => {
    const order: string[] = [];
    const memory = createMemoryStore();
    const store: Store = { ...memory, close: async () => { order.push('store closed'); await memory.close(); } };
    running = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }), { store });
    const { server } = running;
    let finish!: () => void;
    void running.core.tasks.run('reply', () => new Promise<void>((r) => (finish = () => { order.push('reply sent'); r(); })));
    const closed = running.close().then(() => order.push('closed'));
    // Let close() go as far as it can while the reply is pending: the listener is gone ('close'
    // fires once no connection is left), then one turn of the event loop runs every continuation
    // queued behind it. A close() that did not wait would have closed the store and resolved by now.
    await once(server, 'close');
    await new Promise<void>((r) => setImmediate(r));
    expect(order).toEqual([]);
    finish();
    await closed;
    expect(order).toEqual(['reply sent', 'store closed', 'closed']);
    running = undefined;
  });

  it('pino redacts secrets wherever they sit', () => {
    const lines: string[] = [];
    const log = createLogger('info', new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } }));
    log.info({ access_token: 'AT-1', req: { headers: { authorization: 'Bearer x' } }, body: { secret: 's3' } }, 'call');
    expect(lines.join('')).not.toMatch(/AT-1|Bearer x|s3/);
  });
});
