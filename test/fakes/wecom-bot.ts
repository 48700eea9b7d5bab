import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';

/**
 * A WeCom 智能机器人 simulator: it calls our `/wecom/bot` the way WeCom does (URL-callback mode,
 * developer.work.weixin.qq.com/document/path/100719 and 101033) and checks our encrypted replies
 * the way WeCom would.
 * Its crypto is written here from the doc, independently of src/, so a mistake there shows up.
 */

export interface SimOptions {
  url: string;
  token: string;
  encodingAesKey: string;
  /** Seconds for the signed timestamp (defaults to the wall clock). */
  now?: () => number;
  aibotid?: string;
  /** The receiveid WeCom appends to each encrypted callback ("" for a bot per doc 101033). */
  receiveId?: string;
}

export interface SimReply {
  status: number;
  /** The decrypted plaintext reply, or undefined for an empty reply. */
  reply?: Record<string, unknown>;
  text: string;
}

export interface Chat {
  chatid?: string;
  userid: string;
}

export function docEncrypt(encodingAesKey: string, message: string, receiveId = '', random = randomBytes(16)): string {
  const key = Buffer.from(encodingAesKey + '=', 'base64');
  const msg = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length, 0);
  const plain = Buffer.concat([random, len, msg, Buffer.from(receiveId)]);
  const n = 32 - (plain.length % 32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(n, n)])), cipher.final()]).toString('base64');
}

export function docDecrypt(encodingAesKey: string, b64: string): { message: string; receiveId: string } {
  const key = Buffer.from(encodingAesKey + '=', 'base64');
  const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([d.update(Buffer.from(b64, 'base64')), d.final()]);
  const body = plain.subarray(0, plain.length - plain[plain.length - 1]!);
  const len = body.readUInt32BE(16);
  return { message: body.subarray(20, 20 + len).toString('utf8'), receiveId: body.subarray(20 + len).toString('utf8') };
}

export function docSignature(...parts: string[]): string {
  return createHash('sha1').update(parts.sort().join('')).digest('hex');
}

export function createBotSimulator(opts: SimOptions) {
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const aibotid = opts.aibotid ?? 'AIBOTID';
  let seq = 0;

  async function post(plaintext: Record<string, unknown> | string, tamper: { signature?: string; timestamp?: string; body?: string } = {}): Promise<SimReply> {
    const timestamp = tamper.timestamp ?? String(now());
    const nonce = String(100000 + Math.floor(Math.random() * 900000));
    const encrypt = docEncrypt(opts.encodingAesKey, typeof plaintext === 'string' ? plaintext : JSON.stringify(plaintext), opts.receiveId ?? '');
    const signature = tamper.signature ?? docSignature(opts.token, timestamp, nonce, encrypt);
    const qs = new URLSearchParams({ msg_signature: signature, timestamp, nonce });
    const res = await request(`${opts.url}/wecom/bot?${qs}`, { method: 'POST', body: tamper.body ?? JSON.stringify({ encrypt }), headers: { 'content-type': 'application/json' } });
    const text = await res.body.text();
    if (res.statusCode !== 200 || text === '') return { status: res.statusCode, text };
    // What WeCom checks: JSON envelope, the callback's own nonce, a valid signature, receiveid "".
    const env = JSON.parse(text) as { encrypt: string; msgsignature: string; timestamp: string | number; nonce: string };
    if (env.nonce !== nonce) throw new Error(`reply nonce ${env.nonce} is not the callback's ${nonce}`);
    if (env.msgsignature !== docSignature(opts.token, String(env.timestamp), env.nonce, env.encrypt)) throw new Error('reply signature does not verify');
    const { message, receiveId } = docDecrypt(opts.encodingAesKey, env.encrypt);
    if (receiveId !== '') throw new Error(`reply receiveid ${receiveId} is not ""`);
    return { status: 200, reply: JSON.parse(message) as Record<string, unknown>, text };
  }

  const base = (chat: Chat, msgid: string) => ({
    msgid, aibotid, create_time: now(),
    ...(chat.chatid ? { chatid: chat.chatid, chattype: 'group' } : { chattype: 'single' }),
    from: { userid: chat.userid },
    response_url: 'https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=fake',
  });

  return {
    post,
    nextMsgId: () => `CAIQ${Date.now().toString(36)}${++seq}`,
    /** A group text, with the "@Bot" prefix WeCom includes (100719). */
    text(chat: Chat, content: string, msgid = `CAIQ${Date.now().toString(36)}${++seq}`) {
      return post({ ...base(chat, msgid), msgtype: 'text', text: { content } });
    },
    refresh(chat: Chat, streamId: string) {
      return post({ ...base(chat, `CAIQr${++seq}`), msgtype: 'stream', stream: { id: streamId } });
    },
    click(chat: Chat, taskId: string, eventKey: string) {
      return post({
        ...base(chat, `CAIQc${++seq}`), msgtype: 'event',
        event: { eventtype: 'template_card_event', template_card_event: { card_type: 'button_interaction', event_key: eventKey, task_id: taskId } },
      });
    },
    /** GET URL verification; returns the status and the raw body. */
    async verify(echoPlain: string, tamper: { signature?: string } = {}) {
      const timestamp = String(now());
      const nonce = '47744683';
      const echostr = docEncrypt(opts.encodingAesKey, echoPlain, opts.receiveId ?? '');
      const qs = new URLSearchParams({ msg_signature: tamper.signature ?? docSignature(opts.token, timestamp, nonce, echostr), timestamp, nonce, echostr });
      const res = await request(`${opts.url}/wecom/bot?${qs}`);
      return { status: res.statusCode, text: await res.body.text(), type: String(res.headers['content-type'] ?? '') };
    },
  };
}

export type BotSimulator = ReturnType<typeof createBotSimulator>;
