import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWsClient, type WsClient, type WsClientOptions } from '../../src/channels/wecom/ws.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { CoreDeps } from '../../src/core/quality.js';
import type { MeetingReport } from '../../src/core/model.js';
import type { VendorClient } from '../../src/core/vendor.js';
import { createLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { createRedisStore } from '../../src/store/redis.js';
import type { Store } from '../../src/store/types.js';
import { createDemoVendor } from '../../src/vendors/demo/index.js';
import { INVALID_REQ_ID, clickBody, startFakeWecomWs, textBody, type FakeWecomWs, type Received } from '../fakes/wecom-ws.js';
import { attendee, manualClock, report, testCore, type ManualClock } from '../helpers/core.js';
import { IN_CI, REDIS_URL, cleanPrefix, keysUnder, probeRedis, testPrefix } from '../store/redis-env.js';

/**
 * The long connection against a fake WeCom endpoint (test/fakes/wecom-ws.ts, written from doc
 * 101463 and the official SDK's frames), end to end through the official SDK's WSClient.
 */

const BOT = 'BOT1';
const SECRET = 'S3CRET';
const LOCK_TTL = 3_000;

type Card = { task_id: string; button_list: { text: string; key: string }[] };
type Body = { msgtype?: string; response_type?: string; stream?: { id: string; finish: boolean; content: string }; template_card?: Card };
const body = (f: Received) => (f.body ?? {}) as Body;
const isCard = (f: Received) => body(f).msgtype === 'template_card';
const isFinish = (f: Received) => body(f).stream?.finish === true;

interface Line {
  msg: string;
  level: number;
  [k: string]: unknown;
}

/** A pino logger whose lines the test can read and wait for. */
function captureLog() {
  const lines: Line[] = [];
  const watchers = new Set<() => void>();
  const log = createLogger('debug', {
    write(s: string) {
      lines.push(JSON.parse(s) as Line);
      for (const w of [...watchers]) w();
    },
  });
  return {
    log,
    lines,
    matching: (re: RegExp) => lines.filter((l) => re.test(l.msg)),
    /** Resolves with the n-th line (1-based, counting from the start) that matches. */
    waitFor(re: RegExp, n = 1): Promise<Line> {
      return new Promise((resolve) => {
        const check = () => {
          const hit = lines.filter((l) => re.test(l.msg))[n - 1];
          if (!hit) return false;
          watchers.delete(w);
          resolve(hit);
          return true;
        };
        const w = () => void check();
        if (!check()) watchers.add(w);
      });
    },
  };
}

/** A wecom vendor whose answer waits until the test releases it (a query caught in the middle). */
function gatedVendor() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const v: VendorClient = {
    name: 'wecom',
    async fetchReport(): Promise<MeetingReport> {
      await gate;
      return report([attendee('a1'), attendee('a2', { worst: 4 })], { meeting: { vendor: 'wecom', code: '123456789', meetingId: 'm', ended: true, subject: 'Weekly' } });
    },
  };
  return { v, release: () => open() };
}

let server: FakeWecomWs | undefined;
let clients: WsClient[] = [];
let app: Running | undefined;
afterEach(async () => {
  vi.useRealTimers();
  for (const c of clients) await c.stop();
  clients = [];
  await app?.close();
  app = undefined;
  await server?.close();
  server = undefined;
});

function setup(vendors: VendorClient[] = [], opts: { clock?: ManualClock; store?: Store; lang?: 'zh' | 'en' } = {}) {
  const clock = opts.clock ?? manualClock();
  const capture = captureLog();
  const core: CoreDeps = { ...testCore(vendors.length ? vendors : [createDemoVendor({ clock })], { clock, settings: { lang: opts.lang ?? 'zh' }, ...(opts.store ? { store: opts.store } : {}) }), log: capture.log };
  return { clock, core, capture };
}

function client(core: CoreDeps, over: Partial<WsClientOptions> = {}): WsClient {
  const c = createWsClient({ botId: BOT, secret: SECRET, core, pageSize: 6, url: server!.url, heartbeatMs: 60_000, reconnectMs: 5, lockTtlMs: LOCK_TTL, ...over });
  clients.push(c);
  return c;
}

const framesOf = (reqId: string) => server!.received.filter((f) => f.headers.req_id === reqId);

describe('WeCom long connection through the official SDK', () => {
  it('answers /quality with stream frames in order, finish:true, then the card; a click gets aibot_respond_update_msg with the same task_id', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const { core } = setup();
    const a = client(core);
    await a.start();
    expect(a.connected).toBe(true);
    expect(server.subscribes).toBe(1);

    const req = server.pushMessage(textBody('m1', '@bot /quality demo:222-333-444'));
    const card = await server.waitFor((f) => f.headers.req_id === req && isCard(f));
    await a.settled();
    const mine = framesOf(req);
    expect(mine.every((f) => f.cmd === 'aibot_respond_msg' && f.conn === 1)).toBe(true);
    const streams = mine.filter((f) => body(f).stream).map((f) => body(f).stream!);
    expect(streams[0]!.finish).toBe(false);
    expect(streams[0]!.content).toContain('正在查询会议');
    expect(new Set(streams.map((s) => s.id)).size).toBe(1);
    expect(streams.filter((s) => s.finish)).toHaveLength(1);
    expect(streams.at(-1)!.finish).toBe(true);
    // The card is its own reply, right after the finishing stream frame, and the last frame.
    expect(mine.at(-1)).toBe(card);
    expect(isFinish(mine.at(-2)!)).toBe(true);
    const tc = body(card).template_card!;

    const evt = server.pushEvent(clickBody('e1', tc.task_id, tc.button_list[0]!.key));
    const upd = await server.waitFor((f) => f.cmd === 'aibot_respond_update_msg');
    expect(upd.headers.req_id).toBe(evt);
    expect(upd.body).toMatchObject({ response_type: 'update_template_card', template_card: { task_id: tc.task_id } });
    await a.settled();
    expect(server.unauthenticated).toEqual([]);
    expect(a.inFlight).toBe(0);
  });

  it('sends the next frame of a req_id only once the previous one was acked', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const vendor = gatedVendor();
    const { core } = setup([vendor.v]);
    const a = client(core);
    await a.start();
    let held: Received | undefined;
    server.ackRule = (f) => {
      if (held || !body(f).stream) return undefined;
      held = f;
      return 'hold';
    };
    const req = server.pushMessage(textBody('m1', '@bot /quality 123456789'));
    const first = await server.waitFor((f) => f.headers.req_id === req);
    expect(first).toBe(held);
    vendor.release();
    await core.tasks.idle();
    // A reply on another req_id goes out behind anything already written for the first one (one
    // TCP stream): once it has arrived, the finish frame and the card would have too.
    const other = server.pushMessage(textBody('m2', '@bot /help'));
    await server.waitFor((f) => f.headers.req_id === other && isCard(f));
    expect(framesOf(req)).toEqual([first]);
    server.releaseAck(first);
    await server.waitFor((f) => f.headers.req_id === req && isCard(f));
    expect(framesOf(req).map((f) => (isCard(f) ? 'card' : isFinish(f) ? 'finish' : 'stream'))).toEqual(['stream', 'finish', 'card']);
  });

  it('a link whose heartbeats go unacked is dropped after two missed acks and dialled again', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const { core, capture } = setup();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const a = client(core, { heartbeatMs: 30_000, reconnectMs: 1_000 });
    await a.start();
    server.ackPings = false;
    vi.advanceTimersByTime(30_000);
    await server.waitPings(1);
    vi.advanceTimersByTime(30_000);
    await server.waitPings(2);
    expect(server.connections[0]!.closed).toBe(false);
    // Third beat: two acks missing, so the SDK (maxMissedPong = 2) ends the link instead of pinging.
    vi.advanceTimersByTime(30_000);
    await capture.waitFor(/connection closed; reconnecting/);
    expect(server.pings).toBe(2);
    server.ackPings = true;
    vi.advanceTimersByTime(1_000);
    await server.waitSubscribes(2);
    await capture.waitFor(/subscribed/);
    const req = server.pushMessage(textBody('m1', '@bot /help'));
    const card = await server.waitFor((f) => f.headers.req_id === req && isCard(f));
    expect(card.conn).toBe(2);
  });

  it('keeps a link whose heartbeats are acked', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const { core } = setup();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const a = client(core, { heartbeatMs: 30_000 });
    await a.start();
    for (let i = 1; i <= 5; i++) {
      vi.advanceTimersByTime(30_000);
      await server.waitPings(i);
      // The ack went out before this callback on the same TCP stream: once the reply is back, the
      // SDK has counted the ack.
      const req = server.pushMessage(textBody(`p${i}`, '@bot /help'));
      await server.waitFor((f) => f.headers.req_id === req && isCard(f));
    }
    expect(server.connections.map((c) => c.closed)).toEqual([false]);
    expect(a.connected).toBe(true);
  });

  it('after disconnected_event it does not reconnect and keeps the holder lock', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const store = createMemoryStore({ clock: manualClock() });
    const { core, clock, capture } = setup([], { store });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const a = client(core, { instanceId: 'A' });
    await a.start();
    await server.kick();
    const line = await capture.waitFor(/another connection subscribed with this bot id/);
    expect(line.level).toBe(50);
    expect(a.state).toBe('kicked');
    expect(a.connected).toBe(false);
    // Nothing is scheduled that could dial again: no SDK reconnect timer, no heartbeat.
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10 * 60_000);
    await clock.advance(5 * LOCK_TTL);
    expect(a.state).toBe('kicked');
    expect(server.connections).toHaveLength(1);
    expect(await store.get(`wecom:ws:holder:${BOT}`)).toBe('A');
  });

  it('a frame sent while the socket is down is not lost: the finish frame and the card follow the reconnect', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const vendor = gatedVendor();
    const { core } = setup([vendor.v]);
    const a = client(core);
    await a.start();
    const req = server.pushMessage(textBody('m1', '@bot /quality 123456789'));
    const first = await server.waitFor((f) => f.headers.req_id === req);
    const hold = server.holdNextAuth();
    await server.drop();
    await hold.arrived;
    // The query ends while the new connection is not yet subscribed.
    vendor.release();
    await core.tasks.idle();
    expect(a.connected).toBe(false);
    // Anything the client wrote before subscribing has arrived once the pong is back.
    await server.roundTrip();
    expect(server.unauthenticated).toEqual([]);
    hold.release();
    const card = await server.waitFor((f) => f.headers.req_id === req && isCard(f));
    const mine = framesOf(req);
    expect(mine[0]).toBe(first);
    expect(mine.slice(1).map((f) => [f.conn, isCard(f) ? 'card' : isFinish(f) ? 'finish' : 'stream'])).toEqual([[2, 'finish'], [2, 'card']]);
    expect(body(mine[1]!).stream!.id).toBe(body(first).stream!.id);
    expect(card.conn).toBe(2);
  });

  it('a finish frame whose ack is lost with the socket goes again on the next connection, before the card', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const vendor = gatedVendor();
    const { core, capture } = setup([vendor.v]);
    const a = client(core);
    await a.start();
    server.ackRule = (f) => {
      if (f.conn !== 1 || !isFinish(f)) return undefined;
      void server!.drop();
      return 'drop';
    };
    const req = server.pushMessage(textBody('m1', '@bot /quality 123456789'));
    await server.waitFor((f) => f.headers.req_id === req);
    vendor.release();
    await server.waitFor((f) => f.headers.req_id === req && isCard(f));
    expect(framesOf(req).map((f) => [f.conn, isCard(f) ? 'card' : isFinish(f) ? 'finish' : 'stream'])).toEqual([[1, 'stream'], [1, 'finish'], [2, 'finish'], [2, 'card']]);
    expect(capture.matching(/sending it again once subscribed/)).toHaveLength(1);
    expect(capture.matching(/accepted a req_id from an earlier connection/)).toHaveLength(1);
  });

  it('UNCONFIRMED req_id scope: when a new connection refuses the old req_id, that is logged as refused, naming the frame', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET, reqIdScope: 'connection' });
    const vendor = gatedVendor();
    const { core, capture } = setup([vendor.v]);
    const a = client(core);
    await a.start();
    server.ackRule = (f) => {
      if (f.conn !== 1 || !isFinish(f)) return undefined;
      void server!.drop();
      return 'drop';
    };
    const req = server.pushMessage(textBody('m1', '@bot /quality 123456789'));
    await server.waitFor((f) => f.headers.req_id === req);
    vendor.release();
    await server.waitFor((f) => f.headers.req_id === req && isCard(f));
    await a.settled();
    const refused = capture.matching(/reply refused/);
    expect(refused.map((l) => [l.errcode, l.msgtype, l.afterReconnect])).toEqual([[INVALID_REQ_ID.errcode, 'stream', true], [INVALID_REQ_ID.errcode, 'template_card', true]]);
    expect(refused[0]!.reqId).toBe(req);
  });

  it('a message delivered again on a new req_id is answered there with the same stream, and the rest follows it', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const vendor = gatedVendor();
    const { core } = setup([vendor.v]);
    const a = client(core);
    await a.start();
    const r1 = server.pushMessage(textBody('m1', '@bot /quality 123456789'));
    const first = await server.waitFor((f) => f.headers.req_id === r1);
    const r2 = server.pushMessage(textBody('m1', '@bot /quality 123456789'));
    const again = await server.waitFor((f) => f.headers.req_id === r2);
    expect(body(again).stream).toMatchObject({ id: body(first).stream!.id, finish: false });
    vendor.release();
    await server.waitFor((f) => f.headers.req_id === r2 && isCard(f));
    await a.settled();
    expect(framesOf(r1)).toEqual([first]);
    expect(framesOf(r2).map((f) => (isCard(f) ? 'card' : isFinish(f) ? 'finish' : 'stream'))).toEqual(['stream', 'finish', 'card']);
    expect(a.inFlight).toBe(0);
  });

  it('help and malformed commands leave nothing in flight once answered', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const { core } = setup();
    const a = client(core);
    await a.start();
    for (const [i, text] of ['@bot /help', '@bot /quality', '@bot hello'].entries()) {
      const req = server.pushMessage(textBody(`h${i}`, text));
      await server.waitFor((f) => f.headers.req_id === req && isCard(f));
    }
    await a.settled();
    expect(a.inFlight).toBe(0);
  });

  it('parses frames with raw control characters in strings and logs a frame that is not JSON', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const { core, capture } = setup();
    const a = client(core);
    await a.start();
    const frame = (reqId: string, msgid: string, content: string) => JSON.stringify({ cmd: 'aibot_msg_callback', headers: { req_id: reqId }, body: textBody(msgid, content) });
    // Characters the SDK strips itself (\x01, \x1f) ...
    server.sendRaw(frame('srv_raw_1', 'c1', '@bot /heXXlp').replace('XX', '\x01\x1f'), 'srv_raw_1');
    // ... and raw newline / tab inside a string, which JSON forbids and the SDK keeps.
    server.sendRaw(frame('srv_raw_2', 'c2', '@botNL/help').replace('NL', '\n\t'), 'srv_raw_2');
    server.sendRaw('{"cmd":"aibot_msg_callback", this is not json');
    const one = await server.waitFor((f) => f.headers.req_id === 'srv_raw_1' && isCard(f));
    const two = await server.waitFor((f) => f.headers.req_id === 'srv_raw_2' && isCard(f));
    expect(body(one).template_card!.button_list.length).toBeGreaterThan(0);
    expect(body(framesOf('srv_raw_2')[0]!).stream!.content).toContain('使用说明');
    expect(two.conn).toBe(1);
    const bad = await capture.waitFor(/frame is not JSON/);
    expect(bad.level).toBe(40);
    expect(capture.matching(/second try/)).toHaveLength(1);
    expect(capture.matching(/Failed to parse WebSocket message/).length).toBeGreaterThanOrEqual(1);
  });

  it('keeps running when the subscription is refused, and gives a fresh try later once the SDK gave up', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: 'right' });
    const { core, clock, capture } = setup();
    const a = client(core, { secret: 'wrong' });
    await a.start();
    expect(a.connected).toBe(false);
    const gaveUp = await capture.waitFor(/subscribe refused repeatedly/);
    expect(gaveUp.level).toBe(50);
    expect(a.state).toBe('failed');
    expect(server.subscribes).toBe(0);
    const tried = server.connections.length;
    expect(tried).toBe(6);
    await clock.advance(10 * 60_000 + LOCK_TTL);
    expect(a.state).toBe('holding');
    await server.waitConnections(tried + 1);
  });

  it('stop() lets a query in flight send its finish frame and card first', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const vendor = gatedVendor();
    const { core } = setup([vendor.v]);
    const a = client(core);
    await a.start();
    const req = server.pushMessage(textBody('m1', '@bot /quality 123456789'));
    await server.waitFor((f) => f.headers.req_id === req);
    const stopped = a.stop();
    vendor.release();
    await stopped;
    expect(framesOf(req).map((f) => (isCard(f) ? 'card' : isFinish(f) ? 'finish' : 'stream'))).toEqual(['stream', 'finish', 'card']);
    expect(a.state).toBe('stopped');
  });
});

describe('one connection for all replicas (holder lock)', () => {
  it('only one of two replicas on one store connects; a graceful stop hands over at the next try', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const clock = manualClock();
    const store = createMemoryStore({ clock });
    const A = setup([], { clock, store });
    const B = setup([], { clock, store });
    const a = client(A.core, { instanceId: 'A' });
    const b = client(B.core, { instanceId: 'B' });
    await a.start();
    await b.start();
    expect([a.state, b.state]).toEqual(['holding', 'standby']);
    for (let i = 0; i < 5; i++) await clock.advance(LOCK_TTL / 3);
    expect([a.state, b.state]).toEqual(['holding', 'standby']);
    expect(server.connections).toHaveLength(1);

    await a.stop();
    await clock.advance(LOCK_TTL / 3);
    expect(b.state).toBe('holding');
    await server.waitSubscribes(2);
    await B.capture.waitFor(/subscribed/);
    expect(server.connections.map((c) => c.closed)).toEqual([true, false]);
    const req = server.pushMessage(textBody('m1', '@bot /help'));
    expect((await server.waitFor((f) => f.headers.req_id === req && isCard(f))).conn).toBe(2);
  });

  it('a holder that dies (stops renewing) is replaced once its lock lapses, not before', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const clock = manualClock();
    const store = createMemoryStore({ clock });
    const A = setup([], { clock, store });
    const B = setup([], { clock, store });
    const a = client(A.core, { instanceId: 'A' });
    const b = client(B.core, { instanceId: 'B' });
    await a.start();
    await b.start();
    await clock.advance(LOCK_TTL / 3); // a renews
    await a.stop({ keepLock: true });
    await clock.advance(LOCK_TTL / 3);
    await clock.advance(LOCK_TTL / 3);
    expect(b.state).toBe('standby');
    await clock.advance(LOCK_TTL / 3);
    await clock.advance(LOCK_TTL / 3);
    expect(b.state).toBe('holding');
    await server.waitSubscribes(2);
  });

  it('a holder that lost the store keeps serving; a replica that took the lapsed lock kicks it, and it stands by', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const clock = manualClock();
    const shared = createMemoryStore({ clock });
    let cut = false;
    const flaky: Store = {
      ...shared,
      get: (k) => (cut ? Promise.reject(new Error('redis unreachable')) : shared.get(k)),
      set: (k, v, t) => (cut ? Promise.reject(new Error('redis unreachable')) : shared.set(k, v, t)),
      setIfAbsent: (k, v, t) => (cut ? Promise.reject(new Error('redis unreachable')) : shared.setIfAbsent(k, v, t)),
    };
    const A = setup([], { clock, store: flaky });
    const B = setup([], { clock, store: shared });
    const a = client(A.core, { instanceId: 'A' });
    const b = client(B.core, { instanceId: 'B' });
    await a.start();
    await b.start();
    cut = true;
    for (let i = 0; i < 4; i++) await clock.advance(LOCK_TTL / 3);
    expect(A.capture.matching(/holder lock not reachable/).length).toBeGreaterThan(0);
    expect(b.state).toBe('holding');
    await server.waitSubscribes(2);
    await A.capture.waitFor(/disconnected_event: another/);
    await server.waitClosed(1);
    cut = false;
    await clock.advance(LOCK_TTL / 3);
    expect([a.state, b.state]).toEqual(['standby', 'holding']);
    expect(server.connections.map((c) => c.closed)).toEqual([true, false]);
  });
});

const probe = await probeRedis();
const noRedis = !probe.ok && !IN_CI;
if (noRedis) console.warn(`[test/wecom/ws] skipping the Redis holder-lock test: ${probe.ok ? '' : probe.reason} (set CI=1 to make this a failure)`);

describe.skipIf(noRedis)('one connection for all replicas, on one Redis', () => {
  const prefix = testPrefix('wecom-ws');
  afterEach(async () => {
    if (probe.ok) await cleanPrefix(prefix);
  });

  it('only one of two replicas connects; a graceful stop hands over; the lock a crashed holder leaves keeps the others off', async () => {
    if (!probe.ok) throw new Error(`CI is set, so the Redis tests may not skip: ${probe.reason}`);
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const clock = manualClock();
    // Redis keeps real time for TTLs: a long one, so a slow machine never lets it lapse mid-test.
    const ttl = 60_000;
    const stores = await Promise.all([0, 1, 2].map(() => createRedisStore({ url: REDIS_URL, prefix, log: createLogger('silent'), clock })));
    try {
      const [A, B, C] = stores.map((store) => setup([], { clock, store }));
      const a = client(A!.core, { instanceId: 'A', lockTtlMs: ttl });
      const b = client(B!.core, { instanceId: 'B', lockTtlMs: ttl });
      // Store calls go over the network here: wait for each replica's try to be logged.
      const standbyTry = /another replica holds the connection lock/;
      await a.start();
      await b.start();
      await B!.capture.waitFor(standbyTry, 1);
      await clock.advance(ttl / 3);
      await B!.capture.waitFor(standbyTry, 2);
      expect([a.state, b.state]).toEqual(['holding', 'standby']);
      expect(server.connections).toHaveLength(1);

      await a.stop();
      await clock.advance(ttl / 3);
      await B!.capture.waitFor(/this replica holds the WeCom connection/);
      expect(b.state).toBe('holding');
      await server.waitSubscribes(2);

      const c = client(C!.core, { instanceId: 'C', lockTtlMs: ttl });
      await c.start();
      expect(c.state).toBe('standby');
      await b.stop({ keepLock: true });
      const left = (await keysUnder(prefix)).get(`wecom:ws:holder:${BOT}`);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(ttl);
      await clock.advance(ttl / 3);
      await C!.capture.waitFor(standbyTry, 2);
      expect(c.state).toBe('standby');
    } finally {
      for (const c of clients) await c.stop();
      clients = [];
      for (const st of stores) await st.close();
    }
  });
});

describe('long-connection-only configuration', () => {
  it('WECOM_MODE=ws with only WECOM_BOT_ID + WECOM_BOT_SECRET creates the channel and dials WECOM_WS_URL', async () => {
    server = await startFakeWecomWs({ botId: BOT, secret: SECRET });
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', WECOM_MODE: 'ws', WECOM_BOT_ID: BOT, WECOM_BOT_SECRET: SECRET, WECOM_WS_URL: server.url });
    expect(config.wecomBot).toEqual({ mode: 'ws', botId: BOT, botSecret: SECRET, wsUrl: server.url });
    expect(config.demo).toBe(false);
    const capture = captureLog();
    app = await startServer(config, { log: capture.log, clock: manualClock() });
    expect(server.subscribes).toBe(1);
    // No Token/EncodingAESKey: no URL-callback route.
    const res = await request(`${app.url}/wecom/bot`);
    expect(res.statusCode).toBe(404);
    await res.body.text();
    const req = server.pushMessage(textBody('m1', '@bot /help'));
    await server.waitFor((f) => f.headers.req_id === req && isCard(f));
  });

  it('defaults WECOM_WS_URL to wss://openws.work.weixin.qq.com and explains every wrong combination', () => {
    const ws = loadConfig({ WECOM_MODE: 'ws', WECOM_BOT_ID: 'b', WECOM_BOT_SECRET: 's' });
    expect(ws.wecomBot?.wsUrl).toBe('wss://openws.work.weixin.qq.com');
    const err = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err({ WECOM_BOT_ID: 'b', WECOM_BOT_SECRET: 'topsecret' })).toMatch(/^WECOM_MODE: set it to ws/);
    expect(err({ WECOM_MODE: 'ws' })).toMatch(/^WECOM_BOT_ID: required/);
    expect(err({ WECOM_MODE: 'ws', WECOM_BOT_ID: 'b' })).toMatch(/^WECOM_BOT_SECRET: required because WECOM_BOT_ID is set/);
    expect(err({ WECOM_MODE: 'ws', WECOM_BOT_ID: 'b', WECOM_BOT_SECRET: 's', WECOM_WS_URL: 'https://openws.work.weixin.qq.com' })).toMatch(/^WECOM_WS_URL: a ws:\/\/ or wss:\/\/ URL/);
    expect(err({ WECOM_BOT_ID: 'b', WECOM_BOT_SECRET: 'topsecret' })).not.toContain('topsecret');
    // Both sets together: ws mode also mounts the URL callback.
    const both = loadConfig({ WECOM_MODE: 'ws', WECOM_BOT_ID: 'b', WECOM_BOT_SECRET: 's', WECOM_BOT_TOKEN: 't', WECOM_BOT_AES_KEY: 'a'.repeat(43) });
    expect(both.wecomBot).toMatchObject({ mode: 'ws', token: 't', botId: 'b' });
  });
});
