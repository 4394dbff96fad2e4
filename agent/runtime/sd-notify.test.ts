/**
 * The systemd notifications, sent through a stand-in for systemd-notify that records its
 * arguments: nothing outside systemd, READY/RELOADING/STOPPING in order, and the watchdog fed only
 * while the event loop and the buffer's commits are healthy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ServiceNotifier } from './sd-notify.ts';

const dir = mkdtempSync(join(tmpdir(), 'sfa-notify-'));
const sent = join(dir, 'sent');
const program = join(dir, 'systemd-notify');
writeFileSync(program, `#!/bin/sh\necho "$*" >> ${sent}\n`);
chmodSync(program, 0o755);
const log = pino({ level: 'silent' });
const messages = (): string[] => (existsSync(sent) ? readFileSync(sent, 'utf8').trim().split('\n') : []);

describe('ServiceNotifier', () => {
  let n: ServiceNotifier | undefined;
  afterEach(() => {
    n?.stopWatchdog();
    writeFileSync(sent, '');
  });

  it('sends nothing outside systemd (no NOTIFY_SOCKET)', async () => {
    n = new ServiceNotifier(log, { program }, {});
    await n.ready('running');
    await n.stopping();
    expect(messages().filter(Boolean)).toEqual([]);
  });

  it('sends READY, RELOADING and STOPPING in order', async () => {
    n = new ServiceNotifier(log, { program }, { NOTIFY_SOCKET: '/run/x' });
    void n.ready('running: 2 sources');
    void n.reloading();
    await n.stopping();
    const m = messages();
    expect(m[0]).toBe('READY=1 STATUS=running: 2 sources');
    expect(m[1]).toMatch(/^RELOADING=1 MONOTONIC_USEC=\d+ STATUS=reloading config$/);
    expect(m[2]).toBe('STOPPING=1 STATUS=stopping: flushing the buffer');
  });

  it('feeds the watchdog at half its period only while the loop and the commits are healthy', async () => {
    const state = { lagS: 0, commits: true };
    n = new ServiceNotifier(log, { program, maxLoopLagMs: 1000 }, { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: String(process.pid) });
    n.startWatchdog({ loopLagSeconds: () => state.lagS, commitsHealthy: () => state.commits });
    const fed = (): number => messages().filter((l) => l === 'WATCHDOG=1').length;
    await new Promise((r) => setTimeout(r, 1300));
    const healthy = fed();
    expect(healthy).toBeGreaterThanOrEqual(2);
    state.commits = false;
    await new Promise((r) => setTimeout(r, 100));
    const before = fed();
    await new Promise((r) => setTimeout(r, 1200));
    expect(fed()).toBe(before);
    state.commits = true;
    state.lagS = 2;
    await new Promise((r) => setTimeout(r, 1200));
    expect(fed()).toBe(before);
    state.lagS = 0;
    await new Promise((r) => setTimeout(r, 1200));
    expect(fed()).toBeGreaterThan(before);
  });

  it('leaves the watchdog to the process systemd watches (WATCHDOG_PID)', async () => {
    n = new ServiceNotifier(log, { program }, { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' });
    n.startWatchdog({ loopLagSeconds: () => 0, commitsHealthy: () => true });
    await new Promise((r) => setTimeout(r, 1200));
    expect(messages().filter((l) => l === 'WATCHDOG=1')).toEqual([]);
  });
});
