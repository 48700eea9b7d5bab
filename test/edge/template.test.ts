import { describe, expect, it } from 'vitest';
import { fill, loadTemplate, TemplateError } from '../../src/edge/template.js';
import { renderWecomMessage } from '../../src/channels/wecom/card.js';

const WECOM = new URL('../../cards/wecom/', import.meta.url);
const FEISHU = new URL('../../cards/feishu/', import.meta.url);

describe('fill: one template filler for every platform', () => {
  it('replaces whole values (any JSON), inline text and spreads', () => {
    const t = { a: '{{n}}', b: 'page {{p}} of {{q}}', list: ['x', '{{...more}}', '{{flag}}'], keep: [1, null, true] };
    expect(fill(t, { n: { deep: [1] }, p: 2, q: 'three', more: ['m1', { m: 2 }], flag: false })).toEqual({
      a: { deep: [1] }, b: 'page 2 of three', list: ['x', 'm1', { m: 2 }, false], keep: [1, null, true],
    });
  });

  it('throws a TemplateError at render time for a missing value: whole, inline or spread; undefined counts as missing', () => {
    expect(() => fill({ a: '{{n}}' }, {})).toThrow(new TemplateError('card template: no value for {{n}}'));
    expect(() => fill({ a: '{{n}}' }, { n: undefined })).toThrow(TemplateError);
    expect(() => fill('x {{n}} y', {})).toThrow(TemplateError);
    expect(() => fill(['{{...n}}'], {})).toThrow(TemplateError);
    expect(() => fill(['{{...n}}'], { n: 'not a list' })).toThrow('{{...n}} needs an array');
    // Inherited keys are no values.
    expect(() => fill('{{toString}}', {})).toThrow(TemplateError);
  });

  it('drops an optional "{{name?}}" key or item when its value is missing, undefined or an empty list, and only then', () => {
    const t = { rows: '{{rows?}}', list: ['{{x?}}', 'y'] };
    expect(fill(t, { rows: [], x: undefined })).toEqual({ list: ['y'] });
    expect(fill(t, {})).toEqual({ list: ['y'] });
    expect(fill(t, { rows: [{ k: 1 }], x: '' })).toEqual({ rows: [{ k: 1 }], list: ['', 'y'] });
    expect(fill(t, { rows: 0, x: false })).toEqual({ rows: 0, list: [false, 'y'] });
    expect(fill('{{x?}}', {})).toBeUndefined();
    // "?" is for whole values only: inside a longer string it is no placeholder.
    expect(fill('a {{x?}}', {})).toBe('a {{x?}}');
  });

  it('WeCom templates: a value the renderer forgot is an error, not a key silently left out', () => {
    const report = loadTemplate(WECOM, 'report');
    const all = { source: 's', source_color: 0, title: 't', desc: '', summary: 'x', rows: [], buttons: [{ text: 'b', key: 'k', style: 1 }], task_id: 'mc_1' };
    expect(fill(report, all)).not.toHaveProperty('horizontal_content_list');
    const { title: _t, ...noTitle } = all;
    expect(() => fill(report, noTitle)).toThrow('no value for {{title}}');
  });

  it('a message card without a vendor detail still has no horizontal_content_list, as before (an empty list is left out)', () => {
    const card = renderWecomMessage('en', { title: 'T', text: 'x' }, 'mc_1');
    expect(card).not.toHaveProperty('horizontal_content_list');
    const withDetail = renderWecomMessage('en', { title: 'T', text: 'x', detail: 'vendor: 42' }, 'mc_1');
    expect(withDetail.horizontal_content_list).toEqual([{ keyname: 'Vend…', value: '42' }]);
  });

  it('loads each template once per process', () => {
    expect(loadTemplate(FEISHU, 'report')).toBe(loadTemplate(FEISHU, 'report'));
    expect(loadTemplate(WECOM, 'report')).not.toBe(loadTemplate(FEISHU, 'report'));
  });
});
