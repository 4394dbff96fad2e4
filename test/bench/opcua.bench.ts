/**
 * `npm run bench -- opcua`: the OPC UA driver at scale, against a node-opcua server in its own
 * process (test/helpers/opcua-server-process.ts) with 50,000 Double tags changing at 1 Hz.
 *
 * - time until all 50,000 monitored items are subscribed (target < 10 s), next to a bare
 *   node-opcua client creating the same items in one subscription (the raw limit);
 * - agent CPU time per stored notification (target ≤ 10 µs): the whole agent (driver, normalise,
 *   batch writer, SQLite commit) measured with process.cpuUsage over a steady window, divided by
 *   the samples committed; at whatever rate the server sustains (its rate is printed beside).
 *   Baseline: a bare node-opcua client receiving the same notifications and storing nothing;
 * - agent RSS with 10,000 items at 1 Hz (target ≤ 160 MB): `shopfloor-agent run` in a process of
 *   its own. Baseline: a bare node-opcua client process monitoring the same 10,000 items.
 * Subscribing is measured on an idle server (its changes start once all items exist): a node-opcua
 * server spends ≈ 0.5 ms per CreateMonitoredItems item on this machine, and changing 50,000
 * values per second at the same time starves it. SFA_BENCH_OPCUA_ITEMS overrides the 50,000.
 * For scale (issue 7): Node-RED + node-red-contrib-opcua storing into SQLite ≈ 29 µs and ≈ 300 MB.
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Agent } from '../../agent/runtime/agent.ts';
import { loadConfigText } from '../../config/index.ts';
import { OpcuaServerProcess } from '../helpers/opcua-server-process.ts';
import { tagNodeId } from '../helpers/opcua-test-server.ts';
import type { BenchFigure } from './harness.ts';

const N = Number(process.env.SFA_BENCH_OPCUA_ITEMS ?? 50_000);
const N_RSS = 10_000;
const STEADY_MS = 15_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RAW_CLIENT = fileURLToPath(new URL('../helpers/opcua-raw-client.ts', import.meta.url));

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
      execArgv: ['--import', 'tsx'],
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

export async function run(): Promise<BenchFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-bench-opcua-'));
  const server = new OpcuaServerProcess({ pkiDir: join(dir, 'server-pki'), tags: N, tagsPerMachine: 1000, changeEveryMs: 0 });
  const figures: BenchFigure[] = [];
  try {
    const endpoint = await server.start(120_000);

    // 1. the agent, in this process: subscribe 50,000 items, then a steady window
    const res = loadConfigText(configText(join(dir, 'a'), endpoint, N), { file: 'bench.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems.slice(0, 3)));
    const agent = new Agent(res.config, pino({ level: 'warn' }));
    const t0 = performance.now();
    await agent.start();
    while (agent.health().sources[0]?.state !== 'connected') await sleep(20);
    const subscribeMs = performance.now() - t0;
    server.changes(1000);
    await sleep(3000); // initial values and the first changes settle
    const s0 = await server.stats();
    const stored0 = agent.buffer.stats().samples;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await sleep(STEADY_MS);
    const cpu = cpuMicros(process.cpuUsage(c0));
    const wall = (performance.now() - w0) / 1000;
    const stored = agent.buffer.stats().samples - stored0;
    const s1 = await server.stats();
    await agent.stop();
    const serverRate = (s1.changes - s0.changes) / wall;
    const serverCpu = cpuMicros({ user: s1.cpu.user - s0.cpu.user, system: s1.cpu.system - s0.cpu.system }) / 1e6 / wall;
    const agentPerNotification = cpu / stored;

    // 2. the raw limit: a bare node-opcua client, same server, same items
    const raw = await rawClient(endpoint, N, STEADY_MS, server);

    figures.push(
      { figure: `time to subscribe ${N.toLocaleString('en-US')} monitored items`, value: subscribeMs / 1000, unit: 's', target: '< 10', baseline: { name: 'bare node-opcua client', value: raw.subscribeMs / 1000 } },
      {
        figure: `agent CPU per stored notification (agent stored ${Math.round(stored / wall).toLocaleString('en-US')}/s; server changed ${Math.round(serverRate).toLocaleString('en-US')}/s at ${(serverCpu * 100).toFixed(0)} % of a core; Node-RED ≈ 29 µs)`,
        value: agentPerNotification,
        unit: 'µs',
        target: '<= 10',
        baseline: { name: `bare node-opcua client, storing nothing (${Math.round(raw.notificationsPerS).toLocaleString('en-US')}/s)`, value: raw.cpuPerNotificationUs },
      },
    );

    // 3. RSS with 10,000 items at 1 Hz: the agent as shipped, in a process of its own
    const rssDir = join(dir, 'rss');
    const file = join(dir, 'rss.yaml');
    writeFileSync(file, configText(rssDir, endpoint, N_RSS));
    server.changes(0); // subscribe on an idle server, as above; changes start once subscribed
    const child = spawn(process.execPath, [join(ROOT, 'agent/cli/shopfloor-agent.mjs'), 'run', '-c', file], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NODEOPCUA_LOG_LEVEL: '3' } });
    try {
      // subscribed (≈ 0.5 ms per item on this server), then a steady stretch at 1 Hz
      await sleep(12_000);
      server.changes(1000);
      await sleep(10_000);
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        if (child.pid !== undefined) samples.push(rssMbOf(child.pid));
        await sleep(1000);
      }
      const rawRss = await rawClient(endpoint, N_RSS, 5000, server);
      figures.push({ figure: `agent RSS with ${N_RSS.toLocaleString('en-US')} items at 1 Hz (Node-RED ≈ 300 MB)`, value: Math.max(...samples), unit: 'MB', target: '<= 160', baseline: { name: 'bare node-opcua client process', value: rawRss.rssMb } });
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
