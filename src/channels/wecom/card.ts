import { encodeAction, type CardAction } from '../../core/actions.js';
import type { CardView } from '../../core/surface.js';
import { formatTime, noteText, t, type Lang } from '../../core/i18n.js';
import type { ErrorMessage } from '../../core/messages.js';
import { ASPECTS, type Attendee, type Level } from '../../core/model.js';
import type { PageView } from '../../core/paging.js';
import { fill, loadTemplate } from '../../edge/template.js';
import { clip, clipBytes, escapeWecomMarkdown as escapeMarkdown, plainText as clean } from '../../edge/text.js';

/**
 * WeCom 智能机器人 `template_card` rendering (card_type button_interaction). Every text field is
 * cut to WeCom's limit in characters (developer.work.weixin.qq.com/document/path/101032: the limits are
 * "字", i.e. characters), and keys/task_id to their byte limits. Template card fields are plain
 * text, not markdown; vendor text is still neutralised (control characters, angle brackets) so a
 * name like `<at id=all></at>` shows as written on every client and never acts as a tag.
 */

/** The template_card field limits of developer.work.weixin.qq.com/document/path/101032. */
export const LIMITS_WECOM = {
  title: 26,
  titleDesc: 30,
  subTitle: 112,
  sourceDesc: 13,
  rows: 6,
  keyname: 5,
  value: 26,
  buttons: 6,
  buttonText: 10,
  buttonKeyBytes: 1024,
  taskIdBytes: 128,
} as const;

/** The help button of a card: every button_interaction card needs one button at least (doc 101032). */
export function helpKey(cardId: string): string {
  return encodeAction({ cardId, page: 0, filter: 'all', op: 'help' });
}

export interface WecomButton {
  text: string;
  key: string;
  style?: 1 | 2 | 3 | 4;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const TEMPLATE_DIR = new URL('../../../cards/wecom/', import.meta.url);
/** Filled by the one template filler (src/edge/template.ts); `{{rows?}}` drops an empty horizontal_content_list. */
const templates = {
  report: loadTemplate(TEMPLATE_DIR, 'report'),
  message: loadTemplate(TEMPLATE_DIR, 'message'),
};

/** The report page as a `template_card` (the object, without the surrounding msgtype). */
export function renderWecomCard(view: PageView, taskId: string): Record<string, unknown> {
  const { report, lang } = view.stored;
  const m = report.meeting;
  const health = t(lang, `health.${report.health}`);
  const title = m.subject ? clean(m.subject) : t(lang, 'title.untitled', { code: m.code ?? clean(m.meetingId) });
  const desc = [health, m.startTime ? t(lang, 'meeting.time', { start: formatTime(m.startTime) }) : ''].filter(Boolean).join(' · ');

  // Most important first: sub_title_text is cut at 112 characters, so the partial-result note and
  // the counts must come before the page number and the problem list.
  const lines: string[] = [];
  for (const note of report.notes) lines.push(clean(noteText(lang, note)));
  lines.push(t(lang, 'summary', { total: view.total, alert: view.counts.alert, nodata: view.counts.noData }));
  if (view.counts.loading > 0) lines.push(t(lang, 'summary.loading', { loaded: view.total - view.counts.loading, total: view.total }));
  if (view.filter === 'problems') lines.push(view.matching === 0 ? t(lang, 'filter.none') : t(lang, 'filter.problems'));
  else if (view.total === 0) lines.push(t(lang, 'empty'));
  if (view.pages > 1) lines.push(t(lang, 'page', { page: view.page + 1, pages: view.pages }));
  if (view.topProblems.length) {
    lines.push(t(lang, 'summary.top', { problems: view.topProblems.map((p) => `${clean(p.text)}×${p.count}`).join(lang === 'zh' ? '、' : ', ') }));
  }

  return fill(templates.report, {
    source: clip(health, LIMITS_WECOM.sourceDesc),
    // desc_color: 0 grey, 1 black, 2 red, 3 green (doc 101032, source.desc_color).
    source_color: report.health === 2 ? 2 : report.health === 1 ? 3 : 0,
    title: clip(title, LIMITS_WECOM.title),
    desc: clip(desc, LIMITS_WECOM.titleDesc),
    summary: clip(lines.join('\n'), LIMITS_WECOM.subTitle),
    rows: view.rows.slice(0, LIMITS_WECOM.rows).map((a) => ({ keyname: clip(clean(a.name) || '?', LIMITS_WECOM.keyname), value: clip(rowValue(a, lang), LIMITS_WECOM.value) })),
    buttons: reportButtons(view, taskId).map(buttonJson),
    task_id: safeTaskId(taskId),
  }) as Record<string, unknown>;
}

/** An error, help or "expired" card. Button_interaction needs at least one button: help by default. */
export function renderWecomMessage(lang: Lang, msg: ErrorMessage | { title: string; text: string }, taskId: string, buttons?: WecomButton[]): Record<string, unknown> {
  const detail = 'detail' in msg && msg.detail ? clean(msg.detail) : undefined;
  const list = buttons && buttons.length ? buttons : [{ text: helpLabel(lang), key: helpKey(taskId), style: 2 as const }];
  return fill(templates.message, {
    title: clip(clean(msg.title), LIMITS_WECOM.title),
    text: clip(clean(msg.text, true), LIMITS_WECOM.subTitle),
    rows: detail ? [{ keyname: clip(lang === 'en' ? 'Vendor' : '厂商返回', LIMITS_WECOM.keyname), value: clip(detail.replace(/^[^:：]*[:：]\s*/, ''), LIMITS_WECOM.value) }] : [],
    buttons: uniqueButtons(list).slice(0, LIMITS_WECOM.buttons).map(buttonJson),
    task_id: safeTaskId(taskId),
  }) as Record<string, unknown>;
}

/** Previous / next only where they lead somewhere (WeCom has no disabled button), then the filter toggle and refresh. */
export function reportButtons(view: PageView, cardId: string): WecomButton[] {
  const { lang } = view.stored;
  const act = (a: Omit<CardAction, 'cardId'>) => encodeAction({ cardId, ...a });
  const buttons: WecomButton[] = [];
  if (view.page > 0) buttons.push({ text: t(lang, 'btn.prev'), key: act({ page: view.page - 1, filter: view.filter, op: 'page' }), style: 2 });
  if (view.page < view.pages - 1) buttons.push({ text: t(lang, 'btn.next'), key: act({ page: view.page + 1, filter: view.filter, op: 'page' }), style: 2 });
  const other = view.filter === 'problems' ? 'all' : 'problems';
  buttons.push({ text: other === 'problems' ? problemsLabel(lang) : t(lang, 'btn.all'), key: act({ page: 0, filter: other, op: 'page' }), style: 1 });
  buttons.push({ text: t(lang, 'btn.refresh'), key: act({ page: view.page, filter: view.filter, op: 'refresh' }), style: 2 });
  return uniqueButtons(buttons);
}

/**
 * Any view of the conversation as a template_card; its task_id is the card's id, which WeCom echoes
 * in every click (doc 101027) and which the card's buttons carry too.
 */
export function renderWecomView(view: CardView): Record<string, unknown> {
  const { lang, id } = view.card;
  switch (view.kind) {
    case 'querying':
      // The result shows once it is in: this button asks for the card as it stands then.
      // The main title holds 26 characters: "loading" there, the query and its progress below.
      return renderWecomMessage(lang, { title: t(lang, 'loading'), text: view.text ? `${view.title}\n${view.text}` : view.title }, id, [
        { text: t(lang, 'btn.refresh'), key: encodeAction({ cardId: id, page: 0, filter: view.card.filter, op: 'show' }), style: 1 },
      ]);
    case 'report':
      return renderWecomCard(view.page, id);
    case 'message': {
      // Template cards have no link buttons: an open_url button is left to the platforms that have them.
      const buttons: WecomButton[] = view.buttons.flatMap((b) => ('value' in b ? [{ text: b.label, key: b.value, style: b.primary ? 1 as const : 2 as const }] : []));
      return renderWecomMessage(lang, view.message, id, [...buttons, { text: helpLabel(lang), key: helpKey(id), style: 2 }]);
    }
  }
}

/** "Only problems" is cut at 10 characters; English gets a word that fits. */
function problemsLabel(lang: Lang): string {
  return lang === 'en' ? 'Problems' : t(lang, 'btn.problems');
}

/** The help button's label (the catalogue's help title is longer than a button's 10 characters). */
export function helpLabel(lang: Lang): string {
  return lang === 'en' ? 'Help' : '帮助';
}

/** Short ratings per aspect, worst signal first: "⚠ 音差 视好 屏— 网中 2项". */
function rowValue(a: Attendee, lang: Lang): string {
  if (!a.loaded) return t(lang, 'loading');
  const mark = a.health === 2 ? '⚠' : a.health === 1 ? '✓' : '·';
  const parts = ASPECTS.map((k) => `${ASPECT_SHORT[lang][k]}${LEVEL_SHORT[lang][a.ratings[k]]}`);
  const first = a.problems[0] ? ` ${clean(a.problems[0])}` : '';
  return `${mark} ${parts.join(' ')}${first}`;
}

const ASPECT_SHORT: Record<Lang, Record<(typeof ASPECTS)[number], string>> = {
  zh: { audio: '音', video: '视', screen: '屏', network: '网' },
  en: { audio: 'A', video: 'V', screen: 'S', network: 'N' },
};
/** One glyph per level so four aspects fit in the 26-character value. */
const LEVEL_SHORT: Record<Lang, Record<Level, string>> = {
  zh: { 0: '—', 1: '好', 2: '良', 3: '中', 4: '差' },
  en: { 0: '-', 1: '+', 2: '~', 3: '!', 4: 'x' },
};

function buttonJson(b: WecomButton): Json {
  return { text: clip(b.text, LIMITS_WECOM.buttonText), style: b.style ?? 1, key: clipBytes(b.key, LIMITS_WECOM.buttonKeyBytes) };
}

/** Duplicate keys are rejected with 42039 (doc 101032, button_list.key). */
function uniqueButtons(list: WecomButton[]): WecomButton[] {
  const seen = new Set<string>();
  return list.filter((b) => (seen.has(b.key) ? false : (seen.add(b.key), true)));
}

/** task_id: `[0-9A-Za-z_\-@]`, ≤128 bytes (doc 101032). */
export function safeTaskId(id: string): string {
  return id.replace(/[^0-9A-Za-z_\-@]/g, '_').slice(0, LIMITS_WECOM.taskIdBytes) || 'mc';
}

/**
 * The text helpers now live in src/edge/text.ts, named by format: `clean` is plainText, `escapeMarkdown`
 * (stream markdown) is escapeWecomMarkdown; `clip` and `clipBytes` are shared. Re-exported here under
 * their old names.
 */
export { clean, clip, clipBytes, escapeMarkdown };
