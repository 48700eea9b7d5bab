import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { CoreDeps } from '../core/quality.js';
import type { Channel } from './types.js';
import { createConsoleChannel } from './console/index.js';
import { createFeishuChannel } from './feishu/index.js';
import { createFeishuOAuthChannel } from './feishu/oauth.js';
import { createWecomChannel } from './wecom/index.js';
import { createTencentWebhookChannel } from './tencent/index.js';

export interface ChannelDeps {
  config: Config;
  core: CoreDeps;
  /** Injected in tests for the platforms' outbound APIs; undici's global dispatcher otherwise. */
  dispatcher?: Dispatcher;
}

/** Every chat channel switched on by config, built in one place. */
export function createChannels(deps: ChannelDeps): Channel[] {
  const channels: Channel[] = [];
  if (deps.config.feishu) {
    channels.push(createFeishuChannel({
      config: deps.config.feishu, core: deps.core, pageSize: deps.config.pageSize.feishu,
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    }));
    // The OAuth redirect is reached by a browser, so it is mounted in ws mode too.
    channels.push(createFeishuOAuthChannel({
      config: deps.config.feishu, core: deps.core, pageSize: deps.config.pageSize.feishu,
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    }));
  }
  if (deps.config.wecomBot) {
    channels.push(createWecomChannel({ config: deps.config.wecomBot, core: deps.core, pageSize: deps.config.pageSize.wecom }));
  }
  if (deps.config.console) channels.push(createConsoleChannel({ config: deps.config, core: deps.core }));
  if (deps.config.tencentWebhook) {
    channels.push(createTencentWebhookChannel({ config: deps.config, core: deps.core, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}) }));
  }
  return channels;
}
