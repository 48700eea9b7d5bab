import { randomBytes } from 'node:crypto';
import type { WSClient, WsFrame } from '@wecom/aibot-node-sdk';
import type WebSocket from 'ws';
import { DEFAULT_WS_URL_WECOM } from '../../config.js';
import type { CoreDeps } from '../../core/quality.js';
import { createBot, type Bot, type StreamTarget } from './bot.js';
import { createHolderLock } from './holder.js';
import { parseInbound } from './inbound.js';
import { repairFrame, sdkLogger, sdkParses } from './ws-support.js';

/**
 * 智能机器人 long-connection mode (developer.work.weixin.qq.com/document/path/101463), for
 * deployments without a public URL, on the official @wecom/aibot-node-sdk (pinned exactly: its
 * npm build differs from its GitHub source). The SDK dials, subscribes with the bot id and secret,
 * pings every 30 s and drops a link whose pings go unanswered twice, reconnects with back-off,
 * and sends the replies of one req_id one at a time, each waiting for its ack.
 *
 * Around it, meetcheck adds:
 * - one connection for all replicas: a store lock names the holder (holder.ts); the others stand by
 *   and take over when it stops or its lock lapses;
 * - no reconnect after `disconnected_event` ("新连接会踢掉旧连接"): a newer connection owns the bot,
 *   and dialling back would only start the two taking turns;
 * - replies that outlive a reconnect: the SDK rejects what is pending when a socket closes, so the
 *   frames that matter (the first and the finishing stream frame, the card, a card update) wait
 *   for the next subscribe and go again while WeCom still takes them; progress frames are skipped;
 * - its own inbound parser (inbound.ts): the SDK's template_card_event types are flat, the doc's
 *   body (101027, same in this mode) is nested;
 * - a second parse for frames with raw tab/newline inside strings, which the SDK drops.
 *
 * There are no stream refreshes in this mode, so each stream state is pushed as it changes; the
 * card goes as its own reply after the finishing stream frame (the doc's stream fields say this
 * mode does not take stream_with_template_card).
 */

export interface WsClientOptions {
  botId: string;
  secret: string;
  core: CoreDeps;
  pageSize: number;
  /** WECOM_WS_URL: private deployments (私有部署) have their own address (SDK README). */
  url?: string;
  /** "建议每 30 秒" a heartbeat (101463). */
  heartbeatMs?: number;
  /** First reconnect delay; the SDK doubles it up to 30 s. */
  reconnectMs?: number;
  /** How long a holder's lock lives unrenewed; renewals and standby tries run every third of it. */
  lockTtlMs?: number;
  /** This replica's name in the lock (random unless a test names it). */
  instanceId?: string;
}

/**
 * standby: another replica holds the connection (or the store could not be asked yet);
 * holding: this replica owns the lock and keeps the connection (the SDK reconnects as needed);
 * kicked: a newer connection took the bot (disconnected_event); no reconnect, lock kept;
 * failed: the SDK gave up (auth refused repeatedly); a fresh try after FAILED_RETRY_MS.
 */
export type WsState = 'stopped' | 'standby' | 'holding' | 'kicked' | 'failed';

export interface WsClient {
  bot: Bot;
  /** Resolves once subscribed, once the first attempt failed (retries go on), or at once on standby. */
  start(): Promise<void>;
  /** Lets replies in flight go out (bounded), closes the connection and releases the lock. */
  stop(opts?: { keepLock?: boolean }): Promise<void>;
  /** True while this replica is subscribed. */
  readonly connected: boolean;
  readonly state: WsState;
  /** Messages still being answered plus req_ids with frames still to send (for shutdown and tests). */
  readonly inFlight: number;
  /** Resolves once nothing is in flight. */
  settled(): Promise<void>;
}

const HEARTBEAT_MS = 30_000;
export const LOCK_TTL_MS = 30_000;
/** Inbound frames are callbacks of a few KB. */
const MAX_FRAME_BYTES = 256 * 1024;
const HANDSHAKE_MS = 10_000;
/** At most 12 progress pushes a minute, well inside "30 条/分钟" per chat (101463). */
const PROGRESS_EVERY_MS = 5_000;
/** A stream takes updates for 6 minutes from its first reply (101463; after that WeCom answers 846608, which the official plugin handles). */
const STREAM_VALID_MS = 6 * 60_000;
/** "收到消息回调后，24 小时内可以往该会话回复消息" (101463). */
const REPLY_VALID_MS = 24 * 3_600_000;
/** aibot_respond_update_msg "需在 5 秒内" of the click (101463). */
const UPDATE_VALID_MS = 5_000;
/** One frame is tried this often at most (each try waits for an ack or a reconnect). */
const MAX_SEND_ATTEMPTS = 4;
/** After the SDK gave up (WSAuthFailureError), try a fresh connection this much later. */
const FAILED_RETRY_MS = 10 * 60_000;
/** stop() waits this long at most for queries in flight and their frames. */
const STOP_DRAIN_MS = 15_000;
/** A conversation whose stream never finished is forgotten after this (longer than any stream). */
const PENDING_TTL_MS = 10 * 60_000;

const RESPOND = 'aibot_respond_msg';
const RESPOND_UPDATE = 'aibot_respond_update_msg';

/** One inbound message being answered: where its frames go and when progress last went out. */
interface Conversation {
  reqId: string;
  receivedAt: number;
  /** Which subscribe (count) the req_id arrived on. */
  origin: number;
  opened: Promise<void>;
  open: () => void;
  lastPush: number;
}

interface Outgoing {
  cmd: string;
  body: Record<string, unknown>;
  /** must: retried after a reconnect; progress: skipped when it cannot go now. */
  kind: 'must' | 'progress';
  validUntil: number;
  /** Which subscribe (count) its req_id arrived on. */
  origin: number;
}

interface Session {
  client: WSClient;
  authed: boolean;
  /** Replaced or closed: its events are ignored. */
  dead: boolean;
  firstOutcome: Promise<void>;
}

type Wait = 'ok' | 'gone' | 'expired';

type Sdk = typeof import('@wecom/aibot-node-sdk');
let sdkModule: Sdk | undefined;
/** Loaded on first start only, so URL-mode processes never load the SDK (nor the axios it requires). */
async function loadSdk(): Promise<Sdk> {
  sdkModule ??= await import('@wecom/aibot-node-sdk');
  return sdkModule;
}

export function createWsClient(opts: WsClientOptions): WsClient {
  const { core } = opts;
  const log = core.log.child({ channel: 'wecom-ws' });
  const url = opts.url ?? DEFAULT_WS_URL_WECOM;
  const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  const reconnectMs = opts.reconnectMs ?? 1_000;
  const lockTtlMs = opts.lockTtlMs ?? LOCK_TTL_MS;
  const everyMs = Math.max(1, Math.floor(lockTtlMs / 3));
  const instanceId = opts.instanceId ?? randomBytes(6).toString('hex');
  const lock = createHolderLock(core.store, `wecom:ws:holder:${opts.botId}`, instanceId, lockTtlMs);
  const sdkLog = sdkLogger(log);

  let state: WsState = 'stopped';
  let session: Session | undefined;
  let retryAt = 0;
  let authCount = 0;
  let loopAbort: AbortController | undefined;
  let loopDone: Promise<void> = Promise.resolve();
  let loggedCrossConnection = false;
  let loggedNoRepair = false;
  const pending = new Map<string, Conversation>();
  const outboxes = new Map<string, Outgoing[]>();
  const authWaiters = new Set<(w: Wait) => void>();
  const drainWaiters = new Set<() => void>();

  const now = () => core.clock.now();
  const changed = () => {
    if (pending.size === 0 && outboxes.size === 0) for (const w of [...drainWaiters]) w();
  };

  // ---- outgoing frames -------------------------------------------------------------------

  function describe(reqId: string, o: Outgoing) {
    const stream = o.body.stream as { finish?: boolean } | undefined;
    return { reqId, cmd: o.cmd, msgtype: o.body.msgtype ?? o.body.response_type, ...(stream ? { finish: stream.finish === true } : {}) };
  }

  function enqueue(reqId: string, o: Outgoing): void {
    let queue = outboxes.get(reqId);
    if (queue) {
      // A newer progress frame makes a queued one pointless (the SDK's replyStreamNonBlocking idea).
      if (o.kind === 'progress') for (let i = queue.length - 1; i >= 1; i--) if (queue[i]!.kind === 'progress') queue.splice(i, 1);
      queue.push(o);
      return;
    }
    queue = [o];
    outboxes.set(reqId, queue);
    void pump(reqId, queue);
  }

  async function pump(reqId: string, queue: Outgoing[]): Promise<void> {
    while (queue.length) {
      await deliver(reqId, queue[0]!).catch((err: unknown) => log.error({ err, ...describe(reqId, queue[0]!) }, 'wecom ws: reply failed'));
      queue.shift();
    }
    outboxes.delete(reqId);
    changed();
  }

  function waitForAuth(validUntil: number): Promise<Wait> {
    if (session?.authed && !session.dead) return Promise.resolve('ok');
    if (state !== 'holding') return Promise.resolve('gone');
    return new Promise<Wait>((resolve) => {
      const ac = new AbortController();
      const done = (w: Wait) => {
        authWaiters.delete(done);
        ac.abort();
        resolve(w);
      };
      authWaiters.add(done);
      core.clock.sleep(Math.max(0, validUntil - now()), ac.signal).then(() => done('expired'), () => undefined);
    });
  }

  function wake(w: Wait): void {
    for (const done of [...authWaiters]) done(w);
  }

  /** One frame through the SDK's per-req_id queue; the frames that matter go again after a reconnect. */
  async function deliver(reqId: string, o: Outgoing): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (o.kind === 'progress' && !session?.authed) return;
      const wait = await waitForAuth(o.validUntil);
      if (wait !== 'ok') {
        log.error({ ...describe(reqId, o), why: wait === 'expired' ? 'WeCom no longer takes it' : `this replica is ${state}` },
          'wecom ws: reply LOST: it could not be sent before the connection went away');
        return;
      }
      const s = session!;
      // UNCONFIRMED whether a req_id outlives its connection (the official plugin keeps them for
      // days); whichever WeCom does shows in the log.
      const reconnected = authCount !== o.origin;
      try {
        await s.client.reply({ headers: { req_id: reqId } }, o.body, o.cmd);
        if (reconnected && !loggedCrossConnection) {
          loggedCrossConnection = true;
          log.info(describe(reqId, o), 'wecom ws: WeCom accepted a req_id from an earlier connection after a reconnect');
        }
        return;
      } catch (err) {
        const ack = ackOf(err);
        if (ack) {
          // The server answered: retrying the same frame would get the same answer (846605 invalid
          // req_id, 846608 stream expired, rate limits …).
          log.warn({ ...describe(reqId, o), errcode: ack.errcode, errmsg: String(ack.errmsg ?? '').slice(0, 200), afterReconnect: reconnected }, 'wecom ws: reply refused');
          return;
        }
        const reason = err instanceof Error ? err.message : String(err);
        if (o.kind === 'progress') {
          log.debug({ ...describe(reqId, o), reason }, 'wecom ws: progress frame skipped');
          return;
        }
        if (attempt >= MAX_SEND_ATTEMPTS) {
          log.error({ ...describe(reqId, o), reason, attempts: attempt }, 'wecom ws: reply LOST after repeated tries');
          return;
        }
        // The close may not have been reported yet: never spin on a dead socket.
        if (!s.client.isConnected) s.authed = false;
        // An unacked frame may have arrived after all; sending it again is the lesser harm (a
        // repeated finish frame changes nothing; a card could show twice rather than never).
        log.warn({ ...describe(reqId, o), reason, attempt }, 'wecom ws: reply not acknowledged; sending it again once subscribed');
      }
    }
  }

  function respond(c: Pick<Conversation, 'reqId' | 'receivedAt' | 'origin'>, reply: Record<string, unknown>, kind: Outgoing['kind']): void {
    const { reqId, receivedAt, origin } = c;
    const stream = (o: Record<string, unknown>): Outgoing => ({ cmd: RESPOND, body: o, kind, validUntil: receivedAt + STREAM_VALID_MS, origin });
    if (reply.msgtype === 'stream_with_template_card') {
      enqueue(reqId, stream({ msgtype: 'stream', stream: reply.stream }));
      enqueue(reqId, { cmd: RESPOND, body: { msgtype: 'template_card', template_card: reply.template_card }, kind: 'must', validUntil: receivedAt + REPLY_VALID_MS, origin });
      return;
    }
    if (reply.msgtype === 'stream') enqueue(reqId, stream(reply));
    else enqueue(reqId, { cmd: RESPOND, body: reply, kind, validUntil: receivedAt + REPLY_VALID_MS, origin });
  }

  // ---- the bot and inbound frames -------------------------------------------------------------

  const bot = createBot({
    core,
    pageSize: opts.pageSize,
    async onStreamChange(target: StreamTarget, reply) {
      const c = pending.get(target.msgid);
      if (!c) return;
      await c.opened;
      const finish = finished(reply);
      // Replies count against "30 条/分钟" per chat (101463): progress goes out every few seconds.
      const t = now();
      if (!finish && t - c.lastPush < PROGRESS_EVERY_MS) return;
      c.lastPush = t;
      if (finish) {
        pending.delete(target.msgid);
        changed();
      }
      respond(c, reply, finish ? 'must' : 'progress');
    },
  });

  function conversation(reqId: string, receivedAt: number): Conversation {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    return { reqId, receivedAt, origin: authCount, opened, open, lastPush: receivedAt };
  }

  async function onCallback(frame: WsFrame): Promise<void> {
    const reqId = frame.headers?.req_id;
    if (!reqId) {
      log.warn({ cmd: frame.cmd }, 'wecom ws: callback without req_id; cannot answer it');
      return;
    }
    const receivedAt = now();
    const origin = authCount;
    const inbound = parseInbound(frame.body);
    let convo: Conversation | undefined;
    if (inbound.kind === 'text') {
      convo = pending.get(inbound.msgid);
      if (convo && convo.reqId !== reqId) {
        // WeCom delivered the message again: it is waiting on the new req_id, so answer there.
        log.info({ msgid: inbound.msgid }, 'wecom ws: message delivered again on a new req_id; later frames go there');
        convo.reqId = reqId;
        convo.origin = origin;
      } else if (!convo) {
        convo = conversation(reqId, receivedAt);
        pending.set(inbound.msgid, convo);
      }
    }
    try {
      const reply = await bot.handle(inbound);
      if (!reply) return;
      if (inbound.kind === 'card') {
        enqueue(reqId, { cmd: RESPOND_UPDATE, body: reply, kind: 'must', validUntil: receivedAt + UPDATE_VALID_MS, origin });
        return;
      }
      respond({ reqId, receivedAt, origin }, reply, 'must');
      // Help, a malformed command or a repeat of a finished one: nothing more will come.
      if (inbound.kind === 'text' && finished(reply) && pending.get(inbound.msgid) === convo) {
        pending.delete(inbound.msgid);
        changed();
      }
    } finally {
      convo?.open();
    }
  }

  /** Frames the SDK's parser refused get a second, string-aware parse (ws-support.ts). */
  function attachRepair(s: Session): void {
    const mgr = (s.client as unknown as { wsManager?: { ws?: WebSocket | null; handleFrame?: (f: unknown) => void } }).wsManager;
    const ws = mgr?.ws;
    if (!mgr || !ws || typeof mgr.handleFrame !== 'function') {
      if (!loggedNoRepair) log.warn('wecom ws: SDK internals differ from 1.0.7; frames it cannot parse are only logged');
      loggedNoRepair = true;
      return;
    }
    ws.on('message', (data: WebSocket.RawData) => {
      const text = data.toString();
      if (s.dead || sdkParses(text)) return;
      const frame = repairFrame(text);
      if (frame && typeof frame === 'object' && !Array.isArray(frame)) {
        log.info({ bytes: text.length }, 'wecom ws: frame with raw control characters inside strings parsed on a second try');
        mgr.handleFrame!.call(mgr, frame);
        return;
      }
      log.warn({ bytes: text.length, head: JSON.stringify(text.slice(0, 80)) }, 'wecom ws: frame is not JSON; dropped');
    });
  }

  // ---- the connection ------------------------------------------------------------------------

  function openSession(): Session {
    const client = new sdkModule!.WSClient({
      botId: opts.botId,
      secret: opts.secret,
      wsUrl: url,
      heartbeatInterval: heartbeatMs,
      reconnectInterval: reconnectMs,
      // The SDK gives up after 10 by default; a server should keep trying.
      maxReconnectAttempts: -1,
      logger: sdkLog,
      wsOptions: { handshakeTimeout: HANDSHAKE_MS, maxPayload: MAX_FRAME_BYTES },
    });
    let settle!: () => void;
    const s: Session = { client, authed: false, dead: false, firstOutcome: new Promise<void>((r) => (settle = r)) };
    client.on('connected', () => {
      if (!s.dead) attachRepair(s);
    });
    client.on('authenticated', () => {
      if (s.dead) return;
      s.authed = true;
      authCount++;
      log.info({ holder: instanceId }, 'wecom ws: subscribed');
      settle();
      wake('ok');
    });
    client.on('disconnected', (reason: string) => {
      s.authed = false;
      settle();
      if (!s.dead) log.warn({ reason: String(reason).slice(0, 200) }, 'wecom ws: connection closed; reconnecting');
    });
    client.on('error', (err: Error) => {
      settle();
      if (s.dead) return;
      const code = (err as { code?: string }).code;
      if (code === 'WS_AUTH_FAILURE_EXHAUSTED' || code === 'WS_RECONNECT_EXHAUSTED') {
        log.error({ code, retryInMs: FAILED_RETRY_MS },
          code === 'WS_AUTH_FAILURE_EXHAUSTED' ? 'wecom ws: subscribe refused repeatedly (check WECOM_BOT_ID / WECOM_BOT_SECRET)' : 'wecom ws: reconnecting gave up');
        state = 'failed';
        retryAt = now() + FAILED_RETRY_MS;
        closeSession(s);
        return;
      }
      log.warn({ reason: err.message.slice(0, 200) }, 'wecom ws: connection error');
    });
    client.on('message', (f: WsFrame) => {
      if (!s.dead) void core.tasks.run('wecom ws callback', () => onCallback(f));
    });
    client.on('event', (f: WsFrame) => {
      const body = f.body as { event?: { eventtype?: string } } | undefined;
      if (s.dead || body?.event?.eventtype === 'disconnected_event') return;
      void core.tasks.run('wecom ws callback', () => onCallback(f));
    });
    client.on('event.disconnected_event', () => onKicked(s));
    session = s;
    client.connect();
    return s;
  }

  /** Ends a session for good: the SDK stops reconnecting and rejects what it still had. */
  function closeSession(s: Session | undefined): void {
    if (!s || s.dead) return;
    s.dead = true;
    s.authed = false;
    if (session === s) session = undefined;
    try {
      s.client.disconnect();
    } catch (err) {
      log.debug({ err }, 'wecom ws: disconnect');
    }
    s.client.removeAllListeners();
    wake('gone');
  }

  function onKicked(s: Session): void {
    if (s.dead) return;
    state = 'kicked';
    // The SDK has already closed the socket and will not reconnect; do not dial back either.
    s.dead = true;
    s.authed = false;
    if (session === s) session = undefined;
    s.client.removeAllListeners();
    wake('gone');
    void core.tasks.run('wecom ws kicked', async () => {
      const holder = await core.store.get(lock.key).catch(() => undefined);
      if (holder !== undefined && holder !== instanceId) {
        log.warn({ holder }, 'wecom ws: disconnected_event: another replica took over the connection; standing by');
        if (state === 'kicked') state = 'standby';
        return;
      }
      log.error({ botId: opts.botId },
        'wecom ws: disconnected_event: another connection subscribed with this bot id and WeCom closed ours. '
        + 'Not reconnecting, so the two do not take turns; this replica keeps the holder lock so no other replica dials either. '
        + 'During a deploy that is the new instance and this one can go; otherwise stop the other connection, then restart meetcheck to take the bot back.');
    });
  }

  function sweepPending(): void {
    const cutoff = now() - PENDING_TTL_MS;
    for (const [msgid, c] of pending) if (c.receivedAt < cutoff) pending.delete(msgid);
    changed();
  }

  /** One step of the holder loop: standbys try to take the lock, the holder renews it. */
  async function tick(): Promise<void> {
    sweepPending();
    try {
      if (state === 'standby') {
        if (await lock.acquire()) {
          if (state !== 'standby') return;
          state = 'holding';
          log.info({ holder: instanceId }, 'wecom ws: this replica holds the WeCom connection');
          openSession();
        } else log.debug('wecom ws: another replica holds the connection lock');
        return;
      }
      if (state === 'holding' || state === 'kicked' || state === 'failed') {
        if ((await lock.renew()) === 'lost') {
          if (state === 'holding') log.warn('wecom ws: another replica holds the connection lock now; closing ours');
          state = 'standby';
          closeSession(session);
          return;
        }
        if (state === 'failed' && now() >= retryAt) {
          state = 'holding';
          openSession();
        }
      }
    } catch (err) {
      // Redis away: a holder keeps its connection; a standby tries again next time.
      log.warn({ err: (err as Error).message, state }, 'wecom ws: holder lock not reachable; keeping the current state');
    }
  }

  async function loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await core.clock.sleep(everyMs, signal).catch(() => undefined);
      if (signal.aborted) return;
      await tick();
    }
  }

  function settled(): Promise<void> {
    if (pending.size === 0 && outboxes.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const w = () => {
        drainWaiters.delete(w);
        resolve();
      };
      drainWaiters.add(w);
    });
  }

  /** On stop: queries in flight finish and their frames go out, for a bounded time. */
  async function drain(): Promise<void> {
    if (!session?.authed || (pending.size === 0 && outboxes.size === 0)) return;
    const ac = new AbortController();
    await Promise.race([settled(), core.clock.sleep(STOP_DRAIN_MS, ac.signal).catch(() => undefined)]);
    ac.abort();
  }

  return {
    bot,
    get connected() {
      return state === 'holding' && session?.authed === true;
    },
    get state() {
      return state;
    },
    get inFlight() {
      return pending.size + outboxes.size;
    },
    settled,
    async start() {
      if (state !== 'stopped') return;
      await loadSdk();
      state = 'standby';
      await tick();
      loopAbort = new AbortController();
      loopDone = loop(loopAbort.signal);
      const s = session;
      if (s) await s.firstOutcome;
      else if (state === 'standby') log.info({ replica: instanceId }, 'wecom ws: standing by; another replica holds the WeCom connection');
    },
    async stop(stopOpts = {}) {
      if (state === 'stopped') return;
      loopAbort?.abort();
      await loopDone;
      await drain();
      state = 'stopped';
      closeSession(session);
      wake('gone');
      if (!stopOpts.keepLock) await lock.release().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'wecom ws: holder lock not released; it lapses on its own'));
    },
  };
}

function finished(reply: Record<string, unknown>): boolean {
  return (reply.stream as { finish?: boolean } | undefined)?.finish === true || reply.msgtype === 'template_card';
}

/** The SDK rejects a refused reply with the server's ack frame itself, not an Error. */
function ackOf(err: unknown): { errcode: number; errmsg?: string } | undefined {
  if (!err || typeof err !== 'object' || err instanceof Error) return undefined;
  const e = err as { errcode?: unknown; errmsg?: unknown };
  return typeof e.errcode === 'number' ? { errcode: e.errcode, ...(typeof e.errmsg === 'string' ? { errmsg: e.errmsg } : {}) } : undefined;
}
