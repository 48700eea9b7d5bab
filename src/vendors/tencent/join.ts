import { deriveHealth, type Sample } from '../../core/health.js';
import type { Lang } from '../../core/i18n.js';
import { NO_RATINGS, type Attendee, type Role } from '../../core/model.js';
import { deviceOf, higherRole, roleOf, type ParticipantRow, type QosRow, type QualityRow } from './wire.js';

/**
 * Joins the per-device health rows (/quality or /qos) with the participant list (names, roles,
 * join/leave) on ms_open_id + instanceid, falling back to userid + instanceid: /quality names nobody,
 * one row per device (DOC 80575). The participant list has one row per join session (DOC 42701); a
 * person who rejoined is one attendee.
 */
interface Person {
  name?: string;
  userid?: string;
  msOpenId?: string;
  instanceId?: number;
  role: Role;
  joinedAt?: number;
  leftAt?: number;
  stillIn: boolean;
  used: boolean;
}

const devKey = (id: string, inst: number | undefined) => `${id}|${inst ?? '?'}`;

export interface Directory {
  byMs: Map<string, Person>;
  byUser: Map<string, Person>;
  people: Person[];
}

export function directory(rows: readonly ParticipantRow[]): Directory {
  const byMs = new Map<string, Person>();
  const byUser = new Map<string, Person>();
  const people: Person[] = [];
  for (const r of rows) {
    const key = r.msOpenId ? devKey(r.msOpenId, r.instanceId) : r.userid ? `u:${devKey(r.userid, r.instanceId)}` : undefined;
    let p = key ? (r.msOpenId ? byMs.get(key) : byUser.get(key)) : undefined;
    if (!p) {
      p = { role: 'unknown', stillIn: false, used: false };
      if (r.userid) p.userid = r.userid;
      if (r.msOpenId) p.msOpenId = r.msOpenId;
      if (r.instanceId !== undefined) p.instanceId = r.instanceId;
      people.push(p);
      if (r.msOpenId && key) byMs.set(key, p);
      if (r.userid) {
        const uk = `u:${devKey(r.userid, r.instanceId)}`;
        if (!byUser.has(uk)) byUser.set(uk, p);
      }
    }
    if (r.name && !p.name) p.name = r.name;
    p.role = higherRole(p.role, roleOf(r.userRole));
    if (r.joinTime !== undefined) p.joinedAt = Math.min(p.joinedAt ?? Infinity, r.joinTime);
    if (r.leftTime === undefined) p.stillIn = true;
    else p.leftAt = Math.max(p.leftAt ?? 0, r.leftTime);
  }
  return { byMs, byUser, people };
}

function find(dir: Directory, msOpenId: string | undefined, userid: string | undefined, inst: number | undefined): Person | undefined {
  const byMs = msOpenId ? dir.byMs.get(devKey(msOpenId, inst)) : undefined;
  if (byMs) return byMs;
  return userid ? dir.byUser.get(`u:${devKey(userid, inst)}`) : undefined;
}

function base(p: Person | undefined, fallbackName: string, inst: number | undefined, key: string): Attendee {
  const a: Attendee = {
    key, name: p?.name ?? fallbackName, device: deviceOf(inst ?? p?.instanceId), role: p?.role ?? 'unknown',
    health: 0, ratings: { ...NO_RATINGS }, problems: [], loaded: true,
  };
  if (p?.joinedAt !== undefined) a.joinedAt = p.joinedAt;
  if (p && !p.stillIn && p.leftAt !== undefined) a.leftAt = p.leftAt;
  return a;
}

/** A row the participant list does not name still gets a stable, harmless label. */
function fallbackName(userid: string | undefined, msOpenId: string | undefined): string {
  return userid ?? (msOpenId ? `#${msOpenId.slice(-6)}` : '?');
}

class Keys {
  private seen = new Map<string, number>();
  next(id: string, inst: number | undefined): string {
    const k = `tencent:${devKey(id, inst)}`;
    const n = this.seen.get(k) ?? 0;
    this.seen.set(k, n + 1);
    return n === 0 ? k : `${k}#${n}`;
  }
}

/** Everyone in the participant list nobody's health row claimed: listed, with "no data". */
function leftovers(dir: Directory, keys: Keys): Attendee[] {
  return dir.people.filter((p) => !p.used).map((p) => base(p, fallbackName(p.userid, p.msOpenId), p.instanceId, keys.next(p.msOpenId ?? p.userid ?? 'anon', p.instanceId)));
}

export function joinQuality(rows: readonly QualityRow[] | undefined, participants: readonly ParticipantRow[]): Attendee[] {
  const dir = directory(participants);
  const keys = new Keys();
  const out: Attendee[] = [];
  for (const r of rows ?? []) {
    const p = find(dir, r.msOpenId, r.userid, r.instanceId);
    if (p) p.used = true;
    const a = base(p, fallbackName(r.userid, r.msOpenId), r.instanceId, keys.next(r.msOpenId ?? r.userid ?? 'anon', r.instanceId));
    a.health = r.health;
    a.ratings = { ...r.ratings };
    a.problems = [...r.problems];
    out.push(a);
  }
  return out.concat(leftovers(dir, keys));
}

export function joinQos(rows: readonly QosRow[], participants: readonly ParticipantRow[], lang: Lang): Attendee[] {
  const dir = directory(participants);
  const keys = new Keys();
  // Several entries for one device are several samples of it.
  const devices = new Map<string, { row: QosRow; inst: number | undefined; samples: Sample[] }>();
  for (const row of rows) {
    for (const d of row.devices) {
      const k = devKey(row.msOpenId ?? row.nickName ?? 'anon', d.instanceId);
      const entry = devices.get(k) ?? { row, inst: d.instanceId, samples: [] };
      entry.samples.push(d.sample);
      devices.set(k, entry);
    }
  }
  const out: Attendee[] = [];
  for (const { row, inst, samples } of devices.values()) {
    const p = find(dir, row.msOpenId, undefined, inst);
    if (p) p.used = true;
    const a = base(p, row.nickName ?? fallbackName(undefined, row.msOpenId), inst, keys.next(row.msOpenId ?? row.nickName ?? 'anon', inst));
    const d = deriveHealth(samples, lang);
    a.health = d.health;
    a.ratings = d.ratings;
    a.problems = d.problems;
    out.push(a);
  }
  return out.concat(leftovers(dir, keys));
}
