import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm run build` makes a dist/ that runs on its own. The build goes into a temporary directory laid
 * out like a deployed install: bin/, dist/, package.json and node_modules, but no src/ (so bin has
 * no TypeScript to fall back to and must run the compiled code). That install is started in demo
 * mode on a port the OS picks and must serve /healthz, the console page, every asset the page links
 * and a card rendered from the card templates; then SIGTERM stops it with exit code 0.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(FEISHU|WECOM|TENCENT|MEETCHECK|REDIS)_/.test(k)));
const tmp = mkdtempSync(join(tmpdir(), 'meetcheck-build-'));
let server: ChildProcess | undefined;

afterAll(() => {
  if (server?.exitCode === null) server.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

function build(outDir: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'scripts/build.mjs'), '--out-dir', outDir], { cwd: root }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

/** Starts the install's bin and resolves with the URL from its "running" log line (pino JSON on stdout). */
function start(dir: string, lines: string[]): Promise<string> {
  server = spawn(process.execPath, [join(dir, 'bin/meetcheck.js'), 'serve'], {
    cwd: dir,
    env: { ...cleanEnv, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child = server;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        const url = (JSON.parse(line) as { url?: string }).url;
        if (url) resolve(url);
      }
    });
    child.once('exit', (code) => reject(new Error(`compiled server exited with ${code} before listening: ${stderr}`)));
  });
}

describe('npm run build', () => {
  it('makes a dist/ that starts without the sources, serves the console and its assets, and stops on SIGTERM', async () => {
    const built = await build(join(tmp, 'dist'));
    expect(built.code, built.stderr).toBe(0);

    mkdirSync(join(tmp, 'bin'));
    copyFileSync(join(root, 'bin/meetcheck.js'), join(tmp, 'bin/meetcheck.js'));
    copyFileSync(join(root, 'package.json'), join(tmp, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(tmp, 'node_modules'), 'dir');
    expect(existsSync(join(tmp, 'src'))).toBe(false);

    const lines: string[] = [];
    const url = await start(tmp, lines);

    const health = await request(`${url}/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toEqual({ ok: true });

    const page = await request(`${url}/console`);
    expect(page.statusCode).toBe(200);
    const html = await page.body.text();
    const assets = [...html.matchAll(/\/console\/assets\/([\w.-]+)/g)].map((m) => m[1]!);
    expect(assets).toContain('console.js');
    for (const name of assets) {
      const res = await request(`${url}/console/assets/${name}`);
      expect(res.statusCode, name).toBe(200);
      expect(await res.body.text(), name).toBe(readFileSync(join(root, 'src/channels/console/assets', name), 'utf8'));
    }

    // A card, rendered by the compiled renderers from the copied templates in dist/cards/.
    const res = await request(`${url}/console/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: '/quality demo:123456789' }),
    });
    expect(res.statusCode).toBe(200);
    const replies = (await res.body.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    const card = replies.at(-1)!;
    const feishuTemplate = JSON.parse(readFileSync(join(root, 'cards/feishu/report.json'), 'utf8'));
    const wecomTemplate = JSON.parse(readFileSync(join(root, 'cards/wecom/report.json'), 'utf8'));
    expect(card).toMatchObject({ type: 'card', loading: false, feishu: { card: { schema: feishuTemplate.schema } } });
    expect(card.wecom.card).toMatchObject({ card_type: wecomTemplate.card_type, task_id: card.taskId });

    const exited = new Promise<number | null>((resolve) => server!.once('exit', resolve));
    server!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.map((l) => (JSON.parse(l) as { msg?: string }).msg)).toContain('stopped');
  }, 180_000);

  it('refuses an output directory that holds the sources', async () => {
    for (const dir of [root, join(root, 'src'), join(root, 'cards/feishu')]) {
      const r = await build(dir);
      expect(r.code, dir).toBe(2);
      expect(r.stderr).toContain('refusing to use');
    }
    expect(existsSync(join(root, 'src/main.ts'))).toBe(true);
  });
});
