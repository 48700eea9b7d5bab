import { encodeAction, type CardAction } from '../../core/actions.js';
import type { CardButton, CardView } from '../../core/surface.js';
import { formatTime, noteText, t, type Lang } from '../../core/i18n.js';
import type { ErrorMessage } from '../../core/messages.js';
import { ASPECTS, type Attendee, type Level } from '../../core/model.js';
import type { PageView } from '../../core/paging.js';
import { clip, escapeFeishuMarkdown as escapeMarkdown, plainLine } from '../../edge/text.js';
import { fill, loadTemplate } from './template.js';

/**
 * Feishu card JSON 2.0 (open.feishu.cn/document/feishu-cards/card-json-v2-structure), filled from the templates in cards/feishu/.
 * The object returned is exactly what goes into `content` (reply / patch) or into a callback's
 * `card.data`. Everything a vendor or a person wrote is escaped before it reaches a markdown
 * element; titles use plain_text, which Feishu never interprets.
 */

/** A card may be at most 30 KB (message reply/patch: 230025 "message content too long"); we stay under with room for Feishu's own additions. */
export const MAX_CARD_BYTES = 28 * 1024;
/** At most 200 elements per card (card-json-v2-structure): the frame uses about 15, so rows are capped well below. */
const MAX_ROWS = 150;
const MAX_NAME_CHARS = 40;
const MAX_PROBLEM_CHARS = 80;

/** Escapes vendor text for a Feishu markdown element: escapeFeishuMarkdown (src/edge/text.ts), under its old name. */
export { escapeMarkdown };

/** Plain-text fields still get control characters removed and a bounded length. */
const plain = (text: string, max = 100): string => plainLine(text, max);

const LEVEL_COLOUR: Record<Level, string> = { 0: 'grey', 1: 'green', 2: 'wathet', 3: 'orange', 4: 'red' };

function formatCode(code: string): string {
  return /^\d{9}$/.test(code) ? `${code.slice(0, 3)}-${code.slice(3, 6)}-${code.slice(6)}` : code;
}

function rowContent(lang: Lang, a: Attendee, maxProblems: number): string {
  const who = [t(lang, `role.${a.role}`), t(lang, `device.${a.device}`)].filter(Boolean).join(' · ');
  const lines = [`**${escapeMarkdown(clip(a.name || '?', MAX_NAME_CHARS))}**  <font color='grey'>${escapeMarkdown(who)}</font>`];
  if (!a.loaded) {
    lines.push(`<font color='grey'>${escapeMarkdown(t(lang, 'loading'))}…</font>`);
    return lines.join('\n');
  }
  lines.push(
    ASPECTS.map((aspect) => {
      const level = a.ratings[aspect];
      return `${escapeMarkdown(t(lang, `aspect.${aspect}`))} <font color='${LEVEL_COLOUR[level]}'>${escapeMarkdown(t(lang, `level.${level}`))}</font>`;
    }).join(' · '),
  );
  if (a.problems.length > 0 && maxProblems > 0) {
    const shown = a.problems.slice(0, maxProblems).map((p) => escapeMarkdown(clip(p, MAX_PROBLEM_CHARS)));
    const more = a.problems.length - shown.length;
    lines.push(`<font color='red'>${shown.join(lang === 'zh' ? '；' : '; ')}${more > 0 ? ` (+${more})` : ''}</font>`);
  }
  return lines.join('\n');
}

function headerColour(view: PageView): string {
  const { report } = view.stored;
  if (report.health === 2 || view.counts.alert > 0) return 'red';
  if (view.counts.loading > 0) return 'blue';
  return report.health === 1 ? 'green' : 'grey';
}

function summaryLines(view: PageView): string[] {
  const { lang, report } = view.stored;
  const m = report.meeting;
  const lines: string[] = [];
  const when = m.startTime !== undefined ? t(lang, 'meeting.time', { start: formatTime(m.startTime) }) : '';
  const code = m.code ? formatCode(m.code) : m.meetingId;
  lines.push(`<font color='grey'>${escapeMarkdown([code, when].filter(Boolean).join(' · '))}</font>`);
  if (!m.ended) lines.push(escapeMarkdown(t(lang, 'meeting.inProgress')));
  lines.push(escapeMarkdown(t(lang, 'summary', { total: view.total, alert: view.counts.alert, nodata: view.counts.noData })));
  if (view.topProblems.length > 0) {
    const list = view.topProblems.map((p) => `${clip(p.text, MAX_PROBLEM_CHARS)} ×${p.count}`).join(lang === 'zh' ? '；' : '; ');
    lines.push(escapeMarkdown(t(lang, 'summary.top', { problems: list })));
  }
  if (view.counts.loading > 0) {
    lines.push(`<font color='blue'>${escapeMarkdown(t(lang, 'summary.loading', { loaded: view.total - view.counts.loading, total: view.total }))}</font>`);
  }
  for (const note of report.notes) lines.push(`<font color='grey'>${escapeMarkdown(clip(noteText(lang, note), 300))}</font>`);
  if (view.total === 0) lines.push(escapeMarkdown(t(lang, 'empty')));
  else if (view.filter === 'problems') lines.push(escapeMarkdown(t(lang, view.matching === 0 ? 'filter.none' : 'filter.problems')));
  return lines;
}

function actionValue(view: PageView, cardId: string, over: Partial<CardAction>): string {
  return encodeAction({ cardId, page: view.page, filter: view.filter, op: 'page', ...over });
}

function build(view: PageView, cardId: string, maxProblems: number): object {
  const { lang, report } = view.stored;
  const m = report.meeting;
  const title = m.subject ? t(lang, 'title', { subject: m.subject }) : t(lang, 'title.untitled', { code: m.code ? formatCode(m.code) : m.meetingId });
  const pageText = t(lang, 'page', { page: view.page + 1, pages: view.pages });
  const rowTemplate = loadTemplate('row');
  const rows = view.rows.slice(0, MAX_ROWS).map((a, i) => fill(rowTemplate, { id: `row_${i}`, content: rowContent(lang, a, maxProblems) }));
  const summary = summaryLines(view);
  return fill(loadTemplate('report'), {
    preview: plain(`${title} · ${t(lang, 'summary', { total: view.total, alert: view.counts.alert, nodata: view.counts.noData })}`, 120),
    title: plain(title),
    subtitle: plain(`${pageText} · ${m.code ? formatCode(m.code) : m.meetingId}`),
    color: headerColour(view),
    summary: summary.join('\n'),
    rows,
    prev_text: t(lang, 'btn.prev'),
    prev_disabled: view.page <= 0,
    prev_action: actionValue(view, cardId, { page: Math.max(0, view.page - 1) }),
    next_text: t(lang, 'btn.next'),
    next_disabled: view.page >= view.pages - 1,
    next_action: actionValue(view, cardId, { page: Math.min(view.pages - 1, view.page + 1) }),
    filter_text: t(lang, view.filter === 'problems' ? 'btn.all' : 'btn.problems'),
    filter_action: actionValue(view, cardId, { page: 0, filter: view.filter === 'problems' ? 'all' : 'problems' }),
    refresh_text: t(lang, 'btn.refresh'),
    refresh_action: actionValue(view, cardId, { op: 'refresh' }),
    page: escapeMarkdown(pageText),
  }) as object;
}

export function cardBytes(card: object): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

/** The report card for one page. Problems are trimmed (never rows dropped) if the card would pass 30 KB. */
export function renderFeishuCard(view: PageView, cardId: string): object {
  let card = build(view, cardId, 3);
  for (const maxProblems of [1, 0]) {
    if (cardBytes(card) <= MAX_CARD_BYTES) break;
    card = build(view, cardId, maxProblems);
  }
  return card;
}

/** Error, help and "querying…" cards: a title, the text (escaped), and the vendor's words in grey. */
export function renderFeishuMessage(lang: Lang, msg: ErrorMessage | { title: string; text: string }, buttons: readonly CardButton[] = []): object {
  const isError = msg.title === t(lang, 'err.title') || 'detail' in msg;
  const detail = 'detail' in msg && msg.detail
    ? [{ tag: 'markdown', element_id: 'detail', text_size: 'notation', content: `<font color='grey'>${escapeMarkdown(clip(msg.detail, 300))}</font>` }]
    : [];
  return fill(loadTemplate('message'), {
    preview: plain(`${msg.title}: ${msg.text}`, 120),
    title: plain(msg.title),
    color: isError ? 'orange' : 'blue',
    text: clip(msg.text, 4000).split('\n').map(escapeMarkdown).join('\n'),
    detail,
    buttons: buttons.length ? [buttonRow(buttons)] : [],
  }) as object;
}

/**
 * JSON 2.0 buttons in one flowing row: a callback carries an encodeAction value, a link opens a
 * page (open.feishu.cn/document/feishu-cards/card-json-v2-components/interactive-components/button).
 */
function buttonRow(buttons: readonly CardButton[]): object {
  return {
    tag: 'column_set', element_id: 'msg_buttons', flex_mode: 'flow',
    columns: buttons.slice(0, 4).map((b, i) => ({
      tag: 'column', width: 'auto',
      elements: [{
        tag: 'button', element_id: `msg_btn_${i}`, type: b.primary ? 'primary' : 'default', size: 'small',
        text: { tag: 'plain_text', content: plain(b.label, 20) },
        behaviors: ['url' in b ? { type: 'open_url', default_url: b.url } : { type: 'callback', value: { action: b.value } }],
      }],
    })),
  };
}

/** Any view of the conversation as the Feishu card that shows it. */
export function renderFeishuView(view: CardView): object {
  switch (view.kind) {
    case 'querying':
      return renderFeishuProgress(view.card.lang, view.text ? `${view.title}\n${view.text}` : view.title);
    case 'report':
      return renderFeishuCard(view.page, view.card.id);
    case 'message':
      return renderFeishuMessage(view.card.lang, view.message, view.buttons);
  }
}

/** The "querying…" / "loaded 120 / 300" card that the report later replaces. */
export function renderFeishuProgress(lang: Lang, text: string): object {
  return fill(loadTemplate('progress'), {
    preview: plain(text, 120),
    title: plain(t(lang, 'loading')),
    text: escapeMarkdown(clip(text, 500)),
  }) as object;
}

/** A Feishu open_id, safe to put in an `<at id=…></at>` tag (open_ids are `ou_` + letters and digits). */
const OPEN_ID = /^ou_[A-Za-z0-9_-]{1,64}$/;

/** `<at id=ou_…></at>` for an open_id (Feishu renders it as the person's name); anything else escaped. */
export function mentionOf(userId: string): string {
  return OPEN_ID.test(userId) ? `<at id=${userId}></at>` : escapeMarkdown(userId);
}

/**
 * The card that says user authorisation is needed: what happened, who can fix it, and for them an
 * Authorise button that opens the consent page (JSON 2.0 button, `behaviors:[{type:'open_url',
 * default_url}]`, open.feishu.cn feishu-cards/card-json-v2-components/interactive-components/button).
 * `who` is markdown the caller built (mentions included); everything else is escaped here.
 */
export function renderFeishuAuthorise(lang: Lang, msg: ErrorMessage, who: string, url?: string): object {
  const button = url
    ? [{
      tag: 'button', element_id: 'btn_authorise', type: 'primary', size: 'medium',
      text: { tag: 'plain_text', content: t(lang, 'auth.button') },
      behaviors: [{ type: 'open_url', default_url: url }],
    }]
    : [];
  const detail = msg.detail
    ? [{ tag: 'markdown', element_id: 'detail', text_size: 'notation', content: `<font color='grey'>${escapeMarkdown(clip(msg.detail, 300))}</font>` }]
    : [];
  return fill(loadTemplate('authorise'), {
    preview: plain(`${msg.title}: ${msg.text}`, 120),
    title: plain(msg.title),
    text: clip(msg.text, 2000).split('\n').map(escapeMarkdown).join('\n'),
    who,
    button,
    detail,
  }) as object;
}
