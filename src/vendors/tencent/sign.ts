import { createHmac, randomInt } from 'node:crypto';

/**
 * Request signing for a Tencent Meeting enterprise self-built app (AK/SK), DOC 42413 and FAQ 43551.
 * Not Tencent Cloud TC3: the string to sign is fixed-order, and the signature is base64 of the
 * lowercase *hex* HMAC (88 characters ending in "=="), as the Go and Python SDKs' authenticators do.
 */
export interface SignInput {
  secretId: string;
  secretKey: string;
  method: string;
  /** Path plus query exactly as on the request line, no scheme or host (FAQ 43551). */
  uri: string;
  /** The exact body bytes sent; "" for GET (DOC 42413). */
  body: string;
  nonce: string;
  timestamp: string;
}

export function stringToSign(i: SignInput): string {
  // Header order is fixed (Key, Nonce, Timestamp) and the body separator stays even when empty (DOC 42413).
  return `${i.method.toUpperCase()}\nX-TC-Key=${i.secretId}&X-TC-Nonce=${i.nonce}&X-TC-Timestamp=${i.timestamp}\n${i.uri}\n${i.body}`;
}

export function sign(i: SignInput): string {
  const hex = createHmac('sha256', Buffer.from(i.secretKey, 'utf8')).update(stringToSign(i), 'utf8').digest('hex');
  return Buffer.from(hex, 'utf8').toString('base64');
}

/**
 * RFC 3986 strict encoding: also encodes !'()* so that WHATWG URL parsing inside undici cannot
 * change the query after we signed it (DOC 51253 asks for `+` → `%2B`).
 */
export function encodeQueryValue(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function buildQuery(params: Record<string, string | number | undefined>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeQueryValue(k)}=${encodeQueryValue(String(v))}`)
    .join('&');
}

/**
 * A fresh positive-integer nonce for every attempt: a repeated (timestamp, nonce) pair within five
 * minutes is refused as a replay, 190301 (DOC 42413). The SDK uses up to ms·1e6; 2^47 keeps it exact in JS.
 */
export function newNonce(): string {
  return String(randomInt(1, 2 ** 47));
}

export interface SignedHeadersInput {
  appId: string;
  sdkId?: string;
  secretId: string;
  secretKey: string;
  method: string;
  uri: string;
  body: string;
  nowMs: number;
  nonce?: string;
}

/** Every header of DOC 42413's 公共参数, spelled exactly as documented (names are case-sensitive on the server). */
export function signedHeaders(i: SignedHeadersInput): Record<string, string> {
  const nonce = i.nonce ?? newNonce();
  const timestamp = String(Math.floor(i.nowMs / 1000));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'X-TC-Key': i.secretId,
    'X-TC-Timestamp': timestamp,
    'X-TC-Nonce': nonce,
    'X-TC-Signature': sign({ secretId: i.secretId, secretKey: i.secretKey, method: i.method, uri: i.uri, body: i.body, nonce, timestamp }),
    AppId: i.appId,
    'X-TC-Registered': '1',
  };
  // "字段 SdkId 如未分配不要携带": sending one that was never assigned fails with 190303 (DOC 42413).
  if (i.sdkId) headers.SdkId = i.sdkId;
  return headers;
}
