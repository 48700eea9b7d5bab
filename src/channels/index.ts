import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { CoreDeps } from '../core/quality.js';
import type { ChannelName } from '../core/model.js';
import type { Surface } from '../core/surface.js';
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

/**
 * The one registration point for platforms: each says when config switches it on and builds its
 * channels. A channel with a `surface` registers it for durable jobs (see surfaceRegistry).
 */
export interface PlatformRegistration {
  name: string;
  enabled(config: Config): boolean;
  create(deps: ChannelDeps): Channel[];
}

const withDispatcher = (deps: ChannelDeps) => (deps.dispatcher ? { dispatcher: deps.dispatcher } : {});

export const PLATFORMS: readonly PlatformRegistration[] = [
  {
    name: 'feishu',
    enabled: (c) => c.feishu !== undefined,
    create: (deps) => {
      const feishu = deps.config.feishu!;
      const pageSize = deps.config.pageSize.feishu;
      return [
        createFeishuChannel({ config: feishu, core: deps.core, pageSize, ...withDispatcher(deps) }),
        // The OAuth redirect is reached by a browser, so it is mounted in ws mode too.
        createFeishuOAuthChannel({ config: feishu, core: deps.core, pageSize, ...withDispatcher(deps) }),
      ];
    },
  },
  {
    name: 'wecom',
    enabled: (c) => c.wecomBot !== undefined,
    create: (deps) => [createWecomChannel({ config: deps.config.wecomBot!, core: deps.core, pageSize: deps.config.pageSize.wecom })],
  },
  {
    name: 'console',
    enabled: (c) => c.console,
    create: (deps) => [createConsoleChannel({ config: deps.config, core: deps.core })],
  },
  {
    name: 'tencent-webhook',
    enabled: (c) => c.tencentWebhook !== undefined,
    create: (deps) => [createTencentWebhookChannel({ config: deps.config, core: deps.core, ...withDispatcher(deps) })],
  },
];

/** Every chat channel switched on by config, built in one place. */
export function createChannels(deps: ChannelDeps): Channel[] {
  return PLATFORMS.filter((p) => p.enabled(deps.config)).flatMap((p) => p.create(deps));
}

/** Platform name → Surface, for the job worker to rebuild a card's output on any replica. */
export function surfaceRegistry(channels: readonly Channel[]): Map<ChannelName, Surface> {
  const surfaces = new Map<ChannelName, Surface>();
  for (const c of channels) if (c.surface) surfaces.set(c.surface.platform, c.surface);
  return surfaces;
}
