/**
 * The agent speaks systemd's notify protocol through the real `systemd-notify`: a datagram socket
 * made by `systemd-socket-activate` stands in for systemd's (its reader drops the barrier fds,
 * which releases systemd-notify as systemd would). READY=1 once HTTP answers, WATCHDOG=1 at half
 * of WATCHDOG_USEC, RELOADING=1 and READY=1 again on SIGHUP, STOPPING=1 on SIGTERM, exit 0.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IN_CI, waitFor } from '../helpers/index.ts';
import { AgentChild } from './agent-child.ts';

const tools = ['systemd-socket-activate', 'systemd-notify'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
if (!tools) {
  if (IN_CI) throw new Error('CI requires systemd-socket-activate and systemd-notify: apt-get install systemd');
  console.warn('skipping: no systemd-socket-activate / systemd-notify (apt-get install systemd)');
}

describe.skipIf(!tools)('systemd notifications', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-notify-e2e-'));
  const socket = join(dir, 'notify');
  const received = join(dir, 'received');
  let reader: ChildProcess | undefined;
  let agent: AgentChild | undefined;

  afterAll(() => {
    agent?.kill();
    reader?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const got = (): string => (existsSync(received) ? readFileSync(received, 'utf8') : '');
  const count = (s: string): number => got().split(s).length - 1;

  it('READY after HTTP listens, a fed watchdog, RELOADING on SIGHUP, STOPPING on SIGTERM', async () => {
    reader = spawn('systemd-socket-activate', ['--datagram', '-l', socket, 'sh', '-c', `cat <&3 >> ${received}`], { stdio: 'ignore' });
    await waitFor(() => existsSync(socket), 5000, 'the notify socket');
    writeFileSync(join(dir, 'agent.yaml'), `site: { id: n }\nagent: { id: n, dataDir: ${join(dir, 'data')} }\nhttp: { port: 0 }\n`);
    agent = new AgentChild(['run', '-c', join(dir, 'agent.yaml')], { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '2000000' });
    await waitFor(() => got().includes('READY=1'), 60_000, `READY=1 (agent output: ${agent.output.slice(-2000)})`);
    // ready means serving
    const port = await agent.httpPort(1000);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await waitFor(() => count('WATCHDOG=1') >= 2, 10_000, 'the watchdog fed twice');

    agent.signal('SIGHUP');
    await waitFor(() => got().includes('RELOADING=1') && count('READY=1') >= 2, 10_000, 'RELOADING=1 then READY=1');
    expect(got()).toMatch(/RELOADING=1\nMONOTONIC_USEC=\d+/);

    const exit = await agent.exitAfter('SIGTERM');
    expect(exit.code).toBe(0);
    await waitFor(() => got().includes('STOPPING=1'), 5000, 'STOPPING=1');
    expect(got().indexOf('STOPPING=1')).toBeGreaterThan(got().lastIndexOf('READY=1'));
  }, 90_000);
});
