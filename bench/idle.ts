import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { buildState } from '../scripts/build-state.mjs';
import type { BenchResult } from './lib.js';

/**
 * Idle RSS of the started bot, as production runs it: `node bin/meetcheck.js serve` on the compiled
 * dist/ (built first if stale), demo mode (no credentials), in-process store. Measured after a
 * warm-up (health, metrics, the console page and its assets, 20 demo commands and their page
 * flips) and a full GC (--expose-gc), through bench/idle-probe.mjs loaded into the server. Floor: a
 * bare Node process with the same probe. Also shown: the same server run from the sources via tsx.
 */

const TARGET_MB = 100;
const root = fileURLToPath(new URL('../', import.meta.url));
const probe = new URL('./idle-probe.mjs', import.meta.url).href;
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(FEISHU|WECOM|TENCENT|MEETCHECK|REDIS)_/.test(k)));

interface Usage {
  gc: boolean;
  rss: number;
  heapUsed: number;
  external: number;
}

function measure(child: ChildProcess): Promise<Usage> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as Usage));
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before measuring`)));
    child.send('measure');
  });
}

/** SIGTERM, as an orchestrator stops it; the IPC channel goes first, as it would keep the process alive. */
async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.disconnect();
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`server exited with ${code} on SIGTERM`);
}

/** Forks `script` with the probe and waits for the "running" log line; returns the child and its URL. */
async function startServer(script: string, args: string[], execArgv: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(script, args, {
    cwd: root,
    execArgv: [...execArgv, '--expose-gc', '--import', probe],
    env: { ...cleanEnv, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const u = (JSON.parse(line) as { url?: string }).url;
          if (u) resolve(u);
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before listening`)));
  });
  child.stdout!.resume();
  return { child, url };
}

async function get(url: string): Promise<void> {
  const res = await request(url);
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode}`);
}

async function post(url: string, body: unknown): Promise<string> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`POST ${url}: ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}

/** What a quiet day looks like: probes, a scrape, someone opening the console and running a few commands. */
async function warmUp(url: string): Promise<number> {
  let requests = 0;
  for (let i = 0; i < 20; i++, requests++) await get(`${url}/healthz`);
  for (let i = 0; i < 3; i++, requests++) await get(`${url}/metrics`);
  for (const path of ['/console', '/console/assets/console.js', '/console/assets/console.css']) {
    await get(`${url}${path}`);
    requests++;
  }
  for (let i = 0; i < 20; i++) {
    const lines = (await post(`${url}/console/api/command`, { text: `/quality demo:${100_000_000 + i * 7919}` })).trim().split('\n');
    requests++;
    const card = JSON.parse(lines.at(-1)!) as { type: string; taskId: string; feishu: { current?: string } };
    if (card.type !== 'card' || !card.feishu.current) throw new Error(`demo command ${i} gave no card: ${lines.at(-1)?.slice(0, 200)}`);
    await post(`${url}/console/api/action`, { action: card.feishu.current, surface: 'feishu', taskId: card.taskId });
    requests++;
  }
  await post(`${url}/console/api/command`, { text: '/help' });
  return requests + 1;
}

/** A Node process that runs nothing but the probe (and what `execArgv` imports). */
async function bareNode(execArgv: string[]): Promise<Usage> {
  const child = fork(fileURLToPath(probe), [], {
    cwd: root,
    execArgv: ['--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const usage = await measure(child);
  child.disconnect();
  return usage;
}

async function serverRss(script: string, args: string[], execArgv: string[]): Promise<{ start: Usage; idle: Usage; requests: number }> {
  const { child, url } = await startServer(script, args, execArgv);
  try {
    const start = await measure(child);
    const requests = await warmUp(url);
    const idle = await measure(child);
    return { start, idle, requests };
  } finally {
    await stop(child);
  }
}

export async function benchIdle(): Promise<BenchResult[]> {
  if (buildState(root) !== 'fresh')
    execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build.mjs', import.meta.url))], { stdio: 'inherit' });
  const floor = await bareNode([]);
  // The largest dependency, imported at start even in demo mode (src/http/lark.ts, channels/feishu, vendors/feishu).
  const lark = await bareNode(['--import', '@larksuiteoapi/node-sdk']);
  const compiled = await serverRss(fileURLToPath(new URL('../bin/meetcheck.js', import.meta.url)), ['serve'], []);
  const source = await serverRss(fileURLToPath(new URL('./serve-source.ts', import.meta.url)), [], ['--import', 'tsx']);
  const rss = compiled.idle.rss;
  const pass = rss <= TARGET_MB * 1024 * 1024;
  return [
    {
      bench: 'idle RSS, started server (compiled dist/, demo mode)',
      setup: `node --expose-gc bin/meetcheck.js serve on dist/, in-process store; after ${compiled.requests} warm-up requests (health, metrics, console, 20 demo commands + a page flip each) and a full GC`,
      ratio: { value: rss / floor.rss, meaning: 'idle RSS ÷ a bare node process', target: `≤ ${TARGET_MB} MB RSS`, pass },
      figures: [
        { name: 'idle RSS after warm-up', value: rss, unit: 'MB' },
        { name: 'RSS right after start', value: compiled.start.rss, unit: 'MB' },
        { name: 'JS heap used (idle)', value: compiled.idle.heapUsed, unit: 'MB' },
        { name: 'floor: bare node RSS', value: floor.rss, unit: 'MB' },
        { name: 'bare node + @larksuiteoapi/node-sdk imported', value: lark.rss, unit: 'MB' },
        { name: 'same server from the sources via tsx, idle RSS', value: source.idle.rss, unit: 'MB' },
      ],
      notes: [
        `idle RSS ${(rss / 1024 / 1024).toFixed(1)} MB against the target ≤ ${TARGET_MB} MB: ${pass ? 'met' : 'MISSED'}`,
        `running the compiled code instead of tsx saves ${((source.idle.rss - rss) / 1024 / 1024).toFixed(1)} MB`,
        ...(compiled.idle.gc ? [] : ['gc() was not exposed: the figure includes uncollected garbage']),
      ],
    },
  ];
}
