import type { WecomBotConfig } from '../../config.js';
import type { CoreDeps } from '../../core/quality.js';
import type { Channel } from '../types.js';
import { createBot } from './bot.js';
import { createWecomCrypto } from './crypto.js';
import { mountWebhook } from './webhook.js';
import { createWsClient, type WsClientOptions } from './ws.js';

export interface WecomChannelDeps {
  config: WecomBotConfig;
  core: CoreDeps;
  /** Attendees per card page (≤6: horizontal_content_list). */
  pageSize: number;
  /** Long-connection timings and names; tests shorten them. */
  ws?: Partial<Pick<WsClientOptions, 'url' | 'heartbeatMs' | 'reconnectMs' | 'lockTtlMs' | 'instanceId'>>;
}

/**
 * The WeCom 智能机器人 channel. URL-callback mode (default) mounts `/wecom/bot`; long-connection mode
 * (`WECOM_MODE=ws`) dials WeCom instead, for deployments without a public URL. Same bot logic.
 */
export function createWecomChannel(deps: WecomChannelDeps): Channel {
  const { config, core } = deps;
  // "企业内部智能机器人场景中，ReceiveId为\"\"" (developer.work.weixin.qq.com/document/path/101033).
  const crypto = config.token && config.aesKey ? createWecomCrypto(config.token, config.aesKey, '') : undefined;
  if (config.mode === 'ws') {
    const client = createWsClient({
      botId: config.botId ?? '',
      secret: config.botSecret ?? '',
      url: config.wsUrl,
      core,
      pageSize: deps.pageSize,
      ...deps.ws,
    });
    return {
      name: 'wecom',
      // With a Token/key set, verification still answers, so switching the console back to URL mode never breaks.
      ...(crypto ? { mount: (router) => mountWebhook(router, { crypto, bot: client.bot, clock: core.clock, log: core.log }) } : {}),
      surface: client.bot.surface,
      start: () => client.start(),
      stop: () => client.stop(),
    } satisfies Channel;
  }
  if (!crypto) throw new Error('wecom webhook mode needs WECOM_BOT_TOKEN and WECOM_BOT_AES_KEY');
  const bot = createBot({ core, pageSize: deps.pageSize });
  return {
    name: 'wecom',
    surface: bot.surface,
    mount: (router) => mountWebhook(router, { crypto, bot, clock: core.clock, log: core.log }),
  };
}
