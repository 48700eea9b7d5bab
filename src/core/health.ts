import { t, type Lang } from './i18n.js';
import type { Aspect, Health, Level, Ratings } from './model.js';

/**
 * Levels and problem texts from raw metrics, for vendors that give numbers instead of ratings
 * (Feishu participant_quality_list, Tencent live /qos). One table for all of them.
 *
 * Thresholds: our derived 4-level table, aligned to WeCom's 1 好 / 2 较好 / 3 中 / 4 差
 * (developer.work.weixin.qq.com/document/path/98821) and built from published classifiers: Microsoft
 * Teams CQD's stream rules (RTT 500 ms, loss 10 %, jitter 30 ms, video < 7 fps) and Real-Time
 * Analytics' "good" thresholds (MicrosoftDocs/OfficeDocs-SkypeForBusiness Teams/CQD-*.md and
 * use-real-time-telemetry-to-troubleshoot-poor-meeting-quality.md), Twilio Voice JS's
 * statsMonitor DEFAULT_THRESHOLDS, and ITU-T G.114 for delay. Each row names its anchor ("anchors"
 * below means this list); rows marked (h) are heuristics.
 */

/** One measurement sample (Feishu: per minute; Tencent qos: every 2 s). Absent = not measured. */
export interface Sample {
  /** Network delay, ms. Feishu `network_delay`; treated as round trip (UNCONFIRMED). */
  delayMs?: number;
  /** Average packet loss, %, worse of the two directions. */
  lossPct?: number;
  audioJitterMs?: number;
  audioBitrateKbps?: number;
  videoFps?: number;
  videoBitrateKbps?: number;
  screenFps?: number;
  screenBitrateKbps?: number;
  /** System CPU, %. */
  cpuPct?: number;
  transport?: 'udp' | 'tcp';
}

type Metric = 'delay' | 'loss' | 'audioJitter' | 'audioBitrate' | 'videoFps' | 'screenFps' | 'cpu';

interface Rule {
  metric: Metric;
  /** Which rating it feeds; CPU feeds only health and problems. */
  aspect: Aspect | 'cpu';
  worse: 'higher' | 'lower';
  /** Worst first: the first bound the value crosses gives the level; none crossed → 1 (good). */
  bounds: { level: Level; op: '>' | '>=' | '<' | '<='; value: number }[];
  read: (s: Sample) => number | undefined;
}

const active = (fps: number | undefined, bitrate: number | undefined) =>
  // A camera that is off or a screen not shared sends nothing: that is "no data", not "poor".
  fps === undefined || (fps === 0 && !bitrate) ? undefined : fps;

export const RULES: readonly Rule[] = [
  // Packet loss: L1 < 1 (Polycom/Vidyo green), L2 < 3 (Twilio avg 3 %), L4 > 10 (Teams CQD PLR 0.1).
  { metric: 'loss', aspect: 'network', worse: 'higher', read: (s) => s.lossPct,
    bounds: [{ level: 4, op: '>', value: 10 }, { level: 3, op: '>=', value: 3 }, { level: 2, op: '>=', value: 1 }] },
  // Delay (RTT): L1 < 150 (ITU-T G.114), L2 < 300 (Unify Circuit), L4 > 500 (Teams CQD / RTA).
  { metric: 'delay', aspect: 'network', worse: 'higher', read: (s) => s.delayMs,
    bounds: [{ level: 4, op: '>', value: 500 }, { level: 3, op: '>=', value: 300 }, { level: 2, op: '>=', value: 150 }] },
  // Jitter: L1 ≤ 10 (Vidyo ideal), L2 ≤ 30 (CQD/RTA/Twilio), L3 ≤ 50 (Circuit), L4 > 50.
  { metric: 'audioJitter', aspect: 'audio', worse: 'higher', read: (s) => s.audioJitterMs,
    bounds: [{ level: 4, op: '>', value: 50 }, { level: 3, op: '>', value: 30 }, { level: 2, op: '>', value: 10 }] },
  // Audio bitrate: good above 24 kbps (Teams RTA); at or below, L3 (h). Zero = muted, not measured.
  { metric: 'audioBitrate', aspect: 'audio', worse: 'lower', read: (s) => (s.audioBitrateKbps ? s.audioBitrateKbps : undefined),
    bounds: [{ level: 3, op: '<=', value: 24 }] },
  // Video FPS: L1 ≥ 25 (RTA), L2 ≥ 15 (h), L3 ≥ 7 (RTA 7-15), L4 < 7 (CQD video).
  { metric: 'videoFps', aspect: 'video', worse: 'lower', read: (s) => active(s.videoFps, s.videoBitrateKbps),
    bounds: [{ level: 4, op: '<', value: 7 }, { level: 3, op: '<', value: 15 }, { level: 2, op: '<', value: 25 }] },
  // Screen-share FPS: L1 ≥ 5 (h), L2 ≥ 2 (h), L4 < 2 (CQD VBSS); there is no L3 band.
  { metric: 'screenFps', aspect: 'screen', worse: 'lower', read: (s) => active(s.screenFps, s.screenBitrateKbps),
    bounds: [{ level: 4, op: '<', value: 2 }, { level: 2, op: '<', value: 5 }] },
  // System CPU: L2 ≥ 70, L3 ≥ 80, L4 > 90 — all heuristics (UNCONFIRMED).
  { metric: 'cpu', aspect: 'cpu', worse: 'higher', read: (s) => s.cpuPct,
    bounds: [{ level: 4, op: '>', value: 90 }, { level: 3, op: '>=', value: 80 }, { level: 2, op: '>=', value: 70 }] },
];

/** Levels at or above this are problems and put the attendee on alert (WeCom 3 中 / 4 差). */
export const PROBLEM_LEVEL: Level = 3;

/**
 * "Sustained, not one spike" (Twilio Voice JS raises on 3 of the last 5 samples: SAMPLE_COUNT_RAISE = 3 of SAMPLE_COUNT_METRICS = 5): a value
 * counts only if at least 3 samples in some run of 5 are that bad. Fewer samples: all must be.
 */
export const SUSTAIN_WINDOW = 5;
export const SUSTAIN_COUNT = 3;

export function levelOf(rule: Rule, value: number): Level {
  for (const b of rule.bounds) {
    const hit = b.op === '>' ? value > b.value : b.op === '>=' ? value >= b.value : b.op === '<' ? value < b.value : value <= b.value;
    if (hit) return b.level;
  }
  return 1;
}

/** The worst value held by SUSTAIN_COUNT of SUSTAIN_WINDOW consecutive samples; undefined if none measured. */
export function sustainedValue(values: readonly number[], worse: 'higher' | 'lower'): number | undefined {
  if (values.length === 0) return undefined;
  const win = Math.min(SUSTAIN_WINDOW, values.length);
  const need = Math.min(SUSTAIN_COUNT, win);
  let best: number | undefined;
  for (let i = 0; i + win <= values.length; i++) {
    const sorted = values.slice(i, i + win).sort((a, b) => (worse === 'higher' ? b - a : a - b));
    const v = sorted[need - 1]!;
    if (best === undefined || (worse === 'higher' ? v > best : v < best)) best = v;
  }
  return best;
}

export interface Derived {
  ratings: Ratings;
  health: Health;
  problems: string[];
}

export function deriveHealth(samples: readonly Sample[], lang: Lang): Derived {
  const ratings: Ratings = { audio: 0, video: 0, screen: 0, network: 0 };
  const problems: string[] = [];
  let cpuLevel: Level = 0;
  for (const rule of RULES) {
    const values = samples.map(rule.read).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const value = sustainedValue(values, rule.worse);
    if (value === undefined) continue;
    const level = levelOf(rule, value);
    if (rule.aspect === 'cpu') cpuLevel = level;
    else ratings[rule.aspect] = Math.max(ratings[rule.aspect], level) as Level;
    if (level >= PROBLEM_LEVEL) problems.push(problemText(rule, value, lang));
  }
  // Media over TCP is "a last-resort fallback … introduce latency and jitter" (Microsoft Q&A,
  // learn.microsoft.com/answers 5849006): network is at best L2, with a problem saying why (h).
  const tcpShare = samples.filter((s) => s.transport === 'tcp').length;
  if (tcpShare > 0 && tcpShare * 2 >= samples.filter((s) => s.transport).length) {
    ratings.network = Math.max(ratings.network, 2) as Level;
    problems.push(t(lang, 'problem.tcp'));
  }
  return { ratings, health: healthOf(ratings, cpuLevel), problems };
}

/** Alert when any rating (or CPU) is fair or worse; no data when nothing was measured. */
export function healthOf(ratings: Ratings, extraLevel: Level = 0): Health {
  const worst = Math.max(ratings.audio, ratings.video, ratings.screen, ratings.network, extraLevel);
  if (worst === 0) return 0;
  return worst >= PROBLEM_LEVEL ? 2 : 1;
}

function problemText(rule: Rule, value: number, lang: Lang): string {
  const v = Math.round(value * 10) / 10;
  switch (rule.metric) {
    case 'delay': return t(lang, 'problem.delay', { value: v });
    case 'loss': return t(lang, 'problem.loss', { value: v });
    case 'audioJitter': return t(lang, 'problem.jitter', { value: v, aspect: t(lang, 'aspect.audio') });
    case 'audioBitrate': return t(lang, 'problem.bitrate', { value: v });
    case 'videoFps': return t(lang, 'problem.fps', { value: v, aspect: t(lang, 'aspect.video') });
    case 'screenFps': return t(lang, 'problem.fps', { value: v, aspect: t(lang, 'aspect.screen') });
    case 'cpu': return t(lang, 'problem.cpu', { value: v });
  }
}
