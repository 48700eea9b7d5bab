/**
 * Feishu VC answers with text times such as "2022.12.23 11:16:59 (GMT+08:00)" but takes unix
 * seconds (feishu-bot-and-vc-api.md §1.4). The exact live format is UNCONFIRMED, so plain digit
 * strings (seconds or milliseconds) are accepted too, and a time without its offset (the
 * cpu_usage example in feishu-vc-participant-quality-list.md) is read as GMT+08:00.
 */
const TEXT = /^(\d{4})[.\-/](\d{1,2})[.\-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:\((?:GMT|UTC)?\s*([+-])(\d{1,2}):?(\d{2})?\))?$/;

export function parseFeishuTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? (value > 1e12 ? Math.floor(value / 1000) : Math.floor(value)) : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  if (/^\d{9,13}$/.test(s)) return parseFeishuTime(Number(s));
  const m = TEXT.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const sign = m[7] === '-' ? -1 : 1;
  const offsetMin = m[7] ? sign * (Number(m[8]) * 60 + Number(m[9] ?? 0)) : 8 * 60;
  const utc = Date.UTC(y, mo - 1, d, h, mi, sec) / 1000 - offsetMin * 60;
  return Number.isFinite(utc) ? utc : undefined;
}
