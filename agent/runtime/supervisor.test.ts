/**
 * The last line of defence. In a child process (vitest has process handlers of its own): a real
 * agent with the CLI's handlers survives a bug thrown in a timer of a component and a forgotten
 * rejection, logs them with SFA_ERR_UNEXPECTED, counts them per component, restarts the
 * component (which then runs again) and keeps answering; a bug no component owns ends the
 * process with exit 1. In this process: guard(), backoff and the stop of restarts.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Supervisor } from './supervisor.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_TS = join(ROOT, 'agent/cli/run-ts.mjs');
const CHILD = join(ROOT, 'test/helpers/supervised-agent-child.ts');

interface LogLine {
  msg?: string;
  level?: number;
  component?: string;
  code?: string;
  verdict?: string;
  [k: string]: unknown;
}

function runChild(mode: 'component' | 'unattributed'): { status: number | null; lines: LogLine[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-supervisor-'));
  try {
    const r = spawnSync(process.execPath, [RUN_TS, CHILD, join(dir, 'data'), mode], { cwd: ROOT, encoding: 'utf8', timeout: 80_000 });
    const lines = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
    return { status: r.status, lines, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('supervisor, in a process of its own', () => {
  it('a bug in a timer of a component: logged with its code, counted, the component restarted and running again, the agent alive', () => {
    const { status, lines, stderr } = runChild('component');
    expect(status, stderr).toBe(0);
    const verdict = lines.find((l) => l.verdict !== undefined);
    expect(verdict).toMatchObject({ verdict: 'alive', healthz: 200, ticker: 1, retention: 2 });
    expect(verdict?.lives).toBe(2);
    expect(Number(verdict?.ticksOfLife)).toBeGreaterThanOrEqual(5);
    const failed = lines.filter((l) => l.code === 'SFA_ERR_UNEXPECTED');
    expect(failed.map((l) => l.component).sort()).toEqual(['retention', 'ticker']);
    expect(JSON.stringify(failed)).toContain('a bug in a timer of the ticker');
    expect(lines.some((l) => l.msg === 'ticker restarted')).toBe(true);
    expect(lines.some((l) => l.msg === 'retention restarted')).toBe(true);
  }, 90_000);

  it('a bug no component owns: logged as fatal with its code, and the process exits 1 (its state is unknown)', () => {
    const { status, lines } = runChild('unattributed');
    expect(status).toBe(1);
    expect(lines.some((l) => l.verdict === 'still running')).toBe(false);
    const fatal = lines.find((l) => l.level === 60);
    expect(fatal).toMatchObject({ code: 'SFA_ERR_UNEXPECTED' });
    expect(JSON.stringify(fatal)).toContain('a bug outside every component');
  }, 90_000);
});

describe('supervisor, in this process', () => {
  const counts = new Map<string, number>();
  const counter = { labels: (c: string) => ({ inc: () => counts.set(c, (counts.get(c) ?? 0) + 1) }) };

  it('guard() turns a throwing handler into a counted fault and restarts with doubling backoff', async () => {
    const sup = new Supervisor(pino({ level: 'silent' }), counter, { backoffMs: 20, maxBackoffMs: 1000 });
    const starts: number[] = [];
    await sup.start({ name: 'flaky', start: () => void starts.push(Date.now()), stop: () => undefined });
    const handler = sup.guard('flaky', () => {
      throw new Error('bug');
    });
    const t1 = Date.now();
    expect(() => handler()).not.toThrow();
    await new Promise((r) => setTimeout(r, 100));
    const t2 = Date.now();
    handler();
    await new Promise((r) => setTimeout(r, 150));
    expect(counts.get('flaky')).toBe(2);
    expect(starts).toHaveLength(3);
    const [, b = 0, c = 0] = starts;
    expect(b - t1).toBeGreaterThanOrEqual(18);
    // the second failure in a row waits twice as long
    expect(c - t2).toBeGreaterThanOrEqual(38);
    await sup.stop();
  });

  it('a restart under way never revives a component that was forgotten and replaced meanwhile (a reload)', async () => {
    const sup = new Supervisor(pino({ level: 'silent' }), counter, { backoffMs: 10 });
    const log: string[] = [];
    let releaseStop: () => void = () => undefined;
    const slowStop = new Promise<void>((r) => (releaseStop = r));
    await sup.start({ name: 'source s1', start: () => void log.push('start old'), stop: () => (log.push('stop old'), slowStop) });
    sup.fault('source s1', new Error('bug'));
    await new Promise((r) => setTimeout(r, 40)); // the restart now waits in the old one's stop()
    sup.forget('source s1');
    await sup.start({ name: 'source s1', start: () => void log.push('start new'), stop: () => void log.push('stop new') });
    releaseStop();
    await new Promise((r) => setTimeout(r, 40));
    expect(log).toEqual(['start old', 'stop old', 'start new']);
    await sup.stop();
  });

  it('stop() waits for a restart under way, which then ends stopped', async () => {
    const sup = new Supervisor(pino({ level: 'silent' }), counter, { backoffMs: 10 });
    let running = false;
    let releaseStart: () => void = () => undefined;
    let starts = 0;
    await sup.start({
      name: 'opcua',
      start: () => {
        starts++;
        if (starts === 1) return void (running = true);
        // the restart's start() is slow (a certificate store opening): the agent stops meanwhile
        return new Promise<void>((r) => (releaseStart = () => ((running = true), r())));
      },
      stop: () => void (running = false),
    });
    sup.fault('opcua', new Error('bug'));
    await new Promise((r) => setTimeout(r, 40));
    expect(starts).toBe(2);
    const stopped = sup.stop();
    releaseStart();
    await stopped;
    expect(running).toBe(false);
  });

  it('after stop() a fault is still counted but nothing restarts', async () => {
    const sup = new Supervisor(pino({ level: 'silent' }), counter, { backoffMs: 10 });
    let starts = 0;
    await sup.start({ name: 'late', start: () => void starts++, stop: () => undefined });
    await sup.stop();
    sup.fault('late', new Error('during shutdown'));
    await new Promise((r) => setTimeout(r, 50));
    expect(starts).toBe(1);
    expect(counts.get('late')).toBe(1);
  });
});
