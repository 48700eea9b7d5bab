import { configError } from '../helpers/config.js';
import { describe, expect, it } from 'vitest';
import { accountsUrlFor, describeConfig, loadConfig } from '../../src/config.js';

const FEISHU = { FEISHU_APP_ID: 'cli_a1b2c3d4e5f60718', FEISHU_APP_SECRET: 's', FEISHU_VERIFICATION_TOKEN: 'v' };
const KEY = Buffer.alloc(32, 3).toString('base64');

const err = configError;

describe('config: Feishu user authorisation', () => {
  it('off by default, and the start-up description says which variable is missing', () => {
    const c = loadConfig(FEISHU);
    expect(c.publicUrl).toBeUndefined();
    expect(c.feishu!.userAuth).toBeUndefined();
    expect(c.feishu!.userAuthOff).toBe('MEETCHECK_ENCRYPTION_KEY');
    expect(describeConfig(c).feishuUserAuth).toBe('off (MEETCHECK_ENCRYPTION_KEY not set)');
    const keyOnly = loadConfig({ ...FEISHU, MEETCHECK_ENCRYPTION_KEY: KEY });
    expect(keyOnly.feishu!.userAuthOff).toBe('MEETCHECK_PUBLIC_URL');
  });

  it('on with a key and a public URL: the redirect, the consent host and the scopes (offline_access first)', () => {
    const c = loadConfig({ ...FEISHU, MEETCHECK_ENCRYPTION_KEY: KEY, MEETCHECK_PUBLIC_URL: 'https://bot.example.com/' });
    expect(c.publicUrl).toBe('https://bot.example.com');
    expect(c.feishu!.userAuth).toMatchObject({
      redirectUri: 'https://bot.example.com/feishu/oauth/callback',
      accountsUrl: 'https://accounts.feishu.cn',
      scopes: ['offline_access', 'vc:meeting.meetingevent:read'],
    });
    expect(c.feishu!.userAuth!.key.equals(Buffer.alloc(32, 3))).toBe(true);
    expect(describeConfig(c).feishuUserAuth).toBe('on');
    expect(JSON.stringify(describeConfig(c))).not.toContain(KEY);

    const lark = loadConfig({
      ...FEISHU, MEETCHECK_ENCRYPTION_KEY: KEY.replace(/=+$/, ''), MEETCHECK_PUBLIC_URL: 'https://bot.example.com',
      FEISHU_BASE_URL: 'https://open.larksuite.com', FEISHU_USER_SCOPES: 'vc:a:read, offline_access vc:b:read',
    });
    expect(lark.feishu!.userAuth).toMatchObject({ accountsUrl: 'https://accounts.larksuite.com', scopes: ['offline_access', 'vc:a:read', 'vc:b:read'] });
    const custom = loadConfig({ ...FEISHU, MEETCHECK_ENCRYPTION_KEY: KEY, MEETCHECK_PUBLIC_URL: 'https://b.example', FEISHU_ACCOUNTS_URL: 'http://127.0.0.1:9' });
    expect(custom.feishu!.userAuth!.accountsUrl).toBe('http://127.0.0.1:9');
  });

  it('the consent host follows FEISHU_BASE_URL; any other host serves both', () => {
    expect(accountsUrlFor('https://open.feishu.cn')).toBe('https://accounts.feishu.cn');
    expect(accountsUrlFor('https://open.larksuite.com')).toBe('https://accounts.larksuite.com');
    expect(accountsUrlFor('http://127.0.0.1:4010')).toBe('http://127.0.0.1:4010');
  });

  it.each([
    [{ MEETCHECK_ENCRYPTION_KEY: Buffer.alloc(16, 1).toString('base64') }, /^MEETCHECK_ENCRYPTION_KEY: 32 random bytes in base64/],
    [{ MEETCHECK_ENCRYPTION_KEY: 'not base64 at all!' }, /^MEETCHECK_ENCRYPTION_KEY: 32 random bytes in base64/],
    [{ MEETCHECK_ENCRYPTION_KEY: Buffer.alloc(33, 1).toString('base64') }, /^MEETCHECK_ENCRYPTION_KEY:/],
    [{ MEETCHECK_PUBLIC_URL: 'bot.example.com' }, /^MEETCHECK_PUBLIC_URL: an http\(s\) URL/],
    [{ FEISHU_USER_SCOPES: 'vc:a:read <script>' }, /^FEISHU_USER_SCOPES: Feishu scope names/],
    [{ ...FEISHU, MEETCHECK_ENCRYPTION_KEY: KEY, MEETCHECK_PUBLIC_URL: 'https://b.example', FEISHU_ACCOUNTS_URL: 'nope' }, /^FEISHU_ACCOUNTS_URL:/],
  ])('%o → one clear line, the key never echoed', (env: Record<string, string>, expected) => {
    const message = err(env);
    expect(message).toMatch(expected);
    expect(message).not.toContain('\n');
    if (env.MEETCHECK_ENCRYPTION_KEY) expect(message).not.toContain(env.MEETCHECK_ENCRYPTION_KEY);
  });
});
