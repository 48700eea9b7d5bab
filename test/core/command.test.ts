import { describe, expect, it } from 'vitest';
import { atWindow, parseCommand as parseWith, MAX_COMMAND_CHARS } from '../../src/core/command.js';
import { vendorAliases } from '../../src/vendors/index.js';

/** The grammar as the bot runs it: the vendor words of every registration (vendors/index.ts). */
const VENDORS = vendorAliases();
const parseCommand = (text: string) => parseWith(text, VENDORS);

const quality = (text: string) => {
  const r = parseCommand(text);
  if (!r.ok) throw new Error(`expected ok for ${text}: ${JSON.stringify(r.error)}`);
  if (r.command.kind !== 'quality') throw new Error(`expected quality for ${text}`);
  return r.command;
};
const failure = (text: string) => {
  const r = parseCommand(text);
  if (r.ok) throw new Error(`expected a parse error for ${text}`);
  return r.error;
};

describe('command grammar', () => {
  it.each([
    ['/quality 123-456-789', { code: '123456789' }],
    ['/quality 123456789', { code: '123456789' }],
    ['/quality 123 456 789', { code: '123456789' }],
    ['/quality 1234-5678-9012', { code: '123456789012' }],
    ['/质量 123-456-789', { code: '123456789' }],
    ['/health 123-456-789', { code: '123456789' }],
    ['/QUALITY 123-456-789', { code: '123456789' }],
    ['/quality tencent:806-146-667', { vendor: 'tencent', code: '806146667' }],
    ['/quality wecom:123456789', { vendor: 'wecom', code: '123456789' }],
    ['/quality feishu:123456789', { vendor: 'feishu', code: '123456789' }],
    ['/quality demo:123456789', { vendor: 'demo', code: '123456789' }],
    ['/quality 腾讯会议:806-146-667', { vendor: 'tencent', code: '806146667' }],
    ['/quality #腾讯会议：806-146-667', { vendor: 'tencent', code: '806146667' }],
    ['#腾讯会议：806-146-667', { vendor: 'tencent', code: '806146667' }],
    ['/quality wecom:hyQ3MjAyNTA1MDEx', { vendor: 'wecom', id: 'hyQ3MjAyNTA1MDEx' }],
    ['/quality tencent:7567173273889276131', { vendor: 'tencent', id: '7567173273889276131' }],
  ])('%s', (text, meeting) => {
    expect(quality(text).meeting).toEqual(meeting);
  });

  it('strips @mentions: Feishu placeholders, <at> tags and a leading @name', () => {
    expect(quality('@_user_1 /quality 123-456-789').meeting.code).toBe('123456789');
    expect(quality('<at user_id="ou_x">meetcheck</at> /quality 123-456-789').meeting.code).toBe('123456789');
    expect(quality('@meetcheck /quality 123-456-789').meeting.code).toBe('123456789');
    expect(quality('/quality 123-456-789 @_user_2').meeting.code).toBe('123456789');
  });

  it('reads full-width input (NFKC) and odd dashes', () => {
    expect(quality('／quality　１２３－４５６－７８９').meeting.code).toBe('123456789');
    expect(quality('/质量 tencent：806—146—667').meeting).toEqual({ vendor: 'tencent', code: '806146667' });
    expect(quality('/quality １２３４５６７８９　－－ｐｒｏｂｌｅｍｓ').problemsOnly).toBe(true);
  });

  it('reads --problems and --at in any order', () => {
    const c = quality('/quality --problems 123-456-789 --at 2026-11-20 09:30');
    expect(c).toEqual({ kind: 'quality', meeting: { code: '123456789' }, problemsOnly: true, at: { date: '2026-11-20', time: '09:30' } });
    expect(quality('/quality 123456789 --at 2026-1-5').at).toEqual({ date: '2026-01-05' });
    expect(quality('/quality 123456789 --at=2026-11-20T08:05').at).toEqual({ date: '2026-11-20', time: '08:05' });
    expect(quality('/quality 123456789 -p').problemsOnly).toBe(true);
  });

  it('help and its aliases; empty text is help', () => {
    for (const text of ['/help', '/帮助', '@_user_1 /help', '', '   ', '@_user_1']) {
      expect(parseCommand(text)).toEqual({ ok: true, command: { kind: 'help' } });
    }
  });

  it.each([
    ['/quality', 'parse.empty'],
    ['/quality --problems', 'parse.empty'],
    ['/quality 12345', 'parse.badMeeting'],
    ['/quality 123-456-78a', 'parse.badMeeting'],
    ['/quality zoom:123456789', 'parse.badVendor'],
    ['/quality 123456789 --at yesterday', 'parse.badAt'],
    ['/quality 123456789 --at 2026-02-30', 'parse.badAt'],
    ['/quality 123456789 --at 2026-11-20 25:00', 'parse.badAt'],
    ['/quality 123456789 --at', 'parse.badAt'],
    ['/quality 123456789 --verbose', 'parse.unknownFlag'],
    ['/qualty 123456789', 'parse.unknownCommand'],
    ['hello there', 'parse.unknownCommand'],
  ])('%s → %s', (text, key) => {
    expect(failure(text).key).toBe(key);
  });

  it('hostile input: markup, huge text, control characters', () => {
    // <at> tags are mentions and go; other markup is not a meeting.
    expect(failure('/quality <at id=all></at>').key).toBe('parse.empty');
    expect(failure('/quality <b>x</b>')).toEqual({ key: 'parse.badMeeting', input: '<b>x</b>' });
    expect(failure('/quality ' + '1'.repeat(MAX_COMMAND_CHARS)).key).toBe('parse.tooLong');
    expect(failure('x'.repeat(100_000)).key).toBe('parse.tooLong');
    expect(quality('/quality\u0000 123\u200b456789').meeting.code).toBe('123456789');
    // The echoed input is bounded, whatever was sent.
    expect(failure('/quality ' + 'a<'.repeat(100)).input!.length).toBeLessThanOrEqual(60);
    expect(failure('/quality javascript:alert(1)').key).toBe('parse.badVendor');
  });
});

describe('vendor words come from the registrations, not the grammar', () => {
  it('every registered name and alias, ignoring case and spaces; a trailing 号 on an invite line', () => {
    expect(quality('/quality Lark:123456789').meeting).toEqual({ vendor: 'feishu', code: '123456789' });
    expect(quality('/quality 企微:123456789').meeting).toEqual({ vendor: 'wecom', code: '123456789' });
    expect(quality('/quality voov meeting: 806-146-667').meeting).toEqual({ vendor: 'tencent', code: '806146667' });
    expect(quality('#腾讯会议号：806-146-667').meeting).toEqual({ vendor: 'tencent', code: '806146667' });
  });

  it('a table with another vendor reads its prefix; without it the same text is an unknown vendor', () => {
    const zoom = new Map([['zoom', 'zoom'], ['zm', 'zoom']]);
    expect(parseWith('/quality zm:123456789', zoom)).toEqual({ ok: true, command: { kind: 'quality', meeting: { vendor: 'zoom', code: '123456789' }, problemsOnly: false } });
    expect(parseWith('/quality tencent:806146667', zoom)).toEqual({ ok: false, error: { key: 'parse.badVendor', input: 'tencent' } });
    expect(parseWith('#腾讯会议：806-146-667', new Map())).toEqual({ ok: false, error: { key: 'parse.unknownCommand', input: '#腾讯会议:806-146-667' } });
  });
});

describe('--at window', () => {
  it('a whole day in UTC+8', () => {
    const w = atWindow({ date: '2026-11-20' });
    expect(new Date(w.from * 1000).toISOString()).toBe('2026-11-19T16:00:00.000Z');
    expect(w.to - w.from).toBe(86_400);
  });
  it('a minute ± 30 minutes', () => {
    const w = atWindow({ date: '2026-11-20', time: '09:30' });
    expect(new Date(w.from * 1000).toISOString()).toBe('2026-11-20T01:00:00.000Z');
    expect(new Date(w.to * 1000).toISOString()).toBe('2026-11-20T02:00:00.000Z');
  });
});
