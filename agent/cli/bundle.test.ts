import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
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
  }, 60_000);

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
