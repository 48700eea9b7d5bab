import type { VendorName } from './model.js';

/**
 * The command grammar of DESIGN.md, the same on every channel:
 *
 *   /quality <meeting> [--problems] [--at <YYYY-MM-DD[ HH:mm]>]   aliases /质量 /health
 *   /help                                                        alias  /帮助
 *   <meeting> = [vendor:]id, or a pasted "#腾讯会议：123-456-789"
 *
 * Input is untrusted chat text: it is normalised (NFKC folds full-width forms), stripped of
 * @mentions, bounded in length, and every failure names what was wrong.
 */

export interface MeetingRef {
  vendor?: VendorName;
  /** A 9–12 digit meeting code, digits only. */
  code?: string;
  /** A vendor meeting id (WeCom meetingid, Tencent meeting_id), when not a code. */
  id?: string;
}

export interface AtTime {
  /** YYYY-MM-DD */
  date: string;
  /** HH:mm, when given */
  time?: string;
}

/**
 * What a vendor's own event already said about one occurrence of a meeting (a meeting-end
 * notification), so the vendor need not look the meeting up again to find it. Unix seconds.
 */
export interface OccurrenceHint {
  subMeetingId?: string;
  /** The occurrence's start and end as the event gave them (scheduled or actual: the vendor knows which). */
  startTime?: number;
  endTime?: number;
  /** When the event says it ended. */
  endedAt?: number;
}

export type Command =
  | { kind: 'quality'; meeting: MeetingRef; problemsOnly: boolean; at?: AtTime; hint?: OccurrenceHint }
  | { kind: 'help' };

export interface ParseError {
  /** i18n key under parse.* */
  key: 'parse.empty' | 'parse.badMeeting' | 'parse.badVendor' | 'parse.badAt' | 'parse.unknownFlag' | 'parse.unknownCommand' | 'parse.tooLong' | 'parse.extra';
  /** The offending piece of input, shortened; renderers escape it. */
  input?: string;
}

export type ParseResult = { ok: true; command: Command } | { ok: false; error: ParseError };

/** Longer than any real command; stops hostile input before any work is done on it. */
export const MAX_COMMAND_CHARS = 300;

const QUALITY = new Set(['/quality', '/质量', '/health']);
const HELP = new Set(['/help', '/帮助']);

/**
 * The vendor words a person may type before the colon: each vendor's name and aliases, lower case
 * without spaces → its name. They come from the vendor registrations (vendors/index.ts); the core
 * knows no vendor by name.
 */
export type VendorAliases = ReadonlyMap<string, string>;

let registered: VendorAliases = new Map();

/** vendors/index.ts hands its table here when it loads, for callers that do not pass one. */
export function registerVendorAliases(aliases: VendorAliases): void {
  registered = aliases;
}

const PROBLEMS_FLAGS = new Set(['--problems', '--only-problems', '-p', '--问题']);

/** Dash-like characters people paste between digit groups (NFKC leaves these alone). */
const DASHES = /[\u2010-\u2015\u2212\u30fc\ufe58\ufe63\uff0d]/g;

export function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .replace(DASHES, '-')
    // Zero-width and control characters carry nothing a command needs.
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u2060\ufeff]/g, '')
    .trim();
}

/** Removes @mentions: Feishu `@_user_1` placeholders and `<at …>…</at>` tags, leading `@name` tokens. */
export function stripMentions(text: string): string {
  let s = text.replace(/<at\b[^>]*>[^<]*<\/at>/gi, ' ').replace(/@_user_\d+/g, ' ').trim();
  while (s.startsWith('@')) s = s.replace(/^@\S*\s*/, '');
  return s.trim();
}

/** `vendors`: the vendor words (VendorRegistry.aliases); the registered vendors' when omitted. */
export function parseCommand(raw: string, vendors: VendorAliases = registered): ParseResult {
  if (raw.length > MAX_COMMAND_CHARS * 4) return fail('parse.tooLong');
  const text = stripMentions(normalise(raw));
  if (text.length > MAX_COMMAND_CHARS) return fail('parse.tooLong');
  if (text === '') return { ok: true, command: { kind: 'help' } };

  const tokens = text.split(/\s+/);
  const head = tokens[0]!.toLowerCase();
  if (HELP.has(head)) return { ok: true, command: { kind: 'help' } };
  if (QUALITY.has(head)) return parseQualityArgs(tokens.slice(1), vendors);
  // A bare meeting reference (say, a pasted Tencent invite line) is read as /quality.
  if (!head.startsWith('/') && parseMeeting(text.split(/\s+--/)[0]!, vendors).ok) return parseQualityArgs(tokens, vendors);
  return fail('parse.unknownCommand', tokens[0]);
}

function parseQualityArgs(args: string[], vendors: VendorAliases): ParseResult {
  let problemsOnly = false;
  let at: AtTime | undefined;
  const meetingParts: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const tok = args[i]!;
    const lower = tok.toLowerCase();
    if (PROBLEMS_FLAGS.has(lower)) {
      problemsOnly = true;
    } else if (lower === '--at' || lower.startsWith('--at=')) {
      const value = lower === '--at' ? args[++i] : tok.slice('--at='.length);
      const date = parseAtDate(value);
      if (!date) return fail('parse.badAt', value ?? '');
      at = { date };
      const next = args[i + 1];
      if (next && /^\d{1,2}:\d{2}$/.test(next)) {
        const time = parseAtTime(next);
        if (!time) return fail('parse.badAt', `${value} ${next}`);
        at.time = time;
        i++;
      } else if (value && /T\d/.test(value)) {
        const time = parseAtTime(value.split('T')[1]!);
        if (!time) return fail('parse.badAt', value);
        at.time = time;
      }
    } else if (tok.startsWith('-') && !/^-?\d/.test(tok.slice(1))) {
      return fail('parse.unknownFlag', tok);
    } else {
      meetingParts.push(tok);
    }
  }
  if (meetingParts.length === 0) return fail('parse.empty');
  const meeting = parseMeeting(meetingParts.join(' '), vendors);
  if (!meeting.ok) return meeting;
  return { ok: true, command: { kind: 'quality', meeting: meeting.ref, problemsOnly, ...(at ? { at } : {}) } };
}

function parseMeeting(text: string, vendors: VendorAliases): { ok: true; ref: MeetingRef } | { ok: false; error: ParseError } {
  let s = text.trim();
  let vendor: VendorName | undefined;
  // `vendor:` before the meeting, or a pasted invite line such as "#腾讯会议：806-146-667" or
  // "腾讯会议号: …" (NFKC has already turned "：" into ":"): a leading "#", spaces inside the word
  // and a trailing 号 ("number") are allowed around a known vendor word.
  const prefix = /^(#?)([^:]{1,40}?)\s*:\s*/.exec(s);
  if (prefix) {
    const word = prefix[2]!.toLowerCase().replace(/\s+/g, '');
    const name = vendors.get(word) ?? vendors.get(word.replace(/号$/, ''));
    if (name) {
      vendor = name;
      s = s.slice(prefix[0].length);
    } else if (!prefix[1] && !/\s/.test(prefix[2]!)) {
      // One word before a colon that is no vendor: say so, rather than "not a meeting".
      return fail('parse.badVendor', prefix[2]);
    }
  }
  const compact = s.replace(/[\s-]/g, '');
  if (/^\d{9,12}$/.test(compact) && /^[\d\s-]+$/.test(s)) return { ok: true, ref: { ...(vendor ? { vendor } : {}), code: compact } };
  // Vendor meeting ids: WeCom meetingids are letters and digits, Tencent meeting_ids long digit strings.
  if (/^[A-Za-z0-9_]{13,64}$/.test(s) || /^(?=.*[A-Za-z])[A-Za-z0-9_]{6,64}$/.test(s)) {
    return { ok: true, ref: { ...(vendor ? { vendor } : {}), id: s } };
  }
  if (s === '') return fail('parse.empty');
  return fail('parse.badMeeting', s);
}

function parseAtDate(value: string | undefined): string | undefined {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:T.*)?$/.exec(value ?? '');
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return undefined;
  return `${m[1]}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function parseAtTime(value: string): string | undefined {
  const m = /^(\d{1,2}):(\d{2})$/.exec(value);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return undefined;
  return `${m[1]!.padStart(2, '0')}:${m[2]}`;
}

/**
 * The unix-seconds window an `--at` names, in the vendors' zone (UTC+8, no DST): a whole day, or
 * the minute given ± 30 minutes so a meeting that started a little late still matches.
 */
export function atWindow(at: AtTime, utcOffsetMinutes = 8 * 60): { from: number; to: number } {
  const [y, mo, d] = at.date.split('-').map(Number) as [number, number, number];
  const dayStart = Date.UTC(y, mo - 1, d) / 1000 - utcOffsetMinutes * 60;
  if (!at.time) return { from: dayStart, to: dayStart + 86_400 };
  const [h, mi] = at.time.split(':').map(Number) as [number, number];
  const t = dayStart + h * 3600 + mi * 60;
  return { from: t - 1800, to: t + 1800 };
}

function fail(key: ParseError['key'], input?: string): { ok: false; error: ParseError } {
  return { ok: false, error: { key, ...(input !== undefined ? { input: input.slice(0, 60) } : {}) } };
}
