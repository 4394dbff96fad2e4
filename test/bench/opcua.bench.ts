/**
 * `npm run bench -- opcua`: the OPC UA driver at scale, against a node-opcua server in its own
 * process (test/helpers/opcua-server-process.ts) with 50,000 Double tags changing at 1 Hz.
 *
 * The agent runs in a process of its own (test/helpers/opcua-bench-agent.ts: an Agent exactly as
 * `shopfloor-agent run` starts it), so its CPU and memory are the agent's alone.
 * - time until all 50,000 monitored items are subscribed (target < 10 s), next to a bare
 *   node-opcua client creating the same items in one subscription (the raw limit);
 * - agent CPU time per stored notification (target ≤ 10 µs): the whole agent (driver, normalise,
 *   batch writer, SQLite commit) measured with process.cpuUsage over a steady window, divided by
 *   the samples committed; at whatever rate the server sustains (its rate is printed beside).
 *   The window starts once every series has stored a few samples: the first sample of a series
 *   costs one-off work (series row, rollup state), which is start-up, not steady state. It lasts
 *   60 s, one rollup flush period, so the once-a-minute rollup write is counted exactly once.
 *   Baseline: a bare node-opcua client receiving the same notifications and storing nothing;
 * - agent peak RSS with 10,000 items at 1 Hz (target ≤ 160 MB), read every second for 75 s:
 *   `shopfloor-agent run` in a process of its own, as shipped: the bundle `npm run build` makes
 *   (built first, here), with the Node flags of the bin's shebang. Baseline: a bare node-opcua
 *   client process (plain Node) monitoring the same 10,000 items.
 * Subscribing is measured on an idle server (its changes start once all items exist): a node-opcua
 * server spends ≈ 0.5 ms per CreateMonitoredItems item on this machine, and changing 50,000
 * values per second at the same time starves it. SFA_BENCH_OPCUA_ITEMS overrides the 50,000;
 * SFA_BENCH_OPCUA_FIGURES=subscribe,cpu,rss picks figures; SFA_BENCH_CPU_PROF=<dir> profiles the agent.
 * For scale (figures from outside this run, not measured here): Node-RED + node-red-contrib-opcua
 * storing into SQLite ≈ 29 µs and ≈ 300 MB.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpcuaServerProcess } from '../helpers/opcua-server-process.ts';
import { tagNodeId } from '../helpers/opcua-test-server.ts';
import type { BenchFigure } from './harness.ts';
// @ts-expect-error: a plain-JS build script without type declarations
import { buildBundle } from '../../agent/cli/build-bundle.mjs';

const N = Number(process.env.SFA_BENCH_OPCUA_ITEMS ?? 50_000);
const N_RSS = 10_000;
/**
 * The steady window: one whole rollup flush period (BufferOptions.rollupFlushMs, 60 s). The agent
 * writes its minute and hour rollup rows once a minute (≈ 1 s of CPU at 50,000 series on this
 * machine); a shorter window counts that flush or not by chance (a 15 s window: 1 in 4).
 */
const STEADY_MS = 60_000;
const RAW_CLIENT = fileURLToPath(new URL('../helpers/opcua-raw-client.mjs', import.meta.url));
const BENCH_AGENT = fileURLToPath(new URL('../helpers/opcua-bench-agent.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));
/** the Node flags the agent ships with: its shebang's (SFA_BENCH_NODE_FLAGS overrides, to compare) */
const NODE_FLAGS = (process.env.SFA_BENCH_NODE_FLAGS ?? /^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(BIN, 'utf8'))?.[1] ?? '').split(/\s+/).filter(Boolean);
/** RSS is read every second over this steady stretch (a rollup flush, every 60 s, included); the peak counts */
const RSS_WINDOW_MS = 75_000;
/** SFA_BENCH_OPCUA_FIGURES=subscribe,cpu,rss (any subset; default all) while iterating */
const FIGURES = new Set((process.env.SFA_BENCH_OPCUA_FIGURES ?? 'subscribe,cpu,rss').split(',').map((f) => f.trim()));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cpuMicros = (u: NodeJS.CpuUsage): number => u.user + u.system;

function configText(dir: string, endpoint: string, tags: number): string {
  return [
    'site: { id: bench }',
    `agent: { id: bench, dataDir: ${JSON.stringify(join(dir, 'data'))}, logLevel: warn }`,
    'http: { host: 127.0.0.1, port: 0 }',
    `machines: [${Array.from({ length: 50 }, (_, m) => `{ id: m${m} }`).join(', ')}]`,
    'sources:',
    '  - id: bench-opcua',
    '    type: opcua',
    `    endpoint: ${endpoint}`,
    '    samplingIntervalMs: 1000',
    '    queueSize: 1',
    '    connectTimeoutMs: 120000',
    '    tags:',
    ...Array.from({ length: tags }, (_, i) => `      - { nodeId: "${tagNodeId(i)}", machine: m${i % 50}, signal: t${i} }`),
    '',
  ].join('\n');
}

interface RawResult {
  subscribeMs: number;
  cpuPerNotificationUs: number;
  notificationsPerS: number;
  rssMb: number;
}

/** A bare node-opcua client in a process of its own (the raw limit). */
function rawClient(endpoint: string, tags: number, steadyMs: number, server: OpcuaServerProcess): Promise<RawResult> {
  server.changes(0);
  return new Promise((resolve, reject) => {
    const child = fork(RAW_CLIENT, [endpoint, String(tags), String(steadyMs)], {
      execArgv: NODE_FLAGS, // like for like with the agent
      env: { ...process.env, NODEOPCUA_LOG_LEVEL: '3' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.on('message', (m: RawResult & { type: string }) => {
      if (m.type === 'subscribed') {
        server.changes(1000);
        child.send({ type: 'go' });
      } else resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`raw client exited with ${code}`)));
  });
}

function rssMbOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  return kb / 1024;
}

/** The agent in a child process; resolves once all its items are subscribed. */
async function startAgentProcess(file: string): Promise<{ child: ChildProcess; subscribeMs: number; ask: <T>(m: object, reply: string) => Promise<T> }> {
  const child = fork(BENCH_AGENT, [file], {
    execArgv: [...NODE_FLAGS, '--import', 'tsx'],
    env: { ...process.env, NODEOPCUA_LOG_LEVEL: '3' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ask = <T>(m: object, reply: string): Promise<T> =>
    new Promise<T>((resolve) => {
      const on = (r: { type: string }): void => {
        if (r.type !== reply) return;
        child.off('message', on);
        resolve(r as T);
      };
      child.on('message', on);
      child.send(m);
    });
  const subscribeMs = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`bench agent exited with ${code}`));
    child.once('exit', onExit);
    child.on('message', (m: { type: string; subscribeMs: number }) => {
      if (m.type !== 'subscribed') return;
      child.off('exit', onExit);
      resolve(m.subscribeMs);
    });
  });
  return { child, subscribeMs, ask };
}

async function stopAgentProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.send({ type: 'stop' });
  });
}

export async function run(): Promise<BenchFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-bench-opcua-'));
  const server = new OpcuaServerProcess({ pkiDir: join(dir, 'server-pki'), tags: N, tagsPerMachine: 1000, changeEveryMs: 0 });
  const figures: BenchFigure[] = [];
  try {
    const endpoint = await server.start(120_000);

    if (FIGURES.has('subscribe') || FIGURES.has('cpu')) {
      // 1. the agent, in a process of its own: subscribe N items on an idle server, then a steady window
      const file = join(dir, 'agent.yaml');
      writeFileSync(file, configText(join(dir, 'a'), endpoint, N));
      const agent = await startAgentProcess(file);
      let cpuFigure: BenchFigure | undefined;
      try {
        if (FIGURES.has('cpu')) {
          server.changes(1000);
          // every series has stored its first samples (one-off start-up work), then 3 s more
          const warm0 = performance.now();
          while ((await agent.ask<{ samples: number }>({ type: 'stored' }, 'stored')).samples < 3 * N && performance.now() - warm0 < 240_000) await sleep(1000);
          await sleep(3000);
          const s0 = await server.stats();
          const m = await agent.ask<{ cpuMicros: number; samples: number; wallMs: number }>({ type: 'measure', ms: STEADY_MS }, 'measured');
          const s1 = await server.stats();
          const wall = m.wallMs / 1000;
          const serverRate = (s1.changes - s0.changes) / wall;
          const serverCpu = cpuMicros({ user: s1.cpu.user - s0.cpu.user, system: s1.cpu.system - s0.cpu.system }) / 1e6 / wall;
          cpuFigure = {
            figure: `agent CPU per stored notification (agent stored ${Math.round(m.samples / wall).toLocaleString('en-US')}/s at ${((m.cpuMicros / 1e4) / wall).toFixed(0)} % of a core; server changed ${Math.round(serverRate).toLocaleString('en-US')}/s at ${(serverCpu * 100).toFixed(0)} % of a core; Node-RED ≈ 29 µs)`,
            value: m.cpuMicros / m.samples,
            unit: 'µs',
            target: '<= 10',
            baseline: { name: 'bare node-opcua client, storing nothing', value: Number.NaN },
          };
        }
      } finally {
        await stopAgentProcess(agent.child);
      }

      // 2. the raw limit: a bare node-opcua client, same server, same items
      const raw = await rawClient(endpoint, N, STEADY_MS, server);
      if (FIGURES.has('subscribe')) {
        figures.push({ figure: `time to subscribe ${N.toLocaleString('en-US')} monitored items`, value: agent.subscribeMs / 1000, unit: 's', target: '< 10', baseline: { name: 'bare node-opcua client', value: raw.subscribeMs / 1000 } });
      }
      if (cpuFigure) {
        figures.push({ ...cpuFigure, baseline: { name: `bare node-opcua client, storing nothing (${Math.round(raw.notificationsPerS).toLocaleString('en-US')}/s)`, value: raw.cpuPerNotificationUs } });
      }
    }

    if (!FIGURES.has('rss')) return figures;
    await (buildBundle as (o: { quiet: boolean }) => Promise<void>)({ quiet: true });
    // 3. RSS with 10,000 items at 1 Hz: the agent as shipped, in a process of its own
    const rssDir = join(dir, 'rss');
    const file = join(dir, 'rss.yaml');
    writeFileSync(file, configText(rssDir, endpoint, N_RSS));
    server.changes(0); // subscribe on an idle server, as above; changes start once subscribed
    const env: NodeJS.ProcessEnv = { ...process.env, NODEOPCUA_LOG_LEVEL: '3' };
    delete env.SFA_FROM_SOURCE;
    // as an installed `shopfloor-agent run` starts: the bin, with its shebang's Node flags
    const child = spawn(process.execPath, [...NODE_FLAGS, BIN, 'run', '-c', file], { stdio: ['ignore', 'ignore', 'inherit'], env });
    try {
      // subscribed (≈ 0.5 ms per item on this server), then a steady stretch at 1 Hz
      await sleep(12_000);
      server.changes(1000);
      await sleep(10_000);
      const samples: number[] = [];
      for (let t = 0; t < RSS_WINDOW_MS; t += 1000) {
        if (child.pid !== undefined) samples.push(rssMbOf(child.pid));
        await sleep(1000);
      }
      const rawRss = await rawClient(endpoint, N_RSS, 5000, server);
      const sorted = [...samples].sort((a, b) => a - b);
      figures.push({ figure: `agent peak RSS with ${N_RSS.toLocaleString('en-US')} items at 1 Hz over ${RSS_WINDOW_MS / 1000} s (median ${Math.round(sorted[Math.floor(sorted.length / 2)] ?? NaN)} MB; Node-RED ≈ 300 MB)`, value: Math.max(...samples), unit: 'MB', target: '<= 160', baseline: { name: 'bare node-opcua client process', value: rawRss.rssMb } });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
