/**
 * The 智能机器人 callback JSON (wecom-bot-and-meeting-api.md §1.1, docs 100719/101027), parsed once
 * into typed values. Anything we do not act on becomes `{ kind: 'ignore' }` (answered with an
 * empty reply), never an exception.
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

export function parseInbound(raw: unknown): Inbound {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { kind: 'ignore', reason: 'not an object' };
  const o = raw as Record<string, unknown>;
  const msgid = str(o.msgid);
  const from = obj(o.from);
  const userid = str(from?.userid);
  const chatid = str(o.chatid);
  const chattype = o.chattype === 'group' || (o.chattype === undefined && chatid) ? 'group' : 'single';
  if (!msgid || !userid) return { kind: 'ignore', reason: 'no msgid or from.userid' };
  const base: From = { userid, chattype, ...(chatid ? { chatid } : {}) };
  switch (o.msgtype) {
    case 'text': {
      const content = str(obj(o.text)?.content);
      return content === undefined ? { kind: 'ignore', reason: 'empty text' } : { kind: 'text', msgid, text: content.slice(0, MAX_TEXT), ...base };
    }
    case 'mixed': {
      // Text + image: the text parts carry the command (100719 "mixed").
      const items = obj(o.mixed)?.msg_item;
      const texts = Array.isArray(items) ? items.map((i) => (obj(i)?.msgtype === 'text' ? str(obj(obj(i)?.text)?.content) : undefined)).filter((s): s is string => s !== undefined) : [];
      return texts.length ? { kind: 'text', msgid, text: texts.join(' ').slice(0, MAX_TEXT), ...base } : { kind: 'ignore', reason: 'mixed without text' };
    }
    case 'stream': {
      const id = str(obj(o.stream)?.id);
      return id ? { kind: 'stream', msgid, streamId: id, ...base } : { kind: 'ignore', reason: 'stream without id' };
    }
    case 'event': {
      const event = obj(o.event);
      if (event?.eventtype !== 'template_card_event') return { kind: 'ignore', reason: `event ${String(event?.eventtype ?? '?').slice(0, 40)}` };
      const e = obj(event.template_card_event);
      // The examples use underscores, the field tables `eventkey`/`cardtype` (§1.1): accept both.
      const eventKey = str(e?.event_key) ?? str(e?.eventkey);
      const taskId = str(e?.task_id) ?? str(e?.taskid);
      const cardType = str(e?.card_type) ?? str(e?.cardtype) ?? '';
      if (!eventKey || !taskId) return { kind: 'ignore', reason: 'card event without key or task_id' };
      return { kind: 'card', msgid, eventKey, taskId, cardType, ...base };
    }
    default:
      return { kind: 'ignore', reason: `msgtype ${String(o.msgtype).slice(0, 40)}` };
  }
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
