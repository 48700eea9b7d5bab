import { formatTime, noteText, t, type Lang } from '../../core/i18n.js';
import type { ErrorMessage } from '../../core/messages.js';
import { ASPECTS, type Attendee } from '../../core/model.js';
import type { PageView } from '../../core/paging.js';
import { clipWidth, displayWidth, terminalText } from '../../edge/text.js';

/** Terminal columns (CJK takes two): displayWidth in src/edge/text.ts, re-exported here. */
export { displayWidth };

function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

/** Cut to terminal columns (clipWidth); control characters out (terminalText): both in src/edge/text.ts. */
const clip = clipWidth;
const safe = terminalText;

/** The report as a terminal table: header, summary, one row per attendee on the view, worst first. */
export function renderTable(view: PageView): string {
  const { report, lang } = view.stored;
  const m = report.meeting;
  const lines: string[] = [];
  lines.push(safe(m.subject ? t(lang, 'title', { subject: m.subject }) : t(lang, 'title.untitled', { code: m.code ?? m.meetingId })));
  const meta = [`${m.vendor}:${m.code ?? m.meetingId}`, m.startTime ? t(lang, 'meeting.time', { start: formatTime(m.startTime) }) : '', `${t(lang, `health.${report.health}`)}`];
  lines.push(meta.filter(Boolean).join('  ·  '));
  lines.push(t(lang, 'summary', { total: view.total, alert: view.counts.alert, nodata: view.counts.noData }));
  if (view.topProblems.length) lines.push(t(lang, 'summary.top', { problems: view.topProblems.map((p) => `${safe(p.text)} ×${p.count}`).join(', ') }));
  for (const note of report.notes) lines.push(safe(noteText(lang, note)));
  if (view.filter === 'problems') lines.push(t(lang, 'filter.problems'));
  lines.push('');
  if (view.rows.length === 0) {
    lines.push(view.filter === 'problems' ? t(lang, 'filter.none') : t(lang, 'empty'));
    return lines.join('\n') + '\n';
  }
  const header = ['#', lang === 'en' ? 'Attendee' : '参会者', lang === 'en' ? 'Device' : '设备', lang === 'en' ? 'Health' : '健康度', ...ASPECTS.map((a) => t(lang, `aspect.${a}`)), lang === 'en' ? 'Problems' : '问题'];
  const rows = view.rows.map((a, i) => row(a, view.page * view.pageSize + i + 1, lang));
  const widths = header.map((h, c) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[c]!))));
  widths[widths.length - 1] = displayWidth(header.at(-1)!);
  const fmt = (cells: string[]) => cells.map((cell, c) => (c === cells.length - 1 ? cell : pad(cell, widths[c]!))).join('  ').trimEnd();
  lines.push(fmt(header));
  for (const r of rows) lines.push(fmt(r));
  if (view.pages > 1) lines.push('', t(lang, 'page', { page: view.page + 1, pages: view.pages }));
  return lines.join('\n') + '\n';
}

function row(a: Attendee, n: number, lang: Lang): string[] {
  const role = t(lang, `role.${a.role}`);
  const name = clip(safe(a.name), 24) + (role ? ` (${role})` : '');
  if (!a.loaded) return [String(n), name, t(lang, `device.${a.device}`), t(lang, 'loading'), '', '', '', '', ''];
  return [
    String(n), name, t(lang, `device.${a.device}`), t(lang, `health.${a.health}`),
    ...ASPECTS.map((k) => t(lang, `level.${a.ratings[k]}`)),
    a.problems.map(safe).join('; '),
  ];
}

export function renderMessage(m: ErrorMessage): string {
  return `${m.title}: ${safe(m.text)}${m.detail ? `\n${safe(m.detail)}` : ''}\n`;
}
