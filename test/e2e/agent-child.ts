/** The agent as a child process (`shopfloor-agent run`), its log lines parsed, for lifecycle tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/index.ts';

const CLI = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));

export interface LogLine {
  level?: number;
  msg?: string;
  source?: string;
  [k: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** ms from the moment `exitAfter` was asked for */
  at: number;
}

export class AgentChild {
  readonly proc: ChildProcess;
  /** stdout and stderr as they came, every byte */
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; time: number }>;

  constructor(args: string[], env: Record<string, string | undefined> = {}) {
    this.proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODEOPCUA_LOG_LEVEL: '3', ...env } });
    this.proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal, time: Date.now() })));
  }

  lines(): LogLine[] {
    const out: LogLine[] = [];
    for (const l of this.output.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        out.push(JSON.parse(l) as LogLine);
      } catch {
        // a line cut by the read: the next call sees it whole
      }
    }
    return out;
  }

  waitForLine(pred: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    return waitFor(() => this.lines().find(pred), timeoutMs, `${what} (output so far:\n${this.output.slice(-3000)})`, 50);
  }

  /** The HTTP port, once the agent says it runs. */
  async httpPort(timeoutMs = 60_000): Promise<number> {
    const l = await this.waitForLine((x) => x.msg === 'agent running', timeoutMs, 'the agent to run');
    return Number(new URL(String(l.url)).port);
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  /** Sends `sig` and waits for the exit: its code and how long it took. */
  async exitAfter(sig: NodeJS.Signals, timeoutMs = 20_000): Promise<Exit> {
    const t0 = Date.now();
    this.proc.kill(sig);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const e = await this.exited;
    clearTimeout(timer);
    return { code: e.code, signal: e.signal, at: e.time - t0 };
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

export async function getJson<T>(port: number, path: string): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return (await r.json()) as T;
}
