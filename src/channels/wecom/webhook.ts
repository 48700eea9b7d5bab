import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Clock } from '../../core/clock.js';
import { MsgCryptError, type WecomCrypto } from '../../edge/msgcrypt.js';
import { jsonOf, nonEmpty, parsedBody, parsedOr4xx, v } from '../../edge/schema.js';
import { checkWindow, SIGNATURE_WINDOW_MS } from '../../edge/verify.js';
import { HttpError, readRawBody } from '../../http/body.js';
import type { Logger } from '../../log.js';
import type { Bot } from './bot.js';
import { parseInbound } from './inbound.js';

/**
 * `GET|POST /wecom/bot`: the 智能机器人 URL-callback mode (docs 100719, 101031, 101033).
 * Nothing is processed before the signature is checked (constant time) and the body decrypted;
 * a forged or broken request gets a 4xx. Once verified, the answer is always 200 (an encrypted
 * reply or empty), so WeCom has nothing to retry.
 */

export interface WebhookDeps {
  crypto: WecomCrypto;
  bot: Bot;
  clock: Clock;
  log: Logger;
}

/** Callbacks are a few KB; anything bigger is not from WeCom. */
const BODY_LIMIT = 64 * 1024;
/**
 * WeCom signs the callback's timestamp (seconds); refusing ones far from our clock stops a captured
 * request being replayed later (the msgid dedupe only lasts minutes).
 */
export const TIMESTAMP_WINDOW_S = SIGNATURE_WINDOW_MS / 1000;

/** The signed query of every callback (101033): msg_signature is a sha1 hex, timestamp in seconds. */
const SignedQuery = v.object({ msg_signature: nonEmpty, timestamp: nonEmpty, nonce: nonEmpty });
const WellFormed = v.object({
  msg_signature: v.pipe(v.string(), v.regex(/^[0-9a-fA-F]{40}$/)),
  timestamp: v.pipe(v.string(), v.regex(/^\d{1,12}$/)),
  nonce: v.pipe(v.string(), v.maxLength(64)),
});
/** The URL check's echostr (URL-decoded by Koa): base64 of at most a few hundred bytes. */
const EchoStr = v.pipe(v.string(), v.nonEmpty(), v.maxLength(4096));
const PostBody = v.object({ encrypt: nonEmpty });

interface Signed {
  signature: string;
  timestamp: string;
  nonce: string;
}

function signedParams(ctx: Context, clock: Clock): Signed {
  const q = parsedOr4xx(SignedQuery, ctx.query, 400, 'msg_signature, timestamp and nonce are required');
  parsedOr4xx(WellFormed, q, 400, 'malformed signature parameters');
  if (checkWindow(q.timestamp, 's', clock.now()) !== 'ok') throw new HttpError(401, 'timestamp outside the allowed window');
  return { signature: q.msg_signature, timestamp: q.timestamp, nonce: q.nonce };
}

/** Distinct unexpected receiveids already logged; bounded so a flood of them cannot grow memory. */
const MAX_NOTED_RECEIVE_IDS = 32;

export function mountWebhook(router: Router, deps: WebhookDeps, path = '/wecom/bot'): void {
  const noted = new Set<string>();

  /** Called only after the signature verified, so the receiveid cannot be a forger's. */
  function decryptOr4xx(encrypt: string): string {
    let opened: { message: string; receiveId: string };
    try {
      opened = deps.crypto.open(encrypt);
    } catch (err) {
      if (err instanceof MsgCryptError) throw new HttpError(400, `cannot decrypt (${err.reason})`);
      throw err;
    }
    // 101033: the bot's receiveid is "". Another one is accepted (the signature already proved the
    // callback genuine) and logged once per value, so a change on WeCom's side shows up.
    const rid = opened.receiveId;
    if (rid !== '' && !noted.has(rid) && noted.size < MAX_NOTED_RECEIVE_IDS) {
      noted.add(rid);
      deps.log.info({ receiveId: rid.slice(0, 64) }, 'wecom callback carries a receiveid (101033 says it is empty for a bot); accepted');
    }
    return opened.message;
  }
  router.get(path, (ctx) => {
    const s = signedParams(ctx, deps.clock);
    // Koa's query parser percent-decodes and turns a raw "+" into a space; base64 has no spaces,
    // so put them back (101033 asks for the params to be URL-decoded first; "+" then reads as a space).
    const echostr = parsedOr4xx(EchoStr, ctx.query.echostr, 400, 'echostr is required').replace(/ /g, '+');
    if (!deps.crypto.verify(s.signature, s.timestamp, s.nonce, echostr)) throw new HttpError(401, 'signature mismatch');
    const plain = decryptOr4xx(echostr);
    // "The response must be raw: no quotes, BOM or newline, and not JSON" (101033).
    ctx.type = 'text/plain';
    ctx.body = plain;
  });

  router.post(path, async (ctx) => {
    const s = signedParams(ctx, deps.clock);
    const { encrypt } = parsedBody(await readRawBody(ctx, BODY_LIMIT), PostBody, 400, 'encrypt is required');
    if (!deps.crypto.verify(s.signature, s.timestamp, s.nonce, encrypt)) throw new HttpError(401, 'signature mismatch');
    const inbound = jsonOf(decryptOr4xx(encrypt));
    if (!inbound) throw new HttpError(400, 'decrypted body is not JSON');
    let reply: Record<string, unknown> | undefined;
    try {
      reply = await deps.bot.handle(parseInbound(inbound.value));
    } catch (err) {
      // Verified and accepted: WeCom must not retry into the same failure.
      deps.log.error({ err }, 'wecom callback failed');
      reply = undefined;
    }
    ctx.status = 200;
    if (!reply) {
      ctx.body = '';
      return;
    }
    const encrypted = deps.crypto.encrypt(JSON.stringify(reply));
    // The reply's nonce must be the callback's own (101033); the official plugin echoes the
    // timestamp as a string and answers text/plain.
    ctx.type = 'text/plain';
    ctx.body = JSON.stringify({ encrypt: encrypted, msgsignature: deps.crypto.signature(s.timestamp, s.nonce, encrypted), timestamp: s.timestamp, nonce: s.nonce });
  });
}
