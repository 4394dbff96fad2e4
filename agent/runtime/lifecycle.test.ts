/**
 * The lifecycle with real signals sent to this process: signals that arrived before the lifecycle
 * took over are served in order, a SIGHUP reloads (or is rejected with its reason), SIGTERM stops
 * with 0, and a stop that hangs past the deadline exits 1 with the step named.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Config } from '../../config/schema.ts';
import { installEarlySignals, releaseEarlySignals } from './early-signals.ts';
import { SignalInbox, serveUntilStopped, type ReloadedConfig, type ServiceAgent } from './lifecycle.ts';
import { ServiceNotifier } from './sd-notify.ts';

const log = pino({ level: 'silent' });
const notifier = new ServiceNotifier(log, {}, {});

class FakeAgent implements ServiceAgent {
  readonly events: string[] = [];
  stopStep = 'running';
  constructor(private readonly hang = false) {}
  reload(next: Config): Promise<unknown> {
    this.events.push(`reload ${next.agent.id}`);
    return Promise.resolve();
  }
  reloadRejected(error: string): void {
    this.events.push(`rejected ${error}`);
  }
  stop(): Promise<void> {
    this.events.push('stop');
    this.stopStep = 'flushing the buffer';
    return this.hang ? new Promise(() => undefined) : Promise.resolve();
  }
}

const configs: ReloadedConfig[] = [{ ok: true, config: { agent: { id: 'second' } } as Config }, { ok: false, error: 'sources[0].type: unknown type' }];

describe('lifecycle', () => {
  installEarlySignals();
  afterAll(() => releaseEarlySignals());

  it('serves queued signals in order: reload, rejected reload, stop with 0', async () => {
    // sent before anyone listens: the early handlers queue them (the process does not die)
    process.kill(process.pid, 'SIGHUP');
    process.kill(process.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 50));
    const agent = new FakeAgent();
    const inbox = new SignalInbox();
    const exits: number[] = [];
    let i = 0;
    const served = serveUntilStopped(agent, inbox, { log, notifier, readConfig: () => configs[i++] as ReloadedConfig, exit: (c) => exits.push(c), lingerMs: 10 });
    await new Promise((r) => setTimeout(r, 50));
    process.kill(process.pid, 'SIGTERM');
    expect(await served).toBe(0);
    expect(agent.events).toEqual(['reload second', 'rejected sources[0].type: unknown type', 'stop']);
    await new Promise((r) => setTimeout(r, 50));
    expect(exits).toEqual([0]);
  });

  it('a stop that hangs past the deadline exits 1, naming the step', async () => {
    const agent = new FakeAgent(true);
    const inbox = new SignalInbox();
    const lines: string[] = [];
    const logged = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    let exited: (code: number) => void = () => undefined;
    const exit = new Promise<number>((r) => (exited = r));
    void serveUntilStopped(agent, inbox, { log: logged, notifier, readConfig: () => configs[0] as ReloadedConfig, exit: (c) => exited(c), stopDeadlineMs: 200 });
    process.kill(process.pid, 'SIGINT');
    expect(await exit).toBe(1);
    const fatal = lines.map((l) => JSON.parse(l) as { code?: string; step?: string }).find((l) => l.code === 'SFA_ERR_SHUTDOWN_TIMEOUT');
    expect(fatal?.step).toBe('flushing the buffer');
    inbox.close();
  });
});
