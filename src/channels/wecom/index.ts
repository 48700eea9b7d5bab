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
  /** Long-connection endpoint and timings; tests point these at a local server. */
  ws?: Partial<Pick<WsClientOptions, 'url' | 'heartbeatMs' | 'reconnectMs'>>;
}

/**
 * The WeCom 智能机器人 channel. URL-callback mode (default) mounts `/wecom/bot`; long-connection mode
 * (`WECOM_MODE=ws`) dials WeCom instead, for deployments without a public URL. Same bot logic.
 */
export function createWecomChannel(deps: WecomChannelDeps): Channel {
  const { config, core } = deps;
  // "ReceiveId为\"\"" for an enterprise's own 智能机器人 (wecom-bot-and-meeting-api.md §2).
  const crypto = createWecomCrypto(config.token, config.aesKey, '');
  if (config.mode === 'ws') {
    const client = createWsClient({
      botId: config.botId ?? '',
      secret: config.botSecret ?? '',
      core,
      pageSize: deps.pageSize,
      ...deps.ws,
    });
    return {
      name: 'wecom',
      // Verification still works in ws mode, so switching modes in the console never breaks the URL.
      mount: (router) => mountWebhook(router, { crypto, bot: client.bot, clock: core.clock, log: core.log }),
      start: () => client.start(),
      stop: () => client.stop(),
    };
  }
  const bot = createBot({ core, pageSize: deps.pageSize });
  return {
    name: 'wecom',
    mount: (router) => mountWebhook(router, { crypto, bot, clock: core.clock, log: core.log }),
  };
}
