import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Dispatcher } from 'undici';
import { type Config } from '../../config.js';
import type { CoreDeps } from '../../core/quality.js';
import { HttpError, parseJsonObject, readRawBody } from '../../http/body.js';
import type { Channel } from '../types.js';
import { WebhookCryptoError, aesKeyOf, decodeCheckStr, decodeEvent, verifySignature } from './crypto.js';
import { createPoster, type ReportPoster } from './post.js';
import { DEDUPE_TTL_MS, dedupeKey, reportContext, reportWhenReady, } from './reports.js';
import { endedMeetings } from './event.js';

/**
 * `GET|POST /tencent/webhook`: the Tencent Meeting event subscription (cloud.tencent.com/document/
 * product/1095/51605, 51608, 51612, 54658). GET is the URL check (and heartbeat): verify, decrypt
 * check_str, echo it within 3 s. POST is an event: verify, decrypt, answer 200 at once, and on
 * meeting.end post the report into the configured chat from the background. It never imports a
 * vendor: the report runs through core.
 */
const WEBHOOK_BODY_LIMIT = 256 * 1024;
/**
 * Signed timestamps older or newer than this are refused as replays (the window Slack's Bolt uses,
 * github.com/slackapi/bolt-js src/receivers/verify-request.ts).
 */
const TIMESTAMP_WINDOW_MS = 5 * 60_000;
/** What third-party handlers answer (the exact body Tencent wants is UNCONFIRMED; HTTP 200 within 3 s is DOC 51608's part). */
const ACK = 'successfully received callback';

export interface TencentWebhookDeps {
  config: Config;
  core: CoreDeps;
  dispatcher?: Dispatcher;
}

const DEFAULT_WECOM_BASE = 'https://qyapi.weixin.qq.com';

export function createTencentWebhookChannel(deps: TencentWebhookDeps): Channel {
  const hook = deps.config.tencentWebhook;
  if (!hook) throw new Error('tencent webhook channel without config');
  // config.ts has checked the key's form and that a Feishu report chat has Feishu credentials.
  const key = aesKeyOf(hook.aesKey);
  const { core } = deps;
  const log = core.log.child({ channel: 'tencent-webhook' });
  let poster: ReportPoster | undefined;
  let feishuChatId: string | undefined;
  if (hook.reportChat) {
    if (hook.reportChat.kind === 'feishu') {
      feishuChatId = hook.reportChat.chatId;
    }
    poster = createPoster({
      chat: hook.reportChat, wecomBaseUrl: deps.config.wecomMeeting?.baseUrl ?? DEFAULT_WECOM_BASE,
      clock: core.clock, log, metrics: core.metrics,
      ...(deps.config.feishu ? { feishu: deps.config.feishu } : {}),
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    });
  }
  const stopping = new AbortController();

  function verified(ctx: Context, data: string): void {
    const timestamp = ctx.get('timestamp');
    const nonce = ctx.get('nonce');
    const signature = ctx.get('signature');
    if (!timestamp || !nonce || !signature) throw new HttpError(400, 'missing timestamp, nonce or signature');
    if (!verifySignature(hook!.token, timestamp, nonce, data, signature)) throw new HttpError(401, 'bad signature');
    // The doc's example timestamp is in milliseconds (1609239040864); accept seconds too.
    const ts = Number(timestamp);
    const ms = ts > 1e12 ? ts : ts * 1000;
    if (!/^\d{1,13}$/.test(timestamp) || Math.abs(core.clock.now() - ms) > TIMESTAMP_WINDOW_MS) throw new HttpError(401, 'stale timestamp');
  }

  /** Resolves once the event is handed off (deduplicated, its report queued); throws if it could not be. */
  async function onEvent(json: string): Promise<void> {
    let event: unknown;
    try {
      event = JSON.parse(json);
    } catch {
      throw new HttpError(400, 'event is not JSON');
    }
    const e = (typeof event === 'object' && event !== null ? event : {}) as { event?: unknown; trace_id?: unknown; payload?: unknown };
    const name = typeof e.event === 'string' ? e.event : '';
    log.info({ event: name, trace: typeof e.trace_id === 'string' ? e.trace_id : undefined }, 'tencent meeting event');
    if (name !== 'meeting.end') return;
    const meetings = endedMeetings(e.payload, typeof e.trace_id === 'string' ? e.trace_id : undefined, log);
    if (!poster) {
      log.info({ meetings: meetings.length }, 'meeting.end ignored: TENCENT_MEETING_REPORT_CHAT is not set');
      return;
    }
    const p = poster;
    for (const m of meetings) {
      if (!(await core.store.setIfAbsent(dedupeKey(m), '1', DEDUPE_TTL_MS))) {
        log.info({ meetingId: m.meetingId }, 'meeting.end already handled');
        continue;
      }
      void core.tasks.run('tencent meeting report', async () => {
        try {
          await reportWhenReady({ core, poster: p, pageSize: deps.config.pageSize.feishu, signal: stopping.signal }, reportContext(p, feishuChatId), m);
        } catch (err) {
          // A report we gave up on (or a shutdown) may be tried again if Tencent sends the event again.
          await core.store.delete(dedupeKey(m)).catch(() => undefined);
          if (stopping.signal.aborted) log.info({ meetingId: m.meetingId }, 'meeting report abandoned at shutdown');
          else throw err;
        }
      });
    }
  }

  return {
    name: 'tencent-webhook',
    mount(router: Router) {
      router.get('/tencent/webhook', (ctx) => {
        const checkStr = rawQueryParam(ctx.querystring, 'check_str');
        if (!checkStr) throw new HttpError(400, 'missing check_str');
        verified(ctx, checkStr);
        try {
          const { text, encoding } = decodeCheckStr(key, checkStr);
          log.debug({ encoding }, 'tencent webhook URL check');
          ctx.type = 'text/plain';
          ctx.body = text;
        } catch (err) {
          if (err instanceof WebhookCryptoError) throw new HttpError(400, 'check_str does not decrypt');
          throw err;
        }
      });
      router.post('/tencent/webhook', async (ctx) => {
        const body = parseJsonObject(await readRawBody(ctx, WEBHOOK_BODY_LIMIT));
        if (typeof body.data !== 'string' || body.data === '') throw new HttpError(400, 'missing data');
        verified(ctx, body.data);
        // A signed request already handed off is a replay. The key is set only once the event has
        // been handed off, so a delivery that failed half-way is processed when it comes again
        // (whether Tencent re-sends the same signed request or re-signs is UNCONFIRMED, DOC 51612).
        const replayKey = `tencent:webhook:sig:${ctx.get('signature').toLowerCase()}`;
        if ((await core.store.get(replayKey)) !== undefined) throw new HttpError(409, 'replayed request');
        let json: string;
        try {
          const decoded = decodeEvent(key, body.data);
          if (decoded.encoding === 'plain') log.info('tencent webhook event arrived unencrypted (no EncodingAESKey set in the Tencent console?)');
          json = decoded.json;
        } catch (err) {
          if (err instanceof WebhookCryptoError) throw new HttpError(400, 'data does not decrypt');
          throw err;
        }
        await onEvent(json);
        await core.store.set(replayKey, '1', 2 * TIMESTAMP_WINDOW_MS);
        ctx.type = 'text/plain';
        ctx.body = ACK;
      });
    },
    async stop() {
      stopping.abort(new Error('stopping'));
    },
  };
}

/**
 * check_str is URL-encoded base64 (DOC 51608: "需要进行 Urldecode 处理"). Decoded by hand so a
 * literal "+" stays "+" (form decoding would turn it into a space and break the signature).
 */
function rawQueryParam(querystring: string, name: string): string | undefined {
  for (const part of querystring.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq) !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1));
    } catch {
      throw new HttpError(400, `bad ${name}`);
    }
  }
  return undefined;
}
