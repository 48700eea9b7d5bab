/**
 * Text that a vendor or a person wrote (names, subjects, problems, notes), made safe for the format
 * it is shown in. One escaper per format, named after it, because the same word meant different
 * things before (`escapeMarkdown` was backslashes for Feishu and look-alike characters for WeCom):
 *   escapeFeishuMarkdown       Feishu card JSON 2.0 markdown elements (backslash escapes)
 *   escapeWecomMarkdown        WeCom 智能机器人 stream markdown (nothing escaped, only defused)
 *   escapeWecomLegacyMarkdown  WeCom group-robot markdown, doc 91770 (full-width look-alikes)
 *   plainText                  WeCom template_card fields and other plain text (no tags)
 *   terminalText               a terminal (no control sequences)
 * and the cutters every renderer needs: clip (characters), clipBytes (UTF-8 bytes), clipWidth
 * (terminal columns). All of them work on code points, so no surrogate pair is ever split.
 */

/** C0 and C1 control characters: never shown, and the terminal's escape sequences start with them. */
const C0_C1 = '\\u0000-\\u001f\\u007f-\\u009f';
/** U+2028/U+2029 end a line in some clients and in JavaScript source. */
const LINE_SEPARATORS = '\\u2028\\u2029';
const CONTROL_RUNS = new RegExp(`[${C0_C1}${LINE_SEPARATORS}]+`, 'g');
const CONTROL_EACH = new RegExp(`[${C0_C1}${LINE_SEPARATORS}]`, 'g');
/** The same, but keeping "\n" (U+000A). */
const CONTROL_EACH_BUT_NEWLINE = new RegExp(`[\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f${LINE_SEPARATORS}]`, 'g');
const TERMINAL_CONTROL = new RegExp(`[${C0_C1}]`, 'g');

/** Control characters and line breaks as one space per run, so text cannot add lines. */
export function flatten(text: string): string {
  return text.replace(CONTROL_RUNS, ' ');
}

/**
 * Escapes text for a Feishu markdown element so it shows as written: `john_doe` keeps its
 * underscore, `<at id=all></at>` pings nobody, `**x**` is not bold, `[x](url)` is no link. This is
 * how Feishu's own plugin escapes text for card markdown (larksuite/openclaw-lark
 * src/card/builder.ts: backslashes doubled, then `` ` * _ { } [ ] < > `` each behind a backslash),
 * which relies on the clients honouring backslash escapes; numeric entities (`&#95;`) are not
 * documented for card markdown and show literally where not decoded. An `&` that would start an
 * entity becomes `&amp;`, so `&lt;at id=all&gt;` cannot turn into a tag; a plain "A & B" is left as
 * written. Line breaks collapse so a name cannot start a heading or a list. `~` is left alone, as
 * the plugin does: at worst a name with `~~` shows struck through, never pings or links.
 */
export function escapeFeishuMarkdown(text: string): string {
  return flatten(text)
    .replace(/&(?=#?[0-9A-Za-z]+;)/g, '&amp;')
    .replace(/\\/g, '\\\\')
    .replace(/([`*_{}[\]<>])/g, '\\$1');
}

/**
 * Vendor and user text made inert for a WeCom template_card (plain-text fields): control characters
 * become spaces (line breaks too, unless `keepNewlines`: then "\r\n" and "\r" become "\n"), and angle
 * brackets become full-width so no client reads a tag.
 */
export function plainText(text: string, keepNewlines = false): string {
  const flat = keepNewlines ? text.replace(/\r\n?/g, '\n').replace(CONTROL_EACH_BUT_NEWLINE, ' ') : text.replace(CONTROL_EACH, ' ');
  return flat.replace(/</g, '＜').replace(/>/g, '＞');
}

/**
 * Vendor text for WeCom stream markdown: it pings nobody, links nowhere and opens no tag, and
 * otherwise shows as written. Whether WeCom's stream markdown honours backslash escapes is
 * UNCONFIRMED (no WeCom page found says so, doc 101031 included), and where it does not, `zhang\_san`
 * would show its backslash; WeCom's legacy markdown documents no escape either (doc 91770). So
 * nothing is backslash-escaped; only what could act is defused with characters that read the same:
 *   `<` `>`  full-width (plainText): no `<@userid>` mention, no `<font>` or other tag;
 *   `@all`   a word joiner (U+2060) after the `@`, so no @everyone however the client matches it;
 *   `](`     a word joiner between, so `[text](url)` is no link.
 * `_`, `*`, `~`, `#` stay as they are: `zhang_san` shows as written, and at worst a name with `**`
 * comes out bold, which is cosmetic. Line breaks are kept. Bare URLs may still be made clickable.
 */
export function escapeWecomMarkdown(text: string): string {
  return plainText(text, true)
    .replace(/@(?=all\b)/gi, '@\u2060')
    .replace(/\]\(/g, ']\u2060(');
}

const LEGACY_LOOKALIKE: Readonly<Record<string, string>> = {
  '<': '＜', '>': '＞', '*': '＊', '_': '＿', '`': '｀', '[': '［', ']': '］', '#': '＃', '~': '～', '|': '｜', '\\': '＼', '@': '＠',
};

/**
 * Vendor text for the WeCom group-robot markdown (developer.work.weixin.qq.com/document/path/91770,
 * markdown 类型): it must show as written and never format or mention. That markdown documents no
 * escape, so the markup characters become their full-width look-alikes, and line breaks collapse so
 * a name cannot start a heading or a quote.
 */
export function escapeWecomLegacyMarkdown(text: string): string {
  return flatten(text).replace(/[<>*_`[\]#~|\\@]/g, (c) => LEGACY_LOOKALIKE[c]!);
}

/** Terminal control characters in vendor text must not reach the terminal: each becomes a space. */
export function terminalText(text: string): string {
  return text.replace(TERMINAL_CONTROL, ' ');
}

/** Cuts to `max` characters (code points), ending in "…" when cut (the "…" counts as one). */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}

/** Flattened, trimmed and clipped: for plain-text titles and previews. */
export function plainLine(text: string, max: number): string {
  return clip(flatten(text).trim(), max);
}

/**
 * Cuts to at most `max` UTF-8 bytes on a character boundary. With an `ellipsis`, a cut text ends in
 * it and the ellipsis counts towards `max`.
 */
export function clipBytes(text: string, max: number, ellipsis = ''): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  let out = '';
  let size = Buffer.byteLength(ellipsis, 'utf8');
  for (const ch of text) {
    size += Buffer.byteLength(ch, 'utf8');
    if (size > max) break;
    out += ch;
  }
  return out + ellipsis;
}

/** Terminal columns: CJK and full-width characters take two. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    w += cp >= 0x1100 && (cp <= 0x115f || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || cp >= 0x20000) ? 2 : 1;
  }
  return w;
}

/** Cuts to `width` terminal columns, ending in "…" (one column) when cut. */
export function clipWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const w = displayWidth(ch);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return out + '…';
}
