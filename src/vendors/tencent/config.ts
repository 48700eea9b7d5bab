import type { EnvReader } from '../../config.js';

/** A Tencent Meeting enterprise self-built app (AK/SK, cloud.tencent.com/document/product/1095/42413) and the admin userid it acts as. */
export interface TencentConfig {
  appId: string;
  sdkId?: string;
  secretId: string;
  secretKey: string;
  operatorId: string;
  baseUrl: string;
}

/** The four credentials switch it on, all or none; TENCENT_MEETING_SDK_ID and _BASE_URL are optional. */
export function tencentConfigFrom(env: EnvReader): TencentConfig | undefined {
  const parts = env.group(['TENCENT_MEETING_APP_ID', 'TENCENT_MEETING_SECRET_ID', 'TENCENT_MEETING_SECRET_KEY', 'TENCENT_MEETING_OPERATOR_ID']);
  if (!parts) return undefined;
  const sdkId = env.get('TENCENT_MEETING_SDK_ID');
  return {
    appId: parts.TENCENT_MEETING_APP_ID!,
    secretId: parts.TENCENT_MEETING_SECRET_ID!,
    secretKey: parts.TENCENT_MEETING_SECRET_KEY!,
    operatorId: parts.TENCENT_MEETING_OPERATOR_ID!,
    baseUrl: env.url('TENCENT_MEETING_BASE_URL', 'https://api.meeting.qq.com'),
    ...(sdkId ? { sdkId } : {}),
  };
}
