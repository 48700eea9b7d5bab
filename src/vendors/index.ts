import type { Config } from '../config.js';
import { registerVendorAliases, type VendorAliases } from '../core/command.js';
import type { VendorClient, VendorRegistry } from '../core/vendor.js';
import type { SectionOf, VendorDeps } from './registration.js';
import { wecom } from './wecom/index.js';
import { feishu } from './feishu/index.js';
import { tencent } from './tencent/index.js';
import { demo } from './demo/index.js';

/**
 * Every meeting vendor, one line each (and its import): names, aliases, config sections, the
 * fallback vendor and how each client is built come from these registrations (registration.ts).
 * The order is the order vendors are listed in (start-up line, "available: …" on cards).
 */
export const VENDOR_REGISTRATIONS = [wecom, feishu, tencent, demo] as const;

type Registered = (typeof VENDOR_REGISTRATIONS)[number];
/** A registered vendor's name; the core sees plain strings and learns the names from here at run time. */
export type VendorName = Registered['name'];
/** Each switched-on vendor's config section, by name (Config.vendors). */
export type VendorSections = { [R in Registered as R['name']]?: SectionOf<R> };

export const VENDOR_NAMES: readonly VendorName[] = VENDOR_REGISTRATIONS.map((r) => r.name);

/** The command grammar's vendor words: each name and alias (lower case, no spaces) → the vendor's name. */
export function vendorAliases(): VendorAliases {
  const out = new Map<string, string>();
  for (const r of VENDOR_REGISTRATIONS) for (const word of [r.name, ...r.aliases]) out.set(word.toLowerCase().replace(/\s+/g, ''), r.name);
  return out;
}

// Whoever parses a command without passing the table (core/command.ts) gets these.
registerVendorAliases(vendorAliases());

/** Every switched-on vendor's client, built from its section of the config. */
export function createVendors(deps: VendorDeps & { config: Config }): VendorRegistry {
  const { config, ...rest } = deps;
  const sections = config.vendors as Record<string, unknown>;
  const clients: VendorClient[] = [];
  for (const r of VENDOR_REGISTRATIONS) {
    const section = sections[r.name];
    if (section !== undefined) clients.push((r.create as (c: unknown, d: VendorDeps) => VendorClient)(section, rest));
  }
  const fallback = VENDOR_REGISTRATIONS.find((r) => 'fallback' in r && r.fallback)?.name;
  return Object.assign(new Map<string, VendorClient>(clients.map((c) => [c.name, c])), {
    aliases: vendorAliases(),
    ...(fallback ? { fallback } : {}),
  });
}
