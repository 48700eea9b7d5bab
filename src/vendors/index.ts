import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { VendorClient, VendorRegistry } from '../core/vendor.js';
import type { VendorName } from '../core/model.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';
import { createDemoVendor } from './demo/index.js';
import { createFeishuVendor } from './feishu/index.js';
import { createWecomVendor } from './wecom/index.js';
import { createTencentVendor } from './tencent/index.js';

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
  if (deps.config.wecomMeeting) {
    const w = deps.config.wecomMeeting;
    clients.push(createWecomVendor({
      corpId: w.corpId, secret: w.secret, baseUrl: w.baseUrl, store: deps.store, admins: w.admins ?? [],
      clock: deps.clock, log: deps.log, metrics: deps.metrics, ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    }));
  }
  clients.push(createDemoVendor({ clock: deps.clock }));
  if (deps.config.feishu) {
    clients.push(createFeishuVendor({
      config: deps.config.feishu, store: deps.store, clock: deps.clock, log: deps.log, metrics: deps.metrics,
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    }));
  }
  if (deps.config.tencent) {
    clients.push(createTencentVendor({
      config: deps.config.tencent, store: deps.store, clock: deps.clock, log: deps.log, metrics: deps.metrics,
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    }));
  }
  return new Map<VendorName, VendorClient>(clients.map((c) => [c.name, c]));
}
