import { fill, loadTemplate as loadFrom } from '../../edge/template.js';

/**
 * Feishu's card templates, plain JSON in cards/feishu/, filled by the one template filler
 * (src/edge/template.ts: "{{name}}", "a {{name}} b", "{{...name}}", "{{name?}}"; a missing value throws).
 */
const TEMPLATE_DIR = new URL('../../../cards/feishu/', import.meta.url);

export function loadTemplate(name: string): unknown {
  return loadFrom(TEMPLATE_DIR, name);
}

export { fill };
