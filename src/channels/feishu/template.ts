import { readFileSync } from 'node:fs';

/**
 * Card templates live as plain JSON in cards/feishu/ so the card's shape can be read (and pasted
 * into Feishu's card builder) without reading code. A template is filled by walking it:
 *   "{{name}}"      a string that is only a placeholder becomes the value itself (any JSON);
 *   "a {{name}} b"  placeholders inside a longer string are replaced by the value as text;
 *   "{{...name}}"   an array item is replaced by the items of the array value.
 * A missing value is a bug in the renderer, so it throws instead of sending a broken card.
 */
const TEMPLATE_DIR = new URL('../../../cards/feishu/', import.meta.url);
const cache = new Map<string, unknown>();

export function loadTemplate(name: string): unknown {
  let template = cache.get(name);
  if (template === undefined) {
    template = JSON.parse(readFileSync(new URL(`${name}.json`, TEMPLATE_DIR), 'utf8')) as unknown;
    cache.set(name, template);
  }
  return template;
}

const WHOLE = /^\{\{(\w+)\}\}$/;
const SPREAD = /^\{\{\.\.\.(\w+)\}\}$/;
const INLINE = /\{\{(\w+)\}\}/g;

export function fill(template: unknown, vars: Readonly<Record<string, unknown>>): unknown {
  const value = (name: string): unknown => {
    if (!(name in vars)) throw new Error(`card template: no value for {{${name}}}`);
    return vars[name];
  };
  if (typeof template === 'string') {
    const whole = WHOLE.exec(template);
    if (whole) return value(whole[1]!);
    return template.replace(INLINE, (_m, name: string) => String(value(name)));
  }
  if (Array.isArray(template)) {
    const out: unknown[] = [];
    for (const item of template) {
      const spread = typeof item === 'string' ? SPREAD.exec(item) : null;
      if (spread) {
        const items = value(spread[1]!);
        if (!Array.isArray(items)) throw new Error(`card template: {{...${spread[1]}}} needs an array`);
        out.push(...(items as unknown[]));
      } else {
        out.push(fill(item, vars));
      }
    }
    return out;
  }
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) out[k] = fill(v, vars);
    return out;
  }
  return template;
}
