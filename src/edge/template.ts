import { readFileSync } from 'node:fs';

/**
 * Card templates are plain JSON (cards/feishu/, cards/wecom/), so a card's shape can be read, and
 * pasted into the platform's card builder, without reading code. One filler for every platform,
 * walking the template:
 *   "{{name}}"      a string that is only a placeholder becomes the value itself (any JSON);
 *   "a {{name}} b"  placeholders inside a longer string are replaced by the value as text;
 *   "{{...name}}"   an array item is replaced by the items of the array value;
 *   "{{name?}}"     an optional whole value: when it is undefined or an empty array, the object key
 *                   (or array item) is left out, for optional fields that are better absent
 *                   than empty (WeCom's horizontal_content_list, "列表长度不超过6", doc 101032).
 * The one rule for missing values: a placeholder without a value (no such key, or undefined) that is
 * not marked optional is a bug in the renderer, so fill throws a TemplateError at render time, and
 * every renderer's tests render every template, instead of sending a card with a hole in it.
 */

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

const WHOLE = /^\{\{(\w+)(\??)\}\}$/;
const SPREAD = /^\{\{\.\.\.(\w+)\}\}$/;
const INLINE = /\{\{(\w+)\}\}/g;
/** What an optional placeholder yields when it has nothing: the key or item is dropped. */
const OMIT: unique symbol = Symbol('omit');

function required(vars: Readonly<Record<string, unknown>>, name: string): unknown {
  const v = Object.hasOwn(vars, name) ? vars[name] : undefined;
  if (v === undefined) throw new TemplateError(`card template: no value for {{${name}}}`);
  return v;
}

function walk(node: unknown, vars: Readonly<Record<string, unknown>>): unknown {
  if (typeof node === 'string') {
    const whole = WHOLE.exec(node);
    if (whole) {
      if (whole[2] !== '?') return required(vars, whole[1]!);
      const v = Object.hasOwn(vars, whole[1]!) ? vars[whole[1]!] : undefined;
      return v === undefined || (Array.isArray(v) && v.length === 0) ? OMIT : v;
    }
    return node.replace(INLINE, (_m, name: string) => String(required(vars, name)));
  }
  if (Array.isArray(node)) {
    const out: unknown[] = [];
    for (const item of node) {
      const spread = typeof item === 'string' ? SPREAD.exec(item) : null;
      if (spread) {
        const items = required(vars, spread[1]!);
        if (!Array.isArray(items)) throw new TemplateError(`card template: {{...${spread[1]}}} needs an array`);
        out.push(...(items as unknown[]));
        continue;
      }
      const filled = walk(item, vars);
      if (filled !== OMIT) out.push(filled);
    }
    return out;
  }
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      const filled = walk(v, vars);
      if (filled !== OMIT) out[k] = filled;
    }
    return out;
  }
  return node;
}

export function fill(template: unknown, vars: Readonly<Record<string, unknown>>): unknown {
  const out = walk(template, vars);
  return out === OMIT ? undefined : out;
}

const cache = new Map<string, unknown>();

/** `<dir>/<name>.json`, parsed once per process. */
export function loadTemplate(dir: URL, name: string): unknown {
  const url = new URL(`${name}.json`, dir);
  let template = cache.get(url.href);
  if (template === undefined) {
    template = JSON.parse(readFileSync(url, 'utf8')) as unknown;
    cache.set(url.href, template);
  }
  return template;
}
