import { jsonObject, jsonOf, maybe, nonEmpty, parsed, v } from '../../edge/schema.js';
import type { Envelope } from './verify.js';

/**
 * Feishu callbacks parsed once, at the edge, by schema into typed values. Both shapes are accepted:
 * the webhook's schema 2.0 envelope `{schema, header, event}`
 * (open.feishu.cn/document/server-docs/event-subscription-guide/overview) and the SDK dispatcher's
 * flattened `{...header, ...event}` that long-connection handlers receive (larksuite/node-sdk
 * dispatcher/request-handle.ts). What the bot does not read parses to undefined, never an exception.
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

const EventTypes = v.object({
  header: maybe(v.object({ event_type: maybe(nonEmpty) })),
  event_type: maybe(nonEmpty),
  event: maybe(v.object({ type: maybe(nonEmpty) })),
});

export function eventType(env: Envelope): string | undefined {
  const t = parsed(EventTypes, env);
  return t?.header?.event_type ?? t?.event_type ?? t?.event?.type;
}

/** The event body: `event` of the 2.0 envelope, or the flattened object itself. */
function body(env: Envelope): unknown {
  const ev = env.event;
  return ev && typeof ev === 'object' ? (Array.isArray(ev) ? {} : ev) : env;
}

const PostNode = v.object({ tag: v.optional(v.unknown()), text: v.optional(v.unknown()) });
const PostBody = v.object({ content: v.array(v.unknown()) });

/** Text of a post (rich text): `{title, content:[[{tag:'text',text}]]}`, maybe under a locale key. */
export function postText(content: Record<string, unknown>): string {
  const direct = parsed(PostBody, content) ?? Object.values(content).map((c) => parsed(PostBody, c)).find((c) => c !== undefined);
  if (!direct) return '';
  const parts: string[] = [];
  for (const line of direct.content) {
    if (!Array.isArray(line)) continue;
    parts.push(line.map((node) => {
      const n = parsed(PostNode, node);
      return n?.tag === 'text' || n?.tag === 'a' ? String(n.text ?? '') : ' ';
    }).join(''));
  }
  return parts.join(' ').trim();
}

/** `im.message.receive_v1` (open.feishu.cn/document/server-docs/im-v1/message/events/receive). */
const Message = v.object({
  message: v.object({
    message_id: nonEmpty,
    chat_id: nonEmpty,
    chat_type: v.picklist(['p2p', 'group']),
    message_type: v.optional(v.unknown()),
    /** A JSON string: `{"text": "..."}` or a post; read as text, whatever JSON type it came as. */
    content: v.optional(v.unknown()),
    /** Epoch ms, as a string in the docs; read as a number. */
    create_time: v.optional(v.unknown()),
    mentions: maybe(v.array(v.unknown())),
  }),
  sender: maybe(v.object({
    sender_type: v.optional(v.unknown()),
    sender_id: maybe(v.object({ open_id: maybe(nonEmpty) })),
  })),
});
const Mention = v.object({ id: v.object({ open_id: nonEmpty }) });

/** `im.message.receive_v1`; undefined for what the bot does not read (images, files, …). */
export function parseMessage(env: Envelope): MessageEvent | undefined {
  const ev = parsed(Message, body(env));
  if (!ev) return undefined;
  const { message, sender } = ev;
  if (sender?.sender_type !== undefined && sender.sender_type !== 'user') return undefined;
  const json = jsonOf(String(message.content ?? '{}'));
  if (!json) return undefined;
  const content = parsed(jsonObject, json.value) ?? {};
  const text = message.message_type === 'text' ? String(content.text ?? '')
    : message.message_type === 'post' ? postText(content) : undefined;
  if (text === undefined) return undefined;
  const created = Number(message.create_time);
  return {
    messageId: message.message_id, chatId: message.chat_id, chatType: message.chat_type, text,
    userId: sender?.sender_id?.open_id ?? '',
    ...(Number.isFinite(created) && created > 0 ? { createdAt: created } : {}),
    mentionedOpenIds: (message.mentions ?? []).map((m) => parsed(Mention, m)?.id.open_id).filter((id): id is string => id !== undefined),
  };
}

/** `card.action.trigger` (open.feishu.cn/document/feishu-cards/card-callback-communication): our button value is `{action: encodeAction(...)}`, decoded by the conversation. */
const Click = v.object({
  context: v.object({ open_chat_id: nonEmpty, open_message_id: maybe(nonEmpty) }),
  action: maybe(v.object({ value: maybe(v.object({ action: v.optional(v.unknown()) })) })),
  operator: maybe(v.object({ open_id: maybe(nonEmpty) })),
});

export function parseClick(env: Envelope): ClickEvent | undefined {
  const ev = parsed(Click, body(env));
  if (!ev) return undefined;
  const raw = ev.action?.value?.action;
  const value = typeof raw === 'string' ? raw : undefined;
  const messageId = ev.context.open_message_id;
  return {
    chatId: ev.context.open_chat_id,
    userId: ev.operator?.open_id ?? '',
    ...(value ? { value } : {}),
    ...(messageId ? { messageId } : {}),
  };
}
