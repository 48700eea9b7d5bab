import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { VendorClient, VendorRegistry } from '../core/vendor.js';
import type { VendorName } from '../core/model.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';
import { createDemoVendor } from './demo/index.js';

export interface VendorDeps {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Injected in tests; undici's global dispatcher otherwise. */
  dispatcher?: Dispatcher;
}

/** Every vendor client is built here, from config, with its HTTP injected (after probot's src/octokit). */
export function createVendors(deps: VendorDeps): VendorRegistry {
  const clients: VendorClient[] = [];
  clients.push(createDemoVendor({ clock: deps.clock }));
  return new Map<VendorName, VendorClient>(clients.map((c) => [c.name, c]));
}
