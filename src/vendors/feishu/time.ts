/**
 * Feishu VC answers with text times but takes unix seconds. The documented shape is
 * "2022.12.23 11:16:59 (GMT+08:00)" (open.feishu.cn vc-v1/participant_list/get join_time,
 * vc-v1/participant_quality_list/get `time`); it is shown only in examples, so the live format is
 * UNCONFIRMED and these are accepted too:
 *   - the zone in or out of parentheses, GMT or UTC or neither: "(UTC+8:00)", "GMT+08:00", "+0800";
 *   - "(GMT)", "(UTC)", "Z" alone: UTC+0 (a tenant whose zone is UTC);
 *   - no zone at all (the cpu_usage example, "2022.12.23 11:17:00"): read as GMT+08:00;
 *   - plain digit strings: unix seconds or milliseconds.
 * Anything else (a named zone, a date we cannot read) is undefined; the vendor logs each unknown
 * shape once so the live format shows in the log.
 */
const DATE_TIME = /^(\d{4})[.\-/](\d{1,2})[.\-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(.*)$/;
const OFFSET = /^(?:GMT|UTC)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i;
/** The documented examples are China time; a time without its zone is taken as that. */
const DEFAULT_OFFSET_MIN = 8 * 60;
/** Real UTC offsets run from −12:00 to +14:00. */
const MAX_OFFSET_MIN = 14 * 60;

/** Minutes east of UTC for the text after the time, or undefined if it is no zone we know. */
function offsetMinutes(rest: string): number | undefined {
  let zone = rest.trim();
  if (zone === '') return DEFAULT_OFFSET_MIN;
  const paren = /^\((.*)\)$/.exec(zone);
  if (paren) zone = paren[1]!.trim();
  if (/^(?:GMT|UTC|Z)$/i.test(zone)) return 0;
  const m = OFFSET.exec(zone);
  if (!m) return undefined;
  const hours = Number(m[2]);
  const minutes = Number(m[3] ?? 0);
  if (minutes >= 60) return undefined;
  const total = hours * 60 + minutes;
  if (total > MAX_OFFSET_MIN) return undefined;
  return m[1] === '-' ? -total : total;
}

export function parseFeishuTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? (value > 1e12 ? Math.floor(value / 1000) : Math.floor(value)) : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  if (/^\d{9,13}$/.test(s)) return parseFeishuTime(Number(s));
  const m = DATE_TIME.exec(s);
  if (!m) return undefined;
  const offset = offsetMinutes(m[7] ?? '');
  if (offset === undefined) return undefined;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return undefined;
  const utc = Date.UTC(y, mo - 1, d, h, mi, sec) / 1000 - offset * 60;
  return Number.isFinite(utc) ? utc : undefined;
}

/** The shape of a time text with its digits masked, so a log line names the format, not the value. */
export function timeShape(value: unknown): string {
  if (typeof value !== 'string') return typeof value;
  return value.slice(0, 60).replace(/\d/g, '9');
}
