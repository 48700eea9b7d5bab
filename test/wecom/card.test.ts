import { describe, expect, it } from 'vitest';
import { decodeAction } from '../../src/core/actions.js';
import { describeError } from '../../src/core/messages.js';
import { MeetcheckError } from '../../src/core/errors.js';
import { viewPage } from '../../src/core/paging.js';
import type { StoredReport } from '../../src/core/report.js';
import { helpKey, LIMITS_WECOM, clip, escapeMarkdown, renderWecomCard, renderWecomMessage } from '../../src/channels/wecom/card.js';
import { attendee, report } from '../helpers/core.js';

type Card = {
  card_type: string;
  source?: { desc: string; desc_color: number };
  main_title: { title: string; desc?: string };
  sub_title_text?: string;
  horizontal_content_list?: { keyname: string; value: string; type?: number }[];
  button_list: { text: string; key: string; style: number }[];
  task_id: string;
};

const chars = (s: string) => Array.from(s).length;

/** Every documented limit of wecom-bot-and-meeting-api.md §3, checked on one card. */
function expectWithinLimits(card: Card): void {
  expect(card.card_type).toBe('button_interaction');
  expect(chars(card.main_title.title)).toBeLessThanOrEqual(26);
  if (card.main_title.desc) expect(chars(card.main_title.desc)).toBeLessThanOrEqual(30);
  if (card.sub_title_text) expect(chars(card.sub_title_text)).toBeLessThanOrEqual(112);
  if (card.source) expect(chars(card.source.desc)).toBeLessThanOrEqual(13);
  const rows = card.horizontal_content_list ?? [];
  expect(rows.length).toBeLessThanOrEqual(6);
  for (const r of rows) {
    expect(chars(r.keyname)).toBeLessThanOrEqual(5);
    expect(chars(r.value)).toBeLessThanOrEqual(26);
  }
  expect(card.button_list.length).toBeGreaterThanOrEqual(1);
  expect(card.button_list.length).toBeLessThanOrEqual(6);
  const keys = card.button_list.map((b) => b.key);
  expect(new Set(keys).size).toBe(keys.length);
  for (const b of card.button_list) {
    expect(chars(b.text)).toBeLessThanOrEqual(10);
    expect(Buffer.byteLength(b.key)).toBeLessThanOrEqual(1024);
    expect([1, 2, 3, 4]).toContain(b.style);
  }
  expect(card.task_id).toMatch(/^[0-9A-Za-z_\-@]{1,128}$/);
  expect(card).not.toHaveProperty('emphasis_content');
}

function stored(n: number, over: Partial<StoredReport> = {}, lang: 'zh' | 'en' = 'zh'): StoredReport {
  const people = Array.from({ length: n }, (_, i) => attendee(`k${i}`, { name: `成员${i}`, worst: i % 4 === 0 ? 4 : 1 }));
  return {
    id: 'R1abc', createdAt: 0, chat: { channel: 'wecom', chatId: 'c1' }, lang,
    command: { vendor: 'wecom', meeting: { vendor: 'wecom', code: '123456789' }, problemsOnly: false },
    report: report(people, { health: 2, meeting: { vendor: 'wecom', code: '123456789', meetingId: 'hy1', ended: true, subject: '一个非常非常非常非常长的会议标题，远远超过二十六个字符的限制，还有更多', startTime: 1_763_700_000 } }),
    ...over,
  };
}

describe('renderWecomCard', () => {
  it('fits every WeCom limit, six rows a page, worst first, health in the title line', () => {
    const view = viewPage(stored(40), 0, 'all', 6);
    const card = renderWecomCard(view, 'mc_task1') as Card;
    expectWithinLimits(card);
    expect(card.horizontal_content_list).toHaveLength(6);
    expect(card.main_title.title.endsWith('…')).toBe(true);
    expect(card.main_title.desc).toContain('告警');
    expect(card.source).toEqual({ desc: '告警', desc_color: 2 });
    expect(card.sub_title_text).toContain('40 位参会者');
    expect(card.sub_title_text).toContain('第 1 / 7 页');
    // Worst first: the alerts (every 4th person) lead.
    expect(card.horizontal_content_list![0]!.value.startsWith('⚠')).toBe(true);
    expect(card.task_id).toBe('mc_task1');
  });

  it('offers next on the first page, previous and next in the middle, previous on the last; keys decode', () => {
    const id = 'mc_task1task1task1t';
    const texts = (p: number) => (renderWecomCard(viewPage(stored(40), p, 'all', 6), id) as Card).button_list.map((b) => b.text);
    expect(texts(0)).toEqual(['下一页', '只看问题', '刷新']);
    expect(texts(3)).toEqual(['上一页', '下一页', '只看问题', '刷新']);
    expect(texts(6)).toEqual(['上一页', '只看问题', '刷新']);
    const mid = renderWecomCard(viewPage(stored(40), 3, 'all', 6), id) as Card;
    const actions = mid.button_list.map((b) => decodeAction(b.key));
    expect(actions).toEqual([
      { cardId: id, page: 2, filter: 'all', op: 'page' },
      { cardId: id, page: 4, filter: 'all', op: 'page' },
      { cardId: id, page: 0, filter: 'problems', op: 'page' },
      { cardId: id, page: 3, filter: 'all', op: 'refresh' },
    ]);
    const problems = renderWecomCard(viewPage(stored(40), 0, 'problems', 6), 't') as Card;
    expect(problems.button_list.map((b) => b.text)).toContain('显示全部');
    expect(problems.sub_title_text).toContain('仅显示有问题的参会者');
  });

  it('shows hostile vendor text as written: no tags, no line breaks, nothing that pings', () => {
    const s = stored(2);
    s.report.attendees[0]!.name = '<at id=all></at>';
    s.report.attendees[0]!.problems = ['**x**\n<at id=all></at>'];
    s.report.attendees[0]!.health = 2;
    s.report.meeting.subject = '<at id=all></at>\n标题';
    const card = renderWecomCard(viewPage(s, 0, 'all', 6), 't') as Card;
    const json = JSON.stringify(card);
    expect(json).not.toMatch(/<at/);
    expect(card.main_title.title).not.toContain('\n');
    for (const r of card.horizontal_content_list!) expect(r.value).not.toContain('\n');
    expect(card.horizontal_content_list![0]!.keyname).toBe('＜at …');
    expectWithinLimits(card);
  });

  it('cuts by characters, never splitting a surrogate pair', () => {
    expect(clip('😀'.repeat(30), 26)).toBe('😀'.repeat(25) + '…');
    expect(clip('short', 26)).toBe('short');
  });

  it('says plainly that a report is partial, first in the sub-title', () => {
    const s = stored(10);
    s.report.complete = false;
    s.report.notes = [{ key: 'summary.partial', params: { reason: { key: 'note.partial.deadline', params: { seconds: 60, loaded: 10 } } } }];
    const card = renderWecomCard(viewPage(s, 0, 'all', 6), 't') as Card;
    expect(card.sub_title_text!.startsWith('仅显示部分结果')).toBe(true);
  });

  it('renders an empty meeting and the English catalogue within limits', () => {
    expectWithinLimits(renderWecomCard(viewPage(stored(0), 0, 'all', 6), 't') as Card);
    const en = renderWecomCard(viewPage(stored(13, {}, 'en'), 1, 'all', 6), 't') as Card;
    expectWithinLimits(en);
    expect(en.button_list.map((b) => b.text)).toEqual(['Previous', 'Next', 'Problems', 'Refresh']);
  });
});

describe('renderWecomMessage', () => {
  it('renders an error with its vendor detail and a help button by default', () => {
    const msg = describeError('zh', new MeetcheckError('ip_not_trusted', '60020 not allow to access from your ip'));
    const card = renderWecomMessage('zh', msg, 'mc_x') as Card;
    expectWithinLimits(card);
    expect(card.sub_title_text).toContain('可信 IP');
    expect(card.horizontal_content_list![0]!.value).toContain('60020');
    expect(card.button_list).toEqual([{ text: '帮助', key: helpKey('mc_x'), style: 2 }]);
  });

  it('drops duplicate button keys (WeCom answers 42039)', () => {
    const card = renderWecomMessage('en', { title: 't', text: 'x' }, 'mc_x', [{ text: 'a', key: 'k' }, { text: 'b', key: 'k' }]) as Card;
    expect(card.button_list).toHaveLength(1);
  });
});

describe('escapeMarkdown', () => {
  it('defuses what would ping, link or open a tag in stream text, with no backslash to show', () => {
    const out = escapeMarkdown('<at id=all></at> <@zhangsan> [link](http://x) @all @ALL');
    expect(out).not.toMatch(/[<>]/);
    expect(out).toContain('＜@zhangsan＞');
    expect(out).not.toMatch(/@all/i);
    expect(out).not.toContain('](');
    expect(out).not.toContain('\\');
    // Read by a person (invisible word joiners dropped), it is what the vendor wrote, brackets full-width.
    expect(out.replace(/\u2060/g, '')).toBe('＜at id=all＞＜/at＞ ＜@zhangsan＞ [link](http://x) @all @ALL');
  });

  it('leaves underscores, asterisks and the rest alone: zhang_san shows as written', () => {
    expect(escapeMarkdown('zhang_san')).toBe('zhang_san');
    expect(escapeMarkdown('john_doe **x** a~b #1 a|b x@example.com')).toBe('john_doe **x** a~b #1 a|b x@example.com');
    expect(escapeMarkdown('line 1\nline\u0007 2')).toBe('line 1\nline  2');
  });
});
