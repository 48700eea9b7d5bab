import * as lark from '@larksuiteoapi/node-sdk';
import type { Context } from 'koa';
import type { Dispatcher } from 'undici';
import type { FeishuConfig } from '../../config.js';
import type { CoreDeps } from '../../core/quality.js';
import type { Channel } from '../types.js';
import { eventType } from './events.js';
import { createHandlers, type ClickAnswer, type Handlers } from './handlers.js';
import { createIm, type Im } from './im.js';
import { isChallenge, openCallback } from './verify.js';

/**
 * The Feishu channel (feishu-bot-and-vc-api.md §1.8, §1.9, §2, §3, §4):
 *   webhook mode  POST /feishu/events and POST /feishu/card, verified here over the raw body;
 *   ws mode       the SDK's WSClient (no public URL needed), the same handlers.
 * Both routes accept both kinds of callback, so pointing the console's two URLs at either works.
 */

export interface FeishuChannelDeps {
  config: FeishuConfig;
  core: CoreDeps;
  pageSize: number;
  dispatcher?: Dispatcher;
  /** Tests inject a recording IM; normally built from config. */
  im?: Im;
}

function afterResponse(ctx: Context, fn: () => void): void {
  let done = false;
  const go = () => {
    if (done) return;
    done = true;
    fn();
  };
  ctx.res.once('finish', go);
  ctx.res.once('close', go);
}

export function createFeishuChannel(deps: FeishuChannelDeps): Channel {
  const { config, core } = deps;
  const im = deps.im ?? createIm({ config, clock: core.clock, log: core.log, metrics: core.metrics, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) });
  const handlers: Handlers = createHandlers({ config, core, im, pageSize: deps.pageSize });

  const route = async (ctx: Context) => {
    const env = await openCallback(ctx, config, core.clock);
    if (isChallenge(env)) {
      ctx.body = { challenge: env.challenge };
      return;
    }
    const type = eventType(env);
    if (type === 'card.action.trigger') {
      const answer: ClickAnswer = await handlers.onClick(env);
      ctx.body = answer.body;
      if (answer.after) afterResponse(ctx, answer.after);
      return;
    }
    if (type === 'im.message.receive_v1') await handlers.onMessage(env);
    else core.log.debug({ type }, 'ignored a Feishu event');
    // Always a JSON 200 (never the SDK adapters' 204, §0.5): Feishu re-sends anything else.
    ctx.body = {};
  };

  let ws: lark.WSClient | undefined;
  return {
    name: 'feishu',
    mount(router) {
      if (config.mode !== 'webhook') return;
      router.post('/feishu/events', route);
      router.post('/feishu/card', route);
    },
    async start() {
      if (config.mode !== 'ws') return;
      const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, trace: () => undefined };
      const dispatcher = new lark.EventDispatcher({ logger: quiet }).register<{
        'im.message.receive_v1': (data: Record<string, unknown>) => Promise<unknown>;
        'card.action.trigger': (data: Record<string, unknown>) => Promise<unknown>;
      }>({
        // The long connection is authenticated at connect time and frames arrive in plaintext (§1.9).
        'im.message.receive_v1': async (data) => {
          await handlers.onMessage(data);
          return {};
        },
        'card.action.trigger': async (data) => {
          const answer = await handlers.onClick(data);
          // The answer goes back in the ACK frame after this returns; start follow-up work after that.
          if (answer.after) setTimeout(answer.after, 50);
          return answer.body;
        },
      });
      ws = new lark.WSClient({
        appId: config.appId, appSecret: config.appSecret, domain: config.baseUrl, logger: quiet, autoReconnect: true,
        onReady: () => core.log.info('feishu long connection ready'),
        onError: (err) => core.log.warn({ err: err.message }, 'feishu long connection error; the SDK keeps reconnecting'),
      });
      // Connecting (and reconnecting) is the SDK's business; the HTTP server must not wait on it.
      ws.start({ eventDispatcher: dispatcher }).catch((err: unknown) => core.log.error({ err }, 'feishu long connection failed to start'));
    },
    async stop() {
      ws?.close();
      ws = undefined;
    },
  };
}
