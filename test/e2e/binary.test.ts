/**
 * The linux-x64 single executable (npm run build:binary; .ci/run builds it before the tests),
 * run from an empty folder against the demo plant: everything it needs is inside the file.
 * Skips with a message when the binary is not built; fails in CI.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { singleBinary, waitFor } from '../helpers/index.ts';
import { freePort, runSmoke, type SmokeResult } from '../binary/binary-smoke.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BINARY = join(ROOT, 'dist/shopfloor-agent-linux-x64');
const built = await singleBinary(BINARY);

describe.skipIf(!built.available)('single executable, linux-x64', () => {
  let r: SmokeResult | undefined;
  afterAll(() => {
    if (r) rmSync(r.dir, { recursive: true, force: true });
  });

  it('runs the demo plant from an empty folder: /healthz ok, samples stored, dashboard, check, kpi', async () => {
    // no node_modules, checkout or NODE_PATH to fall back on
    const env = { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...(process.env.CI ? { CI: process.env.CI } : {}) };
    r = await runSmoke({ binary: BINARY, env });
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r.version).toBe(pkg.version);
    expect(r.health.status).toBe('ok');
    expect(r.dashboard.status).toBe(200);
    expect(r.dashboard.html).toContain('<html');
    expect(r.dashboard.scriptBytes).toBeGreaterThan(10_000);
    expect(r.checkOutput).toMatch(/agent\.yaml: ok — site demo-plant, agent demo-edge, 2 sources/);
    for (const m of ['printer-1', 'printer-2', 'cnc-1', 'assembly-1']) expect(r.kpiOutput).toContain(m);
    expect(r.exitCode).toBe(0);

    // the addon went to <dataDir>/.native under the SHA-256 of its content, nowhere else
    const addon = r.nativeFiles.find((f) => f.endsWith('.node'));
    expect(addon).toBeDefined();
    const bytes = readFileSync(join(r.dir, 'data/.native', addon ?? ''));
    expect(`${createHash('sha256').update(bytes).digest('hex')}.node`).toBe(addon);

    const db = new Database(join(r.dir, 'data/buffer.db'), { readonly: true });
    const n = (db.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n;
    db.close();
    expect(n).toBeGreaterThan(0);
    // the SEA's require() of a package would warn on stderr: every optional one fails quietly
    expect(r.log).not.toContain('Warning');
    for (const line of r.log.split('\n').filter((l) => l.trim() !== '')) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
  }, 300_000);
});

describe.skipIf(!built.available)('single executable, linux-x64: the fleet dashboard', () => {
  it('serves the fleet dashboard built into the file (no esbuild, no checkout)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfa-bin-fleet-'));
    const http = await freePort();
    // the HTTP side serves whether or not the broker is there; the test needs none
    writeFileSync(join(dir, 'fleet.yaml'), `fleet: { id: bin-${process.pid}, dataDir: ./data }\nbroker: { url: "mqtt://127.0.0.1:1", topicPrefix: bin-fleet, group: binfleet }\nhttp: { port: ${http} }\n`);
    const env = { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
    const child = spawn(BINARY, ['fleet', '-c', 'fleet.yaml'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const base = `http://127.0.0.1:${http}`;
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`the fleet exited ${child.exitCode}: ${log}`);
        return (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200;
      }, 30_000, 'the fleet HTTP API');
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(join(ROOT, 'dashboards/fleet/index.html'), 'utf8'));
      expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-/);
      const js = await fetch(`${base}/assets/fleet.js`);
      expect(js.status).toBe(200);
      const code = await js.text();
      expect(code.length).toBeGreaterThan(10_000);
      expect(code).toContain('/api/benchmarks?groupBy=site');
      const css = await fetch(`${base}/assets/fleet.css`);
      expect(await css.text()).toContain('.rank');
    } finally {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
