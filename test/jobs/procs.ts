import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/meetcheck.js', import.meta.url));

/** A real `meetcheck serve` process: its URL, its pino lines, and a way to kill it. */
export interface Replica {
  name: string;
  url: string;
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `meetcheck serve` with `env` (PORT=0: the OS picks) and resolves once it listens. */
export function startReplica(name: string, env: Record<string, string>): Promise<Replica> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(FEISHU|WECOM|TENCENT|MEETCHECK|REDIS)_/.test(k)) clean[k] = v;
  const proc = spawn(process.execPath, [bin, 'serve'], {
    env: { ...clean, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', MEETCHECK_LANG: 'en', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let buffered = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        lines.push(parsed);
        if (typeof parsed.url === 'string' && parsed.msg === 'meetcheck is running') resolve({ name, url: parsed.url, proc, lines, exited });
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`${name} exited (${code ?? signal}) before listening: ${stderr.slice(0, 2000)}`)));
  });
}

/** Polls `cond` every 20 ms until it holds, failing after `ms` with `what` (never a sleep-as-wait). */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const logged = (r: Replica, msg: string) => r.lines.filter((l) => l.msg === msg);
