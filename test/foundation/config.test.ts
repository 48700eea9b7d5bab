import { configError } from '../helpers/config.js';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from '../../src/config.js';

const err = configError;

describe('config', () => {
  it('no variables: demo mode on port 3000 with the console, memory store, zh', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, host: '0.0.0.0', demo: true, console: true, lang: 'zh', pageSize: { feishu: 10, wecom: 6 } });
    expect(describeConfig(c)).toMatchObject({ mode: 'demo', vendors: ['demo'], store: 'memory' });
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT: a whole number from 0 to 65535/],
    [{ PORT: '70000' }, /^PORT:/],
    [{ MEETCHECK_LANG: 'fr' }, /^MEETCHECK_LANG: one of zh, en/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL:/],
    [{ MEETCHECK_PAGE_SIZE: '0' }, /^MEETCHECK_PAGE_SIZE: a whole number from 1 to 20/],
    [{ MEETCHECK_DEFAULT_VENDOR: 'zoom' }, /^MEETCHECK_DEFAULT_VENDOR:/],
    [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL: a redis:\/\//],
    [{ FEISHU_APP_ID: 'cli_x' }, /^FEISHU_APP_SECRET: required because FEISHU_APP_ID is set/],
    [{ FEISHU_APP_ID: 'cli_x', FEISHU_APP_SECRET: 's' }, /^FEISHU_VERIFICATION_TOKEN:/],
    [{ FEISHU_APP_ID: 'cli_x', FEISHU_APP_SECRET: 's', FEISHU_VERIFICATION_TOKEN: 'v', FEISHU_BASE_URL: 'ftp://x' }, /^FEISHU_BASE_URL: an http\(s\) URL/],
    [{ WECOM_BOT_TOKEN: 't', WECOM_BOT_AES_KEY: 'short' }, /^WECOM_BOT_AES_KEY: the 43-character EncodingAESKey/],
    [{ WECOM_CORP_ID: 'ww1' }, /^WECOM_MEETING_SECRET: required/],
    [{ TENCENT_MEETING_APP_ID: '1', TENCENT_MEETING_SECRET_ID: 'a' }, /^TENCENT_MEETING_SECRET_KEY: required because TENCENT_MEETING_APP_ID, TENCENT_MEETING_SECRET_ID are set/],
    [{ TENCENT_MEETING_REPORT_CHAT: 'slack:x' }, /^TENCENT_MEETING_REPORT_CHAT:/],
  ])('%o → one clear line', (env, expected) => {
    const message = err(env);
    expect(message).toMatch(expected);
    expect(message).not.toContain('\n');
  });

  it('never echoes a secret value', () => {
    const secret = 'sUp3r-s3cret-value-that-must-not-print';
    expect(err({ WECOM_BOT_TOKEN: 't', WECOM_BOT_AES_KEY: secret })).not.toContain(secret);
    expect(JSON.stringify(describeConfig(loadConfig({ FEISHU_APP_ID: 'cli_x', FEISHU_APP_SECRET: secret, FEISHU_ENCRYPT_KEY: secret })))).not.toContain(secret);
  });

  it('credentials switch channels and vendors on; page size capped for WeCom', () => {
    const c = loadConfig({
      FEISHU_APP_ID: 'cli_x', FEISHU_APP_SECRET: 's', FEISHU_ENCRYPT_KEY: 'k',
      WECOM_BOT_TOKEN: 't', WECOM_BOT_AES_KEY: 'a'.repeat(43), WECOM_CORP_ID: 'ww', WECOM_MEETING_SECRET: 's',
      MEETCHECK_PAGE_SIZE: '12', MEETCHECK_ALLOWED_CHATS: 'oc_1, feishu:oc_2', MEETCHECK_LANG: 'en',
    });
    expect(c.demo).toBe(false);
    expect(c.console).toBe(false);
    expect(c.pageSize).toEqual({ feishu: 12, wecom: 6 });
    expect([...c.allowedChats!]).toEqual(['oc_1', 'feishu:oc_2']);
    expect(describeConfig(c)).toMatchObject({ mode: 'live', vendors: ['wecom', 'feishu', 'demo'] });
  });

  it('MEETCHECK_CONSOLE turns the console on outside demo mode and off inside it', () => {
    expect(loadConfig({ WECOM_CORP_ID: 'ww', WECOM_MEETING_SECRET: 's', MEETCHECK_CONSOLE: '1' }).console).toBe(true);
    expect(loadConfig({ MEETCHECK_CONSOLE: '0' }).console).toBe(false);
    expect(err({ MEETCHECK_CONSOLE: 'yes' })).toMatch(/^MEETCHECK_CONSOLE:/);
  });
});
