import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The server side of Feishu's long connection, written from the official SDK's client
 * (@larksuiteoapi/node-sdk 1.74.0 lib/index.js: WSClient, pbbp2.Frame, pbbp2.Header), since the
 * wire protocol has no public page:
 *   POST {domain}/callback/ws/endpoint {AppID, AppSecret}
 *     → {code:0, data:{URL, ClientConfig:{PingInterval, ReconnectCount, ReconnectInterval, ReconnectNonce}}}
 *     (seconds; code ≠ 0 is a refusal: 1 system busy, 403 forbidden, 514 auth failed, 1000040350 too many connections)
 *   then a WebSocket to URL (query: device_id, service_id) carrying binary protobuf `pbbp2.Frame`s:
 *     Frame  { 1 SeqID uint64, 2 LogID uint64, 3 service int32, 4 method int32 (0 control, 1 data),
 *              5 headers repeated Header, 6 payloadEncoding, 7 payloadType, 8 payload bytes, 9 LogIDNew }
 *     Header { 1 key string, 2 value string }
 *   control: the client sends `type=ping`; the server answers `type=pong` with the ClientConfig JSON.
 *   data:    the server sends `type=event` (or `card`), `message_id`, `sum`, `seq`, `trace_id` and
 *            a JSON payload (split into `sum` fragments); the client answers with the same frame,
 *            an extra `biz_rt` header and payload `{code, data?: base64(JSON(handler result))}`.
 */

export interface PbHeader {
  key: string;
  value: string;
}

export interface PbFrame {
  SeqID: bigint;
  LogID: bigint;
  service: number;
  method: number;
  headers: PbHeader[];
  payloadEncoding?: string;
  payloadType?: string;
  payload?: Uint8Array;
  LogIDNew?: string;
}

function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

function lengthDelimited(field: number, bytes: Uint8Array): number[] {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

const utf8 = (s: string) => new TextEncoder().encode(s);

export function encodeFrame(f: PbFrame): Buffer {
  const out: number[] = [
    ...varint(1 << 3), ...varint(f.SeqID),
    ...varint(2 << 3), ...varint(f.LogID),
    ...varint(3 << 3), ...varint(f.service),
    ...varint(4 << 3), ...varint(f.method),
  ];
  for (const h of f.headers) out.push(...lengthDelimited(5, Uint8Array.from([...lengthDelimited(1, utf8(h.key)), ...lengthDelimited(2, utf8(h.value))])));
  if (f.payloadEncoding !== undefined) out.push(...lengthDelimited(6, utf8(f.payloadEncoding)));
  if (f.payloadType !== undefined) out.push(...lengthDelimited(7, utf8(f.payloadType)));
  if (f.payload !== undefined) out.push(...lengthDelimited(8, f.payload));
  if (f.LogIDNew !== undefined) out.push(...lengthDelimited(9, utf8(f.LogIDNew)));
  return Buffer.from(out);
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  }
  bytes(): Uint8Array {
    const len = Number(this.varint());
    const out = this.buf.subarray(this.pos, this.pos + len);
    if (out.length !== len) throw new Error('truncated field');
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unknown wire type ${wire}`);
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function decodeHeader(buf: Uint8Array): PbHeader {
  const r = new Reader(buf);
  const h: PbHeader = { key: '', value: '' };
  while (!r.done) {
    const tag = Number(r.varint());
    if (tag >>> 3 === 1) h.key = text(r.bytes());
    else if (tag >>> 3 === 2) h.value = text(r.bytes());
    else r.skip(tag & 7);
  }
  return h;
}

export function decodeFrame(buf: Uint8Array): PbFrame {
  const r = new Reader(buf);
  const f: Partial<PbFrame> & { headers: PbHeader[] } = { headers: [] };
  while (!r.done) {
    const tag = Number(r.varint());
    switch (tag >>> 3) {
      case 1: f.SeqID = r.varint(); break;
      case 2: f.LogID = r.varint(); break;
      case 3: f.service = Number(BigInt.asIntN(32, r.varint())); break;
      case 4: f.method = Number(BigInt.asIntN(32, r.varint())); break;
      case 5: f.headers.push(decodeHeader(r.bytes())); break;
      case 6: f.payloadEncoding = text(r.bytes()); break;
      case 7: f.payloadType = text(r.bytes()); break;
      case 8: f.payload = Uint8Array.from(r.bytes()); break;
      case 9: f.LogIDNew = text(r.bytes()); break;
      default: r.skip(tag & 7);
    }
  }
  // The SDK's decoder throws on these four missing (pbbp2.Frame.decode: "missing required …").
  for (const k of ['SeqID', 'LogID', 'service', 'method'] as const) if (f[k] === undefined) throw new Error(`missing required '${k}'`);
  return f as PbFrame;
}

export const headerOf = (f: PbFrame, key: string): string | undefined => f.headers.find((h) => h.key === key)?.value;

/** What the client sent back for one data frame. */
export interface FrameAnswer {
  /** `code` of the response payload: 200, or 500 when the client's handler threw. */
  code: number;
  /** The handler's result, decoded from base64 JSON; undefined when the client sent none. */
  data: unknown;
  frame: PbFrame;
}

export interface FakeFeishuWs {
  /** The ClientConfig handed out by the endpoint and in every pong (seconds, as on the wire). */
  clientConfig: { PingInterval: number; ReconnectCount: number; ReconnectInterval: number; ReconnectNonce: number };
  /** Answers for the endpoint call; code ≠ 0 refuses it. */
  endpointCode: number;
  endpointCalls: number;
  /** Frames the client sent, decoded, in order (pings and answers). */
  received: PbFrame[];
  /** Resolves once a client is connected and listening (it has pinged); at once if one already is. */
  connected(): Promise<void>;
  /**
   * Sends one data frame (`type` event or card) carrying `payload` as JSON, split into
   * `fragments` parts, and resolves with the client's answer for that message_id.
   */
  push(type: string, payload: unknown, opts?: { fragments?: number }): Promise<FrameAnswer>;
  /** Frames sent without an answer yet (message_id → type). */
  unanswered(): Map<string, string>;
}

const SERVICE_ID = 7;

export function attachFakeFeishuWs(server: Server, baseUrl: () => string, opts: { appId: string; appSecret: string }): {
  ws: FakeFeishuWs;
  /** Handles POST /callback/ws/endpoint; returns the JSON to send. */
  endpoint(body: unknown): unknown;
  close(): void;
} {
  const wss = new WebSocketServer({ noServer: true });
  let socket: WebSocket | undefined;
  let waiters: (() => void)[] = [];
  const pending = new Map<string, { type: string; resolve: (a: FrameAnswer) => void }>();
  let seq = 0;
  const ticket = `tk-${Math.random().toString(36).slice(2)}`;

  server.on('upgrade', (req: IncomingMessage, sock: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/ws' || url.searchParams.get('ticket') !== ticket) {
      sock.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, sock, head, (client) => {
      client.on('message', (data: Buffer) => {
        let frame: PbFrame;
        try {
          frame = decodeFrame(data);
        } catch {
          return;
        }
        ws.received.push(frame);
        const type = headerOf(frame, 'type');
        if (frame.method === 0 && type === 'ping') {
          client.send(encodeFrame({
            SeqID: 0n, LogID: 0n, service: SERVICE_ID, method: 0, headers: [{ key: 'type', value: 'pong' }],
            payload: utf8(JSON.stringify(ws.clientConfig)),
          }));
          // The SDK pings as the socket opens and starts reading frames right after: a client that has
          // pinged is listening (a frame sent before that would be lost, as it would be by Feishu).
          if (socket !== client) {
            socket = client;
            const ready = waiters;
            waiters = [];
            for (const r of ready) r();
          }
          return;
        }
        if (frame.method !== 1) return;
        const id = headerOf(frame, 'message_id') ?? '';
        const waiting = pending.get(id);
        if (!waiting) return;
        pending.delete(id);
        const resp = JSON.parse(text(frame.payload ?? new Uint8Array())) as { code: number; data?: string };
        waiting.resolve({ code: resp.code, data: resp.data ? JSON.parse(Buffer.from(resp.data, 'base64').toString('utf8')) : undefined, frame });
      });
      client.on('close', () => {
        if (socket === client) socket = undefined;
      });
    });
  });

  const ws: FakeFeishuWs = {
    clientConfig: { PingInterval: 120, ReconnectCount: -1, ReconnectInterval: 120, ReconnectNonce: 30 },
    endpointCode: 0,
    endpointCalls: 0,
    received: [],
    connected: () => (socket ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    push(type, payload, pushOpts = {}) {
      if (!socket) return Promise.reject(new Error('no long connection'));
      const id = `msg-${++seq}`;
      const bytes = utf8(JSON.stringify(payload));
      const parts = Math.max(1, pushOpts.fragments ?? 1);
      const size = Math.ceil(bytes.length / parts);
      const answer = new Promise<FrameAnswer>((resolve) => pending.set(id, { type, resolve }));
      for (let i = 0; i < parts; i++) {
        socket.send(encodeFrame({
          SeqID: BigInt(seq), LogID: BigInt(seq), service: SERVICE_ID, method: 1,
          headers: [
            { key: 'type', value: type }, { key: 'message_id', value: id }, { key: 'sum', value: String(parts) },
            { key: 'seq', value: String(i) }, { key: 'trace_id', value: `trace-${seq}` },
          ],
          payload: bytes.subarray(i * size, (i + 1) * size),
        }));
      }
      return answer;
    },
    unanswered: () => new Map([...pending].map(([id, p]) => [id, p.type])),
  };

  return {
    ws,
    endpoint(body) {
      ws.endpointCalls++;
      const b = body as { AppID?: string; AppSecret?: string } | undefined;
      if (ws.endpointCode !== 0) return { code: ws.endpointCode, msg: 'refused', data: {} };
      if (b?.AppID !== opts.appId || b.AppSecret !== opts.appSecret) return { code: 514, msg: 'auth failed', data: {} };
      const wsUrl = `${baseUrl().replace(/^http/, 'ws')}/ws?device_id=fake-device&service_id=${SERVICE_ID}&ticket=${ticket}`;
      return { code: 0, msg: 'ok', data: { URL: wsUrl, ClientConfig: ws.clientConfig } };
    },
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
