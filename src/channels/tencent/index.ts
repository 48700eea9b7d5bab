import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Dispatcher } from 'undici';
import { type Config } from '../../config.js';
import type { CoreDeps } from '../../core/quality.js';
import { aesKeyOf, decodeTencentCheckStr, decodeTencentEvent, MsgCryptError } from '../../edge/msgcrypt.js';
import { jsonOf, parsedBody } from '../../edge/schema.js';
import { SIGNATURE_WINDOW_MS } from '../../edge/verify.js';
import { HttpError, readRawBody } from '../../http/body.js';
import type { Channel } from '../types.js';
import { createPoster, type ReportPoster } from './post.js';
import { DEDUPE_TTL_MS, dedupeKey, reportContext, reportWhenReady, } from './reports.js';
import { endedMeetings } from './event.js';
import { EventBody, parseTencentEvent, rawQueryParam, verifyTencent } from './verify.js';

/**
 * `GET|POST /tencent/webhook`: the Tencent Meeting event subscription (cloud.tencent.com/document/
 * product/1095/51605, 51608, 51612, 54658). GET is the URL check (and heartbeat): verify, decrypt
 * check_str, echo it within 3 s. POST is an event: verify, decrypt, answer 200 at once, and on
 * meeting.end post the report into the configured chat from the background. It never imports a
 * vendor: the report runs through core.
 */
const WEBHOOK_BODY_LIMIT = 256 * 1024;
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

  const verified = (ctx: Context, data: string): void => verifyTencent(ctx, hook.token, data, core.clock.now());

  /** Resolves once the event is handed off (deduplicated, its report queued); throws if it could not be. */
  async function onEvent(json: string): Promise<void> {
    const value = jsonOf(json);
    if (!value) throw new HttpError(400, 'event is not JSON');
    const e = parseTencentEvent(value.value);
    log.info({ event: e.event, trace: e.trace_id }, 'tencent meeting event');
    if (e.event !== 'meeting.end') return;
    const meetings = endedMeetings(e.payload, e.trace_id, log);
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
          const { text, encoding } = decodeTencentCheckStr(key, checkStr);
          log.debug({ encoding }, 'tencent webhook URL check');
          ctx.type = 'text/plain';
          ctx.body = text;
        } catch (err) {
          if (err instanceof MsgCryptError) throw new HttpError(400, 'check_str does not decrypt');
          throw err;
        }
      });
      router.post('/tencent/webhook', async (ctx) => {
        const body = parsedBody(await readRawBody(ctx, WEBHOOK_BODY_LIMIT), EventBody, 400, 'missing data');
        verified(ctx, body.data);
        // A signed request already handed off is a replay. The key is set only once the event has
        // been handed off, so a delivery that failed half-way is processed when it comes again
        // (whether Tencent re-sends the same signed request or re-signs is UNCONFIRMED, DOC 51612).
        const replayKey = `tencent:webhook:sig:${ctx.get('signature').toLowerCase()}`;
        if ((await core.store.get(replayKey)) !== undefined) throw new HttpError(409, 'replayed request');
        let json: string;
        try {
          const decoded = decodeTencentEvent(key, body.data);
          if (decoded.encoding === 'plain') log.info('tencent webhook event arrived unencrypted (no EncodingAESKey set in the Tencent console?)');
          json = decoded.json;
        } catch (err) {
          if (err instanceof MsgCryptError) throw new HttpError(400, 'data does not decrypt');
          throw err;
        }
        await onEvent(json);
        await core.store.set(replayKey, '1', 2 * SIGNATURE_WINDOW_MS);
        ctx.type = 'text/plain';
        ctx.body = ACK;
      });
    },
    async stop() {
      stopping.abort(new Error('stopping'));
    },
  };
}
