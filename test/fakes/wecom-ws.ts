import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A fake of WeCom's 智能机器人 long-connection endpoint (wss://openws.work.weixin.qq.com), written
 * from developer.work.weixin.qq.com/document/path/101463 and the frames the official
 * @wecom/aibot-node-sdk 1.0.7 sends and expects (its dist/index.esm.js), not from our client:
 *
 * - `{cmd:"aibot_subscribe",headers:{req_id},body:{bot_id,secret}}` → `{headers:{req_id},errcode:0,errmsg:"ok"}`,
 *   or a non-zero errcode when the id/secret is wrong. "新连接会踢掉旧连接": a second subscribe for
 *   the same bot sends the older connection an `aibot_event_callback` with
 *   `event.eventtype="disconnected_event"` and closes it.
 * - `{cmd:"ping",headers:{req_id}}` → the same ack shape (the SDK counts missed acks).
 * - callbacks are pushed as `aibot_msg_callback` / `aibot_event_callback` with a fresh req_id;
 *   every reply (`aibot_respond_msg`, `aibot_respond_update_msg`, …) echoes it and is acked with
 *   `{headers:{req_id},errcode,errmsg}`. A req_id the server never issued, a stream reply on an
 *   event's req_id or a card update on a message's req_id gets 846605 "invalid req_id" (the
 *   official wecom-openclaw-plugin, src/message-sender.ts, avoids exactly that error).
 *
 * Whether a req_id stays valid on a new connection after a reconnect is UNCONFIRMED: `reqIdScope`
 * lets a test pick either answer.
 */

export interface WsFrame {
  cmd?: string;
  headers: { req_id: string };
  body?: Record<string, unknown>;
  errcode?: number;
  errmsg?: string;
}

export interface Received extends WsFrame {
  /** Which connection (1-based, in order of arrival) carried it. */
  conn: number;
}

export interface FakeConn {
  id: number;
  socket: WebSocket;
  authed: boolean;
  closed: boolean;
}

/**
 * How the server answers one reply frame: an ack (errcode 0 by default), nothing at all ('drop'),
 * or nothing until the test calls `releaseAck` ('hold').
 */
export type AckRule = (f: Received) => { errcode: number; errmsg: string } | 'drop' | 'hold' | undefined;

export interface FakeWecomWsOptions {
  botId: string;
  secret: string;
  /** 'bot' (default): a req_id stays valid on any later connection; 'connection': only on its own. */
  reqIdScope?: 'bot' | 'connection';
}

/** WeCom's global code for a wrong secret (developer.work.weixin.qq.com/document/path/90313: 40001 不合法的secret参数). */
export const AUTH_FAILED = { errcode: 40001, errmsg: 'invalid credential' };
export const INVALID_REQ_ID = { errcode: 846605, errmsg: 'invalid req_id' };

export interface FakeWecomWs {
  url: string;
  connections: FakeConn[];
  /** Every frame a client sent except subscribe and ping, in arrival order. */
  received: Received[];
  /** Successful subscribes so far. */
  readonly subscribes: number;
  /** Pings seen so far. */
  readonly pings: number;
  /** Frames that arrived on a connection before it subscribed. */
  readonly unauthenticated: Received[];
  /** false: pings are read but never acked (a half-open link as the SDK sees it). */
  ackPings: boolean;
  /** Overrides the ack of reply frames (undefined from the rule = the normal ok ack). */
  ackRule?: AckRule;
  /** Sends the normal ack of a frame whose ack the rule held back. */
  releaseAck(f: Received): void;
  /** The connection currently subscribed, if any. */
  current(): FakeConn | undefined;
  /** Pushes a message callback to the current connection; returns its req_id. */
  pushMessage(body: Record<string, unknown>, reqId?: string): string;
  /** Pushes an event callback to the current connection; returns its req_id. */
  pushEvent(body: Record<string, unknown>, reqId?: string): string;
  /** Sends text as-is (not JSON-encoded by us) to the current connection; `reqId` is registered as issued for a message. */
  sendRaw(text: string, reqId?: string): void;
  /** Sends disconnected_event to the current connection and closes it, as a newer connection would cause. */
  kick(): Promise<void>;
  /** Cuts the current connection without a frame (a network drop). */
  drop(): Promise<void>;
  /** The next subscribe is answered only when the returned function is called. */
  holdNextAuth(): { arrived: Promise<void>; release: () => void };
  /** Resolves with the first received frame (past or future) matching pred. */
  waitFor(pred: (f: Received) => boolean): Promise<Received>;
  /** Resolves once `n` subscribes have succeeded. */
  waitSubscribes(n: number): Promise<void>;
  /** Resolves once `n` connections have been opened. */
  waitConnections(n: number): Promise<void>;
  /**
   * A WebSocket ping/pong with the newest connection (RFC 6455 §5.5.2: the client's ws library
   * answers by itself, even before subscribing). The pong travels behind whatever the client had
   * already written, so once it is back every earlier frame has been received.
   */
  roundTrip(): Promise<void>;
  /** Resolves once connection `n` (1-based) has closed. */
  waitClosed(n: number): Promise<void>;
  /** Resolves once `n` pings arrived. */
  waitPings(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeWecomWs(opts: FakeWecomWsOptions): Promise<FakeWecomWs> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const connections: FakeConn[] = [];
  const received: Received[] = [];
  const unauthenticated: Received[] = [];
  /** req_id → what it was issued for and on which connection. */
  const issued = new Map<string, { kind: 'msg' | 'event'; conn: number }>();
  let subscribes = 0;
  let pings = 0;
  let seq = 0;
  let held: { arrived: () => void; waiting?: () => void } | undefined;
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const w of [...watchers]) w();
  };
  const until = (cond: () => boolean) =>
    new Promise<void>((resolve) => {
      if (cond()) return resolve();
      const w = () => {
        if (!cond()) return;
        watchers.delete(w);
        resolve();
      };
      watchers.add(w);
    });

  const send = (c: FakeConn, frame: unknown) => {
    if (!c.closed) c.socket.send(JSON.stringify(frame));
  };

  const server: FakeWecomWs = {
    url: '',
    connections,
    received,
    get subscribes() {
      return subscribes;
    },
    get pings() {
      return pings;
    },
    unauthenticated,
    ackPings: true,
    current: () => [...connections].reverse().find((c) => c.authed && !c.closed),
    releaseAck(f) {
      const c = connections[f.conn - 1]!;
      send(c, { headers: { req_id: f.headers.req_id }, ...(reqIdError(f) ?? { errcode: 0, errmsg: 'ok' }) });
    },
    pushMessage(body, reqId = `srv_msg_${++seq}`) {
      const c = mustCurrent();
      issued.set(reqId, { kind: 'msg', conn: c.id });
      send(c, { cmd: 'aibot_msg_callback', headers: { req_id: reqId }, body });
      return reqId;
    },
    pushEvent(body, reqId = `srv_evt_${++seq}`) {
      const c = mustCurrent();
      issued.set(reqId, { kind: 'event', conn: c.id });
      send(c, { cmd: 'aibot_event_callback', headers: { req_id: reqId }, body });
      return reqId;
    },
    sendRaw(text, reqId) {
      const c = mustCurrent();
      if (reqId) issued.set(reqId, { kind: 'msg', conn: c.id });
      c.socket.send(text);
    },
    async kick() {
      const c = mustCurrent();
      await kickOut(c);
    },
    async drop() {
      const c = mustCurrent();
      const closed = new Promise<void>((r) => c.socket.once('close', () => r()));
      c.socket.terminate();
      await closed;
    },
    holdNextAuth() {
      let arrived!: () => void;
      const p = new Promise<void>((r) => (arrived = r));
      const h: { arrived: () => void; waiting?: () => void } = { arrived };
      held = h;
      return {
        arrived: p,
        release: () => {
          if (held === h) held = undefined;
          h.waiting?.();
        },
      };
    },
    waitFor(pred) {
      return new Promise((resolve) => {
        const hit = received.find(pred);
        if (hit) return resolve(hit);
        const w = () => {
          const f = received.find(pred);
          if (!f) return;
          watchers.delete(w);
          resolve(f);
        };
        watchers.add(w);
      });
    },
    waitSubscribes: (n) => until(() => subscribes >= n),
    waitConnections: (n) => until(() => connections.length >= n),
    waitPings: (n) => until(() => pings >= n),
    waitClosed: (n) => until(() => connections[n - 1]?.closed === true),
    roundTrip() {
      const c = connections.at(-1);
      if (!c || c.closed) return Promise.reject(new Error('fake wecom ws: no open connection'));
      const pong = new Promise<void>((r) => c.socket.once('pong', () => r()));
      c.socket.ping();
      return pong;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
  server.url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;

  function mustCurrent(): FakeConn {
    const c = server.current();
    if (!c) throw new Error('fake wecom ws: no subscribed connection');
    return c;
  }

  async function kickOut(c: FakeConn): Promise<void> {
    const closed = new Promise<void>((r) => (c.closed ? r() : c.socket.once('close', () => r())));
    send(c, {
      cmd: 'aibot_event_callback', headers: { req_id: `srv_evt_${++seq}` },
      body: { msgid: `disc_${seq}`, create_time: Math.floor(Date.now() / 1000), aibotid: opts.botId, msgtype: 'event', event: { eventtype: 'disconnected_event' } },
    });
    c.authed = false;
    c.socket.close(1000, 'kicked by a new connection');
    await closed;
  }

  function reqIdError(f: Received): { errcode: number; errmsg: string } | undefined {
    const r = issued.get(f.headers?.req_id ?? '');
    if (!r) return INVALID_REQ_ID;
    if (opts.reqIdScope === 'connection' && r.conn !== f.conn) return INVALID_REQ_ID;
    if (f.cmd === 'aibot_respond_msg' && r.kind !== 'msg') return INVALID_REQ_ID;
    if (f.cmd === 'aibot_respond_update_msg' && r.kind !== 'event') return INVALID_REQ_ID;
    return undefined;
  }

  wss.on('connection', (socket) => {
    const c: FakeConn = { id: connections.length + 1, socket, authed: false, closed: false };
    connections.push(c);
    notify();
    socket.on('close', () => {
      c.closed = true;
      c.authed = false;
      notify();
    });
    socket.on('message', (data) => {
      let f: WsFrame;
      try {
        f = JSON.parse(data.toString()) as WsFrame;
      } catch {
        socket.close(1003, 'not json');
        return;
      }
      const reqId = f.headers?.req_id ?? '';
      if (f.cmd === 'aibot_subscribe') {
        const answer = () => {
          const ok = f.body?.bot_id === opts.botId && f.body?.secret === opts.secret;
          if (!ok) {
            send(c, { headers: { req_id: reqId }, ...AUTH_FAILED });
            return;
          }
          // The newest subscriber wins; the older one is told and dropped (101463).
          for (const other of connections) if (other !== c && other.authed && !other.closed) void kickOut(other);
          c.authed = true;
          subscribes++;
          send(c, { headers: { req_id: reqId }, errcode: 0, errmsg: 'ok' });
          notify();
        };
        const h = held;
        if (h) {
          h.waiting = answer;
          h.arrived();
        } else answer();
        return;
      }
      if (f.cmd === 'ping') {
        pings++;
        notify();
        if (server.ackPings) send(c, { headers: { req_id: reqId }, errcode: 0, errmsg: 'ok' });
        return;
      }
      const r: Received = { ...f, conn: c.id };
      if (!c.authed) {
        // What WeCom answers to a reply before the subscribe is not documented; the tests assert none is sent.
        unauthenticated.push(r);
        notify();
        return;
      }
      received.push(r);
      notify();
      const rule = server.ackRule?.(r);
      if (rule === 'drop' || rule === 'hold') return;
      const ack = rule ?? reqIdError(r) ?? { errcode: 0, errmsg: 'ok' };
      send(c, { headers: { req_id: reqId }, ...ack });
    });
  });
  return server;
}

/** A group text callback body as WeCom sends it (100719), with the "@Bot" prefix. */
export function textBody(msgid: string, content: string, chat: { chatid?: string; userid: string } = { chatid: 'G1', userid: 'u1' }, aibotid = 'BOT1'): Record<string, unknown> {
  return {
    msgid, aibotid, create_time: 1_700_000_000,
    ...(chat.chatid ? { chatid: chat.chatid, chattype: 'group' } : { chattype: 'single' }),
    from: { userid: chat.userid }, msgtype: 'text', text: { content },
  };
}

/** A template_card_event click (101027: nested under event.template_card_event, underscores). */
export function clickBody(msgid: string, taskId: string, eventKey: string, chat: { chatid?: string; userid: string } = { chatid: 'G1', userid: 'u1' }, aibotid = 'BOT1'): Record<string, unknown> {
  return {
    msgid, aibotid, create_time: 1_700_000_000,
    ...(chat.chatid ? { chatid: chat.chatid, chattype: 'group' } : { chattype: 'single' }),
    from: { userid: chat.userid }, msgtype: 'event',
    event: { eventtype: 'template_card_event', template_card_event: { card_type: 'button_interaction', event_key: eventKey, task_id: taskId } },
  };
}
