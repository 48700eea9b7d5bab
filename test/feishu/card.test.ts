import type { ReportNote } from '../../src/core/model.js';
import { describe, expect, it } from 'vitest';
import { decodeAction } from '../../src/core/actions.js';
import { viewPage } from '../../src/core/paging.js';
import type { StoredReport } from '../../src/core/report.js';
import { cardBytes, escapeMarkdown, renderFeishuCard, renderFeishuMessage, renderFeishuProgress } from '../../src/channels/feishu/card.js';
import { attendee, report } from '../helpers/core.js';

function stored(attendees = [attendee('a', { worst: 4, problems: ['High CPU'] }), attendee('b'), attendee('c', { loaded: false })], notes: ReportNote[] = []): StoredReport {
  return {
    id: 'r1abc', createdAt: 0, chat: { channel: 'feishu', chatId: 'oc_1' }, lang: 'en',
    command: { vendor: 'feishu', meeting: { vendor: 'feishu', code: '123456789' }, problemsOnly: false },
    report: report(attendees, { health: 2, notes }),
  };
}

/** Every element in the card body, nested ones included. */
function elements(node: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      const o = n as Record<string, unknown>;
      if (typeof o.tag === 'string') out.push(o);
      Object.values(o).forEach(walk);
    }
  };
  walk((node as { body: unknown }).body);
  return out;
}

const buttons = (card: object) => elements(card).filter((e) => e.tag === 'button') as { element_id: string; disabled?: boolean; behaviors: { value: { action: string } }[] }[];
const markdown = (card: object) => elements(card).filter((e) => e.tag === 'markdown').map((e) => e.content as string).join('\n');

/** Markup characters in `text` that are not behind a backslash (each backslash pair is a literal one). */
function unescaped(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if ('`*_{}[]<>'.includes(text[i]!)) found.push(`${text[i]}@${i}`);
  }
  return found;
}

const CARD = 'mc_cardcardcard1234';

describe('Feishu report card', () => {
  it('is card JSON 2.0, shared (update_multi), red for an alert, one row per attendee on the page', () => {
    const card = renderFeishuCard(viewPage(stored(), 0, 'all', 10), CARD) as Record<string, any>;
    expect(card.schema).toBe('2.0');
    expect(card.config.update_multi).toBe(true);
    expect(card.header.template).toBe('red');
    expect(card.header.title).toEqual({ tag: 'plain_text', content: 'Meeting quality: Sync' });
    const rows = elements(card).filter((e) => String(e.element_id).startsWith('row_'));
    expect(rows).toHaveLength(3);
    // Worst first, and the unloaded one says loading, never "good".
    expect(rows[0]!.content).toContain('**a**');
    expect(rows[0]!.content).toContain("<font color='red'>High CPU</font>");
    expect(rows[2]!.content).toContain('loading');
    expect(rows[2]!.content).not.toContain('good');
    const text = markdown(card);
    expect(text).toContain('3 attendees (per device), 1 with alerts');
    expect(text).toContain('Most common problems: High CPU ×1');
    expect(text).toContain('Loaded quality for 2 / 3 attendees');
    expect(text).toContain('Page 1 / 1');
  });

  it('buttons carry opaque actions: previous disabled on page 1, next to page 2, the filter toggle, refresh', () => {
    const many = Array.from({ length: 25 }, (_, i) => attendee(`p${String(i).padStart(2, '0')}`, { worst: i % 5 === 0 ? 4 : 1 }));
    const card = renderFeishuCard(viewPage(stored(many), 0, 'all', 10), CARD);
    const [prev, next, filter, refresh] = buttons(card);
    expect(prev!.disabled).toBe(true);
    expect(next!.disabled).toBe(false);
    expect(decodeAction(next!.behaviors[0]!.value.action)).toEqual({ cardId: CARD, page: 1, filter: 'all', op: 'page' });
    expect(decodeAction(filter!.behaviors[0]!.value.action)).toEqual({ cardId: CARD, page: 0, filter: 'problems', op: 'page' });
    expect(decodeAction(refresh!.behaviors[0]!.value.action)).toEqual({ cardId: CARD, page: 0, filter: 'all', op: 'refresh' });
    const last = renderFeishuCard(viewPage(stored(many), 2, 'problems', 10), CARD);
    expect(buttons(last)[1]!.disabled).toBe(true);
    expect(JSON.stringify(last)).toContain('Show all');
    // element_id must be unique within a 2.0 card (§4.1).
    const ids = elements(card).map((e) => e.element_id).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('shows hostile names and problems as written: no @all, no bold, no link', () => {
    const evil = [attendee('x', { name: '<at id=all></at>', worst: 4, problems: ['**boom** [click](https://evil.invalid)'] }), attendee('y', { name: '**粗体**' })];
    const card = renderFeishuCard(viewPage(stored(evil, [{ key: 'note.healthUnavailable', params: { code: '<at id=all></at>' } }]), 0, 'all', 10), CARD);
    const json = JSON.stringify(card);
    // Every `<` of vendor text sits behind a backslash, so no client reads a tag.
    expect(markdown(card)).not.toMatch(/(^|[^\\])<at/);
    expect(json).not.toContain('**粗体**');
    expect(json).not.toContain('[click]');
    expect(markdown(card)).toContain('\\<at id=all\\>\\</at\\>');
    expect(unescaped(markdown(card).replace(/<\/?font[^>]*>/g, '').replace(/\*\*(?=[^*])/g, ''))).toEqual([]);
  });

  it('escapes vendor text the way Feishu\'s own plugin does (backslashes), so names show as written', () => {
    expect(escapeMarkdown('john_doe')).toBe('john\\_doe');
    expect(escapeMarkdown('**x**')).toBe('\\*\\*x\\*\\*');
    expect(escapeMarkdown('<at id=all></at>')).toBe('\\<at id=all\\>\\</at\\>');
    expect(escapeMarkdown('[link](http://x)')).toBe('\\[link\\](http://x)');
    // A backslash of the vendor's cannot undo an escape of ours.
    expect(escapeMarkdown('a\\*b*')).toBe('a\\\\\\*b\\*');
    expect(escapeMarkdown('`code` {x}')).toBe('\\`code\\` \\{x\\}');
    // No entity smuggling: an entity-looking run loses its meaning, a plain ampersand stays.
    expect(escapeMarkdown('&lt;at id=all&gt;&lt;/at&gt;')).toBe('&amp;lt;at id=all&amp;gt;&amp;lt;/at&amp;gt;');
    expect(escapeMarkdown('R&D & QA')).toBe('R&D & QA');
    expect(escapeMarkdown('a\n# b\r\n- c')).toBe('a # b - c');
    for (const hostile of ['john_doe', '**x**', '<at id=all></at>', '[link](http://x)', '\\<at id=all>', '__a__ *b* `c`']) {
      expect(unescaped(escapeMarkdown(hostile))).toEqual([]);
    }
  });

  it('a name like john_doe shows as written in the rendered row (no entity, no markup)', () => {
    const card = renderFeishuCard(viewPage(stored([attendee('j', { name: 'john_doe' })]), 0, 'all', 10), CARD);
    const row = elements(card).find((e) => e.element_id === 'row_0')!;
    expect(row.content).toContain('**john\\_doe**');
    expect(JSON.stringify(card)).not.toContain('&#95;');
  });

  it('stays under 30 KB and 200 elements with 20 rows of long names and many problems', () => {
    const long = Array.from({ length: 20 }, (_, i) => attendee(`k${i}`, {
      name: '名'.repeat(200), worst: 4, problems: Array.from({ length: 12 }, (_, j) => `问题${j}`.repeat(40)),
    }));
    const card = renderFeishuCard(viewPage(stored(long), 0, 'all', 20), CARD);
    expect(cardBytes(card)).toBeLessThanOrEqual(30 * 1024);
    expect(elements(card).length).toBeLessThan(200);
  });

  it('error, help and progress cards escape their text and keep the vendor detail grey', () => {
    const err = renderFeishuMessage('en', { title: 'Query failed', text: 'Meeting not found.', detail: 'Vendor said: <at id=all></at>' }) as Record<string, any>;
    expect(err.schema).toBe('2.0');
    expect(err.header.template).toBe('orange');
    expect(markdown(err)).not.toMatch(/(^|[^\\])<at/);
    expect(markdown(err)).toContain('\\<at id=all\\>');
    const help = renderFeishuMessage('zh', { title: 'meetcheck 使用说明', text: '/quality <会议号>' }) as Record<string, any>;
    expect(help.header.template).toBe('blue');
    expect(markdown(help)).toBe('/quality \\<会议号\\>');
    const progress = renderFeishuProgress('en', 'Loaded 120 / 300 attendees…') as Record<string, any>;
    expect(progress.config.update_multi).toBe(true);
    expect(markdown(progress)).toContain('Loaded 120 / 300');
  });
});
