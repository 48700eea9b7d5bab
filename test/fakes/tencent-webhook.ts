import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What Tencent Meeting sends to an event subscription URL (cloud.tencent.com/document/product/1095/
 * 51612, 54658, 51619), written from the docs: signature = sha1 of the sorted [token, timestamp, nonce, data];
 * data = base64(AES-256-CBC[msg + $key]) with IV = key[0..16] and PKCS#7; GET carries check_str.
 */
export function tencentSignature(token: string, timestamp: string, nonce: string, data: string): string {
  return createHash('sha1').update([token, timestamp, nonce, data].sort().join('')).digest('hex');
}

export function tencentEncrypt(encodingAesKey: string, plain: string, tail = randomBytes(8).toString('base64url')): string {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  return Buffer.concat([c.update(Buffer.from(plain + tail, 'utf8')), c.final()]).toString('base64');
}

export interface SignedRequest {
  headers: Record<string, string>;
}

export function signedHeaders(token: string, data: string, nowMs: number, nonce = String(Math.floor(Math.random() * 1e8) + 1)): Record<string, string> {
  const timestamp = String(nowMs);
  return { timestamp, nonce, signature: tencentSignature(token, timestamp, nonce, data) };
}

export interface MeetingEndOptions {
  traceId?: string;
  /** payload[].operate_time, ms (DOC 51619's examples are ms). */
  operateTimeMs?: number;
  /** meeting_info.start_time / end_time: integers in seconds per DOC 51619's table, unless given otherwise. */
  start?: number | string;
  end?: number | string;
  subMeetingId?: string;
  meetingType?: number;
  /** 0 host ended, 1 last left after the scheduled end, 2 empty past it, 3 empty before it (DOC 51619). */
  endType?: number;
}

/** A meeting.end event as DOC 51619 shows it. */
export function meetingEndEvent(meetingId: string, code: string, opts: MeetingEndOptions = {}): string {
  return JSON.stringify({
    event: 'meeting.end', trace_id: opts.traceId ?? `trace-${meetingId}`,
    payload: [{
      operate_time: opts.operateTimeMs ?? 1609239040864, meeting_end_type: opts.endType ?? 0,
      operator: { userid: 'host1', open_id: '', uuid: 'u1', ms_open_id: 'ms1', user_name: 'SG9zdA==', instance_id: '1' },
      meeting_info: {
        meeting_id: meetingId, meeting_code: code, subject: 'Weekly', creator: { userid: 'host1' }, meeting_type: opts.meetingType ?? 0,
        start_time: opts.start ?? 1609236000, end_time: opts.end ?? 1609239000,
        ...(opts.subMeetingId ? { sub_meeting_id: opts.subMeetingId } : {}),
      },
    }],
  });
}

// ---- where reports go -------------------------------------------------------------------------

export interface ReportTargets {
  url: string;
  /** WeCom group robot posts: key and body. */
  wecom: { key: string; body: { msgtype?: string; markdown?: { content?: string } } }[];
  /** Feishu IM sends: query, auth header and body. */
  feishu: { query: URLSearchParams; auth: string | undefined; body: Record<string, unknown> }[];
  /** Next WeCom answers (errcode), consumed one per post. */
  wecomErrors: number[];
  close(): Promise<void>;
}

/**
 * One local server playing both report destinations: the WeCom group robot webhook
 * (POST /cgi-bin/webhook/send?key=…, {errcode, errmsg}) and the Feishu open platform
 * (tenant_access_token, POST /open-apis/im/v1/messages?receive_id_type=chat_id).
 */
export async function startReportTargets(opts: { robotKey: string; feishuAppId?: string; feishuAppSecret?: string }): Promise<ReportTargets> {
  const targets: ReportTargets = { url: '', wecom: [], feishu: [], wecomErrors: [], close: async () => undefined };
  const token = 't-fake-tenant-token';
  const server: Server = createServer(async (req, res) => {
    const body = await readJson(req);
    const u = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, b: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(b));
    };
    if (req.method === 'POST' && u.pathname === '/cgi-bin/webhook/send') {
      if (u.searchParams.get('key') !== opts.robotKey) return json(200, { errcode: 93000, errmsg: 'invalid webhook url' });
      const content = (body as { markdown?: { content?: string } }).markdown?.content ?? '';
      if ((body as { msgtype?: string }).msgtype === 'markdown' && Buffer.byteLength(content, 'utf8') > 4096) return json(200, { errcode: 40058, errmsg: 'markdown.content exceed max length 4096' });
      const err = targets.wecomErrors.shift();
      if (err) return json(200, { errcode: err, errmsg: 'injected' });
      targets.wecom.push({ key: u.searchParams.get('key')!, body: body as ReportTargets['wecom'][number]['body'] });
      return json(200, { errcode: 0, errmsg: 'ok' });
    }
    if (req.method === 'POST' && u.pathname === '/open-apis/auth/v3/tenant_access_token/internal') {
      const b = body as { app_id?: string; app_secret?: string };
      if (b.app_id !== opts.feishuAppId || b.app_secret !== opts.feishuAppSecret) return json(200, { code: 10014, msg: 'app secret invalid' });
      return json(200, { code: 0, msg: 'ok', tenant_access_token: token, expire: 7200 });
    }
    if (req.method === 'POST' && u.pathname === '/open-apis/im/v1/messages') {
      if (req.headers.authorization !== `Bearer ${token}`) return json(400, { code: 99991663, msg: 'Invalid access token' });
      targets.feishu.push({ query: u.searchParams, auth: req.headers.authorization, body: body as Record<string, unknown> });
      return json(200, { code: 0, msg: 'success', data: { message_id: `om_${targets.feishu.length}` } });
    }
    json(404, { code: 404, msg: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  targets.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  targets.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return targets;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    return {};
  }
}
