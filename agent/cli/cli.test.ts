import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('./shopfloor-agent.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('shopfloor-agent CLI', () => {
  it('--version prints the package version and exits 0', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(pkg.version);
  });

  it('--help lists the verbs and exits 0', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const verb of ['run', 'check', 'simulate']) expect(r.out).toContain(verb);
  });

  it('an unknown verb or option is bad usage: exit 2', () => {
    expect(cli(['frobnicate']).code).toBe(2);
    expect(cli(['check', '--nope']).code).toBe(2);
    expect(cli(['simulate', '--opcua-port', 'abc']).code).toBe(2);
  });

  it('check accepts the demo config (exit 0) and names the path of a bad field (exit 2)', () => {
    const ok = cli(['check', '-c', 'config/demo.yaml']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/ok/);

    const dir = mkdtempSync(join(tmpdir(), 'sfa-cli-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'site: { id: plant-a, timezone: Europe/Berlin }',
        'agent: { id: edge-01 }',
        'machines: [{ id: m1 }]',
        'sources:',
        '  - id: s1',
        '    type: opcua',
        '    endpoint: opc.tcp://10.0.0.5:4840',
        '    tags:',
        '      - { nodeId: "ns=2;s=A", machine: m1, signal: energy_kwh }',
        '      - { nodeId: "not a node id", machine: m1, signal: parts_total }',
      ].join('\n'),
    );
    const r = cli(['check', '-c', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('sources[0].tags[1].nodeId');
  });

  it('a missing config file is exit 2 with a hint; $SHOPFLOOR_CONFIG is the default', () => {
    const r = cli(['check', '-c', '/nonexistent/agent.yaml']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not found|no such file|ENOENT/i);
    expect(cli(['check'], { SHOPFLOOR_CONFIG: 'config/demo.yaml' }).code).toBe(0);
  });

  it('run refuses an invalid config with exit 2 before starting anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfa-cli-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'site: { id: a }\nagent: { id: b }\nhttp: { host: 0.0.0.0 }\n');
    const r = cli(['run', '-c', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('http.token');
  });
});
