/**
 * The single executable, run as a plant engineer runs it: from an empty folder, no Node and no
 * checkout needed, against the demo plant (config/demo.yaml with free ports, its data folder
 * inside the empty folder). Used by test/e2e/binary.test.ts (x64) and by
 * test/binary/arm64-smoke.sh (arm64 under qemu-user), and to measure the figures in the README
 * ("Single binary"): the cold start from exec to the first stored sample and the idle RSS.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SmokeOptions {
  binary: string;
  /** a program the binary runs under, e.g. ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'] */
  wrap?: string[];
  /** every wait is this many times longer (qemu-user runs the binary 5–20× slower) */
  slowness?: number;
  /** keep the agent running this long once samples flow, then read its RSS (ms; 0: do not) */
  idleMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface SmokeResult {
  version: string;
  checkOutput: string;
  kpiOutput: string;
  health: { status: string; buffer: { samples: number } };
  dashboard: { status: number; html: string; scriptBytes: number };
  /** exec to the first sample /healthz reports stored */
  coldStartMs: number;
  /** files the binary wrote into <dataDir>/.native */
  nativeFiles: string[];
  /** VmRSS (kB), its anonymous and file-backed parts, and the thread count after idleMs, when asked */
  idle: { rssKb: number; anonKb: number; fileKb: number; threads: number } | undefined;
  exitCode: number | null;
  stopMs: number;
  log: string;
  dir: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** the demo plant on free ports, its data folder inside `dir` (relative: the agent runs there) */
export async function demoConfig(dir: string): Promise<{ file: string; http: number }> {
  const [ua, mq, http] = [await freePort(), await freePort(), await freePort()];
  const config = readFileSync(join(ROOT, 'config/demo.yaml'), 'utf8')
    .replaceAll('48401', String(ua))
    .replaceAll('18831', String(mq))
    .replace('port: 8080', `port: ${http}`)
    .replace('dataDir: ./data/demo', 'dataDir: ./data');
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, config);
  return { file, http };
}

function command(o: SmokeOptions, args: string[]): [string, string[]] {
  const [first, ...rest] = o.wrap ?? [];
  return first === undefined ? [o.binary, args] : [first, [...rest, o.binary, ...args]];
}

/** a verb that ends by itself (check, kpi, --version): its stdout, or an error with both streams */
function runVerb(o: SmokeOptions, dir: string, args: string[], timeoutMs: number): string {
  const [cmd, argv] = command(o, args);
  const res = spawnSync(cmd, argv, { cwd: dir, encoding: 'utf8', timeout: timeoutMs, env: o.env ?? process.env });
  if (res.status !== 0) throw new Error(`${args.join(' ')} exited ${res.status ?? res.signal}: ${res.stdout}${res.stderr}${res.error ? String(res.error) : ''}`);
  return res.stdout;
}

/** fn answers undefined (or fails to connect) until ready; an Error it throws itself ends the wait */
async function poll<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const v = await fn().catch((err: unknown) => {
      if (err instanceof Error && err.message.startsWith('cannot start')) throw err;
      return undefined;
    });
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function idleStatus(pid: number): NonNullable<SmokeResult['idle']> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rssKb: field('VmRSS'), anonKb: field('RssAnon'), fileKb: field('RssFile'), threads: field('Threads') };
}

type Health = SmokeResult['health'];

async function health(http: number): Promise<Health> {
  return (await (await fetch(`http://127.0.0.1:${http}/healthz`)).json()) as Health;
}

/** runs the checks; throws with the agent's log when one fails. The caller removes result.dir. */
export async function runSmoke(o: SmokeOptions): Promise<SmokeResult> {
  const slow = o.slowness ?? 1;
  const log = o.log ?? ((): void => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'sfa-binary-'));
  const { file, http } = await demoConfig(dir);
  const logFile = join(dir, 'agent.log');
  const fd = openSync(logFile, 'w');
  const [cmd, argv] = command(o, ['run', '-c', file]);
  const t0 = performance.now();
  const child: ChildProcess = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', fd, fd], env: o.env ?? process.env });
  closeSync(fd);
  let spawnError: Error | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      spawnError = err;
      resolve(null);
    });
  });
  const agentLog = (): string => readFileSync(logFile, 'utf8');
  try {
    const first = await poll('the first stored sample (/healthz buffer.samples > 0)', 120_000 * slow, async () => {
      if (spawnError) throw new Error(`cannot start ${o.binary}: ${spawnError.message}`);
      const h = await health(http);
      return h.buffer.samples > 0 ? h : undefined;
    });
    const coldStartMs = performance.now() - t0;
    log(`first sample stored ${Math.round(coldStartMs)} ms after exec`);
    const h = await poll('/healthz status ok with both sources connected', 60_000 * slow, async () => {
      const x = await health(http);
      return x.status === 'ok' && x.buffer.samples > first.buffer.samples ? x : undefined;
    }, 250);
    const page = await fetch(`http://127.0.0.1:${http}/`);
    const html = await page.text();
    const script = await (await fetch(`http://127.0.0.1:${http}/assets/app.js`)).text();
    const checkOutput = runVerb(o, dir, ['check', '-c', file], 60_000 * slow);
    const kpiOutput = runVerb(o, dir, ['kpi', '-c', file], 60_000 * slow);
    const version = runVerb(o, dir, ['--version'], 60_000 * slow).trim();
    let idle: SmokeResult['idle'];
    if (o.idleMs !== undefined && o.idleMs > 0 && child.pid !== undefined) {
      await new Promise((r) => setTimeout(r, o.idleMs));
      idle = idleStatus(child.pid);
    }
    const native = join(dir, 'data/.native');
    const nativeFiles = existsSync(native) ? readdirSync(native) : [];
    const s0 = performance.now();
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exitCode = await Promise.race([exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 30_000 * slow)))]);
    clearTimeout(timer);
    const stopMs = performance.now() - s0;
    return { version, checkOutput, kpiOutput, health: h, dashboard: { status: page.status, html, scriptBytes: script.length }, coldStartMs, nativeFiles, idle, exitCode, stopMs, log: agentLog(), dir };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nthe agent's log:\n${agentLog().slice(-4000)}`, { cause: err });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

const mb = (kb: number): string => (kb / 1024).toFixed(1);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** node agent/cli/run-ts.mjs test/binary/binary-smoke.ts <binary> [--qemu] [--runs N] [--idle-s S] */
async function cli(args: string[]): Promise<number> {
  const binary = args[0];
  if (binary === undefined) {
    process.stderr.write('usage: binary-smoke.ts <binary> [--qemu] [--runs N] [--idle-s S]\n');
    return 2;
  }
  const opt = (name: string): number | undefined => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : Number(args[i + 1]);
  };
  const qemu = args.includes('--qemu');
  const runs = opt('--runs') ?? 1;
  const idleS = opt('--idle-s') ?? 0;
  const say = (s: string): void => {
    process.stdout.write(`${s}\n`);
  };
  const starts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await runSmoke({
      binary: resolve(binary),
      ...(qemu ? { wrap: ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'], slowness: 10 } : {}),
      idleMs: i === 0 ? idleS * 1000 : 0,
      log: say,
    });
    rmSync(r.dir, { recursive: true, force: true });
    if (r.exitCode !== 0) throw new Error(`the agent exited ${r.exitCode} on SIGTERM`);
    if (!r.checkOutput.includes(': ok')) throw new Error(`check: ${r.checkOutput}`);
    if (!r.kpiOutput.includes('printer-1')) throw new Error(`kpi: ${r.kpiOutput}`);
    if (r.dashboard.status !== 200 || r.dashboard.scriptBytes === 0) throw new Error('dashboard not served');
    starts.push(r.coldStartMs);
    say(`run ${i + 1}: version ${r.version}; /healthz ${r.health.status}, ${r.health.buffer.samples} samples; dashboard ${r.dashboard.html.length} B + app.js ${r.dashboard.scriptBytes} B; check and kpi ok; ` +
      `stopped with exit ${r.exitCode} in ${Math.round(r.stopMs)} ms; whole run ${Math.round((performance.now() - t0) / 1000)} s` +
      (r.idle === undefined ? '' : `; after ${idleS} s: RSS ${mb(r.idle.rssKb)} MB (anonymous ${mb(r.idle.anonKb)}, file-backed ${mb(r.idle.fileKb)}), ${r.idle.threads} threads`));
  }
  say(`cold start (exec → first stored sample), ${runs} run(s): median ${Math.round(median(starts))} ms [${starts.map((s) => Math.round(s)).join(', ')}]`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await cli(process.argv.slice(2));
}
