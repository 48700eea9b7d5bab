import { formatTime, noteText, t, type Lang } from '../../core/i18n.js';
import type { ErrorMessage } from '../../core/messages.js';
import { ASPECTS, type Attendee } from '../../core/model.js';
import type { PageView } from '../../core/paging.js';
import { clip, clipBytes, escapeWecomLegacyMarkdown as escapeWecomMarkdown } from '../../edge/text.js';

/**
 * The meeting-end report as a WeCom group-robot markdown message (developer.work.weixin.qq.com
 * /document/path/91770, markdown 类型: the legacy subset, `**bold**`, `>` quotes, `<font color="info|comment|warning">`,
 * at most 4096 bytes of UTF-8). The robot cannot take clicks, so the message carries the worst
 * attendees that fit and says how many more there are.
 */
export const MARKDOWN_MAX_BYTES_WECOM = 4096;

/**
 * Vendor text (names, subjects, problems) for the legacy markdown: escapeWecomLegacyMarkdown
 * (src/edge/text.ts), re-exported under its old name.
 */
export { escapeWecomMarkdown };

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

const HEALTH_COLOUR = { 0: 'comment', 1: 'info', 2: 'warning' } as const;

function row(lang: Lang, a: Attendee): string {
  const who = [t(lang, `role.${a.role}`), t(lang, `device.${a.device}`)].filter(Boolean).join(' · ');
  const ratings = ASPECTS.filter((k) => a.ratings[k] > 0).map((k) => `${t(lang, `aspect.${k}`)} ${t(lang, `level.${a.ratings[k]}`)}`).join(' · ');
  const health = `<font color="${HEALTH_COLOUR[a.health]}">${t(lang, `health.${a.health}`)}</font>`;
  const problems = a.problems.length ? `\n> ${a.problems.slice(0, 3).map((p) => escapeWecomMarkdown(clip(p, 60))).join('；')}` : '';
  return `**${escapeWecomMarkdown(clip(a.name, 40))}** ${who ? `(${who}) ` : ''}${health}${ratings ? ` ${ratings}` : ''}${problems}`;
}

/** `view` should hold every attendee on one page (sorted worst first); rows are added while they fit. */
export function renderWecomMarkdown(view: PageView): string {
  const { stored } = view;
  const lang = stored.lang;
  const m = stored.report.meeting;
  const title = m.subject ? t(lang, 'title', { subject: escapeWecomMarkdown(clip(m.subject, 60)) }) : t(lang, 'title.untitled', { code: m.code ?? m.meetingId });
  const head: string[] = [`## ${title}`];
  const when = [m.startTime !== undefined ? t(lang, 'meeting.time', { start: formatTime(m.startTime) }) : '', m.code ?? ''].filter(Boolean).join(' · ');
  if (when) head.push(`> ${when}`);
  head.push(`<font color="${HEALTH_COLOUR[stored.report.health]}">${t(lang, 'summary', { total: view.total, alert: view.counts.alert, nodata: view.counts.noData })}</font>`);
  if (view.topProblems.length) {
    head.push(t(lang, 'summary.top', { problems: view.topProblems.map((p) => `${escapeWecomMarkdown(clip(p.text, 40))} ×${p.count}`).join('，') }));
  }
  for (const note of stored.report.notes) head.push(`> ${escapeWecomMarkdown(clip(noteText(lang, note), 200))}`);
  if (view.total === 0) head.push(t(lang, 'empty'));
  let text = head.join('\n');
  let shown = 0;
  for (const a of view.rows) {
    const more = view.rows.length - shown - 1;
    const line = `\n${row(lang, a)}`;
    // Keep room for the "+N" line that says how many did not fit.
    const reserve = more > 0 ? bytes(`\n… (+${more})`) : 0;
    if (bytes(text) + bytes(line) + reserve > MARKDOWN_MAX_BYTES_WECOM) break;
    text += line;
    shown++;
  }
  const left = view.matching - shown;
  if (left > 0) text += `\n… (+${left})`;
  return fitBytes(text, MARKDOWN_MAX_BYTES_WECOM);
}

/** Cuts at a character boundary so the UTF-8 stays whole, ending in "…" when cut. */
const fitBytes = (text: string, max: number): string => clipBytes(text, max, '…');

export function renderWecomMarkdownMessage(msg: ErrorMessage | { title: string; text: string }): string {
  const lines = [`**${escapeWecomMarkdown(clip(msg.title, 60))}**`, escapeWecomMarkdown(clip(msg.text, 1000))];
  if ('detail' in msg && msg.detail) lines.push(`<font color="comment">${escapeWecomMarkdown(clip(msg.detail, 300))}</font>`);
  return fitBytes(lines.join('\n'), MARKDOWN_MAX_BYTES_WECOM);
}
