import { describe, expect, it } from 'vitest';
import { createDemoVendor, DEMO_MEETINGS } from '../../src/vendors/demo/index.js';
import { manualClock, notesIn } from '../helpers/core.js';

const query = (code: string) => ({ meeting: { vendor: 'demo' as const, code }, lang: 'en' as const });

describe('demo vendor', () => {
  it('is deterministic per meeting id and differs between ids', async () => {
    const clock = manualClock();
    const a = await createDemoVendor({ clock }).fetchReport(query('123456789'), {});
    const b = await createDemoVendor({ clock }).fetchReport(query('123456789'), {});
    const c = await createDemoVendor({ clock }).fetchReport(query('987654321'), {});
    expect(a).toEqual(b);
    expect(c.attendees.map((x) => x.name)).not.toEqual(a.attendees.map((x) => x.name));
  });

  it('has a realistic spread: mostly healthy, some alerts, some no-data aspects', async () => {
    const r = await createDemoVendor({ clock: manualClock() }).fetchReport(query(DEMO_MEETINGS.allHands), {});
    const alert = r.attendees.filter((a) => a.health === 2).length / r.attendees.length;
    expect(alert).toBeGreaterThan(0.1);
    expect(alert).toBeLessThan(0.5);
    expect(r.attendees.some((a) => a.ratings.video === 0)).toBe(true);
    expect(r.attendees.every((a) => a.health !== 2 || a.problems.length > 0)).toBe(true);
  });

  it('the all-hands has 5,000 attendees and reports progress per page of 50', async () => {
    const progress: number[] = [];
    const r = await createDemoVendor({ clock: manualClock() }).fetchReport(query(DEMO_MEETINGS.allHands), { onProgress: (p) => progress.push(p.loaded) });
    expect(r.attendees).toHaveLength(5000);
    expect(new Set(r.attendees.map((a) => a.key)).size).toBe(5000);
    expect(progress).toHaveLength(100);
    expect(progress.at(-1)).toBe(5000);
  });

  it('stops at the deadline and says the report is partial', async () => {
    const clock = manualClock();
    const vendor = createDemoVendor({ clock, latencyMs: 1000 });
    const pending = vendor.fetchReport(query(DEMO_MEETINGS.allHands), { deadline: clock.now() + 10_000 });
    for (let i = 0; i < 12; i++) await clock.advance(1000);
    const r = await pending;
    expect(r.complete).toBe(false);
    expect(r.attendees.length).toBe(500);
    expect(notesIn('en', r)[0]).toContain('Partial result');
  });

  it('the special numbers: not found, in progress, all healthy', async () => {
    const vendor = createDemoVendor({ clock: manualClock() });
    await expect(vendor.fetchReport(query(DEMO_MEETINGS.notFound), {})).rejects.toMatchObject({ code: 'meeting_not_found' });
    await expect(vendor.fetchReport(query(DEMO_MEETINGS.inProgress), {})).rejects.toMatchObject({ code: 'meeting_not_ended' });
    const healthy = await vendor.fetchReport(query(DEMO_MEETINGS.allHealthy), {});
    expect(healthy.attendees.every((a) => a.health === 1 && a.problems.length === 0)).toBe(true);
  });

  it('includes directory names that must be shown as written', async () => {
    const r = await createDemoVendor({ clock: manualClock() }).fetchReport(query(DEMO_MEETINGS.allHands), {});
    expect(r.attendees.some((a) => a.name === '<at id=all></at>')).toBe(true);
  });
});
