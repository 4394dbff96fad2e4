import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain-JS build script without type declarations
import { buildBundle } from './build-bundle.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('./shopfloor-agent.mjs', import.meta.url));
// its own folder: other tests run the CLI (and so dist/agent) at the same time
const OUT = `dist/test-bundle-${process.pid}`;

function node(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

afterAll(() => rmSync(join(ROOT, OUT), { recursive: true, force: true }));

/** Runs the bundled agent on a port of its own and asks its query worker (dist/…/query-worker.js) for KPIs. */
async function expectBundledQueries(main: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-bundle-run-'));
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, `site: { id: s }\nagent: { id: a, dataDir: ${join(dir, 'data')} }\nhttp: { port: 0 }\nmachines: [{ id: m1 }]\n`);
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(['run', '-c', ${JSON.stringify(config)}]);`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bundled agent did not start: ${out}`)), 30_000);
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString('utf8');
        const m = /"url":"(http:[^"]+)"/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`the bundled agent exited (${code}): ${out}`)));
    });
    const ok = await fetch(`${url}/api/kpis`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { rows: { machine: string }[] }).rows.map((r) => r.machine)).toEqual(['m1']);
    expect((await fetch(`${url}/api/kpis?from=0`)).status).toBe(400);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the shipped bundle (npm run build)', () => {
  it('builds, and runs the CLI without a TypeScript loader: version, check, and a bad config', async () => {
    await (buildBundle as (o: { quiet: boolean; outdir: string }) => Promise<void>)({ quiet: true, outdir: OUT });
    const main = join(ROOT, OUT, 'main.js');
    const run = (args: string[]) =>
      node(['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(${JSON.stringify(args)});`]);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(run(['--version']).out.trim()).toBe(pkg.version);
    const ok = run(['check', '-c', 'config/demo.yaml']);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/ok/);
    expect(run(['check', '-c', 'config/no-such-file.yaml']).code).toBe(2);
    // split at the lazy imports: the OPC UA driver is a chunk of its own, not in main.js
    expect(readFileSync(main, 'utf8')).not.toContain('ClientMonitoredItemGroup');
    // the query worker's entry sits beside the chunks, and a running bundled agent answers through it
    expect(existsSync(join(ROOT, OUT, 'query-worker.js'))).toBe(true);
    await expectBundledQueries(main);
  }, 90_000);

  it('the launcher runs dist/agent only while it is at least as new as every source', () => {
    const bundle = join(ROOT, 'dist/agent/main.js');
    if (!existsSync(bundle)) {
      // no bundle (npm ci builds one): the launcher must take the sources
      expect(node([BIN, '--version'], { SFA_REPORT_ENTRY: '1' }).err).toContain('entry: source');
      return;
    }
    const saved = statSync(bundle);
    try {
      utimesSync(bundle, saved.atime, new Date(Date.now() + 60_000));
      expect(node([BIN, '--version'], { SFA_REPORT_ENTRY: '1' }).err).toContain('entry: bundle');
      expect(node([BIN, '--version'], { SFA_REPORT_ENTRY: '1', SFA_FROM_SOURCE: '1' }).err).toContain('entry: source');
      utimesSync(bundle, saved.atime, new Date(0));
      expect(node([BIN, '--version'], { SFA_REPORT_ENTRY: '1' }).err).toContain('entry: source');
    } finally {
      utimesSync(bundle, saved.atime, saved.mtime);
    }
  });
});
