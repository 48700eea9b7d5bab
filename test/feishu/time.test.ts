import { describe, expect, it } from 'vitest';
import { parseFeishuTime, timeShape } from '../../src/vendors/feishu/time.js';

/** 2022.12.23 11:16:59 in China time, the docs' own example (participant_list join_time). */
const CN = Date.UTC(2022, 11, 23, 3, 16, 59) / 1000;
const AS_UTC = Date.UTC(2022, 11, 23, 11, 16, 59) / 1000;

describe('Feishu VC time text (F6)', () => {
  it('reads the documented "(GMT+08:00)" and its variants', () => {
    expect(parseFeishuTime('2022.12.23 11:16:59 (GMT+08:00)')).toBe(CN);
    expect(parseFeishuTime('2022.12.23 11:16:59 (GMT+8:00)')).toBe(CN);
    expect(parseFeishuTime('2022.12.23 11:16:59 (UTC+08:00)')).toBe(CN);
    expect(parseFeishuTime('2022.12.23 11:16:59 (GMT-03:30)')).toBe(AS_UTC + 3.5 * 3600);
  });

  it('reads "(GMT)" and "(UTC)" alone as UTC+0', () => {
    expect(parseFeishuTime('2022.12.23 11:16:59 (GMT)')).toBe(AS_UTC);
    expect(parseFeishuTime('2022.12.23 11:16:59 (UTC)')).toBe(AS_UTC);
    expect(parseFeishuTime('2022.12.23 11:16:59 Z')).toBe(AS_UTC);
  });

  it('reads the zone without parentheses, and any offset', () => {
    expect(parseFeishuTime('2022.12.23 11:16:59 GMT+08:00')).toBe(CN);
    expect(parseFeishuTime('2022.12.23 11:16:59 UTC+8')).toBe(CN);
    expect(parseFeishuTime('2022.12.23 11:16:59 +0800')).toBe(CN);
    expect(parseFeishuTime('2022.12.23 11:16:59 (GMT+05:45)')).toBe(AS_UTC - (5 * 3600 + 45 * 60));
    expect(parseFeishuTime('2022.12.23 11:16:59 (GMT+14:00)')).toBe(AS_UTC - 14 * 3600);
    expect(parseFeishuTime('2022-12-23T11:16:59 (GMT-12:00)')).toBe(AS_UTC + 12 * 3600);
  });

  it('no zone is China time (the cpu_usage example); digits are unix seconds or ms', () => {
    expect(parseFeishuTime('2022.12.23 11:16:59')).toBe(CN);
    expect(parseFeishuTime('1655276858')).toBe(1655276858);
    expect(parseFeishuTime('1655276858000')).toBe(1655276858);
  });

  it('refuses what it cannot read instead of guessing', () => {
    expect(parseFeishuTime('2022.12.23 11:16:59 (Asia/Shanghai)')).toBeUndefined();
    expect(parseFeishuTime('2022.12.23 11:16:59 (GMT+25:00)')).toBeUndefined();
    expect(parseFeishuTime('2022.13.23 11:16:59')).toBeUndefined();
    expect(parseFeishuTime('2022.12.23 11:16:59 ()')).toBeUndefined();
    expect(parseFeishuTime('')).toBeUndefined();
    expect(timeShape('2022.12.23 11:16:59 (Asia/Shanghai)')).toBe('9999.99.99 99:99:99 (Asia/Shanghai)');
  });
});
