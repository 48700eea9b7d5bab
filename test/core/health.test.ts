import { describe, expect, it } from 'vitest';
import { RULES, deriveHealth, healthOf, levelOf, sustainedValue, type Sample } from '../../src/core/health.js';

const rule = (metric: string) => RULES.find((r) => r.metric === metric)!;

describe('threshold table (anchors.md §2.2), boundaries exactly', () => {
  it.each([
    // metric, value, level
    ['loss', 0, 1], ['loss', 0.99, 1], ['loss', 1, 2], ['loss', 2.99, 2], ['loss', 3, 3], ['loss', 10, 3], ['loss', 10.01, 4],
    ['delay', 149, 1], ['delay', 150, 2], ['delay', 299, 2], ['delay', 300, 3], ['delay', 500, 3], ['delay', 501, 4],
    ['audioJitter', 10, 1], ['audioJitter', 10.5, 2], ['audioJitter', 30, 2], ['audioJitter', 31, 3], ['audioJitter', 50, 3], ['audioJitter', 51, 4],
    ['audioBitrate', 25, 1], ['audioBitrate', 24.5, 1], ['audioBitrate', 24, 3], ['audioBitrate', 8, 3],
    ['videoFps', 30, 1], ['videoFps', 25, 1], ['videoFps', 24.9, 2], ['videoFps', 15, 2], ['videoFps', 14.9, 3], ['videoFps', 7, 3], ['videoFps', 6.9, 4],
    ['screenFps', 5, 1], ['screenFps', 4.9, 2], ['screenFps', 2, 2], ['screenFps', 1.9, 4],
    ['cpu', 69, 1], ['cpu', 70, 2], ['cpu', 79, 2], ['cpu', 80, 3], ['cpu', 90, 3], ['cpu', 90.1, 4],
  ])('%s %d → L%d', (metric, value, level) => {
    expect(levelOf(rule(metric), value)).toBe(level);
  });
});

describe('sustained value', () => {
  it('ignores one or two spikes in a run of five', () => {
    expect(sustainedValue([10, 900, 10, 800, 10], 'higher')).toBe(10);
    expect(sustainedValue([10, 900, 700, 800, 10], 'higher')).toBe(700);
  });
  it('lower-is-worse takes the sustained low', () => {
    expect(sustainedValue([30, 2, 30, 30, 30], 'lower')).toBe(30);
    expect(sustainedValue([30, 2, 3, 4, 30], 'lower')).toBe(4);
  });
  it('short series: every sample must agree', () => {
    expect(sustainedValue([600], 'higher')).toBe(600);
    expect(sustainedValue([600, 100], 'higher')).toBe(100);
    expect(sustainedValue([], 'higher')).toBeUndefined();
  });
});

describe('deriveHealth', () => {
  const good: Sample = { delayMs: 40, lossPct: 0, audioJitterMs: 5, audioBitrateKbps: 40, videoFps: 30, videoBitrateKbps: 800, cpuPct: 30, transport: 'udp' };

  it('no samples → no data, never good', () => {
    expect(deriveHealth([], 'zh')).toEqual({ ratings: { audio: 0, video: 0, screen: 0, network: 0 }, health: 0, problems: [] });
  });

  it('all good → healthy, no problems; screen never shared stays no data', () => {
    const d = deriveHealth([good, good, good], 'en');
    expect(d.ratings).toEqual({ audio: 1, video: 1, screen: 0, network: 1 });
    expect(d.health).toBe(1);
    expect(d.problems).toEqual([]);
  });

  it('a sustained bad delay sets network poor with the value as the reason', () => {
    const bad = { ...good, delayMs: 620 };
    const d = deriveHealth([good, bad, bad, bad, good], 'en');
    expect(d.ratings.network).toBe(4);
    expect(d.health).toBe(2);
    expect(d.problems).toEqual(['High network delay (sustained 620 ms)']);
  });

  it('one spike does not', () => {
    const d = deriveHealth([good, { ...good, delayMs: 900, lossPct: 40 }, good, good, good], 'en');
    expect(d.ratings.network).toBe(1);
    expect(d.health).toBe(1);
  });

  it('camera off (0 fps, 0 bitrate) is no data, not poor', () => {
    const off = { ...good, videoFps: 0, videoBitrateKbps: 0 };
    expect(deriveHealth([off, off, off], 'en').ratings.video).toBe(0);
  });

  it('worst of the metrics; high CPU alerts without a rating; TCP caps network at L2', () => {
    const d = deriveHealth([0, 1, 2].map(() => ({ ...good, cpuPct: 95, transport: 'tcp' as const, videoFps: 10 })), 'zh');
    expect(d.ratings.video).toBe(3);
    expect(d.ratings.network).toBe(2);
    expect(d.health).toBe(2);
    expect(d.problems).toEqual(['视频帧率低（持续 10 fps）', 'CPU 占用高（持续 95%）', '媒体走 TCP 回退通道，易卡顿']);
  });

  it('healthOf: alert from level 3, no data when nothing measured', () => {
    expect(healthOf({ audio: 0, video: 0, screen: 0, network: 0 })).toBe(0);
    expect(healthOf({ audio: 2, video: 0, screen: 0, network: 1 })).toBe(1);
    expect(healthOf({ audio: 1, video: 3, screen: 0, network: 1 })).toBe(2);
  });
});
