import { maybe, nonEmpty, parsed, v } from '../../edge/schema.js';

/**
 * The 智能机器人 callback JSON (developer.work.weixin.qq.com/document/path/100719, 101027), parsed
 * once by schema into typed values. Anything we do not act on becomes `{ kind: 'ignore' }`
 * (answered with an empty reply), never an exception.
 */

export interface From {
  userid: string;
  /** Group chat id, or undefined in a 1:1 chat (chatid "is present only in groups"). */
  chatid?: string;
  chattype: 'group' | 'single';
}

export type Inbound =
  | ({ kind: 'text'; msgid: string; text: string } & From)
  | ({ kind: 'stream'; msgid: string; streamId: string } & From)
  | ({ kind: 'card'; msgid: string; eventKey: string; taskId: string; cardType: string } & From)
  | { kind: 'ignore'; reason: string };

/** Longer than any command; a text beyond it is refused by the grammar anyway. */
const MAX_TEXT = 4000;

/** What every callback carries; the optional parts are read leniently (a wrong type counts as absent). */
const Base = v.object({
  msgid: nonEmpty,
  from: v.object({ userid: nonEmpty }),
  chatid: maybe(nonEmpty),
  chattype: v.optional(v.unknown()),
  msgtype: v.optional(v.unknown()),
});
const Text = v.object({ text: v.object({ content: nonEmpty }) });
/** Text + image: the text parts carry the command (100719 "mixed"). */
const Mixed = v.object({ mixed: v.object({ msg_item: v.array(v.unknown()) }) });
const MixedText = v.object({ msgtype: v.literal('text'), text: v.object({ content: nonEmpty }) });
const Stream = v.object({ stream: v.object({ id: nonEmpty }) });
const EventType = v.object({ event: v.object({ eventtype: v.optional(v.unknown()) }) });
/** The examples use underscores, the field tables `eventkey`/`cardtype` (101027): both are read. */
const CardEvent = v.object({
  event: v.object({
    template_card_event: v.object({
      event_key: maybe(nonEmpty), eventkey: maybe(nonEmpty),
      task_id: maybe(nonEmpty), taskid: maybe(nonEmpty),
      card_type: maybe(nonEmpty), cardtype: maybe(nonEmpty),
    }),
  }),
});

const label = (x: unknown, max = 40) => String(x ?? '?').slice(0, max);

export function parseInbound(raw: unknown): Inbound {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { kind: 'ignore', reason: 'not an object' };
  const base = parsed(Base, raw);
  if (!base) return { kind: 'ignore', reason: 'no msgid or from.userid' };
  const { msgid, chatid } = base;
  const chattype = base.chattype === 'group' || (base.chattype === undefined && chatid) ? 'group' : 'single';
  const from: From = { userid: base.from.userid, chattype, ...(chatid ? { chatid } : {}) };
  switch (base.msgtype) {
    case 'text': {
      const t = parsed(Text, raw);
      return t ? { kind: 'text', msgid, text: t.text.content.slice(0, MAX_TEXT), ...from } : { kind: 'ignore', reason: 'empty text' };
    }
    case 'mixed': {
      const items = parsed(Mixed, raw)?.mixed.msg_item ?? [];
      const texts = items.map((i) => parsed(MixedText, i)?.text.content).filter((s): s is string => s !== undefined);
      return texts.length ? { kind: 'text', msgid, text: texts.join(' ').slice(0, MAX_TEXT), ...from } : { kind: 'ignore', reason: 'mixed without text' };
    }
    case 'stream': {
      const s = parsed(Stream, raw);
      return s ? { kind: 'stream', msgid, streamId: s.stream.id, ...from } : { kind: 'ignore', reason: 'stream without id' };
    }
    case 'event': {
      const type = parsed(EventType, raw)?.event.eventtype;
      if (type !== 'template_card_event') return { kind: 'ignore', reason: `event ${label(type)}` };
      const e = parsed(CardEvent, raw)?.event.template_card_event;
      const eventKey = e?.event_key ?? e?.eventkey;
      const taskId = e?.task_id ?? e?.taskid;
      if (!eventKey || !taskId) return { kind: 'ignore', reason: 'card event without key or task_id' };
      return { kind: 'card', msgid, eventKey, taskId, cardType: e?.card_type ?? e?.cardtype ?? '', ...from };
    }
    default:
      return { kind: 'ignore', reason: `msgtype ${String(base.msgtype).slice(0, 40)}` };
  }
}
