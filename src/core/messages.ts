import type { MeetcheckError } from './errors.js';
import type { ParseError } from './command.js';
import { errorText, t, type Lang } from './i18n.js';

/** What every channel shows for a failure: a title, what happened and what to do, and the vendor's own words. */
export interface ErrorMessage {
  title: string;
  text: string;
  /** Vendor code and message, safe to show (renderers still escape it). */
  detail?: string;
}

/**
 * Codes whose detail is ours, not the vendor's, and so not worth showing.
 * wecom_meeting_not_visible: its detail (whose lists were searched) is for the log, not "the vendor said".
 */
const QUIET_DETAIL = new Set(['wecom_meeting_not_visible', 'vendor_not_configured', 'not_allowed', 'report_expired', 'foreign_chat', 'busy', 'internal', 'store_unavailable']);

export function describeError(lang: Lang, err: MeetcheckError, availableVendors: readonly string[] = []): ErrorMessage {
  const text = errorText(lang, err.code, {
    seconds: Math.max(1, Math.ceil((err.options.retryAfterMs ?? 60_000) / 1000)),
    vendor: err.options.vendor ?? err.detail ?? '',
    available: availableVendors.join(', '),
  });
  const msg: ErrorMessage = { title: t(lang, 'err.title'), text };
  if (err.detail && !QUIET_DETAIL.has(err.code)) msg.detail = t(lang, 'err.detail', { detail: err.detail.slice(0, 200) });
  return msg;
}

/** The help card; `vendors` are the names a meeting may be prefixed with (the switched-on vendors). */
export function describeHelp(lang: Lang, vendors: readonly string[]): ErrorMessage {
  return { title: t(lang, 'help.title'), text: t(lang, 'help.body', { vendors: vendorList(vendors) }) };
}

export function describeParseError(lang: Lang, err: ParseError, vendors: readonly string[] = []): ErrorMessage {
  const reason = t(lang, err.key, { input: err.input ?? '', vendors: vendors.join(', ') });
  return { title: t(lang, 'help.title'), text: `${t(lang, 'parse.error', { reason })}\n\n${describeHelp(lang, vendors).text}` };
}

function vendorList(vendors: readonly string[]): string {
  return vendors.map((v) => `${v}:`).join(' / ');
}
