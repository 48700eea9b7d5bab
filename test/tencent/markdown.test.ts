import { describe, expect, it } from 'vitest';
import { renderWecomMarkdown, renderWecomMarkdownMessage, escapeWecomMarkdown } from '../../src/channels/tencent/markdown.js';
import { viewPage } from '../../src/core/paging.js';
import type { StoredReport } from '../../src/core/report.js';
import { attendee, report } from '../helpers/core.js';

function stored(n: number): StoredReport {
  const attendees = Array.from({ length: n }, (_, i) => attendee(`k${i}`, { name: i === 0 ? '<@all> **粗体** [x](http://e)' : `参会者${i}`, worst: i % 3 === 0 ? 4 : 1, problems: i % 3 === 0 ? ['网络丢包率高 <font color="info">'] : [] }));
  return { id: 'r1', createdAt: 0, chat: { channel: 'webhook', chatId: 'wecom-webhook' }, lang: 'zh', command: { vendor: 'tencent', meeting: { id: '1' }, problemsOnly: false },
    report: report(attendees, { meeting: { vendor: 'tencent', meetingId: '1', code: '806146667', subject: '全员会 <at>', ended: true } }) };
}

describe('WeCom robot markdown for the meeting-end report', () => {
  it('fits 5,000 attendees into 4,096 bytes, worst first, and says how many did not fit', () => {
    const md = renderWecomMarkdown(viewPage(stored(5000), 0, 'all', 10_000));
    expect(Buffer.byteLength(md, 'utf8')).toBeLessThanOrEqual(4096);
    const shown = (md.match(/\n\*\*/g) ?? []).length;
    expect(shown).toBeGreaterThan(10);
    expect(md).toContain(`… (+${5000 - shown})`);
    // Worst first: the first rows are the alerts.
    expect(md.split('\n').find((l) => l.startsWith('**'))).toContain('告警');
  });

  it('shows vendor text as written: no mention, no bold, no link, no font tag of its own', () => {
    const md = renderWecomMarkdown(viewPage(stored(3), 0, 'all', 10_000));
    expect(md).toContain('＜＠all＞ ＊＊粗体＊＊ ［x］(http://e)');
    expect(md).toContain('全员会 ＜at＞');
    expect(md).toContain('网络丢包率高 ＜font color="info"＞');
    expect(md).not.toContain('丢包率高 <font');
    expect(escapeWecomMarkdown('a\n# b')).toBe('a ＃ b');
    expect(renderWecomMarkdownMessage({ title: 'T', text: '<@all>', detail: '9042 **x**' })).toBe('**T**\n＜＠all＞\n<font color="comment">9042 ＊＊x＊＊</font>');
  });
});
