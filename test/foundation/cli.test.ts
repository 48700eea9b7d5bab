import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/meetcheck.js', import.meta.url));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(FEISHU|WECOM|TENCENT|MEETCHECK|REDIS)_/.test(k)));

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...cleanEnv, ...env }, cwd: '/tmp' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('npx meetcheck', () => {
  it('quality demo:123456789 prints the report, worst first', async () => {
    const r = await run(['quality', 'demo:123456789']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^会议质量：/);
    const rows = r.stdout.split('\n').filter((l) => /^\d+\s/.test(l));
    expect(rows.length).toBeGreaterThan(3);
    const health = rows.map((l) => (l.includes('告警') ? 0 : l.includes('健康') ? 1 : 2));
    expect([...health].sort()).toEqual(health);
  });

  it('--json prints the report model; --problems filters', async () => {
    const json = await run(['quality', 'demo:123-456-789', '--json'], { MEETCHECK_LANG: 'en' });
    const report = JSON.parse(json.stdout);
    expect(report.meeting).toMatchObject({ vendor: 'demo', code: '123456789' });
    const problems = await run(['quality', 'demo:123456789', '--problems'], { MEETCHECK_LANG: 'en' });
    expect(problems.stdout).toContain('Showing only attendees with problems');
    expect(problems.stdout.split('\n').filter((l) => /^\d+\s/.test(l)).every((l) => l.includes('alert'))).toBe(true);
  });

  it('demo:000000000 → a clear "meeting not found", exit 1', async () => {
    const r = await run(['quality', 'demo:000000000'], { MEETCHECK_LANG: 'en' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Meeting not found');
    expect(r.stderr).not.toMatch(/\s+at\s.+\(/); // no stack trace
  });

  it('bad input and bad config get one clear line each', async () => {
    const bad = await run(['quality', 'zoom:1'], { MEETCHECK_LANG: 'en' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown vendor "zoom"');
    const unconfigured = await run(['quality', 'tencent:806-146-667'], { MEETCHECK_LANG: 'en' });
    expect(unconfigured.stderr).toContain('tencent is not set up on this bot. Available: demo.');
    const config = await run(['serve'], { PORT: 'x' });
    expect(config.code).toBe(78);
    expect(config.stderr.trim()).toBe('meetcheck: configuration error: PORT: a whole number from 0 to 65535, got "x"');
  });
});
