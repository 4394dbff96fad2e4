/**
 * An OpcuaTestServer in a child process of its own, so a test can SIGKILL it (a crashed or
 * powered-off machine, not a polite shutdown) and a benchmark can keep its CPU apart.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { OpcuaTestServerOptions } from './opcua-test-server.ts';

const CHILD = fileURLToPath(new URL('./opcua-server-child.ts', import.meta.url));

export interface ServerStats {
  sessions: number;
  monitoredItems: number;
  changes: number;
  requests: Record<string, number>;
  cpu: NodeJS.CpuUsage;
}

export class OpcuaServerProcess {
  private child: ChildProcess | undefined;
  endpoint = '';
  port = 0;

  constructor(private readonly options: Partial<OpcuaTestServerOptions>) {}

  /** Starts (again) on options.port, or on the port of the previous start. */
  async start(timeoutMs = 60_000): Promise<string> {
    const opts = { ...this.options, port: this.port || this.options.port || 0 };
    const child = fork(CHILD, [JSON.stringify(opts)], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, NODEOPCUA_LOG_LEVEL: process.env.NODEOPCUA_LOG_LEVEL ?? '3' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.child = child;
    const ready = await new Promise<{ endpoint: string; port: number }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('OPC UA server process did not start in time')), timeoutMs);
      child.on('message', (m: { type: string; endpoint: string; port: number }) => {
        if (m.type === 'ready') {
          clearTimeout(t);
          resolve(m);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`OPC UA server process exited with ${code}`));
      });
    });
    this.endpoint = ready.endpoint;
    this.port = ready.port;
    return ready.endpoint;
  }

  stats(timeoutMs = 10_000): Promise<ServerStats> {
    const child = this.child;
    if (!child) return Promise.reject(new Error('not running'));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no stats from the server process')), timeoutMs);
      const on = (m: ServerStats & { type: string }): void => {
        if (m.type !== 'stats') return;
        clearTimeout(t);
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
      child.send({ type: 'stats' });
    });
  }

  /** Start (everyMs > 0) or stop (0) the value changes. */
  changes(everyMs: number): void {
    this.child?.send({ type: 'changes', everyMs });
  }

  /** SIGKILL: no goodbye to the clients. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.send({ type: 'stop' });
    });
  }
}
