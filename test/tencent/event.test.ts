import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { endedMeetings, eventTime } from '../../src/channels/tencent/event.js';
import { dedupeKey } from '../../src/channels/tencent/reports.js';
import { createLogger } from '../../src/log.js';

/**
 * meeting.end's payload (cloud.tencent.com/document/product/1095/51619): start_time/end_time are
 * integers in seconds in the field table, operate_time is ms in the examples, and the docs' own
 * sample data for another event writes times as "2020-12-29 17:41:04" (DOC 51612). Every shape is read.
 */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); cb(); } }));
  return { log, lines };
}

describe('Tencent meeting.end payload', () => {
  it('reads times in seconds, milliseconds, numeric strings and China-time datetimes', () => {
    expect(eventTime(1609236000)).toEqual({ s: 1609236000, shape: 'seconds' });
    expect(eventTime('1609236000')).toEqual({ s: 1609236000, shape: 'seconds' });
    expect(eventTime(1609239040864)).toEqual({ s: 1609239040, shape: 'milliseconds' });
    expect(eventTime('1609239040864')).toEqual({ s: 1609239040, shape: 'milliseconds' });
    // 17:41:04 in Beijing is 09:41:04 UTC.
    expect(eventTime('2020-12-29 17:41:04')).toEqual({ s: Date.UTC(2020, 11, 29, 9, 41, 4) / 1000, shape: 'datetime' });
    expect(eventTime('yesterday')).toBeUndefined();
    expect(eventTime(0)).toBeUndefined();
    expect(eventTime(undefined)).toBeUndefined();
  });

  it('takes meeting_info and operate_time (and a sub_meeting_id when present); logs each shape once', () => {
    const { log, lines } = capture();
    const payload = [
      { operate_time: 1795320000123, meeting_info: { meeting_id: '6058890385480921052', meeting_code: '530812452', meeting_type: 1, start_time: 1795316400, end_time: 1795320000, sub_meeting_id: '1795316400' } },
      { operate_time: 1795320000999, meeting_info: { meeting_id: '6058890385480921052', meeting_code: '530812452', meeting_type: 1, start_time: 1795316401, end_time: 1795320001, sub_meeting_id: '1795316400' } },
      { meeting_info: { meeting_id: 'not-digits' } },
      { meeting_info: { meeting_id: 605889038548092 } },
      'junk',
    ];
    const got = endedMeetings(payload, 'trace-1', log);
    expect(got).toEqual([
      { meetingId: '6058890385480921052', code: '530812452', subMeetingId: '1795316400', startTime: 1795316400, endTime: 1795320000, endedAt: 1795320000, traceId: 'trace-1' },
      { meetingId: '6058890385480921052', code: '530812452', subMeetingId: '1795316400', startTime: 1795316401, endTime: 1795320001, endedAt: 1795320000, traceId: 'trace-1' },
    ]);
    const shapes = lines.filter((l) => l.msg === 'tencent meeting.end: meeting_info shape seen');
    expect(shapes.map((l) => l.shape)).toContainEqual({ start: 'seconds', end: 'seconds', operate: 'milliseconds', subMeetingId: 'present' });
    expect(shapes).toHaveLength(1);
    // Same operate_time (to the second): one job; the event's room decides the report.
    expect(dedupeKey(got[0]!)).toBe(dedupeKey(got[1]!));
  });

  it('without operate_time, the trace id keeps two events apart', () => {
    const { log } = capture();
    const info = { meeting_id: '6058890385480921052', meeting_code: '530812452', start_time: '2020-12-29 17:41:04', end_time: '2020-12-29 18:01:04' };
    const [a] = endedMeetings([{ meeting_info: info }], 'trace-a', log);
    const [b] = endedMeetings([{ meeting_info: info }], 'trace-b', log);
    expect(a!.startTime).toBe(Date.UTC(2020, 11, 29, 9, 41, 4) / 1000);
    expect(a!.endedAt).toBeUndefined();
    expect(dedupeKey(a!)).not.toBe(dedupeKey(b!));
  });
});
