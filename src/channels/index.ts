import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { CoreDeps } from '../core/quality.js';
import type { Channel } from './types.js';

export interface ChannelDeps {
  config: Config;
  core: CoreDeps;
  /** Injected in tests for the platforms' outbound APIs; undici's global dispatcher otherwise. */
  dispatcher?: Dispatcher;
}

/** Every chat channel switched on by config, built in one place. */
export function createChannels(deps: ChannelDeps): Channel[] {
  const channels: Channel[] = [];
  return channels;
}
