import { configError } from '../helpers/config.js';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

/** WECOM_MEETING_ADMINS: whose WeCom meeting lists are searched for a code after the asker's. */

const MEETING = { WECOM_CORP_ID: 'ww1', WECOM_MEETING_SECRET: 's' };


describe('WECOM_MEETING_ADMINS', () => {
  it('is unset by default: no admins', () => {
    expect(loadConfig(MEETING).wecomMeeting!.admins).toBeUndefined();
    expect(loadConfig({ ...MEETING, WECOM_MEETING_ADMINS: ' ' }).wecomMeeting!.admins).toBeUndefined();
  });

  it('takes comma-separated WeCom userids, in order', () => {
    expect(loadConfig({ ...MEETING, WECOM_MEETING_ADMINS: 'zhangsan, li.si,wang_wu@corp' }).wecomMeeting!.admins).toEqual(['zhangsan', 'li.si', 'wang_wu@corp']);
  });

  it('refuses a value that is no userid, and a list without the meeting app, in one line naming the variable', () => {
    const bad = configError({ ...MEETING, WECOM_MEETING_ADMINS: 'zhangsan,<script>' });
    expect(bad).toMatch(/^WECOM_MEETING_ADMINS: comma-separated WeCom userids/);
    expect(bad).not.toContain('\n');
    expect(configError({ WECOM_MEETING_ADMINS: 'zhangsan' })).toMatch(/^WECOM_MEETING_ADMINS: needs WECOM_CORP_ID and WECOM_MEETING_SECRET/);
  });
});
