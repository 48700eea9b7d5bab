import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { CoreDeps } from '../../core/quality.js';
import { createBot, type Bot, type StreamTarget } from './bot.js';
import { parseInbound } from './inbound.js';

/**
 * 智能机器人 long-connection mode (wecom-bot-and-meeting-api.md §1.2, doc 101463), for deployments
 * without a public URL: dial `wss://openws.work.weixin.qq.com`, subscribe with the bot id and
 * secret, ping every 30 s, answer callbacks by their req_id. There are no stream refreshes in this
 * mode, so each stream state is pushed as it changes, and the card (no stream_with_template_card
 * here) goes as its own reply after the stream finishes.
 */

export interface WsClientOptions {
  botId: string;
  secret: string;
  core: CoreDeps;
  pageSize: number;
  url?: string;
  /** "每 30 秒" heartbeat (§1.2). */
  heartbeatMs?: number;
  /** First reconnect delay; doubles up to 5 min. Subscribing is frequency-protected (§1.2). */
  reconnectMs?: number;
}

export interface WsClient {
  bot: Bot;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while subscribed. */
  readonly connected: boolean;
}

export const WS_URL_WECOM = 'wss://openws.work.weixin.qq.com';
const MAX_RECONNECT_MS = 5 * 60_000;
/** Inbound frames are callbacks of a few KB. */
const MAX_FRAME_BYTES = 256 * 1024;
/** At most 12 progress pushes a minute, well inside the 30 messages/minute per chat. */
const PROGRESS_EVERY_MS = 5_000;

interface Frame {
  cmd?: string;
  headers?: { req_id?: string };
  errcode?: number;
  errmsg?: string;
  body?: unknown;
}

export function createWsClient(opts: WsClientOptions): WsClient {
  const { core } = opts;
  const log = core.log;
  const url = opts.url ?? WS_URL_WECOM;
  const heartbeatMs = opts.heartbeatMs ?? 30_000;
  const baseDelay = opts.reconnectMs ?? 1_000;
  let socket: WebSocket | undefined;
  let subscribed = false;
  let stopped = true;
  let delay = baseDelay;
  let heartbeat: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  /** msgid → the inbound req_id to answer with, and a gate that opens once the first reply is out. */
  const pending = new Map<string, { reqId: string; firstSent: Promise<void>; lastPush: number }>();

  const reqId = () => randomBytes(8).toString('hex');

  function send(frame: Record<string, unknown>): void {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
    else log.warn({ cmd: frame.cmd }, 'wecom ws: not connected; frame dropped');
  }

  function respond(req: string, body: Record<string, unknown>): void {
    // stream_with_template_card and msg_item are "not supported in this mode" (§1.2): split them.
    if (body.msgtype === 'stream_with_template_card') {
      send({ cmd: 'aibot_respond_msg', headers: { req_id: req }, body: { msgtype: 'stream', stream: body.stream } });
      send({ cmd: 'aibot_respond_msg', headers: { req_id: req }, body: { msgtype: 'template_card', template_card: body.template_card } });
      return;
    }
    send({ cmd: 'aibot_respond_msg', headers: { req_id: req }, body });
  }

  const bot = createBot({
    core,
    pageSize: opts.pageSize,
    async onStreamChange(target: StreamTarget, reply) {
      const p = pending.get(target.msgid);
      if (!p) return;
      await p.firstSent;
      const stream = reply.stream as { finish?: boolean } | undefined;
      // Replies count against "30 条/分钟" per chat (§1.2): progress goes out at most every few seconds.
      const now = core.clock.now();
      if (!stream?.finish && now - p.lastPush < PROGRESS_EVERY_MS) return;
      p.lastPush = now;
      respond(p.reqId, reply);
      if (stream?.finish) pending.delete(target.msgid);
    },
  });

  async function onFrame(frame: Frame): Promise<void> {
    const req = frame.headers?.req_id;
    if (frame.cmd === 'aibot_msg_callback' || frame.cmd === 'aibot_event_callback') {
      if (!req) return;
      const body = frame.body as Record<string, unknown> | undefined;
      const event = body?.event as { eventtype?: string } | undefined;
      if (event?.eventtype === 'disconnected_event') {
        // Another connection subscribed with this bot and took over (§1.2); the socket may stay
        // half-alive (§5 "WS mode"), so drop it and come back later rather than fight.
        log.warn('wecom ws: disconnected_event (another connection took the bot); reconnecting later');
        delay = Math.max(delay, 60_000);
        socket?.terminate();
        return;
      }
      const inbound = parseInbound(body);
      let open: () => void = () => undefined;
      if (inbound.kind === 'text') {
        const firstSent = new Promise<void>((resolve) => (open = resolve));
        if (!pending.has(inbound.msgid)) pending.set(inbound.msgid, { reqId: req, firstSent, lastPush: core.clock.now() });
      }
      try {
        const reply = await bot.handle(inbound);
        if (!reply) return;
        if (inbound.kind === 'card') send({ cmd: 'aibot_respond_update_msg', headers: { req_id: req }, body: reply });
        else respond(req, reply);
      } finally {
        open();
      }
      return;
    }
    if (frame.errcode !== undefined && frame.errcode !== 0) {
      log.warn({ errcode: frame.errcode, errmsg: String(frame.errmsg ?? '').slice(0, 200) }, 'wecom ws: command refused');
    }
  }

  function scheduleReconnect(): void {
    if (stopped || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      connect().catch((err: unknown) => {
        log.warn({ err }, 'wecom ws: connect failed');
        scheduleReconnect();
      });
    }, delay);
    reconnectTimer.unref();
    delay = Math.min(delay * 2, MAX_RECONNECT_MS);
  }

  function connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000 });
      socket = ws;
      const subscribeId = reqId();
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      ws.on('open', () => {
        ws.send(JSON.stringify({ cmd: 'aibot_subscribe', headers: { req_id: subscribeId }, body: { bot_id: opts.botId, secret: opts.secret } }));
      });
      ws.on('message', (data) => {
        let frame: Frame;
        try {
          frame = JSON.parse(data.toString()) as Frame;
        } catch {
          log.warn('wecom ws: frame is not JSON');
          return;
        }
        if (frame.headers?.req_id === subscribeId && !subscribed) {
          if (frame.errcode === 0) {
            subscribed = true;
            delay = baseDelay;
            heartbeat = setInterval(() => send({ cmd: 'ping', headers: { req_id: reqId() } }), heartbeatMs);
            heartbeat.unref();
            log.info('wecom ws: subscribed');
            settle();
          } else {
            log.error({ errcode: frame.errcode, errmsg: String(frame.errmsg ?? '').slice(0, 200) }, 'wecom ws: subscribe refused (check WECOM_BOT_ID / WECOM_BOT_SECRET)');
            settle(new Error(`wecom ws subscribe refused: ${frame.errcode}`));
            ws.close();
          }
          return;
        }
        void core.tasks.run('wecom ws frame', () => onFrame(frame));
      });
      ws.on('error', (err) => {
        log.warn({ err: err.message }, 'wecom ws: socket error');
        settle(err);
      });
      ws.on('close', () => {
        subscribed = false;
        if (heartbeat) clearInterval(heartbeat);
        heartbeat = undefined;
        if (socket === ws) socket = undefined;
        settle(new Error('wecom ws closed before subscribing'));
        scheduleReconnect();
      });
    });
  }

  return {
    bot,
    get connected() {
      return subscribed;
    },
    async start() {
      stopped = false;
      // A failed first connect is not fatal: the server keeps running and keeps trying.
      await connect().catch((err: unknown) => {
        log.error({ err: (err as Error).message }, 'wecom ws: first connect failed; retrying in the background');
      });
    },
    async stop() {
      stopped = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      if (heartbeat) clearInterval(heartbeat);
      const ws = socket;
      if (!ws) return;
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close();
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2_000).unref();
      });
    },
  };
}
