import type { Clock } from '../../core/clock.js';
import { MeetcheckError } from '../../core/errors.js';
import { healthOf } from '../../core/health.js';
import type { Lang } from '../../core/i18n.js';
import type { Attendee, DeviceKind, Level, MeetingReport, Ratings, Role } from '../../core/model.js';
import { overallHealth } from '../../core/report.js';
import type { FetchOptions, VendorClient, VendorQuery } from '../../core/vendor.js';
import { defineVendor } from '../registration.js';

/**
 * Deterministic synthetic meetings, seeded by the meeting id, so every path can be tried without
 * an account. Special numbers (README "Demo meetings"):
 *   000000000  does not exist          555555555  5,000 attendees (an all-hands)
 *   111111111  still in progress       222222222  everyone healthy
 * Any other 9–12 digit number: 4–60 attendees with a realistic spread of ratings and problems.
 */
export const DEMO_MEETINGS = {
  notFound: '000000000',
  inProgress: '111111111',
  allHealthy: '222222222',
  allHands: '555555555',
} as const;

/** Same page size as WeCom/Tencent (50), so progress looks like the real thing. */
const PAGE = 50;

export interface DemoOptions {
  clock: Clock;
  /** Simulated latency per page of 50, for trying progress display; 0 in tests. */
  latencyMs?: number;
}

export function createDemoVendor(opts: DemoOptions): VendorClient {
  return {
    name: 'demo',
    async fetchReport(query: VendorQuery, fetch: FetchOptions): Promise<MeetingReport> {
      const code = query.meeting.code ?? query.meeting.id ?? '';
      if (code === DEMO_MEETINGS.notFound || !/^\d{9,12}$/.test(code)) throw new MeetcheckError('meeting_not_found', `demo:${code}`);
      if (code === DEMO_MEETINGS.inProgress) throw new MeetcheckError('meeting_not_ended');
      const rng = mulberry32(hash(code));
      const total = code === DEMO_MEETINGS.allHands ? 5000 : 4 + Math.floor(rng() * 57);
      const healthy = code === DEMO_MEETINGS.allHealthy;
      const end = Math.floor(opts.clock.now() / 1000) - 3600 - Math.floor(rng() * 86_400);
      const start = end - 1800 - Math.floor(rng() * 5400);
      const attendees: Attendee[] = [];
      for (let i = 0; i < total; i++) {
        if (i > 0 && i % PAGE === 0) {
          fetch.onProgress?.({ loaded: i, total });
          if (opts.latencyMs) await opts.clock.sleep(opts.latencyMs, fetch.signal);
          if (fetch.deadline !== undefined && opts.clock.now() >= fetch.deadline) break;
        }
        attendees.push(makeAttendee(code, i, rng, start, end, healthy, query.lang));
      }
      fetch.onProgress?.({ loaded: attendees.length, total });
      const complete = attendees.length === total;
      const ratings: Ratings = { audio: 0, video: 0, screen: 0, network: 0 };
      for (const a of attendees) for (const k of Object.keys(ratings) as (keyof Ratings)[]) ratings[k] = Math.max(ratings[k], a.ratings[k]) as Level;
      const subjects = query.lang === 'en' ? ['Weekly sync', 'All-hands', 'Design review', 'Customer call'] : ['周例会', '全员大会', '设计评审', '客户沟通会'];
      return {
        meeting: {
          vendor: 'demo', code, meetingId: `demo-${code}`, startTime: start, endTime: end, ended: true,
          subject: code === DEMO_MEETINGS.allHands ? subjects[1]! : subjects[[0, 2, 3][Math.floor(rng() * 3)]!]!,
        },
        health: overallHealth(attendees),
        ratings,
        problems: [],
        attendees,
        complete,
        notes: complete ? [] : [{ key: 'summary.partial', params: { reason: { key: 'note.partial.deadline', params: { seconds: 60, loaded: attendees.length } } } }],
      };
    },
  };
}

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '胡', '朱', '高', '林', '何', '郭', '马', '罗'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '洋', '艳', '勇', '军', '杰', '娟', '涛', '明', '超', '秀英', '霞', '平', '刚', '桂英'];
const LATIN = ['Alice Chen', 'Bob Li', 'Carol Wang', 'David Zhang', 'Eve Liu', 'Frank Zhou', 'Grace Wu', 'Henry Xu'];
/** Names people really have in directories, which a card must show as written and never act on. */
const HOSTILE = ['<at id=all></at>', '**粗体**', '[点我](https://example.invalid)'];
const DEVICES: DeviceKind[] = ['pc', 'pc', 'mac', 'ios', 'android', 'web', 'rooms', 'ipad', 'pstn', 'linux'];

const PROBLEMS: Record<Lang, Record<'network' | 'audio' | 'video' | 'screen' | 'cpu', string[]>> = {
  zh: {
    network: ['网络丢包率高', '网络延迟高', '网络抖动大'],
    audio: ['麦克风音量过低', '音频卡顿', '回声'],
    video: ['视频帧率低', '视频分辨率低'],
    screen: ['共享屏幕卡顿'],
    cpu: ['CPU 占用过高'],
  },
  en: {
    network: ['High packet loss', 'High network delay', 'High network jitter'],
    audio: ['Microphone volume too low', 'Choppy audio', 'Echo'],
    video: ['Low video frame rate', 'Low video resolution'],
    screen: ['Choppy screen share'],
    cpu: ['High CPU usage'],
  },
};

function makeAttendee(code: string, i: number, rng: () => number, start: number, end: number, allHealthy: boolean, lang: Lang): Attendee {
  const name = i % 97 === 13 ? HOSTILE[Math.floor(i / 97) % HOSTILE.length]! :
    rng() < 0.15 ? LATIN[Math.floor(rng() * LATIN.length)]! :
    SURNAMES[Math.floor(rng() * SURNAMES.length)]! + GIVEN[Math.floor(rng() * GIVEN.length)]!;
  const device = DEVICES[Math.floor(rng() * DEVICES.length)]!;
  // A realistic spread: most people fine, some marginal, a few bad; bad networks drag audio/video.
  const roll = allHealthy ? 0 : rng();
  const net: Level = roll < 0.68 ? 1 : roll < 0.83 ? 2 : roll < 0.93 ? 3 : 4;
  const drag = (base: Level): Level => (Math.min(4, Math.max(1, base + (rng() < 0.3 ? 1 : 0) - (rng() < 0.2 ? 1 : 0))) as Level);
  const ratings: Ratings = {
    network: net,
    audio: device === 'pstn' ? 1 : drag(net),
    video: device === 'pstn' || rng() < 0.25 ? 0 : drag(net),
    screen: rng() < 0.85 ? 0 : drag(net),
  };
  if (allHealthy) for (const k of Object.keys(ratings) as (keyof Ratings)[]) if (ratings[k] > 1) ratings[k] = 1;
  const problems: string[] = [];
  const vocab = PROBLEMS[lang];
  for (const k of ['network', 'audio', 'video', 'screen'] as const) {
    if (ratings[k] >= 3) problems.push(vocab[k][Math.floor(rng() * vocab[k].length)]!);
  }
  if (!allHealthy && rng() < 0.04) problems.push(vocab.cpu[0]!);
  const joinedAt = start + Math.floor(rng() * 300);
  const leftAt = Math.min(end, joinedAt + 600 + Math.floor(rng() * (end - joinedAt)));
  const role: Role = i === 0 ? 'host' : i === 1 ? 'cohost' : 'attendee';
  return {
    key: `demo-${code}-${i}`, name, device, role, joinedAt, leftAt,
    health: problems.length ? 2 : healthOf(ratings), ratings, problems, loaded: true,
  };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** The registration (vendors/index.ts): always on, no credentials; with nothing else set the bot runs on it alone. */
export const demo = defineVendor({
  name: 'demo',
  aliases: [],
  builtin: true,
  configFrom: () => ({}),
  create: (_config, deps) => createDemoVendor({ clock: deps.clock }),
});
