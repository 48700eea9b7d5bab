import type { EnvReader } from '../../config.js';

/** The self-built app holding the meeting API permission (WeCom admin → 应用管理 → 会议 → 可调用接口的应用). */
export interface WecomMeetingConfig {
  corpId: string;
  secret: string;
  baseUrl: string;
  /** WECOM_MEETING_ADMINS: userids whose meeting lists are searched for a code after the asker's. */
  admins?: readonly string[];
}

export const DEFAULT_BASE_URL_WECOM = 'https://qyapi.weixin.qq.com';

/** WECOM_CORP_ID + WECOM_MEETING_SECRET switch it on; WECOM_BASE_URL and WECOM_MEETING_ADMINS are optional. */
export function wecomConfigFrom(env: EnvReader): WecomMeetingConfig | undefined {
  const parts = env.group(['WECOM_CORP_ID', 'WECOM_MEETING_SECRET']);
  const admins = wecomUserIds(env, 'WECOM_MEETING_ADMINS');
  if (!parts) {
    if (env.get('WECOM_MEETING_ADMINS') !== undefined) env.fail('WECOM_MEETING_ADMINS', 'needs WECOM_CORP_ID and WECOM_MEETING_SECRET (the meeting app whose lists it names)');
    return undefined;
  }
  return {
    corpId: parts.WECOM_CORP_ID!,
    secret: parts.WECOM_MEETING_SECRET!,
    baseUrl: env.url('WECOM_BASE_URL', DEFAULT_BASE_URL_WECOM),
    ...(admins ? { admins } : {}),
  };
}

/**
 * Comma-separated WeCom userids. A userid is 1-64 bytes of letters, digits and "_-@.", starting
 * with a letter or digit (WeCom doc 90195, 创建成员 userid).
 */
function wecomUserIds(env: EnvReader, name: string): string[] | undefined {
  const items = env.list(name);
  for (const u of items ?? []) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_\-@.]{0,63}$/.test(u)) env.fail(name, `comma-separated WeCom userids (letters, digits, _-@.), got "${u.slice(0, 40)}"`);
  }
  return items;
}
