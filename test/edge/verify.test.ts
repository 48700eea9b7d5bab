import { describe, expect, it } from 'vitest';
import { checkWindow, safeEqual, SIGNATURE_WINDOW_MS, timestampMs } from '../../src/edge/verify.js';

describe('safeEqual', () => {
  it('is true only for the same string, whatever the lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'ab')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual('é', 'e\u0301')).toBe(false);
  });
});

describe('signed timestamps', () => {
  it("reads seconds ('s', at most 12 digits) and ms or seconds ('ms-or-s', at most 13 digits)", () => {
    expect(timestampMs('1700000000', 's')).toBe(1_700_000_000_000);
    expect(timestampMs('1700000000', 'ms-or-s')).toBe(1_700_000_000_000);
    // DOC 51612's example timestamp is in ms.
    expect(timestampMs('1609239040864', 'ms-or-s')).toBe(1_609_239_040_864);
    expect(timestampMs('1609239040864', 's')).toBeUndefined();
    expect(timestampMs('99999999999', 'ms-or-s')).toBe(99_999_999_999_000);
    expect(timestampMs('100000000000', 'ms-or-s')).toBe(100_000_000_000);
    for (const bad of ['', ' 1700000000', '1.7e9', '-1700000000', '0x10', '17000000000000']) {
      expect(timestampMs(bad, 'ms-or-s')).toBeUndefined();
      expect(timestampMs(bad, 's')).toBeUndefined();
    }
  });

  it('are inside the 5-minute window up to and including its edge, either way', () => {
    const now = 1_700_000_000_000;
    expect(SIGNATURE_WINDOW_MS).toBe(300_000);
    expect(checkWindow('1700000000', 's', now)).toBe('ok');
    expect(checkWindow('1700000300', 's', now)).toBe('ok');
    expect(checkWindow('1699999700', 's', now)).toBe('ok');
    expect(checkWindow('1700000301', 's', now)).toBe('stale');
    expect(checkWindow('1699999699', 's', now)).toBe('stale');
    expect(checkWindow(String(now + 300_000), 'ms-or-s', now)).toBe('ok');
    expect(checkWindow(String(now + 300_001), 'ms-or-s', now)).toBe('stale');
    expect(checkWindow(String(now - 300_001), 'ms-or-s', now)).toBe('stale');
    expect(checkWindow('1699999699', 'ms-or-s', now)).toBe('stale');
    expect(checkWindow('17000x0000', 's', now)).toBe('malformed');
    expect(checkWindow('1700000000', 's', now, 0)).toBe('ok');
    expect(checkWindow('1700000001', 's', now, 999)).toBe('stale');
  });
});
