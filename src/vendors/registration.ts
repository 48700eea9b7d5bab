import type { Dispatcher } from 'undici';
import type { EnvReader, SharedConfig } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { VendorClient } from '../core/vendor.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';

/**
 * Everything about one meeting vendor that the rest of the bot needs, in one object its folder
 * exports and vendors/index.ts lists (after the Lark SDK's converter registry: a new kind is one
 * module and one line). The command grammar's vendor words, the configuration section, whether
 * it is on, and how its client is built all come from here; core never names a vendor.
 */
export interface VendorRegistration<N extends string = string, C = unknown> {
  /** What the bot calls it: the `vendor:` prefix, MEETCHECK_DEFAULT_VENDOR, the report's vendor. */
  readonly name: N;
  /** Other words a person may type before the colon (`lark:`, `腾讯会议:`), matched ignoring case and spaces. */
  readonly aliases: readonly string[];
  /** Needs no credentials (demo): always on, and not a reason to leave demo mode. */
  readonly builtin?: boolean;
  /** The vendor for a chat whose platform has none of its own (Tencent Meeting: any chat can host it). */
  readonly fallback?: boolean;
  /**
   * This vendor's config section from the environment, or undefined when it is off (its
   * credentials unset). Throws the one-line ConfigError naming a bad variable (env.fail).
   */
  configFrom(env: EnvReader, shared: SharedConfig): C | undefined;
  create(config: C, deps: VendorDeps): VendorClient;
}

/** What every vendor client is built with (after probot's src/octokit: HTTP injected). */
export interface VendorDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Injected in tests; undici's global dispatcher otherwise. */
  dispatcher?: Dispatcher;
}

/** Keeps the name a literal type, so vendors/index.ts can derive the union of names and the sections' types. */
export function defineVendor<const N extends string, C>(r: VendorRegistration<N, C>): VendorRegistration<N, C> {
  return r;
}

/** The config section type a registration reads. */
export type SectionOf<R> = R extends VendorRegistration<string, infer C> ? C : never;
