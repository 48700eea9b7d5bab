import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { createWsClient, type WsClient } from '../../src/channels/wecom/ws.js';
import { createDemoVendor } from '../../src/vendors/demo/index.js';
import { manualClock, testCore } from '../helpers/core.js';

/**
 * A fake of WeCom's long-connection endpoint (wecom-bot-and-meeting-api.md §1.2): it checks the
 * subscribe frame, pushes callbacks with a req_id and records what the bot sends back.
 */
async function fakeWsServer(opts: { botId: string; secret: string }) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const frames: Record<string, unknown>[] = [];
  let client: WebSocket | undefined;
  const waiters: { pred: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }[] = [];
  let subscribed!: () => void;
  const subscribedP = new Promise<void>((r) => (subscribed = r));
  wss.on('connection', (ws) => {
    client = ws;
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { cmd: string; headers: { req_id: string }; body?: { bot_id?: string; secret?: string } };
      if (f.cmd === 'aibot_subscribe') {
        const ok = f.body?.bot_id === opts.botId && f.body?.secret === opts.secret;
        ws.send(JSON.stringify({ headers: { req_id: f.headers.req_id }, errcode: ok ? 0 : 40001, errmsg: ok ? 'ok' : 'invalid secret' }));
        if (ok) subscribed();
        return;
      }
      frames.push(f as unknown as Record<string, unknown>);
      for (const w of [...waiters]) if (w.pred(f as unknown as Record<string, unknown>)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(f as unknown as Record<string, unknown>);
      }
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    frames,
    subscribed: subscribedP,
    push: (frame: unknown) => client!.send(JSON.stringify(frame)),
    next(pred: (f: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
      const hit = frames.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    close: () => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }),
  };
}

let client: WsClient | undefined;
let server: Awaited<ReturnType<typeof fakeWsServer>> | undefined;
afterEach(async () => {
  await client?.stop();
  await server?.close();
});

describe('WeCom long-connection mode', () => {
  it('subscribes, answers a command with a stream then the card, and a click with an update', async () => {
    server = await fakeWsServer({ botId: 'BOT1', secret: 'S3CRET' });
    const clock = manualClock();
    const core = testCore([createDemoVendor({ clock })], { clock, settings: { lang: 'zh' } });
    client = createWsClient({ botId: 'BOT1', secret: 'S3CRET', core, pageSize: 6, url: server.url, heartbeatMs: 60_000 });
    await client.start();
    await server.subscribed;
    expect(client.connected).toBe(true);

    server.push({
      cmd: 'aibot_msg_callback', headers: { req_id: 'REQ-1' },
      body: { msgid: 'ws-m1', aibotid: 'BOT1', chatid: 'G1', chattype: 'group', from: { userid: 'u1' }, msgtype: 'text', text: { content: '@bot /quality demo:222-333-444' } },
    });
    const card = await server.next((f) => (f.body as { msgtype?: string }).msgtype === 'template_card');
    await core.tasks.idle();
    const mine = server.frames.filter((f) => (f.headers as { req_id: string }).req_id === 'REQ-1');
    expect(mine.every((f) => f.cmd === 'aibot_respond_msg')).toBe(true);
    const streams = mine.filter((f) => (f.body as { msgtype: string }).msgtype === 'stream').map((f) => (f.body as { stream: { finish: boolean; content: string } }).stream);
    expect(streams[0]!.finish).toBe(false);
    expect(streams[0]!.content).toContain('正在查询会议');
    expect(streams.at(-1)!.finish).toBe(true);
    // No stream_with_template_card in this mode: the card is its own reply, after the stream finished.
    expect(mine.some((f) => (f.body as { msgtype: string }).msgtype === 'stream_with_template_card')).toBe(false);
    expect(mine.indexOf(card)).toBeGreaterThan(mine.findIndex((f) => (f.body as { stream?: { finish: boolean } }).stream?.finish === true));
    const tc = (card.body as { template_card: { task_id: string; button_list: { text: string; key: string }[] } }).template_card;

    server.push({
      cmd: 'aibot_event_callback', headers: { req_id: 'REQ-2' },
      body: {
        msgid: 'ws-e1', aibotid: 'BOT1', chatid: 'G1', chattype: 'group', from: { userid: 'u1' }, msgtype: 'event',
        event: { eventtype: 'template_card_event', template_card_event: { card_type: 'button_interaction', event_key: tc.button_list[0]!.key, task_id: tc.task_id } },
      },
    });
    const upd = await server.next((f) => f.cmd === 'aibot_respond_update_msg');
    expect((upd.headers as { req_id: string }).req_id).toBe('REQ-2');
    expect(upd.body).toMatchObject({ response_type: 'update_template_card', template_card: { task_id: tc.task_id } });
  });

  it('keeps running when the subscription is refused', async () => {
    server = await fakeWsServer({ botId: 'BOT1', secret: 'right' });
    const core = testCore([], { settings: { lang: 'zh' } });
    client = createWsClient({ botId: 'BOT1', secret: 'wrong', core, pageSize: 6, url: server.url, reconnectMs: 60_000 });
    await client.start();
    expect(client.connected).toBe(false);
  });
});
