import type { From, Inbound } from '../../src/channels/wecom/inbound.js';
import type { ClickEvent, MessageEvent } from '../../src/channels/feishu/events.js';
import { eventTime } from '../../src/channels/tencent/event.js';
import type { EndedMeeting } from '../../src/channels/tencent/reports.js';

const MAX_TEXT = 4000;

export function parseInboundBefore(raw: unknown): Inbound {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { kind: 'ignore', reason: 'not an object' };
  const o = raw as Record<string, unknown>;
  const msgid = wstr(o.msgid);
  const from = wobj(o.from);
  const userid = wstr(from?.userid);
  const chatid = wstr(o.chatid);
  const chattype = o.chattype === 'group' || (o.chattype === undefined && chatid) ? 'group' : 'single';
  if (!msgid || !userid) return { kind: 'ignore', reason: 'no msgid or from.userid' };
  const base: From = { userid, chattype, ...(chatid ? { chatid } : {}) };
  switch (o.msgtype) {
    case 'text': {
      const content = wstr(wobj(o.text)?.content);
      return content === undefined ? { kind: 'ignore', reason: 'empty text' } : { kind: 'text', msgid, text: content.slice(0, MAX_TEXT), ...base };
    }
    case 'mixed': {
      // Text + image: the text parts carry the command (100719 "mixed").
      const items = wobj(o.mixed)?.msg_item;
      const texts = Array.isArray(items) ? items.map((i) => (wobj(i)?.msgtype === 'text' ? wstr(wobj(wobj(i)?.text)?.content) : undefined)).filter((s): s is string => s !== undefined) : [];
      return texts.length ? { kind: 'text', msgid, text: texts.join(' ').slice(0, MAX_TEXT), ...base } : { kind: 'ignore', reason: 'mixed without text' };
    }
    case 'stream': {
      const id = wstr(wobj(o.stream)?.id);
      return id ? { kind: 'stream', msgid, streamId: id, ...base } : { kind: 'ignore', reason: 'stream without id' };
    }
    case 'event': {
      const event = wobj(o.event);
      if (event?.eventtype !== 'template_card_event') return { kind: 'ignore', reason: `event ${String(event?.eventtype ?? '?').slice(0, 40)}` };
      const e = wobj(event.template_card_event);
      // The examples use underscores, the field tables `eventkey`/`cardtype` (§1.1): accept both.
      const eventKey = wstr(e?.event_key) ?? wstr(e?.eventkey);
      const taskId = wstr(e?.task_id) ?? wstr(e?.taskid);
      const cardType = wstr(e?.card_type) ?? wstr(e?.cardtype) ?? '';
      if (!eventKey || !taskId) return { kind: 'ignore', reason: 'card event without key or task_id' };
      return { kind: 'card', msgid, eventKey, taskId, cardType, ...base };
    }
    default:
      return { kind: 'ignore', reason: `msgtype ${String(o.msgtype).slice(0, 40)}` };
  }
}

function wobj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function wstr(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

type Envelope = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function eventTypeBefore(env: Envelope): string | undefined {
  return str(obj(env.header).event_type) ?? str(env.event_type) ?? str(obj(env.event).type);
}

function body(env: Envelope): Record<string, unknown> {
  return env.event && typeof env.event === 'object' ? obj(env.event) : env;
}

/** Text of a post (rich text): `{title, content:[[{tag:'text',text}]]}`, maybe under a locale key. */
function postText(content: Record<string, unknown>): string {
  const direct = Array.isArray(content.content) ? content : Object.values(content).map(obj).find((v) => Array.isArray(v.content));
  if (!direct) return '';
  const parts: string[] = [];
  for (const line of direct.content as unknown[]) {
    if (!Array.isArray(line)) continue;
    parts.push(line.map((node) => {
      const n = obj(node);
      return n.tag === 'text' || n.tag === 'a' ? String(n.text ?? '') : ' ';
    }).join(''));
  }
  return parts.join(' ').trim();
}

/** `im.message.receive_v1` (§3.1); undefined for what the bot does not read (images, files, …). */
export function parseMessageBefore(env: Envelope): MessageEvent | undefined {
  const ev = body(env);
  const message = obj(ev.message);
  const sender = obj(ev.sender);
  const messageId = str(message.message_id);
  const chatId = str(message.chat_id);
  const chatType = message.chat_type === 'p2p' ? 'p2p' : message.chat_type === 'group' ? 'group' : undefined;
  if (!messageId || !chatId || !chatType) return undefined;
  if (sender.sender_type !== undefined && sender.sender_type !== 'user') return undefined;
  let content: Record<string, unknown> = {};
  try {
    content = obj(JSON.parse(String(message.content ?? '{}')));
  } catch {
    return undefined;
  }
  const text = message.message_type === 'text' ? String(content.text ?? '') : message.message_type === 'post' ? postText(content) : undefined;
  if (text === undefined) return undefined;
  const mentions = Array.isArray(message.mentions) ? message.mentions.map(obj) : [];
  const created = Number(message.create_time);
  return {
    messageId, chatId, chatType, text,
    userId: str(obj(sender.sender_id).open_id) ?? '',
    ...(Number.isFinite(created) && created > 0 ? { createdAt: created } : {}),
    mentionedOpenIds: mentions.map((m) => str(obj(m.id).open_id)).filter((id): id is string => id !== undefined),
  };
}

/** `card.action.trigger` (§4.3): our button value is `{action: encodeAction(...)}`. */
export function parseClickBefore(env: Envelope): ClickEvent | undefined {
  const ev = body(env);
  const context = obj(ev.context);
  const chatId = str(context.open_chat_id);
  if (!chatId) return undefined;
  const value = str(obj(obj(ev.action).value).action);
  const messageId = str(context.open_message_id);
  return {
    chatId,
    userId: str(obj(ev.operator).open_id) ?? '',
    ...(value ? { value } : {}),
    ...(messageId ? { messageId } : {}),
  };
}

// src/channels/tencent/event.ts endedMeetings (without its shape log)
export function endedMeetingsBefore(payload: unknown, traceId: string | undefined): EndedMeeting[] {
  const out: EndedMeeting[] = [];
  for (const item of Array.isArray(payload) ? payload : []) {
    const entry = (typeof item === 'object' && item !== null ? item : {}) as { meeting_info?: unknown; operate_time?: unknown };
    const info = entry.meeting_info as Record<string, unknown> | undefined;
    if (!info || typeof info !== 'object') continue;
    const id = typeof info.meeting_id === 'string' ? info.meeting_id : undefined;
    if (!id || !/^\d{1,32}$/.test(id)) continue;
    const m: EndedMeeting = { meetingId: id };
    if (typeof info.meeting_code === 'string' && /^\d{6,12}$/.test(info.meeting_code)) m.code = info.meeting_code;
    const sub = info.sub_meeting_id ?? info.current_sub_meeting_id;
    if ((typeof sub === 'string' || typeof sub === 'number') && /^[\w-]{1,64}$/.test(String(sub))) m.subMeetingId = String(sub);
    const start = eventTime(info.start_time);
    const end = eventTime(info.end_time);
    const at = eventTime(entry.operate_time);
    if (start) m.startTime = start.s;
    if (end) m.endTime = end.s;
    if (at) m.endedAt = at.s;
    if (traceId) m.traceId = traceId;

    out.push(m);
  }
  return out;
}
