import { describe, expect, it } from 'vitest';
import {
  clip, clipBytes, clipWidth, displayWidth, escapeFeishuMarkdown, escapeWecomLegacyMarkdown, escapeWecomMarkdown, flatten, plainLine,
  plainText, terminalText,
} from '../../src/edge/text.js';

/**
 * The escapers and cutters each renderer had before they moved to src/edge/text.ts, copied verbatim
 * from commit d927aec, as oracles: the shared ones must answer exactly the same on every input.
 */
const before = {
  /** src/channels/feishu/card.ts escapeMarkdown */
  feishuEscape(text: string): string {
    return text
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
      .replace(/&(?=#?[0-9A-Za-z]+;)/g, '&amp;')
      .replace(/\\/g, '\\\\')
      .replace(/([`*_{}[\]<>])/g, '\\$1');
  },
  /** src/channels/feishu/card.ts clip (also src/channels/tencent/markdown.ts clip) */
  feishuClip(text: string, max: number): string {
    const chars = [...text];
    return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…';
  },
  /** src/channels/feishu/card.ts plain */
  feishuPlain(text: string, max = 100): string {
    return before.feishuClip(text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim(), max);
  },
  /** src/channels/wecom/card.ts clean */
  wecomClean(s: string, keepNewlines = false): string {
    const flat = keepNewlines ? s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, ' ') : s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
    return flat.replace(/</g, '＜').replace(/>/g, '＞');
  },
  /** src/channels/wecom/card.ts clip */
  wecomClip(s: string, max: number): string {
    const chars = Array.from(s);
    if (chars.length <= max) return s;
    return chars.slice(0, Math.max(0, max - 1)).join('') + '…';
  },
  /** src/channels/wecom/card.ts clipBytes */
  wecomClipBytes(s: string, max: number): string {
    if (Buffer.byteLength(s) <= max) return s;
    let out = '';
    for (const ch of s) {
      if (Buffer.byteLength(out + ch) > max) break;
      out += ch;
    }
    return out;
  },
  /** src/channels/wecom/card.ts escapeMarkdown (stream markdown) */
  wecomEscape(s: string): string {
    return before.wecomClean(s, true).replace(/@(?=all\b)/gi, '@\u2060').replace(/\]\(/g, ']\u2060(');
  },
  /** src/channels/tencent/markdown.ts escapeWecomMarkdown (group-robot legacy markdown) */
  legacyEscape(text: string): string {
    const map: Record<string, string> = { '<': '＜', '>': '＞', '*': '＊', '_': '＿', '`': '｀', '[': '［', ']': '］', '#': '＃', '~': '～', '|': '｜', '\\': '＼', '@': '＠' };
    return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/[<>*_`[\]#~|\\@]/g, (c) => map[c]!);
  },
  /** src/channels/tencent/markdown.ts fitBytes */
  fitBytes(text: string, max: number): string {
    const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
    if (bytes(text) <= max) return text;
    let out = '';
    let size = bytes('…');
    for (const ch of text) {
      size += bytes(ch);
      if (size > max) break;
      out += ch;
    }
    return `${out}…`;
  },
  /** src/channels/console/terminal.ts safe */
  terminalSafe(s: string): string {
    return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  },
  /** src/channels/console/terminal.ts displayWidth + clip */
  displayWidth(s: string): number {
    let w = 0;
    for (const ch of s) {
      const cp = ch.codePointAt(0)!;
      w += cp >= 0x1100 && (cp <= 0x115f || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || cp >= 0x20000) ? 2 : 1;
    }
    return w;
  },
  terminalClip(s: string, width: number): string {
    if (before.displayWidth(s) <= width) return s;
    let out = '';
    for (const ch of s) {
      if (before.displayWidth(out + ch) > width - 1) break;
      out += ch;
    }
    return out + '…';
  },
};

/** Everything the escapers treat specially, plus CJK, full-width, astral and lone surrogates. */
const ALPHABET = [
  'a', 'Z', '0', ' ', '\t', '\n', '\r', '\r\n', '\u0000', '\u001b', '\u007f', '\u0085', '\u009f', '\u2028', '\u2029', '\u2060',
  '<', '>', '&', '&amp;', '&#95;', '&lt;', ';', '#', '*', '_', '~', '`', '[', ']', '(', ')', '](', '{', '}', '|', '\\', '@', '@all', '@ALL', '@alle',
  '<at id=all></at>', '<font color="red">', '张', '三', '．', 'ｱ', '😀', '👩‍💻', '\ud800', '\udc00', 'é', 'e\u0301',
];

/** A fixed pseudo-random corpus (mulberry32, seed 42): the same strings on every run. */
function corpus(count: number): string[] {
  let seed = 42;
  const next = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = ['', ...ALPHABET];
  for (let i = 0; i < count; i++) {
    const len = Math.floor(next() * 24);
    out.push(Array.from({ length: len }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]!).join(''));
  }
  return out;
}
const TEXTS = corpus(1500);
const SIZES = [1, 2, 3, 4, 5, 6, 10, 26, 40];

describe('escapers: exactly what each renderer did before, on 1,500 tricky strings', () => {
  it('escapeFeishuMarkdown = feishu/card.ts escapeMarkdown', () => {
    for (const s of TEXTS) expect(escapeFeishuMarkdown(s)).toBe(before.feishuEscape(s));
  });
  it('escapeWecomMarkdown = wecom/card.ts escapeMarkdown (stream markdown)', () => {
    for (const s of TEXTS) expect(escapeWecomMarkdown(s)).toBe(before.wecomEscape(s));
  });
  it('escapeWecomLegacyMarkdown = tencent/markdown.ts escapeWecomMarkdown (group robot)', () => {
    for (const s of TEXTS) expect(escapeWecomLegacyMarkdown(s)).toBe(before.legacyEscape(s));
  });
  it('plainText = wecom/card.ts clean, with and without newlines', () => {
    for (const s of TEXTS) {
      expect(plainText(s)).toBe(before.wecomClean(s));
      expect(plainText(s, true)).toBe(before.wecomClean(s, true));
    }
  });
  it('terminalText = console/terminal.ts safe', () => {
    for (const s of TEXTS) expect(terminalText(s)).toBe(before.terminalSafe(s));
  });
});

describe('cutters: exactly what each renderer did before', () => {
  it('clip = the wecom, feishu and tencent clips (they differed only for max 0, which no caller uses)', () => {
    for (const s of TEXTS) {
      for (const n of SIZES) {
        expect(clip(s, n)).toBe(before.wecomClip(s, n));
        expect(clip(s, n)).toBe(before.feishuClip(s, n));
      }
    }
    expect(clip('abc', 0)).toBe('…');
  });
  it('plainLine = feishu/card.ts plain', () => {
    for (const s of TEXTS) for (const n of SIZES) expect(plainLine(s, n)).toBe(before.feishuPlain(s, n));
  });
  it('clipBytes = wecom/card.ts clipBytes, and with "…" = tencent/markdown.ts fitBytes', () => {
    for (const s of TEXTS) {
      for (const n of [0, 1, 3, 4, 5, 8, 13, 20, 64]) {
        expect(clipBytes(s, n)).toBe(before.wecomClipBytes(s, n));
        expect(clipBytes(s, n, '…')).toBe(before.fitBytes(s, n));
      }
    }
  });
  it('displayWidth and clipWidth = console/terminal.ts displayWidth and clip', () => {
    for (const s of TEXTS) {
      expect(displayWidth(s)).toBe(before.displayWidth(s));
      for (const n of SIZES) expect(clipWidth(s, n)).toBe(before.terminalClip(s, n));
    }
  });
});

describe('what each format does, by example', () => {
  it('Feishu markdown: backslash escapes; @all and links inert; lines collapse', () => {
    expect(escapeFeishuMarkdown('<at id=all></at> **x** [a](b) john_doe')).toBe('\\<at id=all\\>\\</at\\> \\*\\*x\\*\\* \\[a\\](b) john\\_doe');
    expect(escapeFeishuMarkdown('A & B &lt;at&gt; C:\\')).toBe('A & B &amp;lt;at&amp;gt; C:\\\\');
    expect(escapeFeishuMarkdown('a\n\n# b\u2028c')).toBe('a # b c');
  });
  it('WeCom stream markdown: nothing backslashed, only defused; newlines kept', () => {
    expect(escapeWecomMarkdown('zhang_san <@u1> @all [x](y)\r\nnext')).toBe('zhang_san ＜@u1＞ @\u2060all [x]\u2060(y)\nnext');
  });
  it('WeCom legacy markdown: full-width look-alikes, one line', () => {
    expect(escapeWecomLegacyMarkdown('**a_b** <font> @all\n# x')).toBe('＊＊a＿b＊＊ ＜font＞ ＠all ＃ x');
  });
  it('flatten turns each run of control characters and line separators into one space', () => {
    expect(flatten('a\r\n\t\u2028b\u0000c')).toBe('a b c');
  });
  it('cutters never split a surrogate pair and count "…" in the limit', () => {
    expect(clip('😀😀😀', 2)).toBe('😀…');
    expect(clipBytes('😀😀', 5)).toBe('😀');
    expect(clipBytes('😀😀', 7, '…')).toBe('😀…');
    expect(clipBytes('abc', 3, '…')).toBe('abc');
    expect(clipWidth('张三李四', 5)).toBe('张三…');
    expect(displayWidth('张a😀')).toBe(4);
  });
});
