import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

/**
 * A loopback HTTP proxy that puts a vendor's network latency in front of a fake: each request
 * waits half the round trip before it is forwarded and the other half before its answer goes back,
 * so the fake sees a call (and a chat platform "shows" a card) half a round trip after it was sent,
 * as over a real network. The fakes stay untouched; only the base URL points here. Every call is
 * logged with its times (performance.now()), which is how the large-meeting benches see when the
 * first vendor answer came back, when a card reached the platform and how fast calls were paced.
 */

export interface ProxiedCall {
  method: string;
  /** Path and query as sent (unchanged: Tencent signs them). */
  url: string;
  /** The request body, for telling a progress card from a report card. */
  body: string;
  /** When our client's request reached the proxy. */
  sentAt: number;
  /** When the fake received it (sentAt + half the round trip). */
  arrivedAt: number;
  /** When our client got the answer (≈ sentAt + round trip + the fake's time). */
  returnedAt?: number;
  status?: number;
}

export interface LatencyProxy {
  url: string;
  calls: ProxiedCall[];
  close(): Promise<void>;
}

/** Hop-by-hop and recomputed headers are not forwarded; everything else is, names spelled as sent. */
const SKIP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startLatencyProxy(target: string, roundTripMs: number): Promise<LatencyProxy> {
  const half = roundTripMs / 2;
  const calls: ProxiedCall[] = [];
  const agent = new Agent({ connections: 256 });
  const server = createServer((req, res) => {
    const sentAt = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const call: ProxiedCall = { method: req.method ?? 'GET', url: req.url ?? '/', body: body.toString('utf8'), sentAt, arrivedAt: NaN };
        calls.push(call);
        const headers: string[] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          if (!SKIP.has(req.rawHeaders[i]!.toLowerCase())) headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
        }
        await wait(half);
        call.arrivedAt = performance.now();
        const up = await request(`${target}${call.url}`, {
          method: call.method as 'GET',
          headers,
          ...(body.length || !['GET', 'HEAD'].includes(call.method) ? { body } : {}),
          dispatcher: agent,
        });
        const answer = Buffer.from(await up.body.arrayBuffer());
        await wait(half);
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !SKIP.has(k)) out[k] = v;
        out['content-length'] = String(answer.length);
        res.writeHead(up.statusCode, out);
        res.end(answer);
        call.status = up.statusCode;
        call.returnedAt = performance.now();
      })().catch((err: unknown) => {
        res.writeHead(502).end(String(err));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => void agent.close().then(() => r()));
    }),
  };
}
