/**
 * The service files: the unit passes `systemd-analyze verify` and scores ≤ 2.0 with
 * `systemd-analyze security --offline=true`; install.sh into a temporary root puts exactly the
 * expected files in place with their modes; an upgrade whose new binary is not healthy rolls
 * back to the old one and leaves the buffer alone, and a healthy one stays.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IN_CI } from '../../test/helpers/index.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const UNIT = join(HERE, 'shopfloor-agent.service');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!hasAnalyze) {
  if (IN_CI) throw new Error('CI requires systemd-analyze: apt-get install systemd');
  console.warn('skipping the unit checks: no systemd-analyze (apt-get install systemd)');
}

const work = mkdtempSync(join(tmpdir(), 'sfa-deploy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sh(args: string[], env: Record<string, string> = {}): { code: number | null; out: string } {
  const r = spawnSync('bash', args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** A copy of `unit` whose ExecStart names an executable that exists (verify checks it). */
function verifiable(unit: string, binary: string): string {
  const dir = mkdtempSync(join(work, 'verify-'));
  const file = join(dir, 'shopfloor-agent.service');
  writeFileSync(file, readFileSync(unit, 'utf8').replace(/ExecStart=\S+/, `ExecStart=${binary}`));
  return file;
}

function fakeBinary(file: string, body: string): string {
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe.skipIf(!hasAnalyze)('the systemd unit', () => {
  const binary = fakeBinary(join(work, 'agent-bin'), 'echo 0.1.0');

  it('passes systemd-analyze verify', () => {
    const r = spawnSync('systemd-analyze', ['verify', verifiable(UNIT, binary)], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('scores 2.0 or better with systemd-analyze security --offline=true', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for shopfloor-agent\.service: (\d+\.\d+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThanOrEqual(2.0);
  });

  it('keeps what the agent needs: notify with watchdog, reload by SIGHUP, no MemoryDenyWriteExecute', () => {
    const unit = readFileSync(UNIT, 'utf8');
    for (const line of ['Type=notify', 'NotifyAccess=all', 'ExecReload=/bin/kill -HUP $MAINPID', 'DynamicUser=yes', 'StateDirectory=shopfloor-agent', 'ConfigurationDirectory=shopfloor-agent', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'SystemCallFilter=@system-service', 'MemoryDenyWriteExecute=no']) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).toMatch(/^WatchdogSec=\d+/m);
    expect(unit).toMatch(/^MemoryMax=/m);
    expect(unit).toMatch(/^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX/m);
    expect(unit).toMatch(/^LoadCredential=upstream-password:/m);
  });
});

/** Every file and folder under `root`, as "path mode" lines. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      out.push(`${relative(root, p)} ${(statSync(p).mode & 0o7777).toString(8)}${e.isDirectory() ? '/' : ''}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out.sort();
}

describe('install.sh', () => {
  const root = join(work, 'root');
  const binary = fakeBinary(join(work, 'v1'), 'echo 0.1.0');

  it('installs binary, unit, config, credential files and docs into a temporary root', () => {
    const r = sh([join(HERE, 'install.sh'), '--destdir', root, '--prefix', '/opt/sfa', '--binary', binary]);
    expect(r.code, r.out).toBe(0);
    expect(tree(root)).toEqual(
      [
        'etc 755/',
        'etc/shopfloor-agent 755/',
        'etc/shopfloor-agent/agent.yaml 644',
        'etc/shopfloor-agent/credentials 700/',
        'etc/shopfloor-agent/credentials/http-token 600',
        'etc/shopfloor-agent/credentials/mqtt-password 600',
        'etc/shopfloor-agent/credentials/opcua-password 600',
        'etc/shopfloor-agent/credentials/upstream-password 600',
        'etc/systemd 755/',
        'etc/systemd/system 755/',
        'etc/systemd/system/shopfloor-agent.service 644',
        'opt 755/',
        'opt/sfa 755/',
        'opt/sfa/bin 755/',
        'opt/sfa/bin/shopfloor-agent 755',
        'opt/sfa/share 755/',
        'opt/sfa/share/doc 755/',
        'opt/sfa/share/doc/shopfloor-agent 755/',
        'opt/sfa/share/doc/shopfloor-agent/README.md 644',
      ].sort(),
    );
    expect(readFileSync(join(root, 'opt/sfa/bin/shopfloor-agent'), 'utf8')).toBe(readFileSync(binary, 'utf8'));
    expect(readFileSync(join(root, 'etc/shopfloor-agent/agent.yaml'), 'utf8')).toBe(readFileSync(join(HERE, 'agent.yaml'), 'utf8'));
    expect(readFileSync(join(root, 'opt/sfa/share/doc/shopfloor-agent/README.md'), 'utf8')).toBe(readFileSync(join(HERE, 'README.md'), 'utf8'));
    for (const c of ['http-token', 'mqtt-password', 'opcua-password', 'upstream-password']) expect(statSync(join(root, 'etc/shopfloor-agent/credentials', c)).size).toBe(0);
    const unit = readFileSync(join(root, 'etc/systemd/system/shopfloor-agent.service'), 'utf8');
    expect(unit).toContain('ExecStart=/opt/sfa/bin/shopfloor-agent run -c /etc/shopfloor-agent/agent.yaml');
    expect(unit).not.toContain('/usr/local/');
    if (hasAnalyze) {
      const v = spawnSync('systemd-analyze', ['verify', verifiable(join(root, 'etc/systemd/system/shopfloor-agent.service'), join(root, 'opt/sfa/bin/shopfloor-agent'))], { encoding: 'utf8' });
      expect(v.stderr).toBe('');
    }
  });

  it('installs again without touching the plant config or its secrets', () => {
    const conf = join(root, 'etc/shopfloor-agent/agent.yaml');
    writeFileSync(conf, 'site: { id: mine }\n');
    writeFileSync(join(root, 'etc/shopfloor-agent/credentials/mqtt-password'), 's3cret\n');
    const other = join(work, 'other.yaml');
    writeFileSync(other, 'site: { id: other }\n');
    const r = sh([join(HERE, 'install.sh'), '--destdir', root, '--prefix', '/opt/sfa', '--binary', binary, '--config', other]);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(conf, 'utf8')).toBe('site: { id: mine }\n');
    expect(readFileSync(`${conf}.new`, 'utf8')).toBe('site: { id: other }\n');
    expect(readFileSync(join(root, 'etc/shopfloor-agent/credentials/mqtt-password'), 'utf8')).toBe('s3cret\n');
  });

  it('refuses a binary that does not run here, before replacing anything', () => {
    const broken = fakeBinary(join(work, 'broken'), 'exit 126');
    const r = sh([join(HERE, 'install.sh'), '--destdir', root, '--prefix', '/opt/sfa', '--binary', broken]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/does not run here/);
    expect(readFileSync(join(root, 'opt/sfa/bin/shopfloor-agent'), 'utf8')).toBe(readFileSync(binary, 'utf8'));
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('upgrade', () => {
  const root = join(work, 'up-root');
  const bin = join(root, 'usr/local/bin/shopfloor-agent');
  const pidFile = join(work, 'agent.pid');

  afterAll(() => {
    if (existsSync(pidFile)) spawnSync('sh', ['-c', `kill $(cat ${pidFile}) 2>/dev/null`]);
  });

  /** a stand-in binary: `--version` prints the version, `run` serves /healthz with `status` */
  function version(name: string, v: string, status: 'ok' | 'degraded' | 'crash', port: number): string {
    const server = `require('http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ status: '${status}', version: '${v}' })); }).listen(${port}, '127.0.0.1')`;
    return fakeBinary(join(work, name), `case "$1" in --version) echo ${v} ;; run) ${status === 'crash' ? 'exit 1' : `exec "${process.execPath}" -e "${server}"`} ;; esac`);
  }

  it('swaps the binary, rolls back when /healthz is not ok in time, keeps the buffer', async () => {
    const port = await freePort();
    const health = `http://127.0.0.1:${port}/healthz`;
    // what `systemctl restart` does, for a process of our own
    const restart = fakeBinary(join(work, 'restart.sh'), `[ -f ${pidFile} ] && kill $(cat ${pidFile}) 2>/dev/null; sleep 0.2; "${bin}" run >/dev/null 2>&1 & echo $! > ${pidFile}`);
    const env = { SFA_RESTART_CMD: restart, DESTDIR: root };
    const v1 = version('v1', '0.1.0', 'ok', port);
    expect(sh([join(HERE, 'install.sh'), '--binary', v1, '--no-systemctl'], { DESTDIR: root }).code).toBe(0);
    const buffer = join(root, 'var/lib/shopfloor-agent/buffer.db');
    mkdirSync(join(root, 'var/lib/shopfloor-agent'), { recursive: true });
    writeFileSync(buffer, 'samples not yet forwarded');
    spawnSync(restart, { shell: false });

    // a new version that never becomes healthy: rolled back, the old one serves again
    for (const bad of [version('v2-degraded', '0.2.0', 'degraded', port), version('v2-crash', '0.2.0', 'crash', port)]) {
      const r = sh([join(HERE, 'upgrade.sh'), '--binary', bad, '--health-url', health, '--health-timeout', '3'], env);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toMatch(/rolling back/);
      expect(r.out).toMatch(/rolled back: the previous version runs again/);
      expect(readFileSync(bin, 'utf8')).toBe(readFileSync(v1, 'utf8'));
      expect(readFileSync(buffer, 'utf8')).toBe('samples not yet forwarded');
    }

    // a healthy new version stays; the old one is kept beside it
    const good = version('v2-good', '0.2.0', 'ok', port);
    const r = sh([join(HERE, 'install.sh'), '--upgrade', '--binary', good, '--health-url', health, '--health-timeout', '10'], env);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(bin, 'utf8')).toBe(readFileSync(good, 'utf8'));
    expect(readFileSync(`${bin}.previous`, 'utf8')).toBe(readFileSync(v1, 'utf8'));
    expect((statSync(bin).mode & 0o777).toString(8)).toBe('755');
    expect(readFileSync(buffer, 'utf8')).toBe('samples not yet forwarded');
    const served = await (await fetch(health)).json();
    expect(served).toEqual({ status: 'ok', version: '0.2.0' });
  }, 60_000);
});
