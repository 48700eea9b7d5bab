import type { Sample } from '../../core/health.js';

/**
 * One minute of `participant_quality_list` (open.feishu.cn/document/server-docs/vc-v1/participant_quality_list/get, 响应体) as the
 * neutral Sample core/health.ts grades. Values are text with units ("100ms", "8%", "8kbps",
 * "30fps"); anything unreadable counts as not measured, never as good.
 */
export interface QualityItem {
  network?: Record<string, unknown>;
  audio?: Record<string, unknown>;
  video?: Record<string, unknown>;
  screen_sharing?: Record<string, unknown>;
  cpu_usage?: Record<string, unknown>;
}

export function readNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(-?\d+(?:\.\d+)?)/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  // "1.2Mbps" where we expect kbps.
  return /^\s*-?[\d.]+\s*mbps/i.test(value) ? n * 1000 : n;
}

const worse = (...values: (number | undefined)[]): number | undefined => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? Math.max(...known) : undefined;
};

export function toSample(item: QualityItem, transport?: 'udp' | 'tcp'): Sample {
  const s: Sample = {};
  const net = item.network ?? {};
  const audio = item.audio ?? {};
  const video = item.video ?? {};
  const screen = item.screen_sharing ?? {};
  const cpu = item.cpu_usage ?? {};
  const set = <K extends keyof Sample>(k: K, v: Sample[K] | undefined) => {
    if (v !== undefined) s[k] = v;
  };
  set('delayMs', readNumber(net.network_delay));
  // Loss: the worse direction, as health.ts expects ("worse of the two directions").
  set('lossPct', worse(readNumber(net.packet_loss_avg_received), readNumber(net.packet_loss_avg_sent)));
  set('audioJitterMs', worse(readNumber(audio.jitter_received), readNumber(audio.jitter_sent)));
  // What the person heard: received audio. Zero means nobody spoke; health.ts skips zeros.
  set('audioBitrateKbps', readNumber(audio.bitrate_received));
  // Their own camera and screen: what they sent (0 fps and 0 kbps = camera off / not sharing).
  set('videoFps', readNumber(video.framerate_sent));
  set('videoBitrateKbps', readNumber(video.bitrate_sent));
  set('screenFps', readNumber(screen.framerate_sent));
  set('screenBitrateKbps', readNumber(screen.bitrate_sent));
  set('cpuPct', readNumber(cpu.system_avg_cpu_usage));
  if (transport) s.transport = transport;
  return s;
}
