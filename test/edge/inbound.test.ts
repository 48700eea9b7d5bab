import { describe, expect, it } from 'vitest';
import { parseActionRequest, parseCommandRequest } from '../../src/channels/console/api.js';
import { eventType, parseClick, parseMessage } from '../../src/channels/feishu/events.js';
import { parseTencentEvent } from '../../src/channels/tencent/verify.js';
import { parseInbound } from '../../src/channels/wecom/inbound.js';
import { HttpError } from '../../src/http/body.js';
import { endedMeetings } from '../../src/channels/tencent/event.js';
import { createLogger } from '../../src/log.js';
import { endedMeetingsBefore, eventTypeBefore, parseClickBefore, parseInboundBefore, parseMessageBefore } from './before-parsers.js';

/** A fixed pseudo-random source (mulberry32): the same payloads on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Payloads where each field is either right or one of the wrong things a sender might put there. */
function generator(seed: number, pValid: number) {
  const next = random(seed);
  const JUNK: unknown[] = [undefined, '', 'x', 0, 5, null, {}, [], true];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const field = (valid: unknown): unknown => (next() < pValid ? valid : pick(JUNK));
  /** JSON only: what came over the wire has no undefined and no functions. */
  const wire = (x: unknown): unknown => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));
  return { next, pick, field, wire };
}

const N = 4000;

describe('WeCom parseInbound by schema reads every payload as the hand-written parser did', () => {
  it(`on ${N} generated callbacks (100719, 101027 shapes and broken ones)`, () => {
    const { pick, field, wire } = generator(7, 0.85);
    const seen = new Set<string>();
    for (let i = 0; i < N; i++) {
      const raw = wire(field({
        msgid: field('m1'), aibotid: 'A', from: field({ userid: field('u1') }), chatid: field('G1'),
        chattype: field(pick(['group', 'single'])), msgtype: field(pick(['text', 'mixed', 'stream', 'event', 'image'])),
        text: field({ content: field(pick(['/quality 123', 'x'.repeat(4100)])) }),
        mixed: field({ msg_item: field([field({ msgtype: field('text'), text: field({ content: field('a') }) }), field({ msgtype: 'image' }), field({ msgtype: 'text', text: { content: 'b' } })]) }),
        stream: field({ id: field('s1') }),
        event: field({
          eventtype: field(pick(['template_card_event', 'enter_chat'])),
          template_card_event: field({ event_key: field('k'), eventkey: field('k2'), task_id: field('t'), taskid: field('t2'), card_type: field('c'), cardtype: field('c2') }),
        }),
      }));
      const got = parseInbound(raw);
      expect(got).toEqual(parseInboundBefore(raw));
      seen.add(got.kind === 'ignore' ? got.reason.replace(/ .*/, '') : got.kind);
    }
    // The corpus reaches every outcome, so the comparison means something.
    expect([...seen].sort()).toEqual(['card', 'empty', 'event', 'mixed', 'msgtype', 'no', 'not', 'stream', 'text']);
  });

  it('by example: each kind, and the reason for what is ignored', () => {
    const base = { msgid: 'm', from: { userid: 'u' }, chatid: 'G', chattype: 'group' };
    expect(parseInbound({ ...base, msgtype: 'text', text: { content: 'hi' } })).toEqual({ kind: 'text', msgid: 'm', text: 'hi', userid: 'u', chatid: 'G', chattype: 'group' });
    expect(parseInbound({ msgid: 'm', from: { userid: 'u' }, chatid: 5, msgtype: 'stream', stream: { id: 's' } })).toEqual({ kind: 'stream', msgid: 'm', streamId: 's', userid: 'u', chattype: 'single' });
    expect(parseInbound({ ...base, msgtype: 'event', event: { eventtype: 'template_card_event', template_card_event: { eventkey: 'k', taskid: 't' } } }))
      .toEqual({ kind: 'card', msgid: 'm', eventKey: 'k', taskId: 't', cardType: '', userid: 'u', chatid: 'G', chattype: 'group' });
    expect(parseInbound([])).toEqual({ kind: 'ignore', reason: 'not an object' });
    expect(parseInbound({ ...base, from: { userid: '' } })).toEqual({ kind: 'ignore', reason: 'no msgid or from.userid' });
    expect(parseInbound({ ...base, msgtype: 'text', text: { content: 7 } })).toEqual({ kind: 'ignore', reason: 'empty text' });
    expect(parseInbound({ ...base, msgtype: 'event', event: { eventtype: 'enter_chat' } })).toEqual({ kind: 'ignore', reason: 'event enter_chat' });
    expect(parseInbound({ ...base, msgtype: 'voice' })).toEqual({ kind: 'ignore', reason: 'msgtype voice' });
  });
});

describe('Feishu eventType, parseMessage and parseClick by schema read every envelope as before', () => {
  it(`on ${N} generated events, schema 2.0 envelopes and the SDK's flattened shape`, () => {
    const { next, pick, field, wire } = generator(11, 0.85);
    const seen = new Set<string>();
    const content = () => pick([
      JSON.stringify({ text: '@_user_1 /quality 123' }), JSON.stringify({ text: 5 }), '{nope', JSON.stringify([1]), 'null',
      JSON.stringify({ title: 't', content: [[{ tag: 'text', text: '/quality' }, { tag: 'at', user_id: 'x' }, { tag: 'a', text: 7 }], 'x', [{ tag: 'img' }]] }),
      JSON.stringify({ zh_cn: { title: 't', content: [[{ tag: 'text', text: 'hi' }]] } }),
      5, { text: 'object' },
    ]);
    for (let i = 0; i < N; i++) {
      const event = field({
        sender: field({ sender_id: field({ open_id: field('ou_1') }), sender_type: field(pick(['user', 'app'])) }),
        message: field({
          message_id: field('om_1'), chat_id: field('oc_1'), chat_type: field(pick(['p2p', 'group', 'topic'])),
          message_type: field(pick(['text', 'post', 'image'])), content: field(content()),
          create_time: field(pick(['1609073151345', 1609073151345, '0', '-5', 'abc'])),
          mentions: field([field({ id: field({ open_id: field('ou_bot') }) }), field({ key: '@_user_2' })]),
        }),
        context: field({ open_chat_id: field('oc_1'), open_message_id: field('om_2') }),
        operator: field({ open_id: field('ou_2') }),
        action: field({ value: field({ action: field(pick(['mc2|mc_AAAAAAAAAAAAAAAA|0|a|p', 'mc2|mc_AAAAAAAAAAAAAAAA|2|p|r', 42, 'nope'])) }) }),
        type: field('im.message.receive_v1'),
      });
      const header = field({ event_type: field(pick(['im.message.receive_v1', 'card.action.trigger'])), token: 't' });
      const env = wire(next() < 0.5 ? { schema: '2.0', header, event } : { ...(typeof event === 'object' && event ? event : {}), event_type: field('card.action.trigger') }) as Record<string, unknown>;
      expect(eventType(env)).toEqual(eventTypeBefore(env));
      expect(parseMessage(env)).toEqual(parseMessageBefore(env));
      expect(parseClick(env)).toEqual(parseClickBefore(env));
      const m = parseMessage(env);
      const c = parseClick(env);
      if (m) seen.add(`message ${m.chatType}${m.text.includes('/quality') ? ' command' : ''}${m.createdAt ? ' timed' : ''}${m.mentionedOpenIds.length ? ' mentions' : ''}`);
      if (c) seen.add(`click${c.value ? ' action' : ''}${c.messageId ? ' message' : ''}`);
    }
    for (const outcome of ['message p2p command timed mentions', 'message group command timed mentions', 'message group', 'click action message', 'click']) {
      expect(seen).toContain(outcome);
    }
  });
});

describe('Tencent Meeting event envelope', () => {
  it(`reads ${N / 4} generated meeting.end payloads (DOC 51619 shapes and broken ones) as the hand-written parser did`, () => {
    const { pick, field, wire } = generator(13, 0.85);
    const log = createLogger('silent');
    let reports = 0;
    for (let i = 0; i < N / 4; i++) {
      const item = () => field({
        operate_time: field(pick([1795320000123, '1795320000', '2020-12-29 17:41:04'])),
        meeting_info: field({
          meeting_id: field(pick(['6058890385480921052', '60588903854809210521234567890123456', 'abc'])), meeting_code: field(pick(['530812452', '12', 530812452])),
          sub_meeting_id: field(pick(['1795316400', 1795316400, 'bad id!'])), current_sub_meeting_id: field('c-1'),
          start_time: field(pick([1795316400, '2020-12-29 17:41:04', 0])), end_time: field(1795320000),
        }),
      });
      const payload = wire(field([item(), item(), item()]));
      const got = endedMeetings(payload, 'tr', log);
      expect(got).toEqual(endedMeetingsBefore(payload, 'tr'));
      reports += got.length;
    }
    expect(reports).toBeGreaterThan(N / 10);
  });

  it('reads the name and trace id; anything else reads as an event without a name', () => {
    expect(parseTencentEvent({ event: 'meeting.end', trace_id: 'tr', payload: [{ a: 1 }] })).toEqual({ event: 'meeting.end', trace_id: 'tr', payload: [{ a: 1 }] });
    expect(parseTencentEvent({ event: 5, trace_id: 6 })).toEqual({ event: '' });
    expect(parseTencentEvent(null)).toEqual({ event: '' });
    expect(parseTencentEvent([1])).toEqual({ event: '' });
  });
});

describe('console request bodies', () => {
  const status = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof HttpError ? `${e.status} ${e.message}` : 'other error';
    }
    return 'ok';
  };
  it('each missing or wrong field gets its own 400, checked in order', () => {
    expect(parseCommandRequest({ text: '/quality 1', extra: 1 })).toEqual({ text: '/quality 1' });
    expect(status(() => parseCommandRequest({}))).toBe('400 text must be a string');
    expect(status(() => parseCommandRequest({ text: 5 }))).toBe('400 text must be a string');
    const ok = { action: 'mc1|r|0|a|p', surface: 'wecom', taskId: 'mc_ab-C@1' };
    expect(parseActionRequest(ok)).toEqual(ok);
    expect(status(() => parseActionRequest({ surface: 'x' }))).toBe('400 action must be a string');
    expect(status(() => parseActionRequest({ ...ok, surface: 'slack' }))).toBe('400 surface must be "feishu" or "wecom"');
    expect(status(() => parseActionRequest({ action: 'a', surface: 'feishu' }))).toBe('400 taskId must be a WeCom task_id ([0-9A-Za-z_-@], at most 128)');
    expect(status(() => parseActionRequest({ ...ok, taskId: 'a b' }))).toBe('400 taskId must be a WeCom task_id ([0-9A-Za-z_-@], at most 128)');
    expect(status(() => parseActionRequest({ ...ok, taskId: 'a'.repeat(129) }))).toBe('400 taskId must be a WeCom task_id ([0-9A-Za-z_-@], at most 128)');
  });
});
