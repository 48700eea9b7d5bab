import type { Envelope } from './verify.js';

/**
 * Feishu callbacks parsed once, at the edge, into typed values. Both shapes are accepted: the
 * webhook's schema 2.0 envelope `{schema, header, event}` (feishu-bot-and-vc-api.md §2.2) and the
 * SDK dispatcher's flattened `{...header, ...event}` that long-connection handlers receive (§1.8).
 */

export interface MessageEvent {
  messageId: string;
  chatId: string;
  chatType: 'p2p' | 'group';
  userId: string;
  /** Epoch ms the message was sent. */
  createdAt?: number;
  /** The command text: text messages, or the text runs of a rich-text (post) message. */
  text: string;
  mentionedOpenIds: string[];
}

export interface ClickEvent {
  /** The button's value as sent (an encodeAction string, untrusted until decoded). */
  value?: string;
  chatId: string;
  messageId?: string;
  userId: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function eventType(env: Envelope): string | undefined {
  return str(obj(env.header).event_type) ?? str(env.event_type) ?? str(obj(env.event).type);
}

function body(env: Envelope): Record<string, unknown> {
  return env.event && typeof env.event === 'object' ? obj(env.event) : env;
}

/** Text of a post (rich text): `{title, content:[[{tag:'text',text}]]}`, maybe under a locale key. */
export function postText(content: Record<string, unknown>): string {
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
export function parseMessage(env: Envelope): MessageEvent | undefined {
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

/** `card.action.trigger`: our button value is `{action: encodeAction(...)}`, decoded by the conversation. */
export function parseClick(env: Envelope): ClickEvent | undefined {
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
