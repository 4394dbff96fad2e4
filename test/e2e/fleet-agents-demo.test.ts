/**
 * `npm run demo:fleet` (the package.json script's command, run as is): three simulated sites,
 * an embedded broker and the fleet with its embedded SQLite store come up; the fleet's
 * /api/agents lists three online agents and /api/kpis has rows for three sites (from the
 * history each new site starts with); SIGTERM stops everything and the process exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port base whose 10 ports the demo takes (base+1..3, +11..13, +21..23, +30) are free, and a fleet port. */
async function freePorts(): Promise<{ base: number; fleet: number }> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 3000) * 10;
    const ports = [1, 2, 3, 11, 12, 13, 21, 22, 23, 30, 40].map((d) => base + d);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return { base, fleet: base + 40 };
  }
}

describe('npm run demo:fleet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-demo-fleet-'));
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts three sites, a broker and the fleet, prints the dashboard URL, and stops cleanly on SIGTERM', { timeout: 90_000 }, async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const script = pkg.scripts['demo:fleet'];
    expect(script).toMatch(/^node /);
    const [, ...args] = (script as string).split(' ');
    const { base, fleet } = await freePorts();
    const c = spawn(process.execPath, [...args, '--data', dir, '--fleet-port', String(fleet), '--port-base', String(base)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => c.once('exit', (code, signal) => r({ code, signal })));

    const url = await waitFor(() => /fleet dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1], 60_000, `the dashboard URL (output: ${output.slice(-2000)})`, 200);
    expect(url).toBe(`http://127.0.0.1:${fleet}/`);
    const get = async <T>(path: string): Promise<T> => (await (await fetch(new URL(path, url))).json()) as T;
    await waitFor(async () => (await get<{ online: boolean }[]>('/api/agents')).filter((a) => a.online).length === 3, 30_000, 'three online agents', 300);
    const agents = await get<{ site: string; online: boolean; confirmedId: number }[]>('/api/agents');
    expect(agents.map((a) => a.site).sort()).toEqual(['demo-site-1', 'demo-site-2', 'demo-site-3']);
    await waitFor(async () => new Set((await get<{ rows: { site: string }[] }>('/api/kpis?scope=site')).rows.map((r) => r.site)).size === 3, 30_000, 'KPI rows for three sites', 300);
    const rows = (await get<{ rows: { site: string; unitsTotal: number | null; energyKwh: number | null }[] }>('/api/kpis?scope=site')).rows;
    expect(rows.map((r) => r.site)).toEqual(['demo-site-1', 'demo-site-2', 'demo-site-3']);
    for (const r of rows) {
      expect(r.unitsTotal).toBeGreaterThan(0);
      expect(r.energyKwh).toBeGreaterThan(0);
    }
    // different seeds: the sites differ
    expect(new Set(rows.map((r) => r.unitsTotal)).size).toBe(3);

    c.kill('SIGTERM');
    const e = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
    expect(e, `exit after SIGTERM (output: ${output.slice(-2000)})`).toEqual({ code: 0, signal: null });
  });
});
